/* The built-in demo console: a text console drawn with a bitmap font that
 * echoes typed text (a small line editor), shows the pointer position and
 * buttons, and, unless static, a clock that changes every second so
 * updates keep flowing. Static mode draws fixed content only, for
 * exact-pixel tests: the same inputs always give the same pixels. */
#ifndef VFBD_FB_SRC_DEMO_H
#define VFBD_FB_SRC_DEMO_H

#include "fb/fb.h"

#define FB_DEMO_DEFAULT_WIDTH  1024u
#define FB_DEMO_DEFAULT_HEIGHT 768u
#define FB_DEMO_MIN_DIM	       160u

/* Creates a demo source of width x height (FB_DEMO_MIN_DIM..FB_MAX_DIM);
 * NULL on bad geometry or out of memory. */
struct fb_source *fb_demo_new(uint32_t width, uint32_t height, bool is_static);

/* Line editor input. `codepoint` is a printable character (U+0020 and
 * up; characters the font lacks are drawn as U+FFFD). */
void fb_demo_type_char(struct fb_source *src, uint32_t codepoint);
void fb_demo_backspace(struct fb_source *src);
void fb_demo_enter(struct fb_source *src);

/* Pointer position (clamped to the frame) and RFB button mask. */
void fb_demo_pointer(struct fb_source *src, uint32_t x, uint32_t y,
		     uint8_t buttons);

/* Where the demo draws, for tests that look at pixels. Text cell (row, col)
 * covers FB_FONT_WIDTH x FB_FONT_HEIGHT pixels (fb/font.h) from
 * (text_x + col * FB_FONT_WIDTH, text_y + row * FB_FONT_HEIGHT). The
 * cursor fields are the line editor's state at the time of the call. */
struct fb_demo_layout {
	uint32_t title_h;	     /* title bar: rows 0 .. title_h - 1 */
	uint32_t strip_y, strip_h;   /* colour ramps and bars, full width */
	uint32_t text_x, text_y;     /* top left of text cell (0, 0) */
	uint32_t cols, rows;	     /* text cells */
	uint32_t status_y, status_h; /* status bar, down to the bottom */
	uint32_t cursor_row, cursor_col;
};

void fb_demo_get_layout(const struct fb_source *src,
			struct fb_demo_layout *out);

#endif
