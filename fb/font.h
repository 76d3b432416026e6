/* The demo console's bitmap font: 8x16 glyphs generated at build time
 * from a Debian console font (see the Makefile). */
#ifndef VFBD_FB_FONT_H
#define VFBD_FB_FONT_H

#include <stdint.h>

#define FB_FONT_WIDTH  8
#define FB_FONT_HEIGHT 16

/* Returns the 16 rows of the glyph for a Unicode code point (bit 7 of
 * each byte is the leftmost pixel); a replacement glyph when the font has
 * none. Never NULL. */
const uint8_t *fb_font_glyph(uint32_t codepoint);

#endif
