#include "fb/xen-vfb.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <xen/io/protocols.h>

_Static_assert(offsetof(struct xenfb_page, width) == 16, "fbif layout");
_Static_assert(offsetof(struct xenfb_page, depth) == 32, "fbif layout");
_Static_assert(offsetof(struct xenfb_page, pd) == 40, "fbif layout");
_Static_assert(sizeof(union xenfb_out_event) == 40, "fbif event size");
_Static_assert(sizeof(union xenfb_in_event) == 40, "fbif event size");
_Static_assert(XENFB_OUT_RING_LEN == 51 && XENFB_IN_RING_LEN == 25,
	       "fbif ring lengths");
_Static_assert(40 + 8 * XEN_VFB_PD_SLOTS_64 <= XENFB_IN_RING_OFFS &&
		       40 + 8 * (XEN_VFB_PD_SLOTS_64 + 1) > XENFB_IN_RING_OFFS,
	       "pd slots before the in ring (64-bit)");
_Static_assert(36 + 4 * XEN_VFB_PD_SLOTS_32 <= XENFB_IN_RING_OFFS &&
		       36 + 4 * (XEN_VFB_PD_SLOTS_32 + 1) > XENFB_IN_RING_OFFS,
	       "pd slots before the in ring (32-bit)");

#define PD_OFFSET_64 40u
#define PD_OFFSET_32 36u

/* One load per shared value: relaxed atomics keep the compiler from
 * reading the guest's memory twice (XSA-155). */
static uint32_t shared32(const void *page, size_t off)
{
	return __atomic_load_n((const uint32_t *)((const uint8_t *)page + off),
			       __ATOMIC_RELAXED);
}

static uint64_t shared64(const void *page, size_t off)
{
	return __atomic_load_n((const uint64_t *)((const uint8_t *)page + off),
			       __ATOMIC_RELAXED);
}

/* Copies `n` bytes (a multiple of 4, 4-aligned) word by word. */
static void copy_shared(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < n; i += 4) {
		uint32_t w = shared32(src, i);

		memcpy(d + i, &w, 4);
	}
}

void xen_vfb_read_header(const void *page, struct xen_vfb_header *out)
{
	out->in_cons = shared32(page, offsetof(struct xenfb_page, in_cons));
	out->in_prod = shared32(page, offsetof(struct xenfb_page, in_prod));
	out->out_cons = shared32(page, offsetof(struct xenfb_page, out_cons));
	out->out_prod = shared32(page, offsetof(struct xenfb_page, out_prod));
	out->width =
		(int32_t)shared32(page, offsetof(struct xenfb_page, width));
	out->height =
		(int32_t)shared32(page, offsetof(struct xenfb_page, height));
	out->line_length =
		shared32(page, offsetof(struct xenfb_page, line_length));
	out->mem_length =
		shared32(page, offsetof(struct xenfb_page, mem_length));
	/* depth is the low byte of its (little-endian) word. */
	out->depth =
		(uint8_t)shared32(page, offsetof(struct xenfb_page, depth));
}

int xen_vfb_parse_protocol(const char *proto, const void *page,
			   enum xen_vfb_abi *out)
{
	if (!proto) {
		/* Frontends from before the key existed: a 32-bit one with
		 * one directory has pd[1] == 0 at offset 40, a 64-bit one
		 * has the low half of pd[0] there. */
		*out = shared32(page, PD_OFFSET_64) == 0 ? XEN_VFB_ABI_32
							 : XEN_VFB_ABI_64;
		return 0;
	}
	if (strcmp(proto, XEN_IO_PROTO_ABI_X86_64) == 0) {
		*out = XEN_VFB_ABI_64;
		return 0;
	}
	if (strcmp(proto, XEN_IO_PROTO_ABI_X86_32) == 0) {
		*out = XEN_VFB_ABI_32;
		return 0;
	}
	if (strcmp(proto, XEN_IO_PROTO_ABI_ARM) == 0) {
		/* Arm guests use the native width of an Arm dom0. */
		*out = sizeof(unsigned long) == 8 ? XEN_VFB_ABI_64
						  : XEN_VFB_ABI_32;
		return 0;
	}
	return -EINVAL;
}

static int fail(char *why, size_t why_len, const char *msg)
{
	snprintf(why, why_len, "%s", msg);
	return -EINVAL;
}

