/* The shadow: vfbd's own copy of the frame. Live memory (a guest's or a
 * producer's) changes under our feet, so it is only ever read here,
 * compared inside the damage hint; what differs is copied and reported,
 * to the pixel box of each tile. Encoders read the shadow only. */
#ifndef VFBD_FB_SHADOW_H
#define VFBD_FB_SHADOW_H

#include "fb/fb.h"
#include "fb/motion.h"
#include "fb/region.h"

struct fb_shadow {
	uint32_t *pixels; /* width * height, XRGB8888, stride = width */
	uint32_t width, height;
	struct fb_region hinted;   /* scratch: tiles the hint covers */
	struct fb_tile_box *dirty; /* scratch: one box per tile column */
	uint64_t *row_hashes;	   /* scratch for motion search: 2 * height */
};

/* Allocates a black width x height shadow; 0 or -ENOMEM/-EINVAL. */
int fb_shadow_init(struct fb_shadow *s, uint32_t width, uint32_t height);
void fb_shadow_fini(struct fb_shadow *s);

/* Compares `live` with the shadow inside `hint` (clipped; hint->all means
 * everywhere), copies what differs and adds it to `changed`
 * (a region of the shadow's geometry, empty on entry so that it ends up
 * holding this sync's tiles only). When `move` is not NULL, content that
 * moved vertically inside the changed area is looked for before the copy
 * and reported there (move->dst.w == 0: none). Returns the number of
 * changed tiles, or -EINVAL when the view's geometry is not the
 * shadow's. */
long fb_shadow_sync(struct fb_shadow *s, const struct fb_view *live,
		    const struct fb_damage *hint, struct fb_region *changed,
		    struct fb_move *move);

#endif
