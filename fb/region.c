#include "fb/region.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fb_region_init(struct fb_region *r, uint32_t width, uint32_t height)
{
	memset(r, 0, sizeof(*r));
	return fb_region_reset(r, width, height);
}

void fb_region_fini(struct fb_region *r)
{
	free(r->tiles);
	memset(r, 0, sizeof(*r));
}

int fb_region_reset(struct fb_region *r, uint32_t width, uint32_t height)
{
	uint32_t cols = (width + FB_TILE_W - 1) / FB_TILE_W;
	uint32_t rows = (height + FB_TILE_H - 1) / FB_TILE_H;
	struct fb_tile_box *tiles =
		calloc((size_t)cols * rows + 1, sizeof(*tiles));

	if (!tiles)
		return -ENOMEM;
	free(r->tiles);
	r->tiles = tiles;
	r->width = width;
	r->height = height;
	r->cols = cols;
	r->rows = rows;
	r->count = 0;
	r->row0 = r->row1 = 0;
	return 0;
}

void fb_region_clear(struct fb_region *r)
{
	if (r->count)
		memset(r->tiles + (size_t)r->row0 * r->cols, 0,
		       (size_t)(r->row1 - r->row0) * r->cols *
			       sizeof(*r->tiles));
	r->count = 0;
	r->row0 = r->row1 = 0;
}

/* The tile's size: FB_TILE_W x FB_TILE_H but at the frame's edges. */
static uint32_t tile_w(const struct fb_region *r, uint32_t col)
{
	uint32_t left = r->width - col * FB_TILE_W;

	return left < FB_TILE_W ? left : FB_TILE_W;
}

static uint32_t tile_h(const struct fb_region *r, uint32_t row)
{
	uint32_t left = r->height - row * FB_TILE_H;

	return left < FB_TILE_H ? left : FB_TILE_H;
}

static struct fb_tile_box *tile_at(const struct fb_region *r, uint32_t col,
				   uint32_t row)
{
	return &r->tiles[(size_t)row * r->cols + col];
}

static void note_row(struct fb_region *r, uint32_t row)
{
	if (r->count == 0) {
		r->row0 = row;
		r->row1 = row + 1;
		return;
	}
	r->row0 = row < r->row0 ? row : r->row0;
	r->row1 = row + 1 > r->row1 ? row + 1 : r->row1;
}

void fb_region_add_box(struct fb_region *r, uint32_t col, uint32_t row,
		       struct fb_tile_box box)
{
	struct fb_tile_box *t = tile_at(r, col, row);

	if (t->x1 == 0) {
		note_row(r, row);
		*t = box;
		r->count++;
		return;
	}
	t->x0 = box.x0 < t->x0 ? box.x0 : t->x0;
	t->x1 = box.x1 > t->x1 ? box.x1 : t->x1;
	t->y0 = box.y0 < t->y0 ? box.y0 : t->y0;
	t->y1 = box.y1 > t->y1 ? box.y1 : t->y1;
}

void fb_region_add_tile(struct fb_region *r, uint32_t col, uint32_t row)
{
	fb_region_add_box(r, col, row,
			  (struct fb_tile_box){0, (uint8_t)tile_w(r, col), 0,
					       (uint8_t)tile_h(r, row)});
}

/* The part of `rect` (clipped) inside tile (col, row), tile-relative. */
static struct fb_tile_box rect_in_tile(struct fb_rect rect, uint32_t col,
				       uint32_t row)
{
	uint32_t tx = col * FB_TILE_W, ty = row * FB_TILE_H;
	uint32_t x0 = rect.x > tx ? rect.x - tx : 0;
	uint32_t y0 = rect.y > ty ? rect.y - ty : 0;
	uint32_t x1 = rect.x + rect.w - tx, y1 = rect.y + rect.h - ty;

	x1 = x1 < FB_TILE_W ? x1 : FB_TILE_W;
	y1 = y1 < FB_TILE_H ? y1 : FB_TILE_H;
	return (struct fb_tile_box){(uint8_t)x0, (uint8_t)x1, (uint8_t)y0,
				    (uint8_t)y1};
}

