/* The demo console: a frame drawn in memory with the 8x16 font.
 *
 * Unlike guest memory, this source knows exactly what it drew: every
 * drawing step records the rectangle it touched, and poll hands those
 * rectangles over as the damage hint, so the shadow compares only them.
 * Everything is drawn at the moment it changes (input calls draw at once,
 * the clock in poll), which keeps the frame a pure function of the inputs
 * and, unless static, the time. */
#include "fb/src-demo.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fb/font.h"

/* A dark console palette, XRGB8888. */
#define FB_DEMO_BG	  0x161a21u
#define FB_DEMO_TEXT	  0xe6e8ebu
#define FB_DEMO_WELCOME	  0x8fbcbbu
#define FB_DEMO_CURSOR	  0x9ccc65u
#define FB_DEMO_TITLE_BG  0x2b4a6fu
#define FB_DEMO_TITLE_FG  0xffffffu
#define FB_DEMO_CLOCK_FG  0xffd866u
#define FB_DEMO_STATUS_BG 0x2a2f3au
#define FB_DEMO_STATUS_FG 0xc8ccd4u

/* Title and status bars hold one line of text with PAD pixels around. */
#define FB_DEMO_PAD	  2u
#define FB_DEMO_BAR_H	  (FB_FONT_HEIGHT + 2 * FB_DEMO_PAD)
#define FB_DEMO_MARGIN	  8u
#define FB_DEMO_RAMP_H	  6u
#define FB_DEMO_NRAMPS	  5u
#define FB_DEMO_SWATCH_H  10u
#define FB_DEMO_STRIP_H	  (FB_DEMO_NRAMPS * FB_DEMO_RAMP_H + FB_DEMO_SWATCH_H)
#define FB_DEMO_TEXT_PAD  4u
#define FB_DEMO_CLOCK_LEN 8u /* "HH:MM:SS" */

/* The smallest frame must still hold every part and at least one text
 * cell, so the layout below never underflows. */
#define FB_DEMO_NEED_H                                                         \
	(2 * FB_DEMO_BAR_H + FB_DEMO_STRIP_H + 2 * FB_DEMO_TEXT_PAD +          \
	 FB_FONT_HEIGHT)
#define FB_DEMO_NEED_W                                                         \
	(3 * FB_DEMO_MARGIN + (FB_DEMO_CLOCK_LEN + 2) * FB_FONT_WIDTH)
_Static_assert(FB_DEMO_NEED_H <= FB_DEMO_MIN_DIM, "demo too tall for minimum");
_Static_assert(FB_DEMO_NEED_W <= FB_DEMO_MIN_DIM, "demo too wide for minimum");

static const char fb_demo_welcome[] =
	"Type here; text echoes. Pointer position below.";
static const char fb_demo_spinner[] = "|/-\\";

/* Saturated colours for the swatch bars: the bright corners of the RGB cube
 * and one half-intensity channel, so converters see 0x00, 0x80 and 0xff. */
static const uint32_t fb_demo_swatches[] = {
	0xffffffu, 0xffff00u, 0x00ffffu, 0x00ff00u,
	0xff00ffu, 0xff0000u, 0x0000ffu, 0xff8000u,
};

enum fb_demo_attr {
	FB_DEMO_ATTR_TYPED,
	FB_DEMO_ATTR_WELCOME,
};

struct fb_demo_cell {
	uint32_t cp;  /* 0: empty */
	uint8_t attr; /* enum fb_demo_attr */
};

struct fb_demo {
	struct fb_source src;
	bool is_static;
	uint32_t width, height;
	uint32_t *px; /* width * height; stride is width * 4 */

	/* Fixed at creation; cursor_row/col there are unused (see cur_*). */
	struct fb_demo_layout lay;
	uint32_t title_end;  /* title text stops before the clock */
	uint32_t clock_x;    /* left edge of the clock */
	uint32_t status_end; /* status text stops before the spinner */
	uint32_t spinner_x;

