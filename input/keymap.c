#include "input/keymap.h"

#include <linux/input-event-codes.h>
#include <X11/keysym.h>

uint16_t keymap_keysym_to_keycode(uint32_t keysym)
{
	switch (keysym) {
	/* Both cases are one key: the client sends Shift (or Caps Lock) as
	 * its own key event, as a physical keyboard would. */
	case XK_a:
	case XK_A:
		return KEY_A;
	case XK_b:
	case XK_B:
		return KEY_B;
	case XK_c:
	case XK_C:
		return KEY_C;
	case XK_d:
	case XK_D:
		return KEY_D;
	case XK_e:
	case XK_E:
		return KEY_E;
	case XK_f:
	case XK_F:
		return KEY_F;
	case XK_g:
	case XK_G:
		return KEY_G;
	case XK_h:
	case XK_H:
		return KEY_H;
	case XK_i:
	case XK_I:
		return KEY_I;
	case XK_j:
	case XK_J:
		return KEY_J;
	case XK_k:
	case XK_K:
		return KEY_K;
	case XK_l:
	case XK_L:
		return KEY_L;
	case XK_m:
	case XK_M:
		return KEY_M;
	case XK_n:
	case XK_N:
		return KEY_N;
	case XK_o:
	case XK_O:
		return KEY_O;
	case XK_p:
	case XK_P:
		return KEY_P;
	case XK_q:
	case XK_Q:
		return KEY_Q;
	case XK_r:
	case XK_R:
		return KEY_R;
	case XK_s:
	case XK_S:
		return KEY_S;
	case XK_t:
	case XK_T:
		return KEY_T;
	case XK_u:
	case XK_U:
		return KEY_U;
	case XK_v:
	case XK_V:
		return KEY_V;
	case XK_w:
	case XK_W:
		return KEY_W;
	case XK_x:
	case XK_X:
		return KEY_X;
	case XK_y:
	case XK_Y:
		return KEY_Y;
	case XK_z:
	case XK_Z:
		return KEY_Z;

	/* Digits and the symbols en-us puts on them with Shift. */
	case XK_1:
	case XK_exclam:
		return KEY_1;
	case XK_2:
	case XK_at:
		return KEY_2;
	case XK_3:
	case XK_numbersign:
		return KEY_3;
	case XK_4:
	case XK_dollar:
		return KEY_4;
	case XK_5:
	case XK_percent:
		return KEY_5;
	case XK_6:
	case XK_asciicircum:
		return KEY_6;
	case XK_7:
	case XK_ampersand:
		return KEY_7;
	case XK_8:
	case XK_asterisk:
		return KEY_8;
	case XK_9:
	case XK_parenleft:
		return KEY_9;
	case XK_0:
	case XK_parenright:
		return KEY_0;

	case XK_grave:
	case XK_asciitilde:
		return KEY_GRAVE;
	case XK_minus:
	case XK_underscore:
		return KEY_MINUS;
	case XK_equal:
	case XK_plus:
		return KEY_EQUAL;
	case XK_bracketleft:
	case XK_braceleft:
		return KEY_LEFTBRACE;
	case XK_bracketright:
	case XK_braceright:
		return KEY_RIGHTBRACE;
	case XK_backslash:
	case XK_bar:
		return KEY_BACKSLASH;
	case XK_semicolon:
	case XK_colon:
		return KEY_SEMICOLON;
	case XK_apostrophe:
	case XK_quotedbl:
		return KEY_APOSTROPHE;
	case XK_comma:
	case XK_less:
		return KEY_COMMA;
	case XK_period:
	case XK_greater:
		return KEY_DOT;
	case XK_slash:
	case XK_question:
		return KEY_SLASH;
	case XK_space:
		return KEY_SPACE;

	case XK_Return:
		return KEY_ENTER;
	case XK_BackSpace:
		return KEY_BACKSPACE;
	/* Shift+Tab arrives as ISO_Left_Tab from X11 clients. */
	case XK_Tab:
	case XK_ISO_Left_Tab:
		return KEY_TAB;
	case XK_Escape:
		return KEY_ESC;
	case XK_Delete:
		return KEY_DELETE;
	case XK_Insert:
		return KEY_INSERT;
	case XK_Home:
		return KEY_HOME;
	case XK_End:
		return KEY_END;
	case XK_Page_Up: /* also XK_Prior */
		return KEY_PAGEUP;
	case XK_Page_Down: /* also XK_Next */
		return KEY_PAGEDOWN;
	case XK_Left:
		return KEY_LEFT;
	case XK_Right:
		return KEY_RIGHT;
	case XK_Up:
		return KEY_UP;
	case XK_Down:
		return KEY_DOWN;

	case XK_Shift_L:
		return KEY_LEFTSHIFT;
	case XK_Shift_R:
		return KEY_RIGHTSHIFT;
	case XK_Control_L:
		return KEY_LEFTCTRL;
	case XK_Control_R:
		return KEY_RIGHTCTRL;
	case XK_Alt_L:
		return KEY_LEFTALT;
	/* AltGr is the right Alt key on a PC keyboard. */
	case XK_Alt_R:
	case XK_ISO_Level3_Shift:
		return KEY_RIGHTALT;
	/* Clients disagree on whether the Windows keys are Meta or Super;
	 * both name the same physical keys. */
	case XK_Meta_L:
	case XK_Super_L:
		return KEY_LEFTMETA;
	case XK_Meta_R:
	case XK_Super_R:
		return KEY_RIGHTMETA;
	case XK_Caps_Lock:
		return KEY_CAPSLOCK;
	case XK_Num_Lock:
		return KEY_NUMLOCK;
	case XK_Scroll_Lock:
		return KEY_SCROLLLOCK;
	/* The PC Print Screen key reports KEY_SYSRQ (KEY_PRINT is a
	 * different, rarely present key), and Break is Ctrl+Pause. */
	case XK_Print:
	case XK_Sys_Req:
		return KEY_SYSRQ;
	case XK_Pause:
	case XK_Break:
		return KEY_PAUSE;
	case XK_Menu:
		return KEY_COMPOSE;

	case XK_F1:
		return KEY_F1;
	case XK_F2:
		return KEY_F2;
	case XK_F3:
		return KEY_F3;
	case XK_F4:
		return KEY_F4;
	case XK_F5:
		return KEY_F5;
	case XK_F6:
		return KEY_F6;
	case XK_F7:
		return KEY_F7;
	case XK_F8:
		return KEY_F8;
	case XK_F9:
		return KEY_F9;
	case XK_F10:
		return KEY_F10;
	case XK_F11:
		return KEY_F11;
	case XK_F12:
		return KEY_F12;
	case XK_F13:
		return KEY_F13;
	case XK_F14:
		return KEY_F14;
	case XK_F15:
		return KEY_F15;
	case XK_F16:
		return KEY_F16;
	case XK_F17:
		return KEY_F17;
	case XK_F18:
		return KEY_F18;
	case XK_F19:
		return KEY_F19;
	case XK_F20:
		return KEY_F20;
	case XK_F21:
		return KEY_F21;
	case XK_F22:
		return KEY_F22;
	case XK_F23:
		return KEY_F23;
	case XK_F24:
		return KEY_F24;

	/*
	 * With Num Lock off the client sends the navigation keysyms of the
	 * keypad; they are still the keypad keys, and the guest applies its
	 * own Num Lock state to them.
	 */
	case XK_KP_0:
	case XK_KP_Insert:
		return KEY_KP0;
	case XK_KP_1:
	case XK_KP_End:
		return KEY_KP1;
	case XK_KP_2:
	case XK_KP_Down:
		return KEY_KP2;
	case XK_KP_3:
	case XK_KP_Page_Down:
		return KEY_KP3;
	case XK_KP_4:
	case XK_KP_Left:
		return KEY_KP4;
	case XK_KP_5:
	case XK_KP_Begin:
		return KEY_KP5;
	case XK_KP_6:
	case XK_KP_Right:
		return KEY_KP6;
	case XK_KP_7:
	case XK_KP_Home:
		return KEY_KP7;
	case XK_KP_8:
	case XK_KP_Up:
		return KEY_KP8;
	case XK_KP_9:
	case XK_KP_Page_Up:
		return KEY_KP9;
	case XK_KP_Decimal:
	case XK_KP_Delete:
		return KEY_KPDOT;
	case XK_KP_Add:
		return KEY_KPPLUS;
	case XK_KP_Subtract:
		return KEY_KPMINUS;
	case XK_KP_Multiply:
		return KEY_KPASTERISK;
	case XK_KP_Divide:
		return KEY_KPSLASH;
	case XK_KP_Enter:
		return KEY_KPENTER;
	case XK_KP_Equal:
		return KEY_KPEQUAL;
	case XK_KP_Separator:
		return KEY_KPCOMMA;
	}
	return KEY_RESERVED;
}

