/* Server-to-client writers in net/rfb-write.c, byte for byte against
 * RFC 6143: ServerInit (7.3.2), FramebufferUpdate and rectangle headers
 * (7.6.1), Raw pixels (7.7.1) in several client pixel formats, and
 * failure reasons. */
#include "net/rfb-write.h"
#include "net/rfb-proto.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_server_init(void **state)
{
	static const uint8_t want[] = {
		0x04, 0x00,		/* width 1024 */
		0x03, 0x00,		/* height 768 */
		32,			/* bits-per-pixel */
		24,			/* depth */
		0,			/* big-endian-flag */
		1,			/* true-colour-flag */
		0x00, 0xff,		/* red-max */
		0x00, 0xff,		/* green-max */
		0x00, 0xff,		/* blue-max */
		16,			/* red-shift */
		8,			/* green-shift */
		0,			/* blue-shift */
		0,    0,    0,		/* padding */
		0x00, 0x00, 0x00, 0x12, /* name-length */
		'v',  'f',  'b',  'd',	' ', 'd', 'e', 'm', 'o',
		' ',  '1',  '0',  '2',	'4', 'x', '7', '6', '8',
	};
	struct buf b;

	buf_init(&b);
	assert_int_equal(
		rfb_write_server_init(&b, 1024, 768, "vfbd demo 1024x768"), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_fini(&b);

	/* Odd sizes, the largest frame, an empty name; appended after what
	 * the buffer already holds. */
	buf_init(&b);
	assert_int_equal(buf_put_u8(&b, 0x99), 0);
	assert_int_equal(rfb_write_server_init(&b, 16384, 1, ""), 0);
	assert_int_equal(b.len, 1 + 24);
	assert_int_equal(b.data[0], 0x99);
	assert_memory_equal(b.data + 1, "\x40\x00\x00\x01", 4);
	assert_memory_equal(b.data + 5, want + 4, 16);
	assert_memory_equal(b.data + 21, "\0\0\0\0", 4);
	buf_fini(&b);
}

static void test_update_and_rect_headers(void **state)
{
	static const uint8_t want[] = {
		0,    0,    0x00, 0x03, /* update, 3 rects */
		0,    0,    0xff, 0xff, /* update, 65535 */
		0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
		0x00, 0x04, 0x00, 0x00, 0x00, 0x00, /* Raw */
		0x3f, 0xff, 0x12, 0x34, 0x40, 0x00,
		0x00, 0x01, 0x00, 0x00, 0x00, 0x10, /* ZRLE */
		0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x03, 0x00, 0xff, 0xff, 0xff, 0x21, /* DesktopSize */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xff, 0xff, 0xff, 0x20, /* LastRect */
	};
	struct buf b;

	buf_init(&b);
	assert_int_equal(rfb_write_update_header(&b, 3), 0);
	assert_int_equal(rfb_write_update_header(&b, 0xffff), 0);
	assert_int_equal(rfb_write_rect_header(&b, 1, 2, 3, 4, RFB_ENC_RAW), 0);
	assert_int_equal(rfb_write_rect_header(&b, 16383, 0x1234, 16384, 1,
					       RFB_ENC_ZRLE),
			 0);
	assert_int_equal(rfb_write_rect_header(&b, 0, 0, 1024, 768,
					       RFB_ENC_DESKTOP_SIZE),
			 0);
	assert_int_equal(
		rfb_write_rect_header(&b, 0, 0, 0, 0, RFB_ENC_LAST_RECT), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_fini(&b);
}

static void test_reason(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(rfb_write_reason(&b, "too many clients"), 0);
	assert_int_equal(rfb_write_reason(&b, ""), 0);
	assert_int_equal(b.len, 4 + 16 + 4);
	assert_memory_equal(b.data, "\0\0\0\x10too many clients\0\0\0\0", 24);
	buf_fini(&b);
}

/* An independent reading of RFC 6143 7.4 and the scaling the pixfmt
 * header documents: what one pixel must look like on the wire. */
static void expect_pixel(const struct rfb_pixfmt *pf, uint32_t xrgb,
			 const uint8_t *got)
{
	uint32_t r = (xrgb >> 16) & 0xff, g = (xrgb >> 8) & 0xff,
		 b = xrgb & 0xff, v;
	size_t n = pf->bpp / 8;
	uint8_t want[4];

	v = (r * pf->red_max + 127) / 255 << pf->red_shift |
	    (g * pf->green_max + 127) / 255 << pf->green_shift |
	    (b * pf->blue_max + 127) / 255 << pf->blue_shift;
	for (size_t i = 0; i < n; i++) {
		size_t shift = pf->big_endian ? (n - 1 - i) * 8 : i * 8;

		want[i] = (uint8_t)(v >> shift);
	}
	assert_memory_equal(got, want, n);
}

/* A view with a row stride wider than its width, holding distinct
 * colours; the X byte of every pixel is set, as a guest may leave it. */
struct frame {
	uint32_t px[6 * 9];
	struct fb_view view;
};

static void frame_init(struct frame *f)
{
	for (uint32_t i = 0; i < 6 * 9; i++)
		f->px[i] = 0xa5000000u | (i * 0x04c1f3u & 0xffffff);
	f->px[0] = 0xff808080u;
	f->px[1] = 0x007f7f7fu;
	f->px[2] = 0x00ffffffu;
	f->px[3] = 0x00000000u;
	f->view = (struct fb_view){(const uint8_t *)f->px, 7, 6, 9 * 4};
}

static const struct rfb_pixfmt fmt_rgb565_le = {
	.bpp = 16,
	.depth = 16,
	.true_colour = 1,
	.red_max = 31,
	.green_max = 63,
	.blue_max = 31,
	.red_shift = 11,
	.green_shift = 5,
};
static const struct rfb_pixfmt fmt_rgb565_be = {
	.bpp = 16,
	.depth = 16,
	.big_endian = 1,
	.true_colour = 1,
	.red_max = 31,
	.green_max = 63,
	.blue_max = 31,
	.red_shift = 11,
	.green_shift = 5,
};
static const struct rfb_pixfmt fmt_bgr233 = {
	.bpp = 8,
	.depth = 8,
	.true_colour = 1,
	.red_max = 7,
	.green_max = 7,
	.blue_max = 3,
	.red_shift = 0,
	.green_shift = 3,
	.blue_shift = 6,
};
static const struct rfb_pixfmt fmt_xrgb_be = {
	.bpp = 32,
	.depth = 24,
	.big_endian = 1,
	.true_colour = 1,
	.red_max = 255,
	.green_max = 255,
	.blue_max = 255,
	.red_shift = 16,
	.green_shift = 8,
};
static const struct rfb_pixfmt fmt_xbgr_le = {
	.bpp = 32,
	.depth = 24,
	.true_colour = 1,
	.red_max = 255,
	.green_max = 255,
	.blue_max = 255,
	.red_shift = 0,
	.green_shift = 8,
	.blue_shift = 16,
};

/* Writes rect `r` of the frame in format `pf` and checks the header and
 * every pixel, row by row. */
static void check_raw(const struct rfb_pixfmt *pf, struct fb_rect r)
{
	struct rfb_pixconv *pc = malloc(sizeof(*pc));
	struct frame f;
	struct buf b;
	size_t bpp = pf->bpp / 8;
	const uint8_t *p;

	assert_non_null(pc);
	assert_int_equal(rfb_pixfmt_check(pf, NULL), 0);
	rfb_pixconv_init(pc, pf);
	frame_init(&f);
	buf_init(&b);
	assert_int_equal(buf_put_u8(&b, 0x77), 0);
	assert_int_equal(rfb_write_raw_rect(&b, pc, &f.view, r), 0);
	assert_int_equal(b.len, 1 + 12 + (size_t)r.w * r.h * bpp);
	assert_int_equal(b.data[0], 0x77);
	p = b.data + 1;
	assert_int_equal(p[0] << 8 | p[1], r.x);
	assert_int_equal(p[2] << 8 | p[3], r.y);
	assert_int_equal(p[4] << 8 | p[5], r.w);
	assert_int_equal(p[6] << 8 | p[7], r.h);
	assert_memory_equal(p + 8, "\0\0\0\0", 4); /* Raw */
	p += 12;
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++, p += bpp)
			expect_pixel(pf, f.px[y * 9 + x], p);
	buf_fini(&b);
	free(pc);
}

static void test_raw_formats(void **state)
{
	static const struct rfb_pixfmt *const fmts[] = {
		&fmt_rgb565_le, &fmt_rgb565_be, &fmt_bgr233,
		&fmt_xrgb_be,	&fmt_xbgr_le,
	};
	static const struct fb_rect rects[] = {
		{0, 0, 7, 6}, {1, 1, 3, 2}, {6, 5, 1, 1},
		{0, 5, 7, 1}, {6, 0, 1, 6}, {2, 3, 0, 0},
	};

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		for (size_t j = 0; j < sizeof(rects) / sizeof(rects[0]); j++)
			check_raw(fmts[i], rects[j]);
}

/* Fixed bytes for the first pixels (0x808080 with X set, 0x7f7f7f,
 * white, black), so the oracle above is not the only judge. */
static void expect_first_row(const struct rfb_pixfmt *pf, const uint8_t *want,
			     size_t len)
{
	struct rfb_pixconv *pc = malloc(sizeof(*pc));
	struct frame f;
	struct buf b;

	assert_non_null(pc);
	rfb_pixconv_init(pc, pf);
	frame_init(&f);
	buf_init(&b);
	assert_int_equal(rfb_write_raw_rect(&b, pc, &f.view,
					    (struct fb_rect){0, 0, 4, 1}),
			 0);
	assert_int_equal(b.len, 12 + len);
	assert_memory_equal(b.data + 12, want, len);
	buf_fini(&b);
	free(pc);
}

static void test_raw_known_bytes(void **state)
{
	static const uint8_t rgb565_le[] = {0x10, 0x84, 0xef, 0x7b,
					    0xff, 0xff, 0x00, 0x00};
	static const uint8_t rgb565_be[] = {0x84, 0x10, 0x7b, 0xef,
					    0xff, 0xff, 0x00, 0x00};
	static const uint8_t bgr233[] = {0xa4, 0x5b, 0xff, 0x00};
	/* The X byte never reaches a client in another format. */
	static const uint8_t xrgb_be[] = {0x00, 0x80, 0x80, 0x80, 0x00, 0x7f,
					  0x7f, 0x7f, 0x00, 0xff, 0xff, 0xff,
					  0x00, 0x00, 0x00, 0x00};
	static const uint8_t xbgr_le[] = {0x80, 0x80, 0x80, 0x00, 0x7f, 0x7f,
					  0x7f, 0x00, 0xff, 0xff, 0xff, 0x00,
					  0x00, 0x00, 0x00, 0x00};

	expect_first_row(&fmt_rgb565_le, rgb565_le, sizeof(rgb565_le));
	expect_first_row(&fmt_rgb565_be, rgb565_be, sizeof(rgb565_be));
	expect_first_row(&fmt_bgr233, bgr233, sizeof(bgr233));
	expect_first_row(&fmt_xrgb_be, xrgb_be, sizeof(xrgb_be));
	expect_first_row(&fmt_xbgr_le, xbgr_le, sizeof(xbgr_le));
}

/* The server's own format is a plain copy of the shadow's bytes. */
static void test_raw_server_format(void **state)
{
	struct rfb_pixconv *pc = malloc(sizeof(*pc));
	struct frame f;
	struct buf b;

	assert_non_null(pc);
	rfb_pixconv_init(pc, &rfb_pixfmt_server);
	frame_init(&f);
	buf_init(&b);
	assert_int_equal(rfb_write_raw_rect(&b, pc, &f.view,
					    (struct fb_rect){2, 1, 5, 5}),
			 0);
	assert_int_equal(b.len, 12 + 5 * 5 * 4);
	for (uint32_t y = 0; y < 5; y++)
		assert_memory_equal(b.data + 12 + y * 5 * 4,
				    &f.px[(1 + y) * 9 + 2], 5 * 4);
	/* Little-endian XRGB: blue first. */
	buf_fini(&b);
	buf_init(&b);
	assert_int_equal(rfb_write_raw_rect(&b, pc, &f.view,
					    (struct fb_rect){2, 0, 1, 1}),
			 0);
	assert_memory_equal(b.data + 12, "\xff\xff\xff\x00", 4);
	buf_fini(&b);
	free(pc);
}

static void test_raw_outside_view(void **state)
{
	static const struct fb_rect bad[] = {
		{0, 0, 8, 1},	       {0, 0, 1, 7},
		{7, 0, 1, 1},	       {0, 6, 1, 1},
		{6, 5, 2, 1},	       {6, 5, 1, 2},
		{UINT32_MAX, 0, 2, 1}, {1, 0, UINT32_MAX, 1},
		{0, UINT32_MAX, 1, 2}, {0, 1, 1, UINT32_MAX},
		{8, 0, 0, 0},
	};
	struct rfb_pixconv *pc = malloc(sizeof(*pc));
	struct frame f;
	struct buf b;

	assert_non_null(pc);
	rfb_pixconv_init(pc, &fmt_rgb565_le);
	frame_init(&f);
	buf_init(&b);
	assert_int_equal(buf_append(&b, "keep", 4), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rfb_write_raw_rect(&b, pc, &f.view, bad[i]),
				 -EINVAL);
		/* Nothing, not even a header, was written. */
		assert_int_equal(b.len, 4);
	}
	assert_memory_equal(b.data, "keep", 4);
	buf_fini(&b);
	free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_init),
		cmocka_unit_test(test_update_and_rect_headers),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_raw_formats),
		cmocka_unit_test(test_raw_known_bytes),
		cmocka_unit_test(test_raw_server_format),
		cmocka_unit_test(test_raw_outside_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