	/* The line editor. Cells after the cursor are always empty, which is
	 * what lets Backspace simply clear the cell before it. */
	struct fb_demo_cell *cells; /* rows * cols */
	bool *wrapped;		    /* row continues the row above */
	uint32_t cur_row, cur_col;

	uint32_t ptr_x, ptr_y;
	uint8_t buttons;
	size_t status_len; /* characters of the status text on screen */

	time_t shown_sec; /* the second the clock shows */
	unsigned spinner;

	struct fb_damage pending; /* since the last poll */
};

static const struct fb_source_ops fb_demo_ops;

static struct fb_demo *fb_demo_from(struct fb_source *src)
{
	assert(src && src->ops == &fb_demo_ops);
	return (struct fb_demo *)((char *)src - offsetof(struct fb_demo, src));
}

static const struct fb_demo *fb_demo_from_const(const struct fb_source *src)
{
	assert(src && src->ops == &fb_demo_ops);
	return (const struct fb_demo *)((const char *)src -
					offsetof(struct fb_demo, src));
}

static bool fb_demo_rect_contains(const struct fb_rect *o,
				  const struct fb_rect *r)
{
	return r->x >= o->x && r->y >= o->y && r->x + r->w <= o->x + o->w &&
	       r->y + r->h <= o->y + o->h;
}

/* Records a drawn rectangle for the next poll. Neighbours in the same
 * band of rows or columns merge, so a line of typing stays one rect; past
 * FB_DAMAGE_MAX_RECTS the hint degrades to "all". */
static void fb_demo_damage(struct fb_demo *d, uint32_t x, uint32_t y,
			   uint32_t w, uint32_t h)
{
	struct fb_damage *p = &d->pending;
	struct fb_rect r = {x, y, w, h};

	if (p->all || !fb_rect_clip(&r, d->width, d->height))
		return;
	for (unsigned i = 0; i < p->n; i++) {
		struct fb_rect *o = &p->rects[i];

		if (fb_demo_rect_contains(o, &r))
			return;
		if (fb_demo_rect_contains(&r, o)) {
			*o = r;
			return;
		}
		if (o->y == r.y && o->h == r.h && r.x <= o->x + o->w &&
		    o->x <= r.x + r.w) {
			uint32_t x2 = r.x + r.w > o->x + o->w ? r.x + r.w
							      : o->x + o->w;

			o->x = r.x < o->x ? r.x : o->x;
			o->w = x2 - o->x;
			return;
		}
		if (o->x == r.x && o->w == r.w && r.y <= o->y + o->h &&
		    o->y <= r.y + r.h) {
			uint32_t y2 = r.y + r.h > o->y + o->h ? r.y + r.h
							      : o->y + o->h;

			o->y = r.y < o->y ? r.y : o->y;
			o->h = y2 - o->y;
			return;
		}
	}
	if (p->n == FB_DAMAGE_MAX_RECTS) {
		p->all = true;
		p->n = 0;
		return;
	}
	p->rects[p->n++] = r;
}

static void fb_demo_fill(struct fb_demo *d, uint32_t x, uint32_t y, uint32_t w,
			 uint32_t h, uint32_t color)
{
	struct fb_rect r = {x, y, w, h};

	if (!fb_rect_clip(&r, d->width, d->height))
		return;
	for (uint32_t j = 0; j < r.h; j++) {
		uint32_t *row = d->px + (size_t)(r.y + j) * d->width + r.x;

		for (uint32_t i = 0; i < r.w; i++)
			row[i] = color;
	}
}

/* Draws one glyph cell at (x, y), cut off at column x_end and at the
 * frame's edges. */