/* Index 0 without Shift, 1 with it. Keypad keys type the same either way:
 * Shift on the keypad changes navigation, not characters. */
static const char key_chars[KEY_KPCOMMA + 1][2] = {
	[KEY_A] = {'a', 'A'},	       [KEY_B] = {'b', 'B'},
	[KEY_C] = {'c', 'C'},	       [KEY_D] = {'d', 'D'},
	[KEY_E] = {'e', 'E'},	       [KEY_F] = {'f', 'F'},
	[KEY_G] = {'g', 'G'},	       [KEY_H] = {'h', 'H'},
	[KEY_I] = {'i', 'I'},	       [KEY_J] = {'j', 'J'},
	[KEY_K] = {'k', 'K'},	       [KEY_L] = {'l', 'L'},
	[KEY_M] = {'m', 'M'},	       [KEY_N] = {'n', 'N'},
	[KEY_O] = {'o', 'O'},	       [KEY_P] = {'p', 'P'},
	[KEY_Q] = {'q', 'Q'},	       [KEY_R] = {'r', 'R'},
	[KEY_S] = {'s', 'S'},	       [KEY_T] = {'t', 'T'},
	[KEY_U] = {'u', 'U'},	       [KEY_V] = {'v', 'V'},
	[KEY_W] = {'w', 'W'},	       [KEY_X] = {'x', 'X'},
	[KEY_Y] = {'y', 'Y'},	       [KEY_Z] = {'z', 'Z'},
	[KEY_1] = {'1', '!'},	       [KEY_2] = {'2', '@'},
	[KEY_3] = {'3', '#'},	       [KEY_4] = {'4', '$'},
	[KEY_5] = {'5', '%'},	       [KEY_6] = {'6', '^'},
	[KEY_7] = {'7', '&'},	       [KEY_8] = {'8', '*'},
	[KEY_9] = {'9', '('},	       [KEY_0] = {'0', ')'},
	[KEY_GRAVE] = {'`', '~'},      [KEY_MINUS] = {'-', '_'},
	[KEY_EQUAL] = {'=', '+'},      [KEY_LEFTBRACE] = {'[', '{'},
	[KEY_RIGHTBRACE] = {']', '}'}, [KEY_BACKSLASH] = {'\\', '|'},
	[KEY_SEMICOLON] = {';', ':'},  [KEY_APOSTROPHE] = {'\'', '"'},
	[KEY_COMMA] = {',', '<'},      [KEY_DOT] = {'.', '>'},
	[KEY_SLASH] = {'/', '?'},      [KEY_SPACE] = {' ', ' '},
	[KEY_KP0] = {'0', '0'},	       [KEY_KP1] = {'1', '1'},
	[KEY_KP2] = {'2', '2'},	       [KEY_KP3] = {'3', '3'},
	[KEY_KP4] = {'4', '4'},	       [KEY_KP5] = {'5', '5'},
	[KEY_KP6] = {'6', '6'},	       [KEY_KP7] = {'7', '7'},
	[KEY_KP8] = {'8', '8'},	       [KEY_KP9] = {'9', '9'},
	[KEY_KPDOT] = {'.', '.'},      [KEY_KPPLUS] = {'+', '+'},
	[KEY_KPMINUS] = {'-', '-'},    [KEY_KPASTERISK] = {'*', '*'},
	[KEY_KPSLASH] = {'/', '/'},    [KEY_KPEQUAL] = {'=', '='},
	[KEY_KPCOMMA] = {',', ','},
};

