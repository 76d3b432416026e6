/* Framebuffer types and the source interface.
 *
 * Inside vfbd every pixel is XRGB8888 held in a uint32_t in host order
 * (0x00RRGGBB). A source turns whatever it maps (demo drawing, a shm file,
 * guest memory) into a view in that format plus an untrusted damage hint;
 * the shadow (fb/shadow.h) decides what really changed. Sources never
 * include uv.h: the session wires their fd into the loop. */
#ifndef VFBD_FB_FB_H
#define VFBD_FB_FB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest width or height any source may announce. */
#define FB_MAX_DIM 16384u

struct fb_rect {
	uint32_t x, y, w, h;
};

/* Live pixels of a source. `data` may change under the reader's feet
 * (another process or a guest writes it); only the shadow reads it. */
struct fb_view {
	const uint8_t *data;
	uint32_t width, height;
	size_t stride; /* bytes per row, >= width * 4 */
};

#define FB_DAMAGE_MAX_RECTS 16

/* A damage hint. `all` means compare everything; otherwise `n` rects,
 * which may be wrong, overlapping or outside the frame (clip them). */
struct fb_damage {
	bool all;
	unsigned n;
	struct fb_rect rects[FB_DAMAGE_MAX_RECTS];
};

enum fb_poll {
	FB_POLL_IDLE,	  /* nothing new */
	FB_POLL_DAMAGE,	  /* pixels may have changed; hint filled */
	FB_POLL_RESIZED,  /* new geometry; view again and compare everything */
	FB_POLL_RETRY,	  /* busy (writer mid-frame); poll again soon */
	FB_POLL_GONE,	  /* the source is lost; keep the last frame */
	FB_POLL_FINISHED, /* ended for good (e.g. domain destroyed): exit 0 */
};

struct fb_source;

struct fb_source_ops {
	/* Non-blocking check for news since the last call. On
	 * FB_POLL_DAMAGE fills `hint`. */
	enum fb_poll (*poll)(struct fb_source *src, struct fb_damage *hint);
	/* Fills `out` with the current pixels; 0 or -errno. */
	int (*view)(struct fb_source *src, struct fb_view *out);
	/* A file descriptor that becomes readable when there is news, or -1
	 * when the source must be polled on the refresh timer. A source with
	 * several (a Xen backend) gathers them in one epoll fd. With an fd,
	 * poll runs when it is readable and also on the refresh timer while
	 * clients want updates. */
	int (*fd)(struct fb_source *src);
	/* Optional: whether any client wants updates, and the refresh
	 * period vfbd polls at (so a guest can be told how often to send
	 * updates, or not to bother). */
	void (*set_interest)(struct fb_source *src, bool wanted,
			     unsigned period_ms);
	void (*free)(struct fb_source *src);
};

struct fb_source {
	const struct fb_source_ops *ops;
	/* Shown to clients as the desktop name, e.g. "vfbd demo 1024x768". */
	char name[96];
};

static inline void fb_source_free(struct fb_source *src)
{
	if (src)
		src->ops->free(src);
}

/* Clips `r` to a width x height frame; returns false if nothing is left. */
static inline bool fb_rect_clip(struct fb_rect *r, uint32_t width,
				uint32_t height)
{
	uint64_t x2, y2;

	if (r->x >= width || r->y >= height || r->w == 0 || r->h == 0)
		return false;
	x2 = (uint64_t)r->x + r->w;
	y2 = (uint64_t)r->y + r->h;
	if (x2 > width)
		x2 = width;
	if (y2 > height)
		y2 = height;
	r->w = (uint32_t)(x2 - r->x);
	r->h = (uint32_t)(y2 - r->y);
	return true;
}

#endif
