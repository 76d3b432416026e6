/* Keysym -> keycode table for en-us and its inverse used by the demo
 * console. */
#include "input/keymap.h"

#include <linux/input-event-codes.h>
#include <X11/keysym.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct map_case {
	uint32_t keysym;
	uint16_t keycode;
};

static const struct map_case cases[] = {
	/* letters, both cases: KEY_* follow the qwerty rows */
	{XK_a, KEY_A},
	{XK_A, KEY_A},
	{XK_b, KEY_B},
	{XK_B, KEY_B},
	{XK_c, KEY_C},
	{XK_C, KEY_C},
	{XK_d, KEY_D},
	{XK_D, KEY_D},
	{XK_e, KEY_E},
	{XK_E, KEY_E},
	{XK_f, KEY_F},
	{XK_F, KEY_F},
	{XK_g, KEY_G},
	{XK_G, KEY_G},
	{XK_h, KEY_H},
	{XK_H, KEY_H},
	{XK_i, KEY_I},
	{XK_I, KEY_I},
	{XK_j, KEY_J},
	{XK_J, KEY_J},
	{XK_k, KEY_K},
	{XK_K, KEY_K},
	{XK_l, KEY_L},
	{XK_L, KEY_L},
	{XK_m, KEY_M},
	{XK_M, KEY_M},
	{XK_n, KEY_N},
	{XK_N, KEY_N},
	{XK_o, KEY_O},
	{XK_O, KEY_O},
	{XK_p, KEY_P},
	{XK_P, KEY_P},
	{XK_q, KEY_Q},
	{XK_Q, KEY_Q},
	{XK_r, KEY_R},
	{XK_R, KEY_R},
	{XK_s, KEY_S},
	{XK_S, KEY_S},
	{XK_t, KEY_T},
	{XK_T, KEY_T},
	{XK_u, KEY_U},
	{XK_U, KEY_U},
	{XK_v, KEY_V},
	{XK_V, KEY_V},
	{XK_w, KEY_W},
	{XK_W, KEY_W},
	{XK_x, KEY_X},
	{XK_X, KEY_X},
	{XK_y, KEY_Y},
	{XK_Y, KEY_Y},
	{XK_z, KEY_Z},
	{XK_Z, KEY_Z},
	/* digits and their shifted symbols */
	{XK_0, KEY_0},
	{XK_1, KEY_1},
	{XK_2, KEY_2},
	{XK_3, KEY_3},
	{XK_4, KEY_4},
	{XK_5, KEY_5},
	{XK_6, KEY_6},
	{XK_7, KEY_7},
	{XK_8, KEY_8},
	{XK_9, KEY_9},
	{XK_exclam, KEY_1},
	{XK_at, KEY_2},
	{XK_numbersign, KEY_3},
	{XK_dollar, KEY_4},
	{XK_percent, KEY_5},
	{XK_asciicircum, KEY_6},
	{XK_ampersand, KEY_7},
	{XK_asterisk, KEY_8},
	{XK_parenleft, KEY_9},
	{XK_parenright, KEY_0},
	/* punctuation */
	{XK_grave, KEY_GRAVE},
	{XK_asciitilde, KEY_GRAVE},
	{XK_minus, KEY_MINUS},
	{XK_underscore, KEY_MINUS},
	{XK_equal, KEY_EQUAL},
	{XK_plus, KEY_EQUAL},
	{XK_bracketleft, KEY_LEFTBRACE},
	{XK_braceleft, KEY_LEFTBRACE},
	{XK_bracketright, KEY_RIGHTBRACE},
	{XK_braceright, KEY_RIGHTBRACE},
	{XK_backslash, KEY_BACKSLASH},
	{XK_bar, KEY_BACKSLASH},
	{XK_semicolon, KEY_SEMICOLON},
	{XK_colon, KEY_SEMICOLON},
	{XK_apostrophe, KEY_APOSTROPHE},
	{XK_quotedbl, KEY_APOSTROPHE},
	{XK_comma, KEY_COMMA},
	{XK_less, KEY_COMMA},
	{XK_period, KEY_DOT},
	{XK_greater, KEY_DOT},
	{XK_slash, KEY_SLASH},
	{XK_question, KEY_SLASH},
	{XK_space, KEY_SPACE},
	/* editing and navigation */
	{XK_Return, KEY_ENTER},
	{XK_BackSpace, KEY_BACKSPACE},
	{XK_Tab, KEY_TAB},
	{XK_ISO_Left_Tab, KEY_TAB},
	{XK_Escape, KEY_ESC},
	{XK_Delete, KEY_DELETE},
	{XK_Insert, KEY_INSERT},
	{XK_Home, KEY_HOME},
	{XK_End, KEY_END},
	{XK_Page_Up, KEY_PAGEUP},
	{XK_Prior, KEY_PAGEUP},
	{XK_Page_Down, KEY_PAGEDOWN},
	{XK_Next, KEY_PAGEDOWN},
	{XK_Left, KEY_LEFT},
	{XK_Right, KEY_RIGHT},
	{XK_Up, KEY_UP},
	{XK_Down, KEY_DOWN},
	/* modifiers and locks */
	{XK_Shift_L, KEY_LEFTSHIFT},
	{XK_Shift_R, KEY_RIGHTSHIFT},
	{XK_Control_L, KEY_LEFTCTRL},
	{XK_Control_R, KEY_RIGHTCTRL},
	{XK_Alt_L, KEY_LEFTALT},
	{XK_Alt_R, KEY_RIGHTALT},
	{XK_ISO_Level3_Shift, KEY_RIGHTALT},
	{XK_Meta_L, KEY_LEFTMETA},
	{XK_Meta_R, KEY_RIGHTMETA},
	{XK_Super_L, KEY_LEFTMETA},
	{XK_Super_R, KEY_RIGHTMETA},
	{XK_Caps_Lock, KEY_CAPSLOCK},
	{XK_Num_Lock, KEY_NUMLOCK},
	{XK_Scroll_Lock, KEY_SCROLLLOCK},
	/* system keys */
	{XK_Print, KEY_SYSRQ},
	{XK_Sys_Req, KEY_SYSRQ},
	{XK_Pause, KEY_PAUSE},
	{XK_Break, KEY_PAUSE},
	{XK_Menu, KEY_COMPOSE},
	/* function keys, including the non-contiguous F11.. and F13.. */
	{XK_F1, KEY_F1},
	{XK_F2, KEY_F2},
	{XK_F3, KEY_F3},
	{XK_F4, KEY_F4},
	{XK_F5, KEY_F5},
	{XK_F6, KEY_F6},
	{XK_F7, KEY_F7},
	{XK_F8, KEY_F8},
	{XK_F9, KEY_F9},
	{XK_F10, KEY_F10},
	{XK_F11, KEY_F11},
	{XK_F12, KEY_F12},
	{XK_F13, KEY_F13},
	{XK_F14, KEY_F14},
	{XK_F15, KEY_F15},
	{XK_F16, KEY_F16},
	{XK_F17, KEY_F17},
	{XK_F18, KEY_F18},
	{XK_F19, KEY_F19},
	{XK_F20, KEY_F20},
	{XK_F21, KEY_F21},
	{XK_F22, KEY_F22},
	{XK_F23, KEY_F23},
	{XK_F24, KEY_F24},
	/* keypad: digits, their Num Lock off variants, operators */
	{XK_KP_0, KEY_KP0},
	{XK_KP_1, KEY_KP1},
	{XK_KP_2, KEY_KP2},
	{XK_KP_3, KEY_KP3},
	{XK_KP_4, KEY_KP4},
	{XK_KP_5, KEY_KP5},
	{XK_KP_6, KEY_KP6},
	{XK_KP_7, KEY_KP7},
	{XK_KP_8, KEY_KP8},
	{XK_KP_9, KEY_KP9},
	{XK_KP_Insert, KEY_KP0},
	{XK_KP_End, KEY_KP1},
	{XK_KP_Down, KEY_KP2},
	{XK_KP_Page_Down, KEY_KP3},
	{XK_KP_Next, KEY_KP3},
	{XK_KP_Left, KEY_KP4},
	{XK_KP_Begin, KEY_KP5},
	{XK_KP_Right, KEY_KP6},
	{XK_KP_Home, KEY_KP7},
	{XK_KP_Up, KEY_KP8},
	{XK_KP_Page_Up, KEY_KP9},
	{XK_KP_Prior, KEY_KP9},
	{XK_KP_Decimal, KEY_KPDOT},
	{XK_KP_Delete, KEY_KPDOT},
	{XK_KP_Add, KEY_KPPLUS},
	{XK_KP_Subtract, KEY_KPMINUS},
	{XK_KP_Multiply, KEY_KPASTERISK},
	{XK_KP_Divide, KEY_KPSLASH},
	{XK_KP_Enter, KEY_KPENTER},
	{XK_KP_Equal, KEY_KPEQUAL},
	{XK_KP_Separator, KEY_KPCOMMA},
};

