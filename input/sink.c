#include "input/sink.h"

#include <string.h>

#define HELD_BITS 64

static uint64_t held_bit(uint16_t keycode)
{
	return UINT64_C(1) << (keycode % HELD_BITS);
}

void input_sink_init(struct input_sink *sink, const struct input_sink_ops *ops)
{
	memset(sink, 0, sizeof(*sink));
	sink->ops = ops;
}

bool input_sink_key_held(const struct input_sink *sink, uint16_t keycode)
{
	if (keycode >= KEY_CNT)
		return false;
	return sink->held[keycode / HELD_BITS] & held_bit(keycode);
}

void input_sink_key(struct input_sink *sink, uint16_t keycode, bool down)
{
	uint64_t *word;

	/* Keycodes come from keymaps fed by the wire; anything past the bitmap
	 * or the "no key" code must not reach the guest. */
	if (keycode == KEY_RESERVED || keycode >= KEY_CNT)
		return;
	word = &sink->held[keycode / HELD_BITS];
	if (down) {
		*word |= held_bit(keycode);
	} else {
		/* A guest may act on a release it never saw pressed, so an
		 * unmatched release (a key down before we attached) stops. */
		if (!(*word & held_bit(keycode)))
			return;
		*word &= ~held_bit(keycode);
	}
	if (sink->ops->key)
		sink->ops->key(sink, keycode, down);
}

void input_sink_pointer(struct input_sink *sink, uint32_t x, uint32_t y,
			uint8_t buttons)
{
	sink->buttons = buttons;
	sink->last_x = x;
	sink->last_y = y;
	if (sink->ops->pointer)
		sink->ops->pointer(sink, x, y, buttons);
}

void input_sink_release_all(struct input_sink *sink)
{
	size_t i;

	for (i = 0; i < sizeof(sink->held) / sizeof(sink->held[0]); i++) {
		/* Each bit is cleared before its callback runs so that a sink
		 * reading the held set sees the key already up. */
		while (sink->held[i]) {
			unsigned int bit =
				(unsigned int)__builtin_ctzll(sink->held[i]);
			uint16_t keycode = (uint16_t)(i * HELD_BITS + bit);

			sink->held[i] &= ~held_bit(keycode);
			if (sink->ops->key)
				sink->ops->key(sink, keycode, false);
		}
	}
	/* Lifting the buttons where the pointer last was keeps a drag from
	 * ending somewhere the user never pointed. */
	if (sink->buttons) {
		sink->buttons = 0;
		if (sink->ops->pointer)
			sink->ops->pointer(sink, sink->last_x, sink->last_y, 0);
	}
}
