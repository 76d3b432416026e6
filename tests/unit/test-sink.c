/* Held-key and button tracking in input/sink.c, and the text sink that
 * drives the demo console. */
#include "input/sink.h"
#include "input/sink-text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* A recording sink: every event that reaches ops, in order. */
struct event {
	enum { REC_KEY, REC_POINTER } type;
	uint16_t keycode;
	bool down;
	uint32_t x, y;
	uint8_t buttons;
};

struct recorder {
	struct input_sink sink;
	struct event ev[64];
	size_t n;
};

static struct recorder *rec_of(struct input_sink *sink)
{
	return (struct recorder *)((char *)sink -
				   offsetof(struct recorder, sink));
}

static struct event *rec_push(struct input_sink *sink)
{
	struct recorder *r = rec_of(sink);

	assert_true(r->n < sizeof(r->ev) / sizeof(r->ev[0]));
	return &r->ev[r->n++];
}

static void rec_key(struct input_sink *sink, uint16_t keycode, bool down)
{
	struct event *e = rec_push(sink);

	e->type = REC_KEY;
	e->keycode = keycode;
	e->down = down;
}

static void rec_pointer(struct input_sink *sink, uint32_t x, uint32_t y,
			uint8_t buttons)
{
	struct event *e = rec_push(sink);

	e->type = REC_POINTER;
	e->x = x;
	e->y = y;
	e->buttons = buttons;
}

static const struct input_sink_ops rec_ops = {
	.key = rec_key,
	.pointer = rec_pointer,
};

static int rec_setup(void **state)
{
	static struct recorder r;

	memset(&r, 0xa5, sizeof(r)); /* init must not rely on zeroed memory */
	input_sink_init(&r.sink, &rec_ops);
	r.n = 0;
	*state = &r;
	return 0;
}

static void expect_key(const struct recorder *r, size_t i, uint16_t keycode,
		       bool down)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, REC_KEY);
	assert_int_equal(r->ev[i].keycode, keycode);
	assert_int_equal(r->ev[i].down, down);
}

static void expect_pointer(const struct recorder *r, size_t i, uint32_t x,
			   uint32_t y, uint8_t buttons)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, REC_POINTER);
	assert_int_equal(r->ev[i].x, x);
	assert_int_equal(r->ev[i].y, y);
	assert_int_equal(r->ev[i].buttons, buttons);
}

static bool nothing_held(const struct input_sink *sink)
{
	unsigned int kc;

	for (kc = 0; kc < KEY_CNT; kc++)
		if (input_sink_key_held(sink, (uint16_t)kc))
			return false;
	return sink->buttons == 0;
}

static void test_init_empty(void **state)
{
	struct recorder *r = *state;

	assert_true(nothing_held(&r->sink));
	input_sink_release_all(&r->sink);
	assert_int_equal(r->n, 0);
}

static void test_press_release(void **state)
{
	struct recorder *r = *state;

	input_sink_key(&r->sink, KEY_A, true);
	assert_true(input_sink_key_held(&r->sink, KEY_A));
	assert_false(input_sink_key_held(&r->sink, KEY_B));
	input_sink_key(&r->sink, KEY_A, false);
	assert_false(input_sink_key_held(&r->sink, KEY_A));
	assert_int_equal(r->n, 2);
	expect_key(r, 0, KEY_A, true);
	expect_key(r, 1, KEY_A, false);
}

static void test_release_not_held_dropped(void **state)
{
	struct recorder *r = *state;

	input_sink_key(&r->sink, KEY_B, false);
	assert_int_equal(r->n, 0);
	/* A second release after the real one is dropped too. */
	input_sink_key(&r->sink, KEY_B, true);
	input_sink_key(&r->sink, KEY_B, false);
	input_sink_key(&r->sink, KEY_B, false);
	assert_int_equal(r->n, 2);
	assert_true(nothing_held(&r->sink));
}

static void test_autorepeat(void **state)
{
	struct recorder *r = *state;

	input_sink_key(&r->sink, KEY_X, true);
	input_sink_key(&r->sink, KEY_X, true);
	input_sink_key(&r->sink, KEY_X, true);
	input_sink_key(&r->sink, KEY_X, false);
	assert_int_equal(r->n, 4);
	expect_key(r, 2, KEY_X, true);
	expect_key(r, 3, KEY_X, false);
	assert_false(input_sink_key_held(&r->sink, KEY_X));
	input_sink_release_all(&r->sink);
	assert_int_equal(r->n, 4);
}

