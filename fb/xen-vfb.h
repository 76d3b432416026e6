/* The guest's side of the PV framebuffer ABI (xen/io/fbif.h), checked.
 *
 * Everything in the shared page, the page directory and the rings is
 * written by the guest at any time. These helpers read each value once
 * into private memory, validate the copy with 64-bit arithmetic and only
 * then hand it on. They touch nothing but the memory they are given (no
 * hypervisor calls), so unit tests and the fuzz target run them on plain
 * buffers. */
#ifndef VFBD_FB_XEN_VFB_H
#define VFBD_FB_XEN_VFB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/fbif.h>

#include "fb/fb.h"

#define XEN_VFB_PAGE_SIZE 4096u

/* Layout of pd[] in the shared page, chosen by the frontend's
 * "protocol" key. */
enum xen_vfb_abi {
	XEN_VFB_ABI_64, /* 8-byte entries at offset 40 (x86_64-abi) */
	XEN_VFB_ABI_32, /* 4-byte entries at offset 36 (x86_32-abi) */
};

/* Directory slots that really exist before pd[] runs into the in ring
 * at offset 1024. */
#define XEN_VFB_PD_SLOTS_64 123u
#define XEN_VFB_PD_SLOTS_32 247u

/* A private copy of the shared page's header. */
struct xen_vfb_header {
	uint32_t in_cons, in_prod, out_cons, out_prod;
	int32_t width, height;
	uint32_t line_length, mem_length;
	uint8_t depth;
};

/* A validated picture inside the mapped framebuffer. */
struct xen_vfb_geom {
	uint32_t width, height;
	uint32_t stride; /* bytes per row */
	uint32_t depth;	 /* bits per pixel: 8, 16, 24 or 32 */
	uint64_t offset; /* of the first pixel from the start of the fb */
};

/* Limits vfbd imposes whatever the guest says. */
struct xen_vfb_limits {
	uint64_t fb_max;    /* largest mem_length accepted, bytes */
	uint64_t pixel_max; /* largest width*height*4 (our own copies) */
};

/* Reads the header fields once each. `page` is the mapped shared page. */
void xen_vfb_read_header(const void *page, struct xen_vfb_header *out);

/* Chooses the pd[] layout from the "protocol" key (`proto` NULL when the
 * key is absent: then the guess old backends made, from the page). 0 or
 * -EINVAL for an unknown protocol. */
int xen_vfb_parse_protocol(const char *proto, const void *page,
			   enum xen_vfb_abi *out);

/* Checks a picture against a framebuffer of `fb_len` bytes: depth one of
 * 8/16/24/32, 0 < width, height <= FB_MAX_DIM, 0 < stride <= fb_len,
 * width fits the stride, offset < fb_len and the last pixel inside
 * fb_len, width*height*4 <= pixel_max. 0, or -EINVAL with `why`. */
int xen_vfb_check_geom(const struct xen_vfb_geom *g, uint64_t fb_len,
		       const struct xen_vfb_limits *lim, char *why,
		       size_t why_len);

/* What connecting needs from a header: the picture, the framebuffer
 * length, and how many frames and directory pages map it. */
struct xen_vfb_layout {
	struct xen_vfb_geom geom;
	uint64_t fb_len;
	size_t nframes;
	unsigned ndirs;
};

/* Validates a header snapshot: mem_length within the limit and the
 * directory capacity of `abi`, the geometry (offset 0, stride =
 * line_length) within mem_length. 0, or -EINVAL with `why`. */
int xen_vfb_check_header(const struct xen_vfb_header *h, enum xen_vfb_abi abi,
			 const struct xen_vfb_limits *lim,
			 struct xen_vfb_layout *out, char *why, size_t why_len);

/* Copies pd[0..ndirs-1] out of the shared page (ndirs must not exceed
 * the slots of `abi`). */
void xen_vfb_read_pd(const void *page, enum xen_vfb_abi abi, unsigned ndirs,
		     uint64_t *out);

/* Copies `nframes` frame numbers out of the mapped directory pages
 * (ndirs pages, contiguous). */
void xen_vfb_read_dirs(const void *dirs, enum xen_vfb_abi abi, size_t nframes,
		       uint64_t *out);

/* Consumes the out ring from the private index `*cons`: reads out_prod
 * once, copies each event into private memory and calls `cb` with the
 * copy, then publishes out_cons. Returns the number of events (at most
 * XENFB_OUT_RING_LEN), or -EPROTO when out_prod is more than a ring
 * ahead of *cons (or behind it): nothing is consumed then. */
int xen_vfb_consume(void *page, uint32_t *cons,
		    void (*cb)(void *ctx, const union xenfb_out_event *ev),
		    void *ctx);

/* Clips an UPDATE to the picture; false when nothing is left. */
bool xen_vfb_clip_update(const struct xenfb_update *u,
			 const struct xen_vfb_geom *g, struct fb_rect *out);

/* Validates a RESIZE against the mapped framebuffer; fills `out`. */
int xen_vfb_check_resize(const struct xenfb_resize *r, uint64_t fb_len,
			 const struct xen_vfb_limits *lim,
			 struct xen_vfb_geom *out, char *why, size_t why_len);

/* Queues a REFRESH_PERIOD event at the private producer index `*prod`.
 * 0, or -EAGAIN when the ring is full (in_cons read once; a bogus value
 * only ever looks full). */
int xen_vfb_send_refresh(void *page, uint32_t *prod, uint32_t period_ms);

/* Converts rectangle `r` (inside the picture) of a 8, 16 or 24 bpp
 * framebuffer to XRGB8888 in `dst` (width x height, stride = width).
 * 8 bpp is RGB332, 16 bpp RGB565, 24 bpp packed B,G,R; each channel is
 * widened by bit replication. Reads exactly the picture's bytes. */
void xen_vfb_convert(const uint8_t *fb, const struct xen_vfb_geom *g,
		     uint32_t *dst, struct fb_rect r);

#endif