uint32_t keymap_keycode_to_char(uint16_t keycode, bool shift)
{
	if (keycode >= sizeof(key_chars) / sizeof(key_chars[0]))
		return 0;
	return (unsigned char)key_chars[keycode][shift ? 1 : 0];
}

/* E0-prefixed XT scancodes; the plain ones below 0x59 equal their Linux
 * keycodes by the kernel's own design. */
static uint16_t xt_extended(uint8_t code)
{
	switch (code) {
	case 0x1c:
		return KEY_KPENTER;
	case 0x1d:
		return KEY_RIGHTCTRL;
	case 0x35:
		return KEY_KPSLASH;
	case 0x37:
		return KEY_SYSRQ;
	case 0x38:
		return KEY_RIGHTALT;
	case 0x46:
		return KEY_PAUSE;
	case 0x47:
		return KEY_HOME;
	case 0x48:
		return KEY_UP;
	case 0x49:
		return KEY_PAGEUP;
	case 0x4b:
		return KEY_LEFT;
	case 0x4d:
		return KEY_RIGHT;
	case 0x4f:
		return KEY_END;
	case 0x50:
		return KEY_DOWN;
	case 0x51:
		return KEY_PAGEDOWN;
	case 0x52:
		return KEY_INSERT;
	case 0x53:
		return KEY_DELETE;
	case 0x5b:
		return KEY_LEFTMETA;
	case 0x5c:
		return KEY_RIGHTMETA;
	case 0x5d:
		return KEY_COMPOSE;
	case 0x5e:
		return KEY_POWER;
	case 0x5f:
		return KEY_SLEEP;
	case 0x63:
		return KEY_WAKEUP;
	case 0x10:
		return KEY_PREVIOUSSONG;
	case 0x19:
		return KEY_NEXTSONG;
	case 0x20:
		return KEY_MUTE;
	case 0x2e:
		return KEY_VOLUMEDOWN;
	case 0x30:
		return KEY_VOLUMEUP;
	default:
		return 0;
	}
}

