/* The Xen PV framebuffer source: vfbd as the vfb backend of one domain.
 *
 * It maps the guest's shared page (page-ref) and, through the page
 * directory, its framebuffer, read-only; UPDATE events become damage
 * hints, RESIZE events geometry changes; the refresh-period hint tells the
 * guest how often anyone looks (XENFB_NO_REFRESH when nobody does).
 * Guests at 8, 16 or 24 bpp are converted into a private XRGB8888 copy
 * inside the hinted rectangles; 32 bpp guests are shown in place.
 *
 * While no guest framebuffer is connected, or after the guest broke the
 * protocol, the view is a "guest framebuffer unavailable" screen saying
 * why. The source's fd is the Xen host's (fb/xen-bus.h); poll returns
 * FB_POLL_FINISHED when the domain is destroyed. */
#ifndef VFBD_FB_SRC_XEN_PV_H
#define VFBD_FB_SRC_XEN_PV_H

#include "fb/fb.h"
#include "fb/xen-bus.h"

/* Defaults: the size Linux's fbfront picks when told nothing, and the
 * framebuffer memory accepted from a guest. */
#define FB_XEN_PV_DEFAULT_WIDTH	 800u
#define FB_XEN_PV_DEFAULT_HEIGHT 600u
#define FB_XEN_PV_DEFAULT_FB_MAX (64u << 20)

struct fb_xen_pv_opts {
	unsigned devid;
	uint64_t fb_max;	/* largest mem_length accepted, bytes */
	uint32_t width, height; /* of the placeholder before a guest connects */
};

/* Serves backend vfb/DEVID of the host's domain (the backend directory
 * must exist). On success the source owns `host` and frees it with
 * itself; on failure (NULL, `why` filled) the caller still owns it. */
struct fb_source *fb_xen_pv_new(struct xen_host *host,
				const struct fb_xen_pv_opts *opts, char *why,
				size_t why_len);

/* The size of what view() shows now (for scaling pointer positions). */
void fb_xen_pv_size(struct fb_source *src, uint32_t *width, uint32_t *height);

/* Whether a guest framebuffer is being shown (not the placeholder). */
bool fb_xen_pv_live(struct fb_source *src);

#endif