void fb_region_add_rect(struct fb_region *r, struct fb_rect rect)
{
	if (!fb_rect_clip(&rect, r->width, r->height))
		return;
	for (uint32_t row = rect.y / FB_TILE_H;
	     row <= (rect.y + rect.h - 1) / FB_TILE_H; row++)
		for (uint32_t col = rect.x / FB_TILE_W;
		     col <= (rect.x + rect.w - 1) / FB_TILE_W; col++)
			fb_region_add_box(r, col, row,
					  rect_in_tile(rect, col, row));
}

static void clear_tile(struct fb_region *r, struct fb_tile_box *t)
{
	*t = (struct fb_tile_box){0, 0, 0, 0};
	if (--r->count == 0)
		r->row0 = r->row1 = 0;
}

void fb_region_subtract(struct fb_region *r, struct fb_rect rect)
{
	if (r->count == 0 || !fb_rect_clip(&rect, r->width, r->height))
		return;
	for (uint32_t row = rect.y / FB_TILE_H;
	     row <= (rect.y + rect.h - 1) / FB_TILE_H; row++) {
		for (uint32_t col = rect.x / FB_TILE_W;
		     col <= (rect.x + rect.w - 1) / FB_TILE_W; col++) {
			struct fb_tile_box *t = tile_at(r, col, row);
			struct fb_tile_box c = rect_in_tile(rect, col, row);
			bool wide = c.x0 <= t->x0 && c.x1 >= t->x1;
			bool tall = c.y0 <= t->y0 && c.y1 >= t->y1;

			if (t->x1 == 0 || c.x0 >= t->x1 || c.x1 <= t->x0 ||
			    c.y0 >= t->y1 || c.y1 <= t->y0)
				continue;
			if (wide && tall)
				clear_tile(r, t);
			else if (wide && c.y0 <= t->y0)
				t->y0 = c.y1;
			else if (wide && c.y1 >= t->y1)
				t->y1 = c.y0;
			else if (tall && c.x0 <= t->x0)
				t->x0 = c.x1;
			else if (tall && c.x1 >= t->x1)
				t->x1 = c.x0;
		}
	}
}

bool fb_region_touches(const struct fb_region *r, struct fb_rect rect)
{
	if (r->count == 0 || !fb_rect_clip(&rect, r->width, r->height))
		return false;
	for (uint32_t row = rect.y / FB_TILE_H;
	     row <= (rect.y + rect.h - 1) / FB_TILE_H; row++) {
		for (uint32_t col = rect.x / FB_TILE_W;
		     col <= (rect.x + rect.w - 1) / FB_TILE_W; col++) {
			const struct fb_tile_box *t = tile_at(r, col, row);
			struct fb_tile_box c = rect_in_tile(rect, col, row);

			if (t->x1 && c.x0 < t->x1 && c.x1 > t->x0 &&
			    c.y0 < t->y1 && c.y1 > t->y0)
				return true;
		}
	}
	return false;
}

void fb_region_add_all(struct fb_region *r)
{
	size_t row_bytes = (size_t)r->cols * sizeof(*r->tiles);

	if (r->rows == 0)
		return;
	for (uint32_t col = 0; col < r->cols; col++)
		*tile_at(r, col, 0) = (struct fb_tile_box){
			0, (uint8_t)tile_w(r, col), 0, (uint8_t)tile_h(r, 0)};
	/* Every row but the last is a copy of the first. */
	for (uint32_t row = 1; row < r->rows; row++)
		memcpy(tile_at(r, 0, row), r->tiles, row_bytes);
	for (uint32_t col = 0; col < r->cols; col++)
		tile_at(r, col, r->rows - 1)->y1 =
			(uint8_t)tile_h(r, r->rows - 1);
	r->count = (size_t)r->cols * r->rows;
	r->row0 = 0;
	r->row1 = r->rows;
}

void fb_region_merge(struct fb_region *dst, const struct fb_region *src)
{
	if (src->count == 0 || dst->cols != src->cols || dst->rows != src->rows)
		return;
	for (uint32_t row = src->row0; row < src->row1; row++)
		for (uint32_t col = 0; col < src->cols; col++)
			if (fb_region_has_tile(src, col, row))
				fb_region_add_box(dst, col, row,
						  *tile_at(src, col, row));
}

