/* The PV framebuffer ABI checks (fb/xen-vfb.h) on plain memory: header
 * validation, directory layouts, the out ring consumer, UPDATE clipping,
 * RESIZE validation, the in ring producer and pixel conversion. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fb/xen-vfb.h"

static const struct xen_vfb_limits lim = {.fb_max = 64u << 20,
					  .pixel_max = 64u << 20};

static struct xen_vfb_header hdr(int32_t w, int32_t h, uint32_t ll, uint32_t ml,
				 uint8_t depth)
{
	return (struct xen_vfb_header){.width = w,
				       .height = h,
				       .line_length = ll,
				       .mem_length = ml,
				       .depth = depth};
}

static void linux_default_header(void **state)
{
	struct xen_vfb_header h = hdr(800, 600, 3200, 2 << 20, 32);
	struct xen_vfb_layout lay;
	char why[160];

	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_64, &lim, &lay,
					      why, sizeof(why)),
			 0);
	assert_int_equal(lay.nframes, 512);
	assert_int_equal(lay.ndirs, 1);
	assert_int_equal(lay.fb_len, 2 << 20);
	assert_int_equal(lay.geom.width, 800);
	assert_int_equal(lay.geom.stride, 3200);
	assert_int_equal(lay.geom.offset, 0);
	/* 1,920,000 bytes: the last frame is partly used. */
	h.mem_length = 1920000;
	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_64, &lim, &lay,
					      why, sizeof(why)),
			 0);
	assert_int_equal(lay.nframes, 469);
}

static void bad_headers_rejected(void **state)
{
	static const struct {
		int32_t w, h;
		uint32_t ll, ml;
		uint8_t depth;
	} bad[] = {
		{0, 600, 3200, 1920000, 32},
		{-1, 600, 3200, 1920000, 32},
		{INT32_MIN, 600, 3200, 1920000, 32},
		{INT32_MAX, 1, 0xfffffffc, 0xffffffff, 32},
		{800, 0, 3200, 1920000, 32},
		{800, -600, 3200, 1920000, 32},
		{800, 600, 3200, 1920000, 0},
		{800, 600, 3200, 1920000, 7},
		{800, 600, 3200, 1920000, 15},
		{800, 600, 3200, 1920000, 255},
		{800, 600, 0, 1920000, 32},
		{800, 600, 1, 1920000, 32},
		{800, 600, 3199, 1920000, 32},
		{800, 600, 1920001, 1920000, 32},
		{800, 600, 0xffffffff, 1920000, 32},
		{800, 600, 3200, 0, 32},
		{800, 600, 3200, 4095, 32},
		{800, 600, 3200, 1919999, 32},
		{800, 600, 3200, (64u << 20) + 1, 32},
		{800, 600, 3200, 0xffffffff, 32},
		{65536, 65536, 262144, 64u << 20, 32},
		{16385, 1, 65540, 65540, 32},
		/* 24 bpp is 3 bytes: 800 pixels need 2400. */
		{800, 600, 2399, 1920000, 24},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xen_vfb_header h = hdr(bad[i].w, bad[i].h, bad[i].ll,
					      bad[i].ml, bad[i].depth);
		struct xen_vfb_layout lay;
		char why[160] = "";

		if (xen_vfb_check_header(&h, XEN_VFB_ABI_64, &lim, &lay, why,
					 sizeof(why)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_true(why[0] != '\0');
	}
}

static void directory_capacity(void **state)
{
	const struct xen_vfb_limits big = {.fb_max = 2u << 30,
					   .pixel_max = 2u << 30};
	struct xen_vfb_header h = hdr(1024, 768, 4096, 0, 32);
	struct xen_vfb_layout lay;
	char why[160];

	h.mem_length = XEN_VFB_PD_SLOTS_64 * 512u * 4096u;
	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_64, &big, &lay,
					      why, sizeof(why)),
			 0);
	assert_int_equal(lay.ndirs, XEN_VFB_PD_SLOTS_64);
	h.mem_length += 1;
	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_64, &big, &lay,
					      why, sizeof(why)),
			 -EINVAL);
	h.mem_length = XEN_VFB_PD_SLOTS_32 * 1024u * 4096u;
	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_32, &big, &lay,
					      why, sizeof(why)),
			 0);
	assert_int_equal(lay.ndirs, XEN_VFB_PD_SLOTS_32);
	h.mem_length += 4096;
	assert_int_equal(xen_vfb_check_header(&h, XEN_VFB_ABI_32, &big, &lay,
					      why, sizeof(why)),
			 -EINVAL);
}

