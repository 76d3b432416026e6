/* Unit tests for net/pixfmt.c: the SetPixelFormat sanity rules
 * (research/reliability.md CM-02..CM-05), the wire structure, and the
 * conversion from XRGB8888, checked against an independent reference. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/pixfmt.h"

#define PF(b, d, be, rm, gm, bm, rs, gs, bs)                                   \
	{                                                                      \
		.bpp = (b), .depth = (d), .big_endian = (be),                  \
		.true_colour = 1, .red_max = (rm), .green_max = (gm),          \
		.blue_max = (bm), .red_shift = (rs), .green_shift = (gs),      \
		.blue_shift = (bs)                                             \
	}

static const struct rfb_pixfmt pf_server =
	PF(32, 24, 0, 255, 255, 255, 16, 8, 0);
static const struct rfb_pixfmt pf_server_be =
	PF(32, 24, 1, 255, 255, 255, 16, 8, 0);
static const struct rfb_pixfmt pf_rgb565_le =
	PF(16, 16, 0, 31, 63, 31, 11, 5, 0);
static const struct rfb_pixfmt pf_rgb565_be =
	PF(16, 16, 1, 31, 63, 31, 11, 5, 0);
static const struct rfb_pixfmt pf_rgb555_le =
	PF(16, 15, 0, 31, 31, 31, 10, 5, 0);
static const struct rfb_pixfmt pf_rgb555_be =
	PF(16, 15, 1, 31, 31, 31, 10, 5, 0);
static const struct rfb_pixfmt pf_bgr233 = PF(8, 8, 0, 7, 7, 3, 0, 3, 6);
static const struct rfb_pixfmt pf_rgb332 = PF(8, 8, 0, 7, 7, 3, 5, 2, 0);
static const struct rfb_pixfmt pf_rgb111 = PF(8, 3, 0, 1, 1, 1, 0, 1, 2);
static const struct rfb_pixfmt pf_rgb444_be =
	PF(16, 12, 1, 15, 15, 15, 8, 4, 0);
static const struct rfb_pixfmt pf_bgr888_be =
	PF(32, 24, 1, 255, 255, 255, 0, 8, 16);
static const struct rfb_pixfmt pf_bgr888_le =
	PF(32, 24, 0, 255, 255, 255, 0, 8, 16);
static const struct rfb_pixfmt pf_rgbx_le =
	PF(32, 24, 0, 255, 255, 255, 8, 16, 24);
static const struct rfb_pixfmt pf_xbgr_be =
	PF(32, 24, 1, 255, 255, 255, 24, 16, 8);
static const struct rfb_pixfmt pf_odd32_be =
	PF(32, 20, 1, 63, 127, 31, 3, 10, 25);
static const struct rfb_pixfmt pf_bgr565_le =
	PF(16, 16, 0, 31, 63, 31, 0, 5, 11);

static const struct rfb_pixfmt *const valid[] = {
	&pf_server,    &pf_server_be, &pf_rgb565_le, &pf_rgb565_be,
	&pf_rgb555_le, &pf_rgb555_be, &pf_bgr233,    &pf_rgb332,
	&pf_rgb111,    &pf_rgb444_be, &pf_bgr888_be, &pf_bgr888_le,
	&pf_rgbx_le,   &pf_xbgr_be,   &pf_odd32_be,  &pf_bgr565_le,
};

#define N_VALID (sizeof(valid) / sizeof(valid[0]))

/* The reference: c8 * max / 255 rounded to nearest, computed in floating
 * point rather than with the library's integer formula. */
static uint32_t ref_channel(unsigned c8, unsigned max)
{
	return (uint32_t)lround((double)c8 * max / 255.0);
}

static void ref_pixel(const struct rfb_pixfmt *pf, uint32_t xrgb, uint8_t *out)
{
	uint32_t v = ref_channel((xrgb >> 16) & 0xff, pf->red_max)
			     << pf->red_shift |
		     ref_channel((xrgb >> 8) & 0xff, pf->green_max)
			     << pf->green_shift |
		     ref_channel(xrgb & 0xff, pf->blue_max) << pf->blue_shift;
	unsigned bytes = pf->bpp / 8;

	/* Byte i of the value, counted from the least significant. */
	for (unsigned i = 0; i < bytes; i++)
		out[pf->big_endian ? bytes - 1 - i : i] = (uint8_t)(v >> 8 * i);
}