static void test_out_of_range(void **state)
{
	struct recorder *r = *state;

	input_sink_key(&r->sink, KEY_CNT, true);
	input_sink_key(&r->sink, KEY_CNT + 1, true);
	input_sink_key(&r->sink, 0xffff, true);
	input_sink_key(&r->sink, KEY_RESERVED, true);
	input_sink_key(&r->sink, KEY_CNT, false);
	assert_int_equal(r->n, 0);
	assert_false(input_sink_key_held(&r->sink, KEY_CNT));
	assert_false(input_sink_key_held(&r->sink, 0xffff));
	assert_true(nothing_held(&r->sink));

	/* The last valid code lives in the last bitmap word. */
	input_sink_key(&r->sink, KEY_MAX, true);
	assert_true(input_sink_key_held(&r->sink, KEY_MAX));
	assert_int_equal(r->n, 1);
	expect_key(r, 0, KEY_MAX, true);
}

static void test_word_boundaries(void **state)
{
	struct recorder *r = *state;
	static const uint16_t codes[] = {1, 63, 64, 65, 127, 128, KEY_MAX};
	unsigned int kc;
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		input_sink_key(&r->sink, codes[i], true);
	for (kc = 0; kc < KEY_CNT; kc++) {
		bool want = false;

		for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			want |= codes[i] == kc;
		assert_int_equal(input_sink_key_held(&r->sink, (uint16_t)kc),
				 want);
	}
}

static void test_pointer(void **state)
{
	struct recorder *r = *state;

	input_sink_pointer(&r->sink, 10, 20, 1);
	assert_int_equal(r->sink.buttons, 1);
	input_sink_pointer(&r->sink, 30, 40, 0);
	assert_int_equal(r->sink.buttons, 0);
	assert_int_equal(r->n, 2);
	expect_pointer(r, 0, 10, 20, 1);
	expect_pointer(r, 1, 30, 40, 0);
	/* No button is down any more: nothing to release. */
	input_sink_release_all(&r->sink);
	assert_int_equal(r->n, 2);
}

static void test_release_all(void **state)
{
	struct recorder *r = *state;

	/* Pressed out of order and across bitmap words. */
	input_sink_key(&r->sink, KEY_Z, true);
	input_sink_key(&r->sink, KEY_F13, true);
	input_sink_key(&r->sink, KEY_A, true);
	input_sink_key(&r->sink, KEY_LEFTSHIFT, true);
	input_sink_key(&r->sink, KEY_ESC, true);
	input_sink_key(&r->sink, KEY_MAX, true);
	input_sink_key(&r->sink, KEY_Z, false);
	input_sink_pointer(&r->sink, 100, 200, 1);
	input_sink_pointer(&r->sink, 123, 456, 5);
	r->n = 0;

	input_sink_release_all(&r->sink);
	assert_int_equal(r->n, 6);
	expect_key(r, 0, KEY_ESC, false);
	expect_key(r, 1, KEY_A, false);
	expect_key(r, 2, KEY_LEFTSHIFT, false);
	expect_key(r, 3, KEY_F13, false);
	expect_key(r, 4, KEY_MAX, false);
	expect_pointer(r, 5, 123, 456, 0);
	assert_true(nothing_held(&r->sink));

	/* Everything is up: a second call sends nothing, and late releases
	 * from the client are dropped. */
	input_sink_release_all(&r->sink);
	input_sink_key(&r->sink, KEY_A, false);
	assert_int_equal(r->n, 6);
}

static void test_release_all_buttons_only(void **state)
{
	struct recorder *r = *state;

	input_sink_pointer(&r->sink, 7, 8, 4);
	r->n = 0;
	input_sink_release_all(&r->sink);
	assert_int_equal(r->n, 1);
	expect_pointer(r, 0, 7, 8, 0);
}