static void geometry_end_and_pixel_limit(void **state)
{
	const struct xen_vfb_limits small = {.fb_max = 1u << 20,
					     .pixel_max = 100 * 100 * 4};
	struct xen_vfb_geom g = {100, 100, 400, 32, 0};
	char why[160];

	assert_int_equal(
		xen_vfb_check_geom(&g, 40000, &small, why, sizeof(why)), 0);
	/* The last row may end exactly at the end, not a byte later. */
	g.offset = 1;
	assert_int_equal(
		xen_vfb_check_geom(&g, 40000, &small, why, sizeof(why)),
		-EINVAL);
	g.offset = 0;
	g.width = 101;
	g.stride = 404;
	assert_int_equal(
		xen_vfb_check_geom(&g, 1 << 20, &small, why, sizeof(why)),
		-EINVAL);
	/* 24 bpp: stride counts 3 bytes per pixel. */
	g = (struct xen_vfb_geom){10, 10, 30, 24, 0};
	assert_int_equal(xen_vfb_check_geom(&g, 300, &small, why, sizeof(why)),
			 0);
	assert_int_equal(xen_vfb_check_geom(&g, 299, &small, why, sizeof(why)),
			 -EINVAL);
}

static void protocols(void **state)
{
	uint8_t page[4096] = {0};
	enum xen_vfb_abi abi;

	assert_int_equal(xen_vfb_parse_protocol("x86_64-abi", page, &abi), 0);
	assert_int_equal(abi, XEN_VFB_ABI_64);
	assert_int_equal(xen_vfb_parse_protocol("x86_32-abi", page, &abi), 0);
	assert_int_equal(abi, XEN_VFB_ABI_32);
	assert_int_equal(xen_vfb_parse_protocol("x86_64-abi ", page, &abi),
			 -EINVAL);
	assert_int_equal(xen_vfb_parse_protocol("", page, &abi), -EINVAL);
	assert_int_equal(xen_vfb_parse_protocol("bogus", page, &abi), -EINVAL);
	/* No key: the u32 at offset 40 decides. */
	assert_int_equal(xen_vfb_parse_protocol(NULL, page, &abi), 0);
	assert_int_equal(abi, XEN_VFB_ABI_32);
	page[40] = 5;
	assert_int_equal(xen_vfb_parse_protocol(NULL, page, &abi), 0);
	assert_int_equal(abi, XEN_VFB_ABI_64);
}

static void directories_both_abis(void **state)
{
	uint8_t *page = calloc(1, 4096), *dirs = calloc(2, 4096);
	uint64_t out[4], frames[1030];
	uint64_t v64;
	uint32_t v32;

	for (unsigned i = 0; i < 3; i++) {
		v64 = 0x1000000000ull + i;
		memcpy(page + 40 + 8 * i, &v64, 8);
	}
	xen_vfb_read_pd(page, XEN_VFB_ABI_64, 3, out);
	assert_int_equal(out[2], 0x1000000002ull);
	for (unsigned i = 0; i < 3; i++) {
		v32 = 0x70000000u + i;
		memcpy(page + 36 + 4 * i, &v32, 4);
	}
	xen_vfb_read_pd(page, XEN_VFB_ABI_32, 3, out);
	assert_int_equal(out[0], 0x70000000u);
	assert_int_equal(out[2], 0x70000002u);

	for (unsigned i = 0; i < 1024; i++) {
		v64 = 5000 + i;
		memcpy(dirs + 8 * i, &v64, 8);
	}
	xen_vfb_read_dirs(dirs, XEN_VFB_ABI_64, 1024, frames);
	assert_int_equal(frames[0], 5000);
	assert_int_equal(frames[511], 5511);
	assert_int_equal(frames[512], 5512); /* second directory page */
	for (unsigned i = 0; i < 1030; i++) {
		v32 = 9000 + i;
		if (i < 2048)
			memcpy(dirs + 4 * i, &v32, 4);
	}
	xen_vfb_read_dirs(dirs, XEN_VFB_ABI_32, 1030, frames);
	assert_int_equal(frames[1029], 10029);
	free(page);
	free(dirs);
}

struct seen {
	union xenfb_out_event ev[64];
	unsigned n;
};