/* Whether the box of tile `col` runs on into the box of tile col + 1.
 * Exactly: they meet at the tile edge and share their rows. Loosely:
 * both tiles are dirty. */
static bool joins_next(const struct fb_region *r, uint32_t col, uint32_t row,
		       bool loose)
{
	const struct fb_tile_box *a = tile_at(r, col, row);
	const struct fb_tile_box *b = a + 1;

	if (col + 1 >= r->cols || !a->x1 || !b->x1)
		return false;
	return loose || (a->x1 == tile_w(r, col) && b->x0 == 0 &&
			 a->y0 == b->y0 && a->y1 == b->y1);
}

/* The run starting exactly at tile `col`, or false when none does; a
 * loose run spans from its first box to its last, over the rows of all
 * its boxes. */
static bool run_from(const struct fb_region *r, uint32_t row, uint32_t col,
		     bool loose, uint32_t *end, struct fb_rect *out)
{
	const struct fb_tile_box *t = tile_at(r, col, row);
	uint32_t c = col, y0 = t->y0, y1 = t->y1;

	if (!t->x1 || (col > 0 && joins_next(r, col - 1, row, loose)))
		return false;
	while (joins_next(r, c, row, loose)) {
		const struct fb_tile_box *b = tile_at(r, ++c, row);

		y0 = b->y0 < y0 ? b->y0 : y0;
		y1 = b->y1 > y1 ? b->y1 : y1;
	}
	*end = c + 1;
	*out = (struct fb_rect){
		.x = col * FB_TILE_W + t->x0,
		.y = row * FB_TILE_H + y0,
		.w = c * FB_TILE_W + tile_at(r, c, row)->x1 -
		     (col * FB_TILE_W + t->x0),
		.h = y1 - y0,
	};
	return true;
}

bool fb_region_next_run(const struct fb_region *r, uint32_t row, uint32_t *col,
			struct fb_rect *out)
{
	for (uint32_t c = *col; c < r->cols; c++) {
		if (run_from(r, row, c, false, col, out))
			return true;
	}
	*col = r->cols;
	return false;
}

/* Whether `above`, a rect whose last rows are in tile row row - 1,
 * continues into the loose run of tile row `row` that starts at tile
 * `col`: the same span, leaving the bottom of its tile row and entering
 * at the top of the next. Then it grows down by the run's rows. */
static bool continues_below(const struct fb_region *r, uint32_t row,
			    uint32_t col, struct fb_rect *above)
{
	struct fb_rect run;
	uint32_t end;

	if (above->y + above->h != row * FB_TILE_H ||
	    !run_from(r, row, col, true, &end, &run) ||
	    run.y != row * FB_TILE_H || run.x != above->x || run.w != above->w)
		return false;
	above->h += run.h;
	return true;
}

/* Each rect is a loose run stacked down over the tile rows below that
 * continue it. A loose run may take in unchanged pixels of its tiles:
 * sending a few costs less than a rect header and an encoder restart per
 * tile, on text where every glyph has its own extent. (Stacking across
 * unchanged rows as well cost ZRLE 12% more bytes on a text console.) The rects
 * are found from the tiles alone, so the count does not depend on how many of
 * them fit in `out`, and a run joins the rect above however many rects lie in
 * between. Every tile is read a bounded number of times. */
size_t fb_region_rects(const struct fb_region *r, struct fb_rect *out,
		       size_t max)
{
	size_t total = 0;

	if (r->count == 0)
		return 0;
	for (uint32_t row = r->row0; row < r->row1; row++) {
		uint32_t c0 = 0, end;
		struct fb_rect run, above;

		while (c0 < r->cols) {
			uint32_t below = row + 1, next;

			if (!run_from(r, row, c0, true, &next, &run)) {
				c0++;
				continue;
			}
			/* Continued from the row above: already in a rect. */
			if (row > r->row0 &&
			    run_from(r, row - 1, c0, true, &end, &above) &&
			    continues_below(r, row, c0, &above)) {
				c0 = next;
				continue;
			}
			while (below < r->row1 &&
			       continues_below(r, below, c0, &run))
				below++;
			if (total < max)
				out[total] = run;
			total++;
			c0 = next;
		}
	}
	return total;
}
