/* A damage region over a frame, kept per tile of a fixed grid: each tile
 * holds the box (within the tile) of what changed there, so damage is
 * exact to the pixel for rectangles and never coarser than one box per
 * tile. Each client has one (what it has not seen yet); the shadow fills
 * one per refresh (what changed). Rect output joins tile boxes that line
 * up into few rectangles. */
#ifndef VFBD_FB_REGION_H
#define VFBD_FB_REGION_H

#include "fb/fb.h"

/* Tile geometry shared by the shadow compare and the regions. */
#define FB_TILE_W 64u
#define FB_TILE_H 16u

/* Pixels [x0, x1) x [y0, y1) of one tile, relative to its corner, always
 * inside the frame; x1 == 0 for a clean tile. */
struct fb_tile_box {
	uint8_t x0, x1, y0, y1;
};

struct fb_region {
	uint32_t width, height;	   /* frame size in pixels */
	uint32_t cols, rows;	   /* tiles */
	struct fb_tile_box *tiles; /* cols * rows boxes */
	size_t count;		   /* tiles not clean */
	/* Tile rows [row0, row1) hold every dirty tile, so that clearing
	 * and walking a small region costs what it covers. */
	uint32_t row0, row1;
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

static inline bool fb_region_has_tile(const struct fb_region *r, uint32_t col,
				      uint32_t row)
{
	return r->tiles[(size_t)row * r->cols + col].x1 != 0;
}

/* Adds the pixels of `rect` (clipped to the frame first). */
void fb_region_add_rect(struct fb_region *r, struct fb_rect rect);
void fb_region_add_all(struct fb_region *r);

/* Adds the whole of tile (col, row); both must be in range. */
void fb_region_add_tile(struct fb_region *r, uint32_t col, uint32_t row);

/* Adds pixels [x0, x1) x [y0, y1) of tile (col, row), relative to its
 * corner; the tile must be in range, the box non-empty and inside the
 * tile and the frame. */
void fb_region_add_box(struct fb_region *r, uint32_t col, uint32_t row,
		       struct fb_tile_box box);

/* Takes `rect` out of the region wherever what a tile keeps is still one
 * box: a tile box inside the rect goes, one the rect cuts along its
 * whole width or height shrinks, any other stays as it was (so the
 * region may keep pixels of the rect, never lose pixels outside it). */
void fb_region_subtract(struct fb_region *r, struct fb_rect rect);

/* True when the region holds any pixel of `rect`. */
bool fb_region_touches(const struct fb_region *r, struct fb_rect rect);

/* dst |= src; both must have the same geometry. */
void fb_region_merge(struct fb_region *dst, const struct fb_region *src);

/* The next run of tile boxes in tile row `row` from tile column *col
 * on: boxes of neighbouring tiles join when they share their rows and
 * meet at the tile edge. Writes the run's pixels to `out`, moves *col
 * past it and returns true; false when the row has no more. */
bool fb_region_next_run(const struct fb_region *r, uint32_t row, uint32_t *col,
			struct fb_rect *out);

/* Writes the region as non-overlapping rects inside the frame that cover
 * it: in each tile row, a run of neighbouring dirty tiles gives one rect,
 * from the first box's left edge to the last box's right edge, over the
 * rows of all their boxes; such rects are stacked downwards while the
 * same span continues from the bottom edge of one tile row to the top of
 * the next. So a rect may take in unchanged pixels of dirty tiles, never
 * a pixel of a clean tile. At
 * most `max` rects are written; returns how many there are in all (call
 * again with a bigger array if that is more than max). */
size_t fb_region_rects(const struct fb_region *r, struct fb_rect *out,
		       size_t max);

#endif