int xen_vfb_check_geom(const struct xen_vfb_geom *g, uint64_t fb_len,
		       const struct xen_vfb_limits *lim, char *why,
		       size_t why_len)
{
	uint64_t bpp, end;

	if (g->depth != 8 && g->depth != 16 && g->depth != 24 &&
	    g->depth != 32) {
		snprintf(why, why_len, "depth %u is not 8, 16, 24 or 32",
			 g->depth);
		return -EINVAL;
	}
	bpp = g->depth / 8;
	if (g->width == 0 || g->height == 0 || g->width > FB_MAX_DIM ||
	    g->height > FB_MAX_DIM) {
		snprintf(why, why_len, "size %ux%u is not within 1..%u",
			 g->width, g->height, FB_MAX_DIM);
		return -EINVAL;
	}
	if (g->stride == 0 || g->stride > fb_len)
		return fail(why, why_len, "line length is 0 or beyond the fb");
	if ((uint64_t)g->width > g->stride / bpp)
		return fail(why, why_len, "width does not fit the line length");
	if (g->offset >= fb_len)
		return fail(why, why_len, "offset is beyond the fb");
	end = g->offset + (uint64_t)(g->height - 1) * g->stride +
	      (uint64_t)g->width * bpp;
	if (end > fb_len) {
		snprintf(why, why_len,
			 "picture needs %llu bytes, the fb has %llu",
			 (unsigned long long)end, (unsigned long long)fb_len);
		return -EINVAL;
	}
	if ((uint64_t)g->width * g->height * 4 > lim->pixel_max) {
		snprintf(why, why_len, "%ux%u exceeds the pixel limit",
			 g->width, g->height);
		return -EINVAL;
	}
	return 0;
}

int xen_vfb_check_header(const struct xen_vfb_header *h, enum xen_vfb_abi abi,
			 const struct xen_vfb_limits *lim,
			 struct xen_vfb_layout *out, char *why, size_t why_len)
{
	unsigned esz = abi == XEN_VFB_ABI_64 ? 8 : 4;
	unsigned slots = abi == XEN_VFB_ABI_64 ? XEN_VFB_PD_SLOTS_64
					       : XEN_VFB_PD_SLOTS_32;
	uint64_t per_dir = XEN_VFB_PAGE_SIZE / esz;
	uint64_t nframes, ndirs;

	if (h->mem_length == 0)
		return fail(why, why_len, "mem_length is 0");
	if (h->mem_length > lim->fb_max) {
		snprintf(why, why_len,
			 "mem_length %u exceeds the limit of %llu bytes",
			 h->mem_length, (unsigned long long)lim->fb_max);
		return -EINVAL;
	}
	nframes = ((uint64_t)h->mem_length + XEN_VFB_PAGE_SIZE - 1) /
		  XEN_VFB_PAGE_SIZE;
	ndirs = (nframes + per_dir - 1) / per_dir;
	if (ndirs > slots) {
		snprintf(why, why_len,
			 "mem_length %u needs %llu directory pages, the page "
			 "has %u",
			 h->mem_length, (unsigned long long)ndirs, slots);
		return -EINVAL;
	}
	if (h->width <= 0 || h->height <= 0) {
		snprintf(why, why_len, "size %dx%d is not positive", h->width,
			 h->height);
		return -EINVAL;
	}
	out->geom = (struct xen_vfb_geom){
		.width = (uint32_t)h->width,
		.height = (uint32_t)h->height,
		.stride = h->line_length,
		.depth = h->depth,
		.offset = 0,
	};
	out->fb_len = h->mem_length;
	out->nframes = (size_t)nframes;
	out->ndirs = (unsigned)ndirs;
	return xen_vfb_check_geom(&out->geom, out->fb_len, lim, why, why_len);
}

void xen_vfb_read_pd(const void *page, enum xen_vfb_abi abi, unsigned ndirs,
		     uint64_t *out)
{
	for (unsigned i = 0; i < ndirs; i++)
		out[i] = abi == XEN_VFB_ABI_64
				 ? shared64(page, PD_OFFSET_64 + 8 * (size_t)i)
				 : shared32(page, PD_OFFSET_32 + 4 * (size_t)i);
}

void xen_vfb_read_dirs(const void *dirs, enum xen_vfb_abi abi, size_t nframes,
		       uint64_t *out)
{
	for (size_t i = 0; i < nframes; i++)
		out[i] = abi == XEN_VFB_ABI_64 ? shared64(dirs, 8 * i)
					       : shared32(dirs, 4 * i);
}

int xen_vfb_consume(void *page, uint32_t *cons,
		    void (*cb)(void *ctx, const union xenfb_out_event *ev),
		    void *ctx)
{
	struct xenfb_page *p = page;
	uint32_t prod = __atomic_load_n(&p->out_prod, __ATOMIC_ACQUIRE);
	uint32_t n = prod - *cons;

	/* The guest owns out_prod: more than a ring ahead (or "behind",
	 * which wraps to a huge count) is a broken frontend, not a reason
	 * to loop four billion times. */
	if (n > XENFB_OUT_RING_LEN)
		return -EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		union xenfb_out_event ev;
		size_t off = XENFB_OUT_RING_OFFS +
			     ((*cons + i) % XENFB_OUT_RING_LEN) *
				     XENFB_OUT_EVENT_SIZE;

		copy_shared(&ev, (const uint8_t *)page + off, sizeof(ev));
		cb(ctx, &ev);
	}
	*cons = prod;
	/* Slots are read before the guest may reuse them. */
	__atomic_store_n(&p->out_cons, prod, __ATOMIC_RELEASE);
	return (int)n;
}

