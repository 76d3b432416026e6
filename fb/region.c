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

void fb_region_add_all(struct fb_region *r)
{
	size_t n = (size_t)r->cols * r->rows;

	memset(r->tiles, 1, n);
	r->count = n;
}

void fb_region_merge(struct fb_region *dst, const struct fb_region *src)
{
	size_t n = (size_t)dst->cols * dst->rows;

	if (src->count == 0 || dst->cols != src->cols ||
	    dst->rows != src->rows)
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

static struct fb_rect tile_span(const struct fb_region *r, uint32_t c0,
				uint32_t c1, uint32_t row)
{
	struct fb_rect rect = {
		.x = c0 * FB_TILE_W,
		.y = row * FB_TILE_H,
		.w = (c1 - c0) * FB_TILE_W,
		.h = FB_TILE_H,
	};

	fb_rect_clip(&rect, r->width, r->height);
	return rect;
}

size_t fb_region_rects(const struct fb_region *r, struct fb_rect *out,
		       size_t max)
{
	size_t total = 0, prev_start = 0, prev_end = 0;

	if (r->count == 0)
		return 0;
	for (uint32_t row = 0; row < r->rows; row++) {
		const uint8_t *t = &r->tiles[(size_t)row * r->cols];
		size_t row_start = total;
		uint32_t col = 0;

		while (col < r->cols) {
			uint32_t c0;
			struct fb_rect span;
			bool merged = false;

			if (!t[col]) {
				col++;
				continue;
			}
			c0 = col;
			while (col < r->cols && t[col])
				col++;
			span = tile_span(r, c0, col, row);
			/* Extend a rect of the row above with the same span. */
			for (size_t i = prev_start; i < prev_end && i < max;
			     i++) {
				if (out[i].x == span.x && out[i].w == span.w &&
				    out[i].y + out[i].h == span.y) {
					out[i].h += span.h;
					merged = true;
					break;
				}
			}
			if (merged)
				continue;
			if (total < max)
				out[total] = span;
			total++;
		}
		/* Rects extended this row stay candidates for the next one. */
		prev_start = prev_start < row_start ? prev_start : row_start;
		prev_end = total;
		if (prev_end - prev_start > 2u * r->cols)
			prev_start = prev_end - 2u * r->cols;
	}
	return total;
}
