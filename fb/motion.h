/* Finding content that moved: when a text console scrolls, most of the
 * changed area equals old content shifted vertically. Sending that as a
 * CopyRect plus the uncovered strip costs a few bytes instead of the
 * whole area. */
#ifndef VFBD_FB_MOTION_H
#define VFBD_FB_MOTION_H

#include "fb/fb.h"

/* A vertical move: the new pixels of `dst` equal the old pixels of the
 * same rect shifted by `dy` rows (source y = dst.y + dy). */
struct fb_move {
	struct fb_rect dst;
	int32_t dy;
};

/* Moves shorter than this many rows are not worth a CopyRect. */
#define FB_MOTION_MIN_ROWS 32u

/* Looks inside `box` for rows of `live` that equal rows of `old` (the
 * previous frame, XRGB8888, stride `old_stride` pixels, the same
 * geometry as live) shifted vertically, and reports the longest run of
 * them. Only rows inside `box` are considered on both sides. Returns
 * true and fills `move` when a run of at least FB_MOTION_MIN_ROWS rows
 * was found. `scratch` holds 2 * box.h entries: nothing is allocated,
 * because this runs under the SIGBUS guard, which may jump out of it. */
bool fb_motion_find(const uint32_t *old, size_t old_stride,
		    const struct fb_view *live, struct fb_rect box,
		    uint64_t *scratch, struct fb_move *move);

/* After the shadow was updated from live memory (which may have changed
 * again since fb_motion_find looked): keeps only the leading rows of
 * `move` whose new shadow pixels still equal the old rows the CopyRect
 * will copy, using the hashes fb_motion_find left in `scratch` for the
 * same `box`. Returns false (move dropped) when fewer than
 * FB_MOTION_MIN_ROWS rows remain. */
bool fb_motion_verify(const uint32_t *now, size_t now_stride,
		      struct fb_rect box, const uint64_t *scratch,
		      struct fb_move *move);

#endif
