/* Finding content that moved: when a text console scrolls or a window is
 * dragged, most of the changed area equals old content shifted. Sending
 * that as a CopyRect plus the uncovered strips costs a few bytes instead
 * of the whole area. */
#ifndef VFBD_FB_MOTION_H
#define VFBD_FB_MOTION_H

#include "fb/fb.h"

/* A move: the new pixels of `dst` equal the old pixels of the same rect
 * shifted by (dx, dy) (source x = dst.x + dx, source y = dst.y + dy). */
struct fb_move {
	struct fb_rect dst;
	int32_t dx, dy;
};

/* Scrolls shorter than this many rows are not worth a CopyRect. */
#define FB_MOTION_MIN_ROWS 32u

/* A moved block (a dragged window) smaller than this is not worth one. */
#define FB_MOTION_MIN_SIDE 16u
#define FB_MOTION_MIN_AREA (64u * 64u)

/* How far a block is looked for around where it is now, in pixels each
 * way: a drag moves a window by tens of pixels per frame, and the search
 * costs (2 * radius + 1)^2 pixel compares per probe. */
#define FB_MOTION_RADIUS 128

/* Looks inside `box` (the changed area) for content of `live` that equals
 * content of `old` (the previous frame, XRGB8888, stride `old_stride`
 * pixels, the same geometry as live) shifted. Whole rows of the box
 * shifted vertically (a scroll) are looked for first, and the longest
 * run of at least FB_MOTION_MIN_ROWS rows wins; failing that, a block
 * moved in any direction by at most FB_MOTION_RADIUS pixels each way,
 * of at least FB_MOTION_MIN_AREA pixels. Every pixel of the reported
 * move was compared. Returns true and fills `move` when one was found.
 * `scratch` holds 2 * frame height entries: nothing is allocated,
 * because this runs under the SIGBUS guard, which may jump out of it. */
bool fb_motion_find(const uint32_t *old, size_t old_stride,
		    const struct fb_view *live, struct fb_rect box,
		    uint64_t *scratch, struct fb_move *move);

/* After the shadow was updated from live memory (which may have changed
 * again since fb_motion_find looked): keeps only the leading rows of
 * `move` whose new shadow pixels still equal the old pixels the CopyRect
 * will copy, using the row hashes fb_motion_find left in `scratch`.
 * Returns false (move dropped) when too little remains to be worth it. */
bool fb_motion_verify(const uint32_t *now, size_t now_stride,
		      const uint64_t *scratch, struct fb_move *move);

#endif
