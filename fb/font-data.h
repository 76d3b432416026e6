/* The font tables behind fb/font.c. Internal to fb/: only font.c, the
 * file tools/host/psf2c generates at build time ($(BUILD)/gen/font-data.c)
 * and the font's unit test include this. */
#ifndef VFBD_FB_FONT_DATA_H
#define VFBD_FB_FONT_DATA_H

#include <stdint.h>

#include "fb/font.h"

/* One code point drawn by one glyph. */
struct fb_font_map {
	uint32_t codepoint;
	uint16_t glyph; /* index into fb_font_glyphs, < fb_font_nglyphs */
};

/* Glyph bitmaps: 16 rows each, bit 7 the leftmost pixel. */
extern const unsigned int fb_font_nglyphs;
extern const uint8_t fb_font_glyphs[][FB_FONT_HEIGHT];

/* Sorted by code point, each at most once; never empty. */
extern const unsigned int fb_font_nmap;
extern const struct fb_font_map fb_font_map[];

#endif
