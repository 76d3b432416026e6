/* Where keys and pointer events go: the demo console, a test recorder or a
 * Xen vkbd ring. A sink remembers which keys and buttons are held so that
 * everything can be released when a client goes (disconnect, takeover). */
#ifndef VFBD_INPUT_SINK_H
#define VFBD_INPUT_SINK_H

#include <linux/input-event-codes.h>
#include <stdbool.h>
#include <stdint.h>

struct input_sink;

struct input_sink_ops {
	/* A Linux input keycode (KEY_*) went down or up. */
	void (*key)(struct input_sink *sink, uint16_t keycode, bool down);
	/* Absolute pointer position in framebuffer pixels and the RFB button
	 * mask (bit 0 left, 1 middle, 2 right, 3/4 wheel up/down, 5/6
	 * wheel left/right). */
	void (*pointer)(struct input_sink *sink, uint32_t x, uint32_t y,
			uint8_t buttons);
};

struct input_sink {
	const struct input_sink_ops *ops;
	uint64_t held[(KEY_CNT + 63) / 64];
	uint8_t buttons;
	uint32_t last_x, last_y;
};

/* Starts with nothing held. `ops` is borrowed and must outlive the sink;
 * either callback may be NULL when the sink ignores that kind of event. */
void input_sink_init(struct input_sink *sink, const struct input_sink_ops *ops);

/* Forwards a key event and tracks what is held. A release of a key that is
 * not held is dropped; keycodes >= KEY_CNT are ignored, and so is
 * KEY_RESERVED (0, what keymap returns for an unknown keysym). A repeated
 * press is forwarded again (client autorepeat). The held set is updated
 * before ops->key runs, so a sink sees the state after the event. */
void input_sink_key(struct input_sink *sink, uint16_t keycode, bool down);

/* Forwards a pointer event and remembers the buttons held. */
void input_sink_pointer(struct input_sink *sink, uint32_t x, uint32_t y,
			uint8_t buttons);

/* Releases every held key and button (in that order): a key-up for each
 * held key in ascending keycode order, then, if any button was held, a
 * pointer event at the last position with no buttons. Nothing is held
 * afterwards; calling it again sends nothing. */
void input_sink_release_all(struct input_sink *sink);

/* Whether `keycode` is down; false for keycodes out of range. */
bool input_sink_key_held(const struct input_sink *sink, uint16_t keycode);

#endif
