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
 * shifted vertically (a scroll) are looked for first, and the run of
 * at least FB_MOTION_MIN_ROWS rows that changes most wins; failing that,
 * a block
 * moved in any direction by at most FB_MOTION_RADIUS pixels each way,
 * of at least FB_MOTION_MIN_AREA pixels. Every pixel of the reported
 * move was compared. Returns true and fills `move` when one was found.
 * `scratch` holds 2 * frame height entries: nothing is allocated,
 * because this runs under the SIGBUS guard, which may jump out of it. */
bool fb_motion_find(const uint32_t *old, size_t old_stride,
		    const struct fb_view *live, struct fb_rect box,
		    uint64_t *scratch, struct fb_move *move);

/* Does to `frame` (the old frame fb_motion_find searched, XRGB8888,
 * stride `stride` pixels) what the CopyRect will do to a client: copies
 * the move's source onto its destination. Then keeps only the leading
 * rows of the move that equal `live` now, since the source may have
 * drawn again since fb_motion_find looked. Returns false (move dropped)
 * when too little remains to be worth it; either way the destination
 * rows of `frame` now hold the moved pixels, which the caller must
 * replace from live wherever the move no longer covers them. */
bool fb_motion_apply(uint32_t *frame, size_t stride, const struct fb_view *live,
		     struct fb_move *move);

#endif
