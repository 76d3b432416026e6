/* libFuzzer target for the guest's side of the PV framebuffer and
 * keyboard ABI (fb/xen-vfb.c, input/sink-xen-kbd.c): everything a hostile
 * guest writes into its shared page, page directory and rings.
 *
 * Input:
 *   byte 0   bits 0-1: the "protocol" key: absent, x86_64-abi, x86_32-abi,
 *                      something else
 *            bits 2-3: the framebuffer limit: 4 KiB, 64 KiB, 256 KiB, 1 MiB
 *   then     the shared page (4096 bytes; missing bytes are zero)
 *   then     the directory pages' contents (missing bytes are zero)
 *
 * A header that passes must describe a picture inside mem_length, within
 * the limits and the directory slots. Then the out ring is consumed: at
 * most one ring of events, every UPDATE clipped into the picture, every
 * accepted RESIZE inside the framebuffer, and each hinted rectangle is
 * converted from a buffer of exactly fb_len bytes (ASan flags any read
 * past it). Finally the in rings are filled with whatever in_cons says. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb/xen-vfb.h"
#include "input/sink-xen-kbd.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

struct run {
	struct xen_vfb_limits lim;
	uint64_t fb_len;
	const uint8_t *fb;
	struct xen_vfb_geom geom;
	uint32_t *conv;
	unsigned events;
};

static void check_geom(const struct run *r, const struct xen_vfb_geom *g)
{
	uint64_t bpp = g->depth / 8;

	CHECK(g->depth == 8 || g->depth == 16 || g->depth == 24 ||
	      g->depth == 32);
	CHECK(g->width >= 1 && g->height >= 1);
	CHECK(g->width <= FB_MAX_DIM && g->height <= FB_MAX_DIM);
	CHECK((uint64_t)g->width * bpp <= g->stride);
	CHECK(g->offset + (uint64_t)(g->height - 1) * g->stride +
		      (uint64_t)g->width * bpp <=
	      r->fb_len);
	CHECK((uint64_t)g->width * g->height * 4 <= r->lim.pixel_max);
}

static void on_event(void *ctx, const union xenfb_out_event *ev)
{
	struct run *r = ctx;
	struct xen_vfb_geom g;
	struct fb_rect rect;
	char why[160];

	r->events++;
	CHECK(r->events <= XENFB_OUT_RING_LEN);
	switch (ev->type) {
	case XENFB_TYPE_UPDATE:
		if (!xen_vfb_clip_update(&ev->update, &r->geom, &rect))
			break;
		CHECK(rect.w > 0 && rect.h > 0);
		CHECK((uint64_t)rect.x + rect.w <= r->geom.width);
		CHECK((uint64_t)rect.y + rect.h <= r->geom.height);
		xen_vfb_convert(r->fb, &r->geom, r->conv, rect);
		break;
	case XENFB_TYPE_RESIZE:
		if (xen_vfb_check_resize(&ev->resize, r->fb_len, &r->lim, &g,
					 why, sizeof(why)) < 0)
			break;
		check_geom(r, &g);
		free(r->conv);
		r->geom = g;
		r->conv = calloc((size_t)g.width * g.height, 4);
		CHECK(r->conv);
		xen_vfb_convert(r->fb, &r->geom, r->conv,
				(struct fb_rect){0, 0, g.width, g.height});
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const protos[] = {NULL, "x86_64-abi", "x86_32-abi",
					     "sparc-abi"};
	static const uint64_t limits[] = {4096, 64 << 10, 256 << 10, 1 << 20};
	uint8_t *page = calloc(1, XEN_VFB_PAGE_SIZE);
	struct run r = {0};
	struct xen_vfb_header h;
	struct xen_vfb_layout lay;
	enum xen_vfb_abi abi;
	uint64_t pd[XEN_VFB_PD_SLOTS_32], *frames = NULL;
	uint8_t *dirs = NULL, *fb = NULL;
	uint32_t cons, prod;
	char why[160];
	size_t off;
	int n;

	if (size < 1 || !page)
		goto out;
	r.lim.fb_max = limits[(data[0] >> 2) & 3];
	r.lim.pixel_max = r.lim.fb_max;
	memcpy(page, data + 1,
	       size - 1 < XEN_VFB_PAGE_SIZE ? size - 1 : XEN_VFB_PAGE_SIZE);
	off = 1 + XEN_VFB_PAGE_SIZE;

	xen_vfb_read_header(page, &h);
	if (xen_vfb_parse_protocol(protos[data[0] & 3], page, &abi) < 0)
		goto rings;
	if (xen_vfb_check_header(&h, abi, &r.lim, &lay, why, sizeof(why)) < 0) {
		CHECK(why[0] != '\0');
		goto rings;
	}
	r.fb_len = lay.fb_len;
	CHECK(lay.fb_len == h.mem_length && lay.fb_len <= r.lim.fb_max);
	CHECK((uint64_t)lay.nframes * XEN_VFB_PAGE_SIZE >= lay.fb_len);
	CHECK(lay.ndirs <= (abi == XEN_VFB_ABI_64 ? XEN_VFB_PD_SLOTS_64
						  : XEN_VFB_PD_SLOTS_32));
	CHECK((uint64_t)lay.ndirs *
		      (XEN_VFB_PAGE_SIZE / (abi == XEN_VFB_ABI_64 ? 8 : 4)) >=
	      lay.nframes);
	check_geom(&r, &lay.geom);

	/* The directory: pd[] copied out, the directory pages' contents
	 * from the input. */
	xen_vfb_read_pd(page, abi, lay.ndirs, pd);
	dirs = calloc(lay.ndirs, XEN_VFB_PAGE_SIZE);
	frames = calloc(lay.nframes, sizeof(*frames));
	CHECK(dirs && frames);
	if (size > off) {
		size_t n_dir = size - off;

		if (n_dir > (size_t)lay.ndirs * XEN_VFB_PAGE_SIZE)
			n_dir = (size_t)lay.ndirs * XEN_VFB_PAGE_SIZE;
		memcpy(dirs, data + off, n_dir);
	}
	xen_vfb_read_dirs(dirs, abi, lay.nframes, frames);

	/* The framebuffer: exactly fb_len bytes of the directory's
	 * contents, repeated. */
	fb = malloc(lay.fb_len);
	CHECK(fb);
	for (uint64_t i = 0; i < lay.fb_len; i++)
		fb[i] = dirs[i % ((size_t)lay.ndirs * XEN_VFB_PAGE_SIZE)];
	r.fb = fb;
	r.geom = lay.geom;
	r.conv = calloc((size_t)r.geom.width * r.geom.height, 4);
	CHECK(r.conv);
	xen_vfb_convert(fb, &r.geom, r.conv,
			(struct fb_rect){0, 0, r.geom.width, r.geom.height});

	cons = h.out_cons;
	n = xen_vfb_consume(page, &cons, on_event, &r);
	CHECK(n == -EPROTO || (n >= 0 && n <= (int)XENFB_OUT_RING_LEN));
	CHECK(n == -EPROTO || cons == h.out_prod);
	CHECK((unsigned)(n < 0 ? 0 : n) == r.events);

rings:
	/* The producers never write more than the room in_cons allows. */
	prod = h.in_prod;
	for (unsigned i = 0; i < XENFB_IN_RING_LEN + 2; i++)
		if (xen_vfb_send_refresh(page, &prod, i) < 0)
			break;
	CHECK(prod - h.in_prod <= XENFB_IN_RING_LEN);
	{
		union xenkbd_in_event ev;
		uint32_t kprod = h.in_prod, start = kprod;

		memset(&ev, 0, sizeof(ev));
		ev.key.type = XENKBD_TYPE_KEY;
		ev.key.keycode = KEY_A;
		for (unsigned i = 0; i < XENKBD_IN_RING_LEN + 2; i++)
			if (xen_kbd_ring_put(page, &kprod, &ev) < 0)
				break;
		CHECK(kprod - start <= XENKBD_IN_RING_LEN);
	}
out:
	free(r.conv);
	free(fb);
	free(frames);
	free(dirs);
	free(page);
	return 0;
}
