/* A damage region kept as a bitmap of fixed-size tiles over a frame.
 * Each client has one (what it has not seen yet); the shadow fills one
 * per refresh (what changed). Rect output coalesces tiles into few
 * rectangles, clipped to the frame. */
#ifndef VFBD_FB_REGION_H
#define VFBD_FB_REGION_H

#include "fb/fb.h"

/* Tile geometry shared by the shadow compare and the regions. */
#define FB_TILE_W 64u
#define FB_TILE_H 16u

struct fb_region {
	uint32_t width, height; /* frame size in pixels */
	uint32_t cols, rows;	/* tiles */
	uint8_t *tiles;		/* cols * rows flags */
	size_t count;		/* tiles set */
};

/* Sets up an empty region over a width x height frame; 0 or -ENOMEM. */
int fb_region_init(struct fb_region *r, uint32_t width, uint32_t height);
void fb_region_fini(struct fb_region *r);

/* Changes the frame size; the region becomes empty. 0 or -ENOMEM. */
int fb_region_reset(struct fb_region *r, uint32_t width, uint32_t height);

void fb_region_clear(struct fb_region *r);
static inline bool fb_region_empty(const struct fb_region *r)
{
	return r->count == 0;
}

/* Adds every tile `rect` touches (the rect is clipped first). */
void fb_region_add_rect(struct fb_region *r, struct fb_rect rect);
void fb_region_add_all(struct fb_region *r);

/* Marks tile (col, row); both must be in range. */
void fb_region_add_tile(struct fb_region *r, uint32_t col, uint32_t row);

/* Clears the tiles that lie entirely inside `rect`. */
void fb_region_remove_inside(struct fb_region *r, struct fb_rect rect);

/* True when any tile `rect` touches is set. */
bool fb_region_touches(const struct fb_region *r, struct fb_rect rect);

/* dst |= src; both must have the same geometry. */
void fb_region_merge(struct fb_region *dst, const struct fb_region *src);

/* Writes the region as non-overlapping rects, clipped to the frame:
 * horizontal runs of tiles, merged downwards when spans match. At most
 * `max` rects are written; returns how many there are in all (call again
 * with a bigger array if that is more than max). */
size_t fb_region_rects(const struct fb_region *r, struct fb_rect *out,
		       size_t max);

#endif