static bool host_little_endian(void)
{
	const uint32_t one = 1;

	return *(const uint8_t *)&one == 1;
}

static void expect_reject(const struct rfb_pixfmt *pf, const char *why)
{
	const char *reason = NULL;

	assert_int_equal(rfb_pixfmt_check(pf, &reason), -EINVAL);
	assert_non_null(reason);
	if (strcmp(reason, why) != 0)
		print_error("reason \"%s\", wanted \"%s\"\n", reason, why);
	assert_string_equal(reason, why);
	assert_int_equal(rfb_pixfmt_check(pf, NULL), -EINVAL);
}

static void test_server_format(void **state)
{
	static const uint8_t wire[16] = {32,   24,   0,	   1,	 0x00, 0xff,
					 0x00, 0xff, 0x00, 0xff, 16,   8,
					 0,    0,    0,	   0};
	uint8_t out[16];

	assert_int_equal(rfb_pixfmt_server.bpp, 32);
	assert_int_equal(rfb_pixfmt_server.depth, 24);
	assert_int_equal(rfb_pixfmt_server.big_endian, 0);
	assert_int_equal(rfb_pixfmt_server.true_colour, 1);
	assert_int_equal(rfb_pixfmt_server.red_shift, 16);
	assert_int_equal(rfb_pixfmt_server.green_shift, 8);
	assert_int_equal(rfb_pixfmt_server.blue_shift, 0);
	assert_int_equal(rfb_pixfmt_check(&rfb_pixfmt_server, NULL), 0);
	rfb_pixfmt_write(&rfb_pixfmt_server, out);
	assert_memory_equal(out, wire, sizeof(wire));
	assert_int_equal(rfb_pixfmt_bytes(&rfb_pixfmt_server), 4);
}

static void test_check_accepts_valid(void **state)
{
	for (size_t i = 0; i < N_VALID; i++) {
		const char *reason = NULL;
		int r = rfb_pixfmt_check(valid[i], &reason);

		if (r != 0)
			print_error("format %zu rejected: %s\n", i, reason);
		assert_int_equal(r, 0);
	}
}

/* Every max 2^n - 1 for n = 1..8 is fine, and depth may be anything in
 * 1..bpp. */
static void test_check_accepts_all_maxima_and_depths(void **state)
{
	for (unsigned n = 1; n <= 8; n++) {
		struct rfb_pixfmt pf = pf_server;

		pf.red_max = pf.green_max = pf.blue_max =
			(uint16_t)((1u << n) - 1);
		assert_int_equal(rfb_pixfmt_check(&pf, NULL), 0);
	}
	for (unsigned d = 1; d <= 32; d++) {
		struct rfb_pixfmt pf = pf_server;

		pf.depth = (uint8_t)d;
		assert_int_equal(rfb_pixfmt_check(&pf, NULL), 0);
	}
}

static void test_check_rejects_bpp(void **state)
{
	static const uint8_t bad[] = {0, 1, 7, 9, 15, 24, 31, 33, 64, 255};

	for (size_t i = 0; i < sizeof(bad); i++) {
		struct rfb_pixfmt pf = pf_rgb111;
		char why[64];

		pf.bpp = bad[i];
		snprintf(why, sizeof(why),
			 "bits-per-pixel %u not supported (8, 16 or 32)",
			 bad[i]);
		expect_reject(&pf, why);
	}
}

static void test_check_rejects_depth(void **state)
{
	struct rfb_pixfmt pf = pf_server;

	pf.depth = 0;
	expect_reject(&pf, "depth 0 invalid");
	pf.depth = 33;
	expect_reject(&pf, "depth 33 exceeds bits-per-pixel 32");
	pf = pf_rgb565_le;
	pf.depth = 17;
	expect_reject(&pf, "depth 17 exceeds bits-per-pixel 16");
	pf = pf_bgr233;
	pf.depth = 9;
	expect_reject(&pf, "depth 9 exceeds bits-per-pixel 8");
	pf.depth = 255;
	expect_reject(&pf, "depth 255 exceeds bits-per-pixel 8");
}