static void fb_demo_glyph(struct fb_demo *d, uint32_t x, uint32_t y,
			  uint32_t x_end, uint32_t cp, uint32_t fg, uint32_t bg)
{
	uint32_t w = FB_FONT_WIDTH, h = FB_FONT_HEIGHT;
	const uint8_t *g;

	if (x_end > d->width)
		x_end = d->width;
	if (x >= x_end || y >= d->height)
		return;
	if (w > x_end - x)
		w = x_end - x;
	if (h > d->height - y)
		h = d->height - y;
	g = fb_font_glyph(cp);
	for (uint32_t j = 0; j < h; j++) {
		uint32_t *row = d->px + (size_t)(y + j) * d->width + x;

		for (uint32_t i = 0; i < w; i++)
			row[i] = g[j] & (0x80u >> i) ? fg : bg;
	}
}

/* Draws ASCII text from (x, y), cut off at column x_end. */
static void fb_demo_text(struct fb_demo *d, uint32_t x, uint32_t y,
			 uint32_t x_end, const char *s, uint32_t fg,
			 uint32_t bg)
{
	for (; *s && x < x_end; s++, x += FB_FONT_WIDTH)
		fb_demo_glyph(d, x, y, x_end, (unsigned char)*s, fg, bg);
}

static uint32_t fb_demo_ramp(uint32_t x, uint32_t w)
{
	return (uint32_t)((uint64_t)x * 255 / (w - 1));
}

/* A full-saturation hue wheel across the width: mixed channels, every
 * value of each, for pixel-format converters to chew on. */
static uint32_t fb_demo_hue(uint32_t x, uint32_t w)
{
	uint32_t h = (uint32_t)((uint64_t)x * (6 * 256 - 1) / (w - 1));
	uint32_t f = h % 256, r, g, b;

	switch (h / 256) {
	case 0:
		r = 255, g = f, b = 0;
		break;
	case 1:
		r = 255 - f, g = 255, b = 0;
		break;
	case 2:
		r = 0, g = 255, b = f;
		break;
	case 3:
		r = 0, g = 255 - f, b = 255;
		break;
	case 4:
		r = f, g = 0, b = 255;
		break;
	default:
		r = 255, g = 0, b = 255 - f;
		break;
	}
	return r << 16 | g << 8 | b;
}

static uint32_t fb_demo_strip_color(uint32_t band, uint32_t x, uint32_t w)
{
	uint32_t v = fb_demo_ramp(x, w);
	size_t nswatch = sizeof(fb_demo_swatches) / sizeof(fb_demo_swatches[0]);

	switch (band) {
	case 0:
		return v << 16;
	case 1:
		return v << 8;
	case 2:
		return v;
	case 3:
		return v * 0x010101u;
	case 4:
		return fb_demo_hue(x, w);
	default:
		return fb_demo_swatches[(uint64_t)x * nswatch / w];
	}
}

/* Red, green, blue and grey ramps, a hue wheel, then swatch bars. Each
 * band's first row is computed and the rest copied from it. */
static void fb_demo_draw_strip(struct fb_demo *d)
{
	uint32_t y = d->lay.strip_y;

	for (uint32_t band = 0; band <= FB_DEMO_NRAMPS; band++) {
		uint32_t h = band < FB_DEMO_NRAMPS ? FB_DEMO_RAMP_H
						   : FB_DEMO_SWATCH_H;
		uint32_t *first = d->px + (size_t)y * d->width;

		for (uint32_t x = 0; x < d->width; x++)
			first[x] = fb_demo_strip_color(band, x, d->width);
		for (uint32_t j = 1; j < h; j++)
			memcpy(first + (size_t)j * d->width, first,
			       (size_t)d->width * 4);
		y += h;
	}
	fb_demo_damage(d, 0, d->lay.strip_y, d->width, d->lay.strip_h);
}

