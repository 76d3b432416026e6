/* X keysyms (what RFB KeyEvent carries) to Linux input keycodes, for the
 * en-us layout: letters, digits, punctuation (shifted symbols map to the
 * key that produces them), modifiers, navigation, keypad and F1..F24. */
#ifndef VFBD_INPUT_KEYMAP_H
#define VFBD_INPUT_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Returns the KEY_* code for `keysym`, or 0 (KEY_RESERVED) if the layout
 * has no key for it. */
uint16_t keymap_keysym_to_keycode(uint32_t keysym);

/* The inverse used by the demo console: the character an en-us key gives
 * with or without shift, or 0 when the key types nothing. */
uint32_t keymap_keycode_to_char(uint16_t keycode, bool shift);

/* XT (set 1) scancodes as QEMU's extended key event numbers them (0x80
 * set, or a 0xe0 high byte, for E0-prefixed keys) to Linux keycodes:
 * layout-independent, so clients that send them need no keymap. Returns
 * 0 for codes with no key. */
uint16_t keymap_xt_to_keycode(uint32_t scancode);

#endif
