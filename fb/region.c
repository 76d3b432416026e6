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
	uint8_t *tiles = calloc((size_t)cols * rows + 1, 1);

	if (!tiles)
		return -ENOMEM;
	free(r->tiles);
	r->tiles = tiles;
	r->width = width;
	r->height = height;
	r->cols = cols;
	r->rows = rows;
	r->count = 0;
	return 0;
}

void fb_region_clear(struct fb_region *r)
{
	if (r->count)
		memset(r->tiles, 0, (size_t)r->cols * r->rows);
	r->count = 0;
}

void fb_region_add_tile(struct fb_region *r, uint32_t col, uint32_t row)
{
	uint8_t *t = &r->tiles[(size_t)row * r->cols + col];

	if (!*t) {
		*t = 1;
		r->count++;
	}
}

void fb_region_add_rect(struct fb_region *r, struct fb_rect rect)
{
	uint32_t c0, c1, r0, r1;

	if (!fb_rect_clip(&rect, r->width, r->height))
		return;
	c0 = rect.x / FB_TILE_W;
	c1 = (rect.x + rect.w - 1) / FB_TILE_W;
	r0 = rect.y / FB_TILE_H;
	r1 = (rect.y + rect.h - 1) / FB_TILE_H;
	for (uint32_t row = r0; row <= r1; row++)
		for (uint32_t col = c0; col <= c1; col++)
			fb_region_add_tile(r, col, row);
}

void fb_region_remove_inside(struct fb_region *r, struct fb_rect rect)
{
	uint32_t c0, c1, r0, r1;

	if (!fb_rect_clip(&rect, r->width, r->height))
		return;
	/* First and last tiles wholly inside; edge tiles of the frame
	 * count as whole when the rect reaches the frame's edge. */
	c0 = (rect.x + FB_TILE_W - 1) / FB_TILE_W;
	r0 = (rect.y + FB_TILE_H - 1) / FB_TILE_H;
	c1 = rect.x + rect.w == r->width ? r->cols
					 : (rect.x + rect.w) / FB_TILE_W;
	r1 = rect.y + rect.h == r->height ? r->rows
					  : (rect.y + rect.h) / FB_TILE_H;
	for (uint32_t row = r0; row < r1; row++) {
		for (uint32_t col = c0; col < c1; col++) {
			uint8_t *t = &r->tiles[(size_t)row * r->cols + col];

			if (*t) {
				*t = 0;
				r->count--;
			}
		}
	}
}

bool fb_region_touches(const struct fb_region *r, struct fb_rect rect)
{
	if (r->count == 0 || !fb_rect_clip(&rect, r->width, r->height))
		return false;
	for (uint32_t row = rect.y / FB_TILE_H;
	     row <= (rect.y + rect.h - 1) / FB_TILE_H; row++)
		for (uint32_t col = rect.x / FB_TILE_W;
		     col <= (rect.x + rect.w - 1) / FB_TILE_W; col++)
			if (r->tiles[(size_t)row * r->cols + col])
				return true;
	return false;
}

void fb_region_add_all(struct fb_region *r)
{
	size_t n = (size_t)r->cols * r->rows;

	memset(r->tiles, 1, n);
	r->count = n;
}

void fb_region_merge(struct fb_region *dst, const struct fb_region *src)
{
	size_t n = (size_t)dst->cols * dst->rows;

	if (src->count == 0 || dst->cols != src->cols || dst->rows != src->rows)
		return;
	if (src->count == n) {
		fb_region_add_all(dst);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (src->tiles[i] && !dst->tiles[i]) {
			dst->tiles[i] = 1;
			dst->count++;
		}
	}
}

/* Tiles [c0, c1) of rows [row0, row1) in pixels, clipped to the frame. */
static struct fb_rect tile_rect(const struct fb_region *r, uint32_t c0,
				uint32_t c1, uint32_t row0, uint32_t row1)
{
	struct fb_rect rect = {
		.x = c0 * FB_TILE_W,
		.y = row0 * FB_TILE_H,
		.w = (c1 - c0) * FB_TILE_W,
		.h = (row1 - row0) * FB_TILE_H,
	};

	fb_rect_clip(&rect, r->width, r->height);
	return rect;
}

/* True when tiles [c0, c1) are a maximal run of set tiles in `row`. */
static bool same_run(const struct fb_region *r, uint32_t row, uint32_t c0,
		     uint32_t c1)
{
	const uint8_t *t = &r->tiles[(size_t)row * r->cols];

	if ((c0 > 0 && t[c0 - 1]) || (c1 < r->cols && t[c1]))
		return false;
	for (uint32_t c = c0; c < c1; c++)
		if (!t[c])
			return false;
	return true;
}

/* Each rect is a run of tiles stacked down over the rows below that have
 * exactly the same run. The rects are found from the bitmap alone, so
 * the count does not depend on how many of them fit in `out`, and a run
 * joins the rect above however many rects lie in between. Every tile is
 * read a bounded number of times. */
size_t fb_region_rects(const struct fb_region *r, struct fb_rect *out,
		       size_t max)
{
	size_t total = 0;

	if (r->count == 0)
		return 0;
	for (uint32_t row = 0; row < r->rows; row++) {
		const uint8_t *t = &r->tiles[(size_t)row * r->cols];
		uint32_t col = 0;

		while (col < r->cols) {
			uint32_t c0, end;

			if (!t[col]) {
				col++;
				continue;
			}
			c0 = col;
			while (col < r->cols && t[col])
				col++;
			/* The same run in the row above: already in a rect. */
			if (row > 0 && same_run(r, row - 1, c0, col))
				continue;
			end = row + 1;
			while (end < r->rows && same_run(r, end, c0, col))
				end++;
			if (total < max)
				out[total] = tile_rect(r, c0, col, row, end);
			total++;
		}
	}
	return total;
}