static void fb_demo_draw_title(struct fb_demo *d)
{
	char s[64];

	snprintf(s, sizeof(s), "vfbd demo console  %ux%u", (unsigned)d->width,
		 (unsigned)d->height);
	fb_demo_fill(d, 0, 0, d->width, d->lay.title_h, FB_DEMO_TITLE_BG);
	fb_demo_text(d, FB_DEMO_MARGIN, FB_DEMO_PAD, d->title_end, s,
		     FB_DEMO_TITLE_FG, FB_DEMO_TITLE_BG);
	fb_demo_damage(d, 0, 0, d->width, d->lay.title_h);
}

static void fb_demo_draw_clock(struct fb_demo *d)
{
	char s[40] = "--:--:--";
	struct tm tm;

	if (localtime_r(&d->shown_sec, &tm))
		snprintf(s, sizeof(s), "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	fb_demo_text(d, d->clock_x, FB_DEMO_PAD, d->width - FB_DEMO_MARGIN, s,
		     FB_DEMO_CLOCK_FG, FB_DEMO_TITLE_BG);
	fb_demo_damage(d, d->clock_x, FB_DEMO_PAD,
		       FB_DEMO_CLOCK_LEN * FB_FONT_WIDTH, FB_FONT_HEIGHT);
}

static void fb_demo_draw_spinner(struct fb_demo *d)
{
	uint32_t y = d->lay.status_y + FB_DEMO_PAD;
	char c = fb_demo_spinner[d->spinner % (sizeof(fb_demo_spinner) - 1)];

	fb_demo_glyph(d, d->spinner_x, y, d->width, (unsigned char)c,
		      FB_DEMO_STATUS_FG, FB_DEMO_STATUS_BG);
	fb_demo_damage(d, d->spinner_x, y, FB_FONT_WIDTH, FB_FONT_HEIGHT);
}

/* Rewrites the status text, erasing what is left of a longer old one, and
 * reports only the text's extent rather than the whole bar. */
static void fb_demo_draw_status(struct fb_demo *d)
{
	uint32_t y = d->lay.status_y + FB_DEMO_PAD;
	uint64_t x_end;
	size_t len, span;
	char bl = d->buttons & 1 ? 'L' : '-';
	char bm = d->buttons & 2 ? 'M' : '-';
	char br = d->buttons & 4 ? 'R' : '-';
	char s[80];

	snprintf(s, sizeof(s), "pointer %u,%u buttons %c%c%c%s%s",
		 (unsigned)d->ptr_x, (unsigned)d->ptr_y, bl, bm, br,
		 d->buttons & 8 ? " wheel-up" : "",
		 d->buttons & 16 ? " wheel-down" : "");
	/* On a narrow frame a terse form keeps the buttons in sight. */
	if (FB_DEMO_MARGIN + strlen(s) * FB_FONT_WIDTH > d->status_end)
		snprintf(s, sizeof(s), "%u,%u %c%c%c", (unsigned)d->ptr_x,
			 (unsigned)d->ptr_y, bl, bm, br);
	len = strlen(s);
	span = len > d->status_len ? len : d->status_len;
	x_end = FB_DEMO_MARGIN + (uint64_t)span * FB_FONT_WIDTH;
	if (x_end > d->status_end)
		x_end = d->status_end;
	fb_demo_fill(d, FB_DEMO_MARGIN, y, (uint32_t)x_end - FB_DEMO_MARGIN,
		     FB_FONT_HEIGHT, FB_DEMO_STATUS_BG);
	fb_demo_text(d, FB_DEMO_MARGIN, y, d->status_end, s, FB_DEMO_STATUS_FG,
		     FB_DEMO_STATUS_BG);
	fb_demo_damage(d, FB_DEMO_MARGIN, y, (uint32_t)x_end - FB_DEMO_MARGIN,
		       FB_FONT_HEIGHT);
	d->status_len = len;
}

static struct fb_demo_cell *fb_demo_cell(struct fb_demo *d, uint32_t row,
					 uint32_t col)
{
	return &d->cells[(size_t)row * d->lay.cols + col];
}

/* Draws one text cell from the model; the cursor is a block in inverse
 * video. The caller reports the damage. */