static void expect_reject_max(int channel, uint16_t v, bool too_wide)
{
	static const char *const names[] = {"red", "green", "blue"};
	struct rfb_pixfmt pf = pf_server;
	char why[64];

	if (channel == 0)
		pf.red_max = v;
	else if (channel == 1)
		pf.green_max = v;
	else
		pf.blue_max = v;
	if (too_wide)
		snprintf(why, sizeof(why), "%s-max %u has more than 8 bits",
			 names[channel], v);
	else
		snprintf(why, sizeof(why), "%s-max %u is not 2^n-1",
			 names[channel], v);
	expect_reject(&pf, why);
}

static void test_check_rejects_maxima(void **state)
{
	/* CVE-2015-8504 (max 0) and friends. */
	static const uint16_t not_pow2[] = {0, 2, 4, 6, 128, 200, 254, 256};
	static const uint16_t too_wide[] = {511, 1023, 4095, 65535};

	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < sizeof(not_pow2) / sizeof(*not_pow2);
		     i++)
			expect_reject_max(c, not_pow2[i], false);
		for (size_t i = 0; i < sizeof(too_wide) / sizeof(*too_wide);
		     i++)
			expect_reject_max(c, too_wide[i], true);
	}
}

static void test_check_rejects_shifts(void **state)
{
	struct rfb_pixfmt pf = pf_server;

	/* TigerVNC 1.10.1 (T7): red at bit 25 of a 32-bit pixel. */
	pf.red_shift = 25;
	expect_reject(&pf,
		      "red channel at bits 25..32 exceeds bits-per-pixel 32");
	pf = pf_server;
	pf.blue_shift = 255;
	expect_reject(&pf, "blue channel at bits 255..262 exceeds "
			   "bits-per-pixel 32");
	pf = pf_server;
	pf.red_max = 1;
	pf.red_shift = 32;
	expect_reject(&pf,
		      "red channel at bits 32..32 exceeds bits-per-pixel 32");
	pf.red_shift = 31;
	assert_int_equal(rfb_pixfmt_check(&pf, NULL), 0);

	pf = pf_rgb565_le;
	pf.red_shift = 12;
	expect_reject(&pf,
		      "red channel at bits 12..16 exceeds bits-per-pixel 16");
	pf = pf_bgr233;
	pf.blue_shift = 7;
	expect_reject(&pf,
		      "blue channel at bits 7..8 exceeds bits-per-pixel 8");
	pf = pf_bgr233;
	pf.green_shift = 6;
	pf.blue_shift = 3;
	pf.green_max = 3;
	pf.blue_max = 7;
	assert_int_equal(rfb_pixfmt_check(&pf, NULL), 0);
	/* A 32-bit channel layout squeezed into 16 bits. */
	pf = pf_server;
	pf.bpp = 16;
	pf.depth = 16;
	expect_reject(&pf,
		      "red channel at bits 16..23 exceeds bits-per-pixel 16");
}

static void test_check_rejects_overlap(void **state)
{
	struct rfb_pixfmt pf = pf_server;

	pf.green_shift = 16;
	expect_reject(&pf, "channels overlap (red and green)");
	pf = pf_server;
	pf.blue_shift = 20;
	expect_reject(&pf, "channels overlap (red and blue)");
	pf = pf_rgb565_le;
	pf.green_shift = 4;
	expect_reject(&pf, "channels overlap (green and blue)");
	pf = pf_server;
	pf.red_shift = pf.green_shift = pf.blue_shift = 0;
	expect_reject(&pf, "channels overlap (red and green)");
	/* CM-04: shifts 4/12/20 with 8-bit maxima overlap by four bits. */
	pf = pf_server;
	pf.red_shift = 4;
	pf.green_shift = 12;
	pf.blue_shift = 20;
	assert_int_equal(rfb_pixfmt_check(&pf, NULL), 0);
	pf.green_shift = 9;
	expect_reject(&pf, "channels overlap (red and green)");
}

static void test_check_rejects_colour_map(void **state)
{
	struct rfb_pixfmt pf = pf_bgr233;

	pf.true_colour = 0;
	expect_reject(&pf, "colour-map (non-true-colour) pixel formats are "
			   "not supported");
}

