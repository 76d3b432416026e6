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
	s->dirty = calloc(s->hinted.cols, sizeof(*s->dirty));
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

static uint32_t px(const void *row, uint32_t i)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)row + (size_t)i * 4, 4);
	return v;
}

/* First pixel in [i0, i1) where rows a and b differ, or i1. */
static uint32_t first_diff(const uint32_t *a, const uint8_t *b, uint32_t i0,
			   uint32_t i1)
{
	while (i0 < i1 && a[i0] == px(b, i0))
		i0++;
	return i0;
}

/* One past the last pixel in [i0, i1) where rows a and b differ, or i0. */
static uint32_t last_diff(const uint32_t *a, const uint8_t *b, uint32_t i0,
			  uint32_t i1)
{
	while (i1 > i0 && a[i1 - 1] == px(b, i1 - 1))
		i1--;
	return i1;
}

static bool differ(const uint32_t *a, const uint8_t *b, uint32_t i0,
		   uint32_t i1)
{
	return i1 > i0 &&
	       memcmp(a + i0, b + (size_t)i0 * 4, (size_t)(i1 - i0) * 4) != 0;
}

/* Grows tile c's box with what differs on pixel row y (tile-relative
 * `ty`) between pixels [x0, x1) of the frame. */
static void note_row_diff(struct fb_tile_box *b, const uint32_t *dst,
			  const uint8_t *src, uint32_t tx, uint32_t x0,
			  uint32_t x1, uint32_t ty)
{
	bool changed = false;

	if (b->x1 == 0) {
		uint32_t f;

		if (!differ(dst, src, x0, x1))
			return;
		f = first_diff(dst, src, x0, x1);
		*b = (struct fb_tile_box){
			(uint8_t)(f - tx),
			(uint8_t)(last_diff(dst, src, f, x1) - tx), (uint8_t)ty,
			(uint8_t)(ty + 1)};
		return;
	}
	/* Only pixels outside the box can widen it; inside, one
	 * difference is enough to lengthen it downwards. */
	if (differ(dst, src, x0, tx + b->x0)) {
		b->x0 = (uint8_t)(first_diff(dst, src, x0, tx + b->x0) - tx);
		changed = true;
	}
	if (differ(dst, src, tx + b->x1, x1)) {
		b->x1 = (uint8_t)(last_diff(dst, src, tx + b->x1, x1) - tx);
		changed = true;
	}
	if (changed || differ(dst, src, tx + b->x0, tx + b->x1))
		b->y1 = (uint8_t)(ty + 1);
}

/* Syncs pixels [x0, x1) x [y0, y1) of the frame, which lie in tiles
 * [c0, c1) of tile row `row`: adds the box of what differs in each tile
 * to `changed`.
 *
 * Each pixel row is first compared whole: when nothing changed (the
 * common case) that is one long memcmp per row, close to memcmp's own
 * bandwidth. Only a row that differs is looked at tile by tile, and
 * inside a tile only where it could grow the tile's box. Once every box
 * spans its tile's width only their bottom edges are left to find, from
 * the bottom up. */
static long sync_span(struct fb_shadow *s, const struct fb_view *live,
		      uint32_t row, uint32_t c0, uint32_t c1,
		      struct fb_rect span, struct fb_region *changed)
{
	struct fb_tile_box *boxes = s->dirty;
	uint32_t x_end = span.x + span.w, y = span.y, y_end = span.y + span.h;
	uint32_t ty0 = row * FB_TILE_H;
	long n = 0;

	memset(boxes + c0, 0, (c1 - c0) * sizeof(*boxes));
	for (; y < y_end; y++) {
		const uint8_t *src =
			live->data + (size_t)y * live->stride; /* x = 0 */
		const uint32_t *dst = s->pixels + (size_t)y * s->width;
		uint32_t wide = 0;

		if (!differ(dst, src, span.x, x_end))
			continue;
		for (uint32_t c = c0; c < c1; c++) {
			uint32_t tx = c * FB_TILE_W;
			uint32_t x0 = tx > span.x ? tx : span.x;
			uint32_t x1 =
				tx + FB_TILE_W < x_end ? tx + FB_TILE_W : x_end;

			note_row_diff(&boxes[c], dst, src, tx, x0, x1, y - ty0);
			wide += boxes[c].x1 && tx + boxes[c].x0 == x0 &&
				tx + boxes[c].x1 == x1;
		}
		if (wide == c1 - c0) {
			y++;
			break;
		}
	}
	for (uint32_t c = c0; c < c1; c++) {
		struct fb_tile_box *b = &boxes[c];
		uint32_t tx = c * FB_TILE_W;

		if (!b->x1)
			continue;
		for (uint32_t yy = y_end; yy > y; yy--) {
			const uint8_t *src =
				live->data + (size_t)(yy - 1) * live->stride;
			const uint32_t *dst =
				s->pixels + (size_t)(yy - 1) * s->width;

			if (differ(dst, src, tx + b->x0, tx + b->x1)) {
				b->y1 = (uint8_t)(yy - ty0);
				break;
			}
		}
		fb_region_add_box(changed, c, row, *b);
		n++;
	}
	return n;
}