static void fb_demo_draw_cell(struct fb_demo *d, uint32_t row, uint32_t col)
{
	const struct fb_demo_cell *c = fb_demo_cell(d, row, col);
	uint32_t x = d->lay.text_x + col * FB_FONT_WIDTH;
	uint32_t y = d->lay.text_y + row * FB_FONT_HEIGHT;
	uint32_t fg = c->attr == FB_DEMO_ATTR_WELCOME ? FB_DEMO_WELCOME
						      : FB_DEMO_TEXT;
	uint32_t bg = FB_DEMO_BG;

	if (row == d->cur_row && col == d->cur_col) {
		fg = FB_DEMO_BG;
		bg = FB_DEMO_CURSOR;
	}
	if (c->cp)
		fb_demo_glyph(d, x, y, x + FB_FONT_WIDTH, c->cp, fg, bg);
	else
		fb_demo_fill(d, x, y, FB_FONT_WIDTH, FB_FONT_HEIGHT, bg);
}

static void fb_demo_redraw_cell(struct fb_demo *d, uint32_t row, uint32_t col)
{
	fb_demo_draw_cell(d, row, col);
	fb_demo_damage(d, d->lay.text_x + col * FB_FONT_WIDTH,
		       d->lay.text_y + row * FB_FONT_HEIGHT, FB_FONT_WIDTH,
		       FB_FONT_HEIGHT);
}

static void fb_demo_draw_text_area(struct fb_demo *d)
{
	uint32_t top = d->lay.strip_y + d->lay.strip_h;

	fb_demo_fill(d, 0, top, d->width, d->lay.status_y - top, FB_DEMO_BG);
	for (uint32_t row = 0; row < d->lay.rows; row++) {
		for (uint32_t col = 0; col < d->lay.cols; col++)
			fb_demo_draw_cell(d, row, col);
	}
	fb_demo_damage(d, 0, top, d->width, d->lay.status_y - top);
}

static void fb_demo_move_cursor(struct fb_demo *d, uint32_t row, uint32_t col)
{
	uint32_t old_row = d->cur_row, old_col = d->cur_col;

	d->cur_row = row;
	d->cur_col = col;
	fb_demo_redraw_cell(d, old_row, old_col);
	fb_demo_redraw_cell(d, row, col);
}

/* Moves the text up one row. The pixels move with a memmove, which gives
 * the same result as redrawing every cell at a fraction of the cost on a
 * large frame; then only the rows the cursor left and entered are drawn. */
static void fb_demo_scroll(struct fb_demo *d)
{
	uint32_t rows = d->lay.rows, cols = d->lay.cols;
	uint32_t old_col = d->cur_col;
	size_t row_px = (size_t)FB_FONT_HEIGHT * d->width;
	uint32_t *top = d->px + (size_t)d->lay.text_y * d->width;

	memmove(d->cells, d->cells + cols,
		(size_t)(rows - 1) * cols * sizeof(*d->cells));
	memset(d->cells + (size_t)(rows - 1) * cols, 0,
	       cols * sizeof(*d->cells));
	memmove(d->wrapped, d->wrapped + 1, (rows - 1) * sizeof(*d->wrapped));
	d->wrapped[rows - 1] = false;

	memmove(top, top + row_px, (rows - 1) * row_px * sizeof(*top));
	fb_demo_fill(d, 0, d->lay.text_y + (rows - 1) * FB_FONT_HEIGHT,
		     d->width, FB_FONT_HEIGHT, FB_DEMO_BG);

	d->cur_row = rows - 1;
	d->cur_col = 0;
	if (rows >= 2)
		fb_demo_draw_cell(d, rows - 2, old_col);
	fb_demo_draw_cell(d, rows - 1, 0);
	fb_demo_damage(d, 0, d->lay.text_y, d->width, rows * FB_FONT_HEIGHT);
}