bool xen_vfb_clip_update(const struct xenfb_update *u,
			 const struct xen_vfb_geom *g, struct fb_rect *out)
{
	int64_t x0 = u->x, y0 = u->y;
	int64_t x1 = x0 + u->width, y1 = y0 + u->height;

	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > (int64_t)g->width)
		x1 = g->width;
	if (y1 > (int64_t)g->height)
		y1 = g->height;
	if (x1 <= x0 || y1 <= y0)
		return false;
	*out = (struct fb_rect){(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0),
				(uint32_t)(y1 - y0)};
	return true;
}

int xen_vfb_check_resize(const struct xenfb_resize *r, uint64_t fb_len,
			 const struct xen_vfb_limits *lim,
			 struct xen_vfb_geom *out, char *why, size_t why_len)
{
	struct xen_vfb_geom g;

	if (r->width <= 0 || r->height <= 0 || r->stride <= 0 ||
	    r->depth <= 0 || r->offset < 0) {
		snprintf(why, why_len,
			 "negative or zero field (%dx%d stride %d depth %d "
			 "offset %d)",
			 r->width, r->height, r->stride, r->depth, r->offset);
		return -EINVAL;
	}
	g = (struct xen_vfb_geom){
		.width = (uint32_t)r->width,
		.height = (uint32_t)r->height,
		.stride = (uint32_t)r->stride,
		.depth = (uint32_t)r->depth,
		.offset = (uint64_t)r->offset,
	};
	if (xen_vfb_check_geom(&g, fb_len, lim, why, why_len) < 0)
		return -EINVAL;
	*out = g;
	return 0;
}

int xen_vfb_send_refresh(void *page, uint32_t *prod, uint32_t period_ms)
{
	struct xenfb_page *p = page;
	uint32_t cons = __atomic_load_n(&p->in_cons, __ATOMIC_ACQUIRE);
	union xenfb_in_event ev;
	uint32_t *slot;

	if (*prod - cons >= XENFB_IN_RING_LEN)
		return -EAGAIN;
	memset(&ev, 0, sizeof(ev));
	ev.refresh_period.type = XENFB_TYPE_REFRESH_PERIOD;
	ev.refresh_period.period = period_ms;
	slot = (uint32_t *)((uint8_t *)page + XENFB_IN_RING_OFFS +
			    (*prod % XENFB_IN_RING_LEN) * XENFB_IN_EVENT_SIZE);
	for (size_t i = 0; i < sizeof(ev) / 4; i++) {
		uint32_t w;

		memcpy(&w, (const uint8_t *)&ev + 4 * i, 4);
		__atomic_store_n(slot + i, w, __ATOMIC_RELAXED);
	}
	(*prod)++;
	/* The event is complete before the guest can see the index. */
	__atomic_store_n(&p->in_prod, *prod, __ATOMIC_RELEASE);
	return 0;
}

static uint32_t widen(uint32_t v, unsigned bits)
{
	switch (bits) {
	case 2:
		return v * 0x55;
	case 3:
		return (v << 5) | (v << 2) | (v >> 1);
	case 5:
		return (v << 3) | (v >> 2);
	case 6:
		return (v << 2) | (v >> 4);
	default:
		return v;
	}
}

void xen_vfb_convert(const uint8_t *fb, const struct xen_vfb_geom *g,
		     uint32_t *dst, struct fb_rect r)
{
	uint32_t bpp = g->depth / 8;

	for (uint32_t y = r.y; y < r.y + r.h; y++) {
		const uint8_t *s = fb + g->offset + (uint64_t)y * g->stride +
				   (uint64_t)r.x * bpp;
		uint32_t *d = dst + (size_t)y * g->width + r.x;

		switch (g->depth) {
		case 8:
			for (uint32_t x = 0; x < r.w; x++) {
				uint32_t p = s[x];

				d[x] = widen(p >> 5, 3) << 16 |
				       widen((p >> 2) & 7, 3) << 8 |
				       widen(p & 3, 2);
			}
			break;
		case 16:
			for (uint32_t x = 0; x < r.w; x++) {
				uint32_t p = s[2 * x] | (uint32_t)s[2 * x + 1]
								<< 8;

				d[x] = widen(p >> 11, 5) << 16 |
				       widen((p >> 5) & 63, 6) << 8 |
				       widen(p & 31, 5);
			}
			break;
		case 24:
			for (uint32_t x = 0; x < r.w; x++)
				d[x] = (uint32_t)s[3 * x + 2] << 16 |
				       (uint32_t)s[3 * x + 1] << 8 | s[3 * x];
			break;
		default:
			for (uint32_t x = 0; x < r.w; x++) {
				uint32_t p;

				memcpy(&p, s + 4 * x, 4);
				d[x] = p & 0xffffff;
			}
			break;
		}
	}
}