static void collect(void *ctx, const union xenfb_out_event *ev)
{
	struct seen *s = ctx;

	s->ev[s->n++] = *ev;
}

static void produce(void *page, uint32_t idx, int32_t x)
{
	union xenfb_out_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.update.type = XENFB_TYPE_UPDATE;
	ev.update.x = x;
	XENFB_OUT_RING_REF(page, idx) = ev;
}

static void out_ring(void **state)
{
	struct xenfb_page *page = calloc(1, 4096);
	struct seen s = {0};
	uint32_t cons;

	/* Three events. */
	for (int32_t i = 0; i < 3; i++)
		produce(page, (uint32_t)i, i + 10);
	page->out_prod = 3;
	cons = 0;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), 3);
	assert_int_equal(cons, 3);
	assert_int_equal(page->out_cons, 3);
	assert_int_equal(s.ev[2].update.x, 12);
	/* Nothing new. */
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), 0);
	/* A full ring is fine, one more is not. */
	page->out_prod = cons + XENFB_OUT_RING_LEN;
	s.n = 0;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s),
			 XENFB_OUT_RING_LEN);
	page->out_prod = cons + XENFB_OUT_RING_LEN + 1;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), -EPROTO);
	/* Behind our index wraps to four billion events: broken too. */
	page->out_prod = cons - 1;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), -EPROTO);
	/* The guest's out_cons is not read: moving it back changes
	 * nothing. */
	page->out_cons = 0;
	page->out_prod = cons;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), 0);
	/* Indices wrap at 2^32. */
	cons = 0xfffffffe;
	for (uint32_t i = 0; i < 4; i++)
		produce(page, cons + i, (int32_t)i);
	page->out_prod = cons + 4;
	s.n = 0;
	assert_int_equal(xen_vfb_consume(page, &cons, collect, &s), 4);
	assert_int_equal(cons, 2);
	assert_int_equal(s.ev[3].update.x, 3);
	free(page);
}