static void copy_row(struct fb_shadow *s, const struct fb_view *live,
		     uint32_t y, uint32_t x0, uint32_t x1)
{
	if (x1 > x0)
		memcpy(s->pixels + (size_t)y * s->width + x0,
		       live->data + (size_t)y * live->stride + (size_t)x0 * 4,
		       (size_t)(x1 - x0) * 4);
}

/* Copies what changed from live into the shadow, except inside `keep`
 * (a move already applied to the shadow, or w == 0). */
static void copy_changed(struct fb_shadow *s, const struct fb_view *live,
			 const struct fb_region *changed, struct fb_rect keep)
{
	for (uint32_t row = changed->row0; row < changed->row1; row++) {
		uint32_t col = 0;
		struct fb_rect r;

		while (fb_region_next_run(changed, row, &col, &r)) {
			for (uint32_t y = r.y; y < r.y + r.h; y++) {
				uint32_t x1 = r.x + r.w;

				if (keep.w == 0 || y < keep.y ||
				    y >= keep.y + keep.h) {
					copy_row(s, live, y, r.x, x1);
					continue;
				}
				copy_row(s, live, y, r.x,
					 keep.x < x1 ? keep.x : x1);
				copy_row(s, live, y,
					 keep.x + keep.w > r.x ? keep.x + keep.w
							       : r.x,
					 x1);
			}
		}
	}
}

/* The bounding box of what changed, in pixels. */
static struct fb_rect changed_box(const struct fb_region *changed)
{
	uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;

	for (uint32_t row = changed->row0; row < changed->row1; row++) {
		uint32_t col = 0;
		struct fb_rect r;

		while (fb_region_next_run(changed, row, &col, &r)) {
			x0 = r.x < x0 ? r.x : x0;
			y0 = r.y < y0 ? r.y : y0;
			x1 = r.x + r.w > x1 ? r.x + r.w : x1;
			y1 = r.y + r.h > y1 ? r.y + r.h : y1;
		}
	}
	if (x1 == 0)
		return (struct fb_rect){0, 0, 0, 0};
	return (struct fb_rect){x0, y0, x1 - x0, y1 - y0};
}

/* The pixels hinted tiles [c0, c1) of tile row `row` cover: from the
 * first tile's box to the last's, over every row any of them covers. */
static struct fb_rect hinted_span(const struct fb_region *h, uint32_t row,
				  uint32_t c0, uint32_t c1)
{
	const struct fb_tile_box *t = h->tiles + (size_t)row * h->cols;
	uint32_t y0 = FB_TILE_H, y1 = 0;

	for (uint32_t c = c0; c < c1; c++) {
		y0 = t[c].y0 < y0 ? t[c].y0 : y0;
		y1 = t[c].y1 > y1 ? t[c].y1 : y1;
	}
	return (struct fb_rect){c0 * FB_TILE_W + t[c0].x0, row * FB_TILE_H + y0,
				(c1 - 1) * FB_TILE_W + t[c1 - 1].x1 -
					(c0 * FB_TILE_W + t[c0].x0),
				y1 - y0};
}

long fb_shadow_sync(struct fb_shadow *s, const struct fb_view *live,
		    const struct fb_damage *hint, struct fb_region *changed,
		    struct fb_move *move)
{
	struct fb_region *hinted = &s->hinted;
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
	for (uint32_t row = hinted->row0; row < hinted->row1; row++) {
		uint32_t col = 0;

		while (col < hinted->cols) {
			uint32_t c0;

			if (!fb_region_has_tile(hinted, col, row)) {
				col++;
				continue;
			}
			c0 = col;
			while (col < hinted->cols &&
			       fb_region_has_tile(hinted, col, row))
				col++;
			n += sync_span(s, live, row, c0, col,
				       hinted_span(hinted, row, c0, col),
				       changed);
		}
	}
	if (move) {
		move->dst.w = 0;
		if ((uint64_t)n * FB_TILE_W * FB_TILE_H >= FB_MOTION_MIN_AREA &&
		    fb_motion_find(s->pixels, s->width, live,
				   changed_box(changed), s->row_hashes, move)) {
			struct fb_rect dst = move->dst;
			size_t before = changed->count;

			/* The shadow takes the move as the clients will;
			 * whatever it no longer covers, and everything for
			 * clients that do not take it, is damage. */
			if (!fb_motion_apply(s->pixels, s->width, live, move))
				move->dst.w = 0;
			fb_region_add_rect(changed, dst);
			n += (long)(changed->count - before);
		}
	}
	if (n > 0)
		copy_changed(s, live, changed,
			     move ? move->dst : (struct fb_rect){0, 0, 0, 0});
	return n;
}