static void fb_demo_newline(struct fb_demo *d, bool wrap)
{
	if (d->cur_row + 1 < d->lay.rows) {
		d->wrapped[d->cur_row + 1] = wrap;
		fb_demo_move_cursor(d, d->cur_row + 1, 0);
	} else {
		fb_demo_scroll(d);
		d->wrapped[d->cur_row] = wrap;
	}
}

static void fb_demo_put(struct fb_demo *d, uint32_t cp, uint8_t attr)
{
	struct fb_demo_cell *c = fb_demo_cell(d, d->cur_row, d->cur_col);

	c->cp = cp;
	c->attr = attr;
	if (d->cur_col + 1 < d->lay.cols)
		fb_demo_move_cursor(d, d->cur_row, d->cur_col + 1);
	else
		fb_demo_newline(d, true);
}

/* Runs in poll only, so the clock and spinner change when the session
 * asks, and never in static mode. */
static void fb_demo_tick(struct fb_demo *d)
{
	time_t now = time(NULL);

	if (now == d->shown_sec)
		return;
	d->shown_sec = now;
	d->spinner++;
	fb_demo_draw_clock(d);
	fb_demo_draw_spinner(d);
}

static enum fb_poll fb_demo_poll(struct fb_source *src, struct fb_damage *hint)
{
	struct fb_demo *d = fb_demo_from(src);

	if (!d->is_static)
		fb_demo_tick(d);
	if (!d->pending.all && d->pending.n == 0)
		return FB_POLL_IDLE;
	*hint = d->pending;
	memset(&d->pending, 0, sizeof(d->pending));
	return FB_POLL_DAMAGE;
}

static int fb_demo_view(struct fb_source *src, struct fb_view *out)
{
	struct fb_demo *d = fb_demo_from(src);

	out->data = (const uint8_t *)d->px;
	out->width = d->width;
	out->height = d->height;
	out->stride = (size_t)d->width * 4;
	return 0;
}

static int fb_demo_fd(struct fb_source *src)
{
	return -1;
}

static void fb_demo_free(struct fb_source *src)
{
	struct fb_demo *d = fb_demo_from(src);

	free(d->wrapped);
	free(d->cells);
	free(d->px);
	free(d);
}

static const struct fb_source_ops fb_demo_ops = {
	.poll = fb_demo_poll,
	.view = fb_demo_view,
	.fd = fb_demo_fd,
	.free = fb_demo_free,
};

static void fb_demo_layout_init(struct fb_demo *d)
{
	struct fb_demo_layout *l = &d->lay;
	uint32_t text_bottom;

	l->title_h = FB_DEMO_BAR_H;
	l->strip_y = l->title_h;
	l->strip_h = FB_DEMO_STRIP_H;
	l->status_h = FB_DEMO_BAR_H;
	l->status_y = d->height - l->status_h;
	l->text_x = FB_DEMO_MARGIN;
	l->text_y = l->strip_y + l->strip_h + FB_DEMO_TEXT_PAD;
	text_bottom = l->status_y - FB_DEMO_TEXT_PAD;
	l->cols = (d->width - 2 * FB_DEMO_MARGIN) / FB_FONT_WIDTH;
	l->rows = (text_bottom - l->text_y) / FB_FONT_HEIGHT;

	d->clock_x =
		d->width - FB_DEMO_MARGIN - FB_DEMO_CLOCK_LEN * FB_FONT_WIDTH;
	d->spinner_x = d->width - FB_DEMO_MARGIN - FB_FONT_WIDTH;
	if (d->is_static) {
		d->title_end = d->width - FB_DEMO_MARGIN;
		d->status_end = d->width - FB_DEMO_MARGIN;
	} else {
		d->title_end = d->clock_x - FB_DEMO_MARGIN;
		d->status_end = d->spinner_x - FB_DEMO_MARGIN;
	}
}

struct fb_source *fb_demo_new(uint32_t width, uint32_t height, bool is_static)
{
	struct fb_demo *d;

