#include "fb/shadow.h"
#include "fb/motion.h"

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
	if (!s->pixels || fb_region_init(&s->hinted, width, height) < 0)
		goto fail;
	s->dirty = calloc(s->hinted.cols, 1);
	s->row_hashes = malloc((size_t)height * 2 * sizeof(uint64_t));
	if (!s->dirty || !s->row_hashes)
		goto fail;
	s->width = width;
	s->height = height;
	return 0;
fail:
	fb_shadow_fini(s);
	return -ENOMEM;
}

void fb_shadow_fini(struct fb_shadow *s)
{
	free(s->pixels);
	free(s->dirty);
	free(s->row_hashes);
	fb_region_fini(&s->hinted);
	memset(s, 0, sizeof(*s));
}

static const uint8_t *live_row(const struct fb_view *live, uint32_t x,
			       uint32_t y)
{
	return live->data + (size_t)y * live->stride + (size_t)x * 4;
}

/* Syncs one run of hinted tiles [c0, c1) in tile row `row`.
 *
 * Each pixel row of the run is first compared whole: when nothing
 * changed (the common case) that is one long memcmp per row, close to
 * memcmp's own bandwidth. Only a row that differs is split into tiles,
 * and tiles already known to differ are skipped; they are copied whole
 * at the end. */
static long sync_run(struct fb_shadow *s, const struct fb_view *live,
		     uint32_t row, uint32_t c0, uint32_t c1,
		     struct fb_region *changed)
{
	uint32_t x0 = c0 * FB_TILE_W;
	uint32_t x1 = c1 * FB_TILE_W < s->width ? c1 * FB_TILE_W : s->width;
	uint32_t y0 = row * FB_TILE_H;
	uint32_t y1 = y0 + FB_TILE_H < s->height ? y0 + FB_TILE_H : s->height;
	uint32_t ndirty = 0;
	long n = 0;

	memset(s->dirty + c0, 0, c1 - c0);
	for (uint32_t y = y0; y < y1 && ndirty < c1 - c0; y++) {
		const uint8_t *src = live_row(live, x0, y);
		const uint32_t *dst = s->pixels + (size_t)y * s->width + x0;

		if (memcmp(dst, src, (size_t)(x1 - x0) * 4) == 0)
			continue;
		for (uint32_t c = c0; c < c1; c++) {
			uint32_t tx = c * FB_TILE_W;
			uint32_t tw = x1 - tx < FB_TILE_W ? x1 - tx : FB_TILE_W;

			if (s->dirty[c])
				continue;
			if (memcmp(dst + (tx - x0), src + (size_t)(tx - x0) * 4,
				   (size_t)tw * 4) != 0) {
				s->dirty[c] = 1;
				ndirty++;
			}
		}
	}
	if (ndirty == 0)
		return 0;
	for (uint32_t c = c0; c < c1; c++) {
		if (s->dirty[c]) {
			fb_region_add_tile(changed, c, row);
			n++;
		}
	}
	return n;
}

/* Copies the changed tiles from live into the shadow. */
static void copy_changed(struct fb_shadow *s, const struct fb_view *live,
			 const struct fb_region *changed)
{
	for (uint32_t row = 0; row < changed->rows; row++) {
		const uint8_t *t = changed->tiles + (size_t)row * changed->cols;
		uint32_t y0 = row * FB_TILE_H;
		uint32_t y1 =
			y0 + FB_TILE_H < s->height ? y0 + FB_TILE_H : s->height;
		uint32_t col = 0;

		while (col < changed->cols) {
			uint32_t x0, x1;

			if (!t[col]) {
				col++;
				continue;
			}
			x0 = col * FB_TILE_W;
			while (col < changed->cols && t[col])
				col++;
			x1 = col * FB_TILE_W < s->width ? col * FB_TILE_W
							: s->width;
			for (uint32_t y = y0; y < y1; y++)
				memcpy(s->pixels + (size_t)y * s->width + x0,
				       live_row(live, x0, y),
				       (size_t)(x1 - x0) * 4);
		}
	}
}

/* The bounding box of the changed tiles, in pixels. */
static struct fb_rect changed_box(const struct fb_shadow *s,
				  const struct fb_region *changed)
{
	uint32_t c0 = changed->cols, c1 = 0, r0 = changed->rows, r1 = 0;
	struct fb_rect box;

	for (uint32_t row = 0; row < changed->rows; row++) {
		for (uint32_t col = 0; col < changed->cols; col++) {
			if (!changed->tiles[(size_t)row * changed->cols + col])
				continue;
			c0 = col < c0 ? col : c0;
			c1 = col + 1 > c1 ? col + 1 : c1;
			r0 = row < r0 ? row : r0;
			r1 = row + 1 > r1 ? row + 1 : r1;
		}
	}
	box = (struct fb_rect){c0 * FB_TILE_W, r0 * FB_TILE_H,
			       (c1 - c0) * FB_TILE_W, (r1 - r0) * FB_TILE_H};
	fb_rect_clip(&box, s->width, s->height);
	return box;
}

long fb_shadow_sync(struct fb_shadow *s, const struct fb_view *live,
		    const struct fb_damage *hint, struct fb_region *changed,
		    struct fb_move *move)
{
	struct fb_region *hinted = &s->hinted;
	struct fb_rect box = {0, 0, 0, 0};
	long n = 0;

	if (live->width != s->width || live->height != s->height ||
	    live->stride < (size_t)live->width * 4 ||
	    changed->width != s->width || changed->height != s->height)
		return -EINVAL;
	fb_region_clear(hinted);
	if (hint->all || hint->n > FB_DAMAGE_MAX_RECTS) {
		fb_region_add_all(hinted);
	} else {
		for (unsigned i = 0; i < hint->n; i++)
			fb_region_add_rect(hinted, hint->rects[i]);
	}
	for (uint32_t row = 0; row < hinted->rows && hinted->count; row++) {
		const uint8_t *t = hinted->tiles + (size_t)row * hinted->cols;
		uint32_t col = 0;

		while (col < hinted->cols) {
			uint32_t c0;

			if (!t[col]) {
				col++;
				continue;
			}
			c0 = col;
			while (col < hinted->cols && t[col])
				col++;
			n += sync_run(s, live, row, c0, col, changed);
		}
	}
	if (move) {
		move->dst.w = 0;
		/* Before the copy the shadow still holds the old frame. */
		if ((uint64_t)n * FB_TILE_W * FB_TILE_H >= FB_MOTION_MIN_AREA) {
			box = changed_box(s, changed);
			fb_motion_find(s->pixels, s->width, live, box,
				       s->row_hashes, move);
		}
	}
	if (n > 0)
		copy_changed(s, live, changed);
	/* The producer may have written between the search and the copy:
	 * the CopyRect must give exactly what the shadow now holds. */
	if (move && move->dst.w &&
	    !fb_motion_verify(s->pixels, s->width, s->row_hashes, move))
		move->dst.w = 0;
	return n;
}