static void test_null_callbacks(void **state)
{
	static const struct input_sink_ops none = {0};
	struct input_sink sink;

	input_sink_init(&sink, &none);
	input_sink_key(&sink, KEY_A, true);
	input_sink_pointer(&sink, 1, 2, 1);
	assert_true(input_sink_key_held(&sink, KEY_A));
	input_sink_release_all(&sink);
	assert_true(nothing_held(&sink));
}

/* The text sink, with a context that records what would be typed. */
struct typed {
	struct input_sink_text t;
	char text[64];
	size_t len;
	int backspaces, enters, pointers;
	uint32_t x, y;
	uint8_t buttons;
};

static void on_text(void *ctx, uint32_t c)
{
	struct typed *ty = ctx;

	assert_true(c > 0 && c < 0x80);
	assert_true(ty->len + 1 < sizeof(ty->text));
	ty->text[ty->len++] = (char)c;
	ty->text[ty->len] = '\0';
}

static void on_backspace(void *ctx)
{
	struct typed *ty = ctx;

	ty->backspaces++;
}

static void on_enter(void *ctx)
{
	struct typed *ty = ctx;

	ty->enters++;
}

static void on_pointer(void *ctx, uint32_t x, uint32_t y, uint8_t buttons)
{
	struct typed *ty = ctx;

	ty->pointers++;
	ty->x = x;
	ty->y = y;
	ty->buttons = buttons;
}

static const struct input_text_ops typed_ops = {
	.text = on_text,
	.backspace = on_backspace,
	.enter = on_enter,
	.pointer = on_pointer,
};

static int text_setup(void **state)
{
	static struct typed ty;

	memset(&ty, 0xa5, sizeof(ty));
	input_sink_text_init(&ty.t, &typed_ops, &ty);
	ty.text[0] = '\0';
	ty.len = 0;
	ty.backspaces = ty.enters = ty.pointers = 0;
	*state = &ty;
	return 0;
}

static void tap(struct typed *ty, uint16_t keycode)
{
	input_sink_key(&ty->t.sink, keycode, true);
	input_sink_key(&ty->t.sink, keycode, false);
}

static void hold(struct typed *ty, uint16_t keycode, bool down)
{
	input_sink_key(&ty->t.sink, keycode, down);
}

static void test_text_plain(void **state)
{
	struct typed *ty = *state;
	static const uint16_t keys[] = {KEY_H,	   KEY_I,     KEY_SPACE,
					KEY_1,	   KEY_MINUS, KEY_SLASH,
					KEY_GRAVE, KEY_KP7,   KEY_KPPLUS};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tap(ty, keys[i]);
	assert_string_equal(ty->text, "hi 1-/`7+");
	/* Key-ups and keys that type nothing add nothing. */
	tap(ty, KEY_F1);
	tap(ty, KEY_LEFT);
	tap(ty, KEY_ESC);
	tap(ty, KEY_TAB);
	assert_string_equal(ty->text, "hi 1-/`7+");
	assert_int_equal(ty->backspaces + ty->enters, 0);
}

static void test_text_shift(void **state)
{
	struct typed *ty = *state;

	hold(ty, KEY_LEFTSHIFT, true);
	tap(ty, KEY_A);
	tap(ty, KEY_1);
	tap(ty, KEY_SEMICOLON);
	hold(ty, KEY_LEFTSHIFT, false);
	tap(ty, KEY_A);
	hold(ty, KEY_RIGHTSHIFT, true);
	tap(ty, KEY_B);
	tap(ty, KEY_APOSTROPHE);
	/* Both shifts down, then one up: still shifted. */
	hold(ty, KEY_LEFTSHIFT, true);
	hold(ty, KEY_RIGHTSHIFT, false);
	tap(ty, KEY_C);
	hold(ty, KEY_LEFTSHIFT, false);
	tap(ty, KEY_C);
	assert_string_equal(ty->text, "A!:aB\"Cc");
}

static void test_text_caps_lock(void **state)
{
	struct typed *ty = *state;

	tap(ty, KEY_CAPSLOCK);
	assert_true(ty->t.caps_lock);
	tap(ty, KEY_A);
	tap(ty, KEY_1);
	/* Shift inverts letters under Caps Lock, and shifts the rest. */
	hold(ty, KEY_LEFTSHIFT, true);
	tap(ty, KEY_A);
	tap(ty, KEY_1);
	hold(ty, KEY_LEFTSHIFT, false);
	tap(ty, KEY_CAPSLOCK);
	assert_false(ty->t.caps_lock);
	tap(ty, KEY_A);
	assert_string_equal(ty->text, "A1a!a");
}

