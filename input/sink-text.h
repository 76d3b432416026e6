/* A sink that turns keycodes back into text editing actions (characters,
 * Backspace, Enter) with the en-us layout, tracking Shift and Caps Lock.
 * It drives the demo console through callbacks so input/ needs nothing
 * from fb/. */
#ifndef VFBD_INPUT_SINK_TEXT_H
#define VFBD_INPUT_SINK_TEXT_H

#include "input/sink.h"

struct input_text_ops {
	void (*text)(void *ctx, uint32_t codepoint);
	void (*backspace)(void *ctx);
	void (*enter)(void *ctx);
	void (*pointer)(void *ctx, uint32_t x, uint32_t y, uint8_t buttons);
};

struct input_sink_text {
	struct input_sink sink; /* first: the sink is what callers use */
	const struct input_text_ops *ops;
	void *ctx;
	bool caps_lock;
	bool caps_down; /* so that autorepeat of Caps Lock toggles once */
};

/* Makes `t->sink` a sink that types into `ops` with `ctx`; both borrowed.
 * On key-down: a character (letters follow Shift XOR Caps Lock, other keys
 * Shift only), Backspace, Enter or keypad Enter; nothing while Ctrl or Alt
 * is held, and nothing on key-up. Pointer events go to ops->pointer. Any
 * callback may be NULL. */
void input_sink_text_init(struct input_sink_text *t,
			  const struct input_text_ops *ops, void *ctx);

#endif