static void test_table(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t got = keymap_keysym_to_keycode(cases[i].keysym);

		if (got != cases[i].keycode) {
			print_error("keysym 0x%x: got %u, want %u\n",
				    cases[i].keysym, got, cases[i].keycode);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_every_letter_and_digit(void **state)
{
	/* Each letter is one key for both cases, and no two letters or
	 * digits share a key. */
	uint16_t seen[KEY_CNT] = {0};
	int c;

	for (c = 'a'; c <= 'z'; c++) {
		uint16_t lo = keymap_keysym_to_keycode((uint32_t)c);
		uint16_t up =
			keymap_keysym_to_keycode((uint32_t)(c - 'a' + 'A'));

		assert_int_not_equal(lo, 0);
		assert_int_equal(lo, up);
		assert_int_equal(seen[lo], 0);
		seen[lo] = (uint16_t)c;
	}
	for (c = '0'; c <= '9'; c++) {
		uint16_t kc = keymap_keysym_to_keycode((uint32_t)c);

		assert_int_not_equal(kc, 0);
		assert_int_equal(seen[kc], 0);
		seen[kc] = (uint16_t)c;
	}
}

static void test_unknown(void **state)
{
	static const uint32_t unknown[] = {
		0,
		XK_VoidSymbol,
		0xffffffffu,
		0x01000000u + 0x263a, /* Unicode keysym (smiley) */
		XK_eacute,	      /* Latin-1 but not on en-us */
		XK_nobreakspace,
		XK_Hyper_L,
		XK_Multi_key,
		XK_dead_acute,
		XK_F25,
		0x7f, /* DEL is not a Latin-1 keysym */
		0x1f, /* nor is a control character */
	};
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(keymap_keysym_to_keycode(unknown[i]), 0);
}

/* Written out independently of the keymap so that a key assigned to the
 * wrong shift level is caught. */
static const char shifted[] = "~!@#$%^&*()_+{}|:\"<>?"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static void test_round_trip_ascii(void **state)
{
	uint16_t keys[KEY_CNT] = {0};
	int c, distinct = 0;

	/* Printable ASCII keysyms are the characters themselves. */
	for (c = 0x20; c <= 0x7e; c++) {
		uint16_t kc = keymap_keysym_to_keycode((uint32_t)c);
		bool shift = strchr(shifted, c) != NULL;

		if (kc == 0)
			fail_msg("'%c' has no key", c);
		if (keymap_keycode_to_char(kc, shift) != (uint32_t)c)
			fail_msg("'%c' -> key %u -> '%c' (shift %d)", c, kc,
				 (int)keymap_keycode_to_char(kc, shift), shift);
		/* The other shift level is another character, except space. */
		if (c != ' ' &&
		    keymap_keycode_to_char(kc, !shift) == (uint32_t)c)
			fail_msg("'%c' typed at both shift levels", c);
		if (!keys[kc]++)
			distinct++;
	}
	/* 26 letters, 10 digits, 11 punctuation keys and space. */
	assert_int_equal(distinct, 48);
}

static void test_keypad_chars(void **state)
{
	static const struct {
		uint32_t keysym;
		char c;
	} kp[] = {
		{XK_KP_0, '0'},		{XK_KP_1, '1'},
		{XK_KP_2, '2'},		{XK_KP_3, '3'},
		{XK_KP_4, '4'},		{XK_KP_5, '5'},
		{XK_KP_6, '6'},		{XK_KP_7, '7'},
		{XK_KP_8, '8'},		{XK_KP_9, '9'},
		{XK_KP_Decimal, '.'},	{XK_KP_Add, '+'},
		{XK_KP_Subtract, '-'},	{XK_KP_Multiply, '*'},
		{XK_KP_Divide, '/'},	{XK_KP_Equal, '='},
		{XK_KP_Separator, ','},
	};
	size_t i;

	for (i = 0; i < sizeof(kp) / sizeof(kp[0]); i++) {
		uint16_t kc = keymap_keysym_to_keycode(kp[i].keysym);

		assert_int_equal(keymap_keycode_to_char(kc, false), kp[i].c);
		assert_int_equal(keymap_keycode_to_char(kc, true), kp[i].c);
	}
}

static void test_no_char(void **state)
{
	static const uint16_t silent[] = {
		KEY_RESERVED,  KEY_ESC,	    KEY_TAB,	   KEY_ENTER,
		KEY_BACKSPACE, KEY_KPENTER, KEY_LEFTSHIFT, KEY_RIGHTCTRL,
		KEY_CAPSLOCK,  KEY_F1,	    KEY_F12,	   KEY_F24,
		KEY_UP,	       KEY_DELETE,  KEY_COMPOSE,   KEY_102ND,
		KEY_MAX,       KEY_CNT,	    0xffff,
	};
	size_t i;

	for (i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		assert_int_equal(keymap_keycode_to_char(silent[i], false), 0);
		assert_int_equal(keymap_keycode_to_char(silent[i], true), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_letter_and_digit),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_round_trip_ascii),
		cmocka_unit_test(test_keypad_chars),
		cmocka_unit_test(test_no_char),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