	if (width < FB_DEMO_MIN_DIM || width > FB_MAX_DIM ||
	    height < FB_DEMO_MIN_DIM || height > FB_MAX_DIM)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->src.ops = &fb_demo_ops;
	snprintf(d->src.name, sizeof(d->src.name), "vfbd demo %ux%u",
		 (unsigned)width, (unsigned)height);
	d->is_static = is_static;
	d->width = width;
	d->height = height;
	fb_demo_layout_init(d);

	d->px = malloc((size_t)width * height * sizeof(*d->px));
	if (!d->px)
		goto err_px;
	d->cells = calloc((size_t)d->lay.rows * d->lay.cols, sizeof(*d->cells));
	if (!d->cells)
		goto err_cells;
	d->wrapped = calloc(d->lay.rows, sizeof(*d->wrapped));
	if (!d->wrapped)
		goto err_wrapped;

	fb_demo_fill(d, 0, 0, width, height, FB_DEMO_BG);
	fb_demo_draw_title(d);
	fb_demo_draw_strip(d);
	fb_demo_fill(d, 0, d->lay.status_y, width, d->lay.status_h,
		     FB_DEMO_STATUS_BG);
	fb_demo_draw_status(d);
	if (!is_static) {
		/* localtime_r need not read TZ itself. */
		tzset();
		d->shown_sec = time(NULL);
		fb_demo_draw_clock(d);
		fb_demo_draw_spinner(d);
	}
	for (const char *s = fb_demo_welcome; *s; s++)
		fb_demo_put(d, (unsigned char)*s, FB_DEMO_ATTR_WELCOME);
	fb_demo_newline(d, false);
	fb_demo_draw_text_area(d);

	/* The first poll reports everything, whatever was recorded. */
	memset(&d->pending, 0, sizeof(d->pending));
	d->pending.all = true;
	return &d->src;

err_wrapped:
	free(d->cells);
err_cells:
	free(d->px);
err_px:
	free(d);
	return NULL;
}

void fb_demo_type_char(struct fb_source *src, uint32_t codepoint)
{
	struct fb_demo *d = fb_demo_from(src);

	/* C0 and C1 controls have no glyph; Enter and Backspace come as
	 * their own calls. */
	if (codepoint < 0x20 || (codepoint >= 0x7f && codepoint < 0xa0))
		return;
	fb_demo_put(d, codepoint, FB_DEMO_ATTR_TYPED);
}

void fb_demo_backspace(struct fb_source *src)
{
	struct fb_demo *d = fb_demo_from(src);
	uint32_t row = d->cur_row, col = d->cur_col;

	if (col > 0) {
		col--;
	} else if (row > 0 && d->wrapped[row]) {
		/* Back over a wrap onto the row above. */
		d->wrapped[row] = false;
		row--;
		col = d->lay.cols - 1;
	} else {
		return;
	}
	fb_demo_cell(d, row, col)->cp = 0;
	fb_demo_move_cursor(d, row, col);
}

void fb_demo_enter(struct fb_source *src)
{
	fb_demo_newline(fb_demo_from(src), false);
}

void fb_demo_pointer(struct fb_source *src, uint32_t x, uint32_t y,
		     uint8_t buttons)
{
	struct fb_demo *d = fb_demo_from(src);

	if (x >= d->width)
		x = d->width - 1;
	if (y >= d->height)
		y = d->height - 1;
	if (x == d->ptr_x && y == d->ptr_y && buttons == d->buttons)
		return;
	d->ptr_x = x;
	d->ptr_y = y;
	d->buttons = buttons;
	fb_demo_draw_status(d);
}

void fb_demo_get_layout(const struct fb_source *src, struct fb_demo_layout *out)
{
	const struct fb_demo *d = fb_demo_from_const(src);

	*out = d->lay;
	out->cursor_row = d->cur_row;
	out->cursor_col = d->cur_col;
}