static void test_read(void **state)
{
	static const uint8_t wire[16] = {0x10, 0x10, 0x01, 0x01, 0x00, 0x1f,
					 0x00, 0x3f, 0x01, 0x02, 0x0b, 0x05,
					 0xfe, 0xaa, 0xbb, 0xcc};
	static const uint8_t flags[16] = {8, 8, 0x80, 0x02};
	struct rfb_pixfmt pf;

	rfb_pixfmt_read(&pf, wire);
	assert_int_equal(pf.bpp, 16);
	assert_int_equal(pf.depth, 16);
	assert_int_equal(pf.big_endian, 1);
	assert_int_equal(pf.true_colour, 1);
	assert_int_equal(pf.red_max, 0x1f);
	assert_int_equal(pf.green_max, 0x3f);
	assert_int_equal(pf.blue_max, 0x0102);
	assert_int_equal(pf.red_shift, 11);
	assert_int_equal(pf.green_shift, 5);
	assert_int_equal(pf.blue_shift, 0xfe);

	rfb_pixfmt_read(&pf, flags);
	assert_int_equal(pf.big_endian, 1);
	assert_int_equal(pf.true_colour, 1);
	assert_int_equal(pf.red_max, 0);
}

static void test_write_zeroes_padding(void **state)
{
	static const uint8_t want[16] = {0x10, 0x0f, 0x01, 0x01, 0x00, 0x1f,
					 0x00, 0x1f, 0x00, 0x1f, 0x0a, 0x05,
					 0x00, 0x00, 0x00, 0x00};
	uint8_t out[16];

	memset(out, 0xee, sizeof(out));
	rfb_pixfmt_write(&pf_rgb555_be, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_round_trip(void **state)
{
	for (size_t i = 0; i < N_VALID; i++) {
		uint8_t a[16], b[16];
		struct rfb_pixfmt pf;

		memset(a, 0x77, sizeof(a));
		rfb_pixfmt_write(valid[i], a);
		assert_memory_equal(a + 13, "\0\0\0", 3);
		rfb_pixfmt_read(&pf, a);
		assert_int_equal(pf.bpp, valid[i]->bpp);
		assert_int_equal(pf.depth, valid[i]->depth);
		assert_int_equal(pf.big_endian, valid[i]->big_endian);
		assert_int_equal(pf.true_colour, valid[i]->true_colour);
		assert_int_equal(pf.red_max, valid[i]->red_max);
		assert_int_equal(pf.green_max, valid[i]->green_max);
		assert_int_equal(pf.blue_max, valid[i]->blue_max);
		assert_int_equal(pf.red_shift, valid[i]->red_shift);
		assert_int_equal(pf.green_shift, valid[i]->green_shift);
		assert_int_equal(pf.blue_shift, valid[i]->blue_shift);
		rfb_pixfmt_write(&pf, b);
		assert_memory_equal(a, b, sizeof(a));
	}
}

/* Converts one pixel and returns its bytes in `out` (up to 4). */
static void convert1(const struct rfb_pixfmt *pf, uint32_t xrgb, uint8_t out[4])
{
	struct rfb_pixconv *pc = malloc(sizeof(*pc));

	assert_non_null(pc);
	rfb_pixconv_init(pc, pf);
	memset(out, 0xcc, 4);
	rfb_pixconv_row(pc, &xrgb, 1, out);
	free(pc);
}

struct known {
	const struct rfb_pixfmt *pf;
	uint32_t xrgb;
	uint8_t bytes[4];
};

/* Hand-computed values, written down independently of both the library
 * and the reference above. */
static const struct known known[] = {
	{&pf_rgb565_le, 0xff0000, {0x00, 0xf8}},
	{&pf_rgb565_le, 0x00ff00, {0xe0, 0x07}},
	{&pf_rgb565_le, 0x0000ff, {0x1f, 0x00}},
	{&pf_rgb565_le, 0xffffff, {0xff, 0xff}},
	{&pf_rgb565_le, 0x000000, {0x00, 0x00}},
	{&pf_rgb565_le, 0x808080, {0x10, 0x84}},
	{&pf_rgb565_le, 0x7f7f7f, {0xef, 0x7b}},
	{&pf_rgb565_le, 0xff000000, {0x00, 0x00}},
	{&pf_rgb565_be, 0xff0000, {0xf8, 0x00}},
	{&pf_rgb565_be, 0x00ff00, {0x07, 0xe0}},
	{&pf_rgb565_be, 0x0000ff, {0x00, 0x1f}},
	{&pf_rgb565_be, 0x808080, {0x84, 0x10}},
	{&pf_rgb555_le, 0xff0000, {0x00, 0x7c}},
	{&pf_rgb555_le, 0x00ff00, {0xe0, 0x03}},
	{&pf_rgb555_le, 0x0000ff, {0x1f, 0x00}},
	{&pf_rgb555_le, 0xffffff, {0xff, 0x7f}},
	{&pf_rgb555_le, 0x808080, {0x10, 0x42}},
	{&pf_bgr233, 0xff0000, {0x07}},
	{&pf_bgr233, 0x00ff00, {0x38}},
	{&pf_bgr233, 0x0000ff, {0xc0}},
	{&pf_bgr233, 0xffffff, {0xff}},
	{&pf_bgr233, 0x000000, {0x00}},
	{&pf_bgr233, 0x808080, {0xa4}},
	{&pf_rgb111, 0x7f7f7f, {0x00}},
	{&pf_rgb111, 0x808080, {0x07}},
	{&pf_rgb111, 0x80007f, {0x01}},
	{&pf_bgr888_be, 0x123456, {0x00, 0x56, 0x34, 0x12}},
	{&pf_bgr888_be, 0xff0000, {0x00, 0x00, 0x00, 0xff}},
	{&pf_bgr888_le, 0xab123456, {0x12, 0x34, 0x56, 0x00}},
	{&pf_rgbx_le, 0x123456, {0x00, 0x12, 0x34, 0x56}},
	{&pf_xbgr_be, 0x123456, {0x12, 0x34, 0x56, 0x00}},
	{&pf_server_be, 0xab123456, {0x00, 0x12, 0x34, 0x56}},
	{&pf_rgb444_be, 0xff8000, {0x0f, 0x80}},
};

static void test_convert_known(void **state)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = rfb_pixfmt_bytes(known[i].pf);
		uint8_t out[4];

		convert1(known[i].pf, known[i].xrgb, out);
		if (memcmp(out, known[i].bytes, n) != 0)
			print_error(
				"case %zu: 0x%06x gave %02x %02x %02x %02x\n",
				i, known[i].xrgb, out[0], out[1], out[2],
				out[3]);
		assert_memory_equal(out, known[i].bytes, n);
		/* Nothing written past the pixel. */
		for (size_t j = n; j < 4; j++)
			assert_int_equal(out[j], 0xcc);
	}
}