static uint16_t xt_plain_high(uint8_t code)
{
	switch (code) {
	case 0x54:
		return KEY_SYSRQ;
	case 0x56:
		return KEY_102ND;
	case 0x57:
		return KEY_F11;
	case 0x58:
		return KEY_F12;
	case 0x59:
		return KEY_KPEQUAL;
	case 0x5d:
		return KEY_F13;
	case 0x5e:
		return KEY_F14;
	case 0x5f:
		return KEY_F15;
	case 0x70:
		return KEY_KATAKANAHIRAGANA;
	case 0x73:
		return KEY_RO;
	case 0x79:
		return KEY_HENKAN;
	case 0x7b:
		return KEY_MUHENKAN;
	case 0x7d:
		return KEY_YEN;
	case 0x7e:
		return KEY_KPCOMMA;
	default:
		return 0;
	}
}

uint16_t keymap_xt_to_keycode(uint32_t scancode)
{
	if ((scancode & 0xff00) == 0xe000)
		return xt_extended((uint8_t)(scancode & 0x7f));
	if (scancode > 0xff)
		return 0;
	if (scancode & 0x80)
		return xt_extended((uint8_t)(scancode & 0x7f));
	/* KEY_ESC (1) .. KEY_KPDOT (83) are the set-1 codes themselves. */
	if (scancode >= 1 && scancode <= 0x53)
		return (uint16_t)scancode;
	return xt_plain_high((uint8_t)scancode);
}