static void update_clipping(void **state)
{
	const struct xen_vfb_geom g = {800, 600, 3200, 32, 0};
	static const struct {
		int32_t x, y, w, h;
		bool ok;
		uint32_t rx, ry, rw, rh;
	} cases[] = {
		{0, 0, 800, 600, true, 0, 0, 800, 600},
		{-5, -5, 10, 10, true, 0, 0, 5, 5},
		{790, 590, 100, 100, true, 790, 590, 10, 10},
		{0x7ffffff0, 0, 0x20, 10, false, 0, 0, 0, 0},
		{0, 0, -1, 10, false, 0, 0, 0, 0},
		{0, 0, 10, -1, false, 0, 0, 0, 0},
		{800, 0, 10, 10, false, 0, 0, 0, 0},
		{INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX, false, 0, 0, 0, 0},
		{-10, -10, INT32_MAX, INT32_MAX, true, 0, 0, 800, 600},
		{INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, false, 0, 0, 0, 0},
		{5, 5, 0, 0, false, 0, 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xenfb_update u = {XENFB_TYPE_UPDATE, cases[i].x,
					 cases[i].y, cases[i].w, cases[i].h};
		struct fb_rect r;
		bool ok = xen_vfb_clip_update(&u, &g, &r);

		assert_int_equal(ok, cases[i].ok);
		if (!ok)
			continue;
		assert_int_equal(r.x, cases[i].rx);
		assert_int_equal(r.y, cases[i].ry);
		assert_int_equal(r.w, cases[i].rw);
		assert_int_equal(r.h, cases[i].rh);
	}
}

static void resize_validation(void **state)
{
	const uint64_t fb_len = 2 << 20;
	static const struct {
		int32_t w, h, stride, depth, offset;
		bool ok;
	} cases[] = {
		{640, 480, 2560, 32, 0, true},
		{640, 480, 2560, 32, 4096, true},
		{800, 600, 3200, 32, 0, true},
		{640, 480, 1280, 16, 0, true},
		{640, 480, 1920, 24, 0, true},
		{640, 480, 1919, 24, 0, false},
		{640, 480, 2560, 32, 2 << 20, false},
		{640, 480, 2560, 32, -1, false},
		{640, 480, 2560, 32, (2 << 20) - 2560 * 479, false},
		{640, 480, 2560, 7, 0, false},
		{640, 480, -2560, 32, 0, false},
		{-640, 480, 2560, 32, 0, false},
		{0, 480, 2560, 32, 0, false},
		{INT32_MAX, INT32_MAX, INT32_MAX, 32, 0, false},
		{1024, 1024, 4096, 32, 0, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xenfb_resize r = {XENFB_TYPE_RESIZE, cases[i].w,
					 cases[i].h,	    cases[i].stride,
					 cases[i].depth,    cases[i].offset};
		struct xen_vfb_geom g;
		char why[160];
		int rc = xen_vfb_check_resize(&r, fb_len, &lim, &g, why,
					      sizeof(why));

		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu: rc %d (%s)", i, rc, why);
		if (rc == 0) {
			assert_int_equal(g.width, (uint32_t)cases[i].w);
			assert_int_equal(g.offset, (uint64_t)cases[i].offset);
		}
	}
}

static void refresh_period_events(void **state)
{
	struct xenfb_page *page = calloc(1, 4096);
	uint32_t prod = 0;
	const uint8_t *slot;

	for (unsigned i = 0; i < XENFB_IN_RING_LEN; i++)
		assert_int_equal(xen_vfb_send_refresh(page, &prod, 33), 0);
	assert_int_equal(page->in_prod, XENFB_IN_RING_LEN);
	assert_int_equal(xen_vfb_send_refresh(page, &prod, 33), -EAGAIN);
	page->in_cons = 1;
	assert_int_equal(xen_vfb_send_refresh(page, &prod, XENFB_NO_REFRESH),
			 0);
	slot = (const uint8_t *)&XENFB_IN_RING_REF(page, prod - 1);
	assert_int_equal(slot[0], XENFB_TYPE_REFRESH_PERIOD);
	for (unsigned i = 1; i < 40; i++)
		assert_int_equal(slot[i], 0);
	/* A bogus in_cons (ahead of us) only ever looks full. */
	page->in_cons = prod + 1000;
	assert_int_equal(xen_vfb_send_refresh(page, &prod, 33), -EAGAIN);
	free(page);
}

static void pixel_conversion(void **state)
{
	/* Exactly the picture's bytes, so ASan sees any read past it. */
	uint8_t *fb16 = malloc(4 * 2), *fb8 = malloc(4), *fb24 = malloc(2 * 3);
	uint32_t out[4];
	const struct xen_vfb_geom g16 = {4, 1, 8, 16, 0};
	const struct xen_vfb_geom g8 = {4, 1, 4, 8, 0};
	const struct xen_vfb_geom g24 = {2, 1, 6, 24, 0};
	static const uint16_t p16[4] = {0xf800, 0x07e0, 0x001f, 0x8410};
	static const uint8_t p8[4] = {0xe0, 0x1c, 0x03, 0x92};
	static const uint8_t p24[6] = {0x33, 0x22, 0x11, 0xcc, 0xbb, 0xaa};

	memcpy(fb16, p16, 8);
	memcpy(fb8, p8, 4);
	memcpy(fb24, p24, 6);
	memset(out, 0x55, sizeof(out));
	xen_vfb_convert(fb16, &g16, out, (struct fb_rect){0, 0, 4, 1});
	assert_int_equal(out[0], 0xff0000);
	assert_int_equal(out[1], 0x00ff00);
	assert_int_equal(out[2], 0x0000ff);
	assert_int_equal(out[3], 0x848284);
	xen_vfb_convert(fb8, &g8, out, (struct fb_rect){0, 0, 4, 1});
	assert_int_equal(out[0], 0xff0000);
	assert_int_equal(out[1], 0x00ff00);
	assert_int_equal(out[2], 0x0000ff);
	assert_int_equal(out[3], 0x9292aa);
	memset(out, 0x55, sizeof(out));
	xen_vfb_convert(fb24, &g24, out, (struct fb_rect){1, 0, 1, 1});
	assert_int_equal(out[0], 0x55555555); /* outside the rect */
	assert_int_equal(out[1], 0xaabbcc);
	free(fb16);
	free(fb8);
	free(fb24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_default_header),
		cmocka_unit_test(bad_headers_rejected),
		cmocka_unit_test(directory_capacity),
		cmocka_unit_test(geometry_end_and_pixel_limit),
		cmocka_unit_test(protocols),
		cmocka_unit_test(directories_both_abis),
		cmocka_unit_test(out_ring),
		cmocka_unit_test(update_clipping),
		cmocka_unit_test(resize_validation),
		cmocka_unit_test(refresh_period_events),
		cmocka_unit_test(pixel_conversion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