/* The identity fast path copies the server's own bytes, X included. */
static void test_identity(void **state)
{
	struct rfb_pixconv pc;
	const uint32_t src[2] = {0xab123456, 0x00ffffff};
	uint8_t out[8];
	struct rfb_pixfmt pf;

	rfb_pixconv_init(&pc, &pf_server);
	assert_int_equal(pc.identity, host_little_endian());
	rfb_pixconv_row(&pc, src, 2, out);
	if (host_little_endian())
		assert_memory_equal(out, src, sizeof(out));

	pf = pf_server;
	pf.depth = 32;
	rfb_pixconv_init(&pc, &pf);
	assert_int_equal(pc.identity, host_little_endian());

	rfb_pixconv_init(&pc, &pf_server_be);
	assert_false(pc.identity);
	rfb_pixconv_init(&pc, &pf_bgr888_le);
	assert_false(pc.identity);
	rfb_pixconv_init(&pc, &pf_rgb565_le);
	assert_false(pc.identity);
	pf = pf_server;
	pf.red_max = 127;
	rfb_pixconv_init(&pc, &pf);
	assert_false(pc.identity);
}

/* Every channel value of every valid format, against the reference. */
static void test_convert_all_channel_values(void **state)
{
	for (size_t i = 0; i < N_VALID; i++) {
		const struct rfb_pixfmt *pf = valid[i];
		size_t bpp = rfb_pixfmt_bytes(pf);
		struct rfb_pixconv pc;
		uint32_t src[3 * 256];
		uint8_t out[3 * 256 * 4], want[4];

		for (unsigned c = 0; c < 256; c++) {
			src[c] = c << 16;
			src[256 + c] = c << 8;
			src[512 + c] = c;
		}
		rfb_pixconv_init(&pc, pf);
		rfb_pixconv_row(&pc, src, 3 * 256, out);
		for (size_t k = 0; k < 3 * 256; k++) {
			ref_pixel(pf, src[k], want);
			if (memcmp(out + k * bpp, want, bpp) != 0)
				print_error("format %zu pixel 0x%06x\n", i,
					    src[k]);
			assert_memory_equal(out + k * bpp, want, bpp);
		}
	}
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

/* Random pixels (with junk in X) into an unaligned destination: exactly
 * n pixels are written, each matching the reference. */
static void test_convert_random_rows(void **state)
{
	enum { N = 1021 };
	uint32_t seed = 12345;

	for (size_t i = 0; i < N_VALID; i++) {
		const struct rfb_pixfmt *pf = valid[i];
		size_t bpp = rfb_pixfmt_bytes(pf);
		struct rfb_pixconv pc;
		uint32_t *src = malloc(N * sizeof(*src));
		uint8_t *buf = malloc(N * 4 + 2);
		uint8_t *out = buf + 1, want[4];

		assert_non_null(src);
		assert_non_null(buf);
		for (size_t k = 0; k < N; k++)
			src[k] = lcg(&seed);
		memset(buf, 0xcc, N * 4 + 2);
		rfb_pixconv_init(&pc, pf);
		rfb_pixconv_row(&pc, src, N, out);
		for (size_t k = 0; k < N; k++) {
			if (pc.identity)
				memcpy(want, &src[k], 4);
			else
				ref_pixel(pf, src[k], want);
			assert_memory_equal(out + k * bpp, want, bpp);
		}
		assert_int_equal(buf[0], 0xcc);
		for (size_t k = N * bpp; k < N * 4 + 1; k++)
			assert_int_equal(out[k], 0xcc);
		free(buf);
		free(src);
	}
}

static void test_convert_empty_row(void **state)
{
	struct rfb_pixconv pc;
	uint32_t src = 0xffffff;
	uint8_t out[4];

	for (size_t i = 0; i < N_VALID; i++) {
		memset(out, 0xcc, sizeof(out));
		rfb_pixconv_init(&pc, valid[i]);
		rfb_pixconv_row(&pc, &src, 0, out);
		assert_memory_equal(out, "\xcc\xcc\xcc\xcc", 4);
	}
}

/* The documented formula, in its integer form, for every max. */
static void test_scaling_formula(void **state)
{
	for (unsigned n = 1; n <= 8; n++) {
		struct rfb_pixfmt pf = pf_server;
		struct rfb_pixconv pc;
		unsigned max = (1u << n) - 1;

		pf.red_max = pf.green_max = pf.blue_max = (uint16_t)max;
		rfb_pixconv_init(&pc, &pf);
		for (unsigned c = 0; c < 256; c++) {
			assert_int_equal(pc.blue[c], (c * max + 127) / 255);
			assert_int_equal(pc.green[c], ((c * max + 127) / 255)
							      << 8);
			assert_int_equal(pc.red[c], ((c * max + 127) / 255)
							    << 16);
		}
		/* Full scale maps to full scale, zero to zero. */
		assert_int_equal(pc.blue[255], max);
		assert_int_equal(pc.blue[0], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_format),
		cmocka_unit_test(test_check_accepts_valid),
		cmocka_unit_test(test_check_accepts_all_maxima_and_depths),
		cmocka_unit_test(test_check_rejects_bpp),
		cmocka_unit_test(test_check_rejects_depth),
		cmocka_unit_test(test_check_rejects_maxima),
		cmocka_unit_test(test_check_rejects_shifts),
		cmocka_unit_test(test_check_rejects_overlap),
		cmocka_unit_test(test_check_rejects_colour_map),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write_zeroes_padding),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_convert_known),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_convert_all_channel_values),
		cmocka_unit_test(test_convert_random_rows),
		cmocka_unit_test(test_convert_empty_row),
		cmocka_unit_test(test_scaling_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
