#include "input/sink-text.h"
#include "input/keymap.h"

#include <stddef.h>

/* From the embedded sink back to its text sink; the pointer type is checked
 * so that only a struct input_sink can be passed. */
#define container_of(ptr, type, member)                                        \
	({                                                                     \
		const __typeof__(((type *)0)->member) *mptr_ = (ptr);          \
		(type *)(void *)((char *)mptr_ - offsetof(type, member));      \
	})

static bool held_either(const struct input_sink *sink, uint16_t left,
			uint16_t right)
{
	return input_sink_key_held(sink, left) ||
	       input_sink_key_held(sink, right);
}

static bool is_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Modifier state is read from the sink's own held set, which input_sink_key
 * updates before calling us, so it cannot drift from what was forwarded. */
static void text_key(struct input_sink *sink, uint16_t keycode, bool down)
{
	struct input_sink_text *t =
		container_of(sink, struct input_sink_text, sink);
	bool shift;
	uint32_t c;

	if (keycode == KEY_CAPSLOCK) {
		/* Clients autorepeat every key; only a fresh press toggles. */
		if (down && !t->caps_down)
			t->caps_lock = !t->caps_lock;
		t->caps_down = down;
		return;
	}
	if (!down)
		return;
	if (held_either(sink, KEY_LEFTCTRL, KEY_RIGHTCTRL) ||
	    held_either(sink, KEY_LEFTALT, KEY_RIGHTALT))
		return;

	switch (keycode) {
	case KEY_BACKSPACE:
		if (t->ops->backspace)
			t->ops->backspace(t->ctx);
		return;
	case KEY_ENTER:
	case KEY_KPENTER:
		if (t->ops->enter)
			t->ops->enter(t->ctx);
		return;
	}

	shift = held_either(sink, KEY_LEFTSHIFT, KEY_RIGHTSHIFT);
	/* Caps Lock affects letters only, as on a PC keyboard. */
	if (is_letter(keymap_keycode_to_char(keycode, false)) && t->caps_lock)
		shift = !shift;
	c = keymap_keycode_to_char(keycode, shift);
	if (c && t->ops->text)
		t->ops->text(t->ctx, c);
}

static void text_pointer(struct input_sink *sink, uint32_t x, uint32_t y,
			 uint8_t buttons)
{
	struct input_sink_text *t =
		container_of(sink, struct input_sink_text, sink);

	if (t->ops->pointer)
		t->ops->pointer(t->ctx, x, y, buttons);
}

static const struct input_sink_ops text_sink_ops = {
	.key = text_key,
	.pointer = text_pointer,
};

void input_sink_text_init(struct input_sink_text *t,
			  const struct input_text_ops *ops, void *ctx)
{
	input_sink_init(&t->sink, &text_sink_ops);
	t->ops = ops;
	t->ctx = ctx;
	t->caps_lock = false;
	t->caps_down = false;
}
