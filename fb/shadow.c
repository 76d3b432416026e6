#include "fb/shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fb_shadow_init(struct fb_shadow *s, uint32_t width, uint32_t height)
{
	memset(s, 0, sizeof(*s));
	if (width == 0 || height == 0 || width > FB_MAX_DIM ||
	    height > FB_MAX_DIM)
		return -EINVAL;
	s->pixels = calloc((size_t)width * height, sizeof(uint32_t));
	if (!s->pixels)
		return -ENOMEM;
	s->width = width;
	s->height = height;
	return 0;
}

void fb_shadow_fini(struct fb_shadow *s)
{
	free(s->pixels);
	memset(s, 0, sizeof(*s));
}

/* Compares one tile row by row and copies it whole once a row differs:
 * the copy then reads each remaining byte once more at most. */
static bool sync_tile(struct fb_shadow *s, const struct fb_view *live,
		      uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	size_t bytes = (size_t)w * 4;
	uint32_t row;

	for (row = 0; row < h; row++) {
		const uint8_t *src = live->data + (size_t)(y + row) * live->stride +
				     (size_t)x * 4;
		uint32_t *dst = s->pixels + (size_t)(y + row) * s->width + x;

		if (memcmp(dst, src, bytes) != 0)
			break;
	}
	if (row == h)
		return false;
	for (; row < h; row++) {
		const uint8_t *src = live->data + (size_t)(y + row) * live->stride +
				     (size_t)x * 4;

		memcpy(s->pixels + (size_t)(y + row) * s->width + x, src,
		       bytes);
	}
	return true;
}

long fb_shadow_sync(struct fb_shadow *s, const struct fb_view *live,
		    const struct fb_damage *hint, struct fb_region *changed)
{
	struct fb_region *todo = changed;
	struct fb_region hinted;
	long n = 0;

	if (live->width != s->width || live->height != s->height ||
	    live->stride < (size_t)live->width * 4 ||
	    changed->width != s->width || changed->height != s->height)
		return -EINVAL;
	if (fb_region_init(&hinted, s->width, s->height) < 0)
		return -ENOMEM;
	if (hint->all || hint->n > FB_DAMAGE_MAX_RECTS) {
		fb_region_add_all(&hinted);
	} else {
		for (unsigned i = 0; i < hint->n; i++)
			fb_region_add_rect(&hinted, hint->rects[i]);
	}
	for (uint32_t row = 0; row < hinted.rows && hinted.count; row++) {
		for (uint32_t col = 0; col < hinted.cols; col++) {
			uint32_t x = col * FB_TILE_W, y = row * FB_TILE_H;
			uint32_t w = s->width - x < FB_TILE_W ? s->width - x
							      : FB_TILE_W;
			uint32_t h = s->height - y < FB_TILE_H ? s->height - y
							       : FB_TILE_H;

			if (!hinted.tiles[(size_t)row * hinted.cols + col])
				continue;
			if (sync_tile(s, live, x, y, w, h)) {
				fb_region_add_tile(todo, col, row);
				n++;
			}
		}
	}
	fb_region_fini(&hinted);
	return n;
}