static void test_text_caps_lock_autorepeat(void **state)
{
	struct typed *ty = *state;

	/* A held Caps Lock repeats its press; it must toggle once. */
	hold(ty, KEY_CAPSLOCK, true);
	hold(ty, KEY_CAPSLOCK, true);
	hold(ty, KEY_CAPSLOCK, false);
	assert_true(ty->t.caps_lock);
	tap(ty, KEY_Q);
	assert_string_equal(ty->text, "Q");
}

static void test_text_ctrl_alt(void **state)
{
	struct typed *ty = *state;
	static const uint16_t mods[] = {KEY_LEFTCTRL, KEY_RIGHTCTRL,
					KEY_LEFTALT, KEY_RIGHTALT};

	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		hold(ty, mods[i], true);
		tap(ty, KEY_C);
		tap(ty, KEY_1);
		tap(ty, KEY_BACKSPACE);
		tap(ty, KEY_ENTER);
		hold(ty, mods[i], false);
	}
	assert_string_equal(ty->text, "");
	assert_int_equal(ty->backspaces + ty->enters, 0);
	/* Released: typing works again. */
	tap(ty, KEY_C);
	assert_string_equal(ty->text, "c");
}

static void test_text_editing(void **state)
{
	struct typed *ty = *state;

	tap(ty, KEY_BACKSPACE);
	tap(ty, KEY_ENTER);
	tap(ty, KEY_KPENTER);
	/* Autorepeat of Backspace deletes once per press event. */
	hold(ty, KEY_BACKSPACE, true);
	hold(ty, KEY_BACKSPACE, true);
	hold(ty, KEY_BACKSPACE, false);
	assert_int_equal(ty->backspaces, 3);
	assert_int_equal(ty->enters, 2);
	assert_string_equal(ty->text, "");
}

static void test_text_pointer_and_release(void **state)
{
	struct typed *ty = *state;

	input_sink_pointer(&ty->t.sink, 5, 6, 2);
	assert_int_equal(ty->pointers, 1);
	assert_int_equal(ty->x, 5);
	assert_int_equal(ty->y, 6);
	assert_int_equal(ty->buttons, 2);

	/* A client leaves with Shift and a button down: release_all lifts
	 * both and types nothing while doing so. */
	hold(ty, KEY_LEFTSHIFT, true);
	hold(ty, KEY_K, true);
	input_sink_release_all(&ty->t.sink);
	assert_string_equal(ty->text, "K");
	assert_int_equal(ty->pointers, 2);
	assert_int_equal(ty->buttons, 0);
	assert_int_equal(ty->x, 5);
	assert_false(input_sink_key_held(&ty->t.sink, KEY_LEFTSHIFT));
	/* The next client does not inherit Shift. */
	tap(ty, KEY_K);
	assert_string_equal(ty->text, "Kk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_empty, rec_setup),
		cmocka_unit_test_setup(test_press_release, rec_setup),
		cmocka_unit_test_setup(test_release_not_held_dropped,
				       rec_setup),
		cmocka_unit_test_setup(test_autorepeat, rec_setup),
		cmocka_unit_test_setup(test_out_of_range, rec_setup),
		cmocka_unit_test_setup(test_word_boundaries, rec_setup),
		cmocka_unit_test_setup(test_pointer, rec_setup),
		cmocka_unit_test_setup(test_release_all, rec_setup),
		cmocka_unit_test_setup(test_release_all_buttons_only,
				       rec_setup),
		cmocka_unit_test(test_null_callbacks),
		cmocka_unit_test_setup(test_text_plain, text_setup),
		cmocka_unit_test_setup(test_text_shift, text_setup),
		cmocka_unit_test_setup(test_text_caps_lock, text_setup),
		cmocka_unit_test_setup(test_text_caps_lock_autorepeat,
				       text_setup),
		cmocka_unit_test_setup(test_text_ctrl_alt, text_setup),
		cmocka_unit_test_setup(test_text_editing, text_setup),
		cmocka_unit_test_setup(test_text_pointer_and_release,
				       text_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
