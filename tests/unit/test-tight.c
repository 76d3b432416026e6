/* Unit tests for the Tight encoder (net/enc-tight.c). The output is read
 * back by a small decoder written here from the spec (rfbproto.rst,
 * "Tight Encoding") with its own zlib streams, so every test checks the
 * wire format as well as the pixels: compact lengths, fill rects, 1-bit
 * palettes with odd widths, the data inside each zlib stream, when JPEG
 * is chosen, the size limits, and every pixel format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>
#include <zlib.h>

#include "fb/src-demo.h"
#include "net/encoder.h"
#include "net/pixfmt.h"
#include "net/rfb-proto.h"
#include "vfbd/base/buf.h"
#include "vfbd/base/bytes.h"

/* From net/enc-tight.c. */
size_t rfb_tight_compact_len(uint8_t out[3], uint32_t len);

#define PF(b, d, be, rm, gm, bm, rs, gs, bs)                                   \
	{                                                                      \
		.bpp = (b), .depth = (d), .big_endian = (be),                  \
		.true_colour = 1, .red_max = (rm), .green_max = (gm),          \
		.blue_max = (bm), .red_shift = (rs), .green_shift = (gs),      \
		.blue_shift = (bs)                                             \
	}

static const struct rfb_pixfmt formats[] = {
	PF(32, 24, 0, 255, 255, 255, 16, 8, 0),
	PF(32, 24, 1, 255, 255, 255, 16, 8, 0),
	PF(32, 24, 0, 255, 255, 255, 0, 8, 16),
	PF(32, 24, 1, 255, 255, 255, 24, 16, 8),
	PF(32, 24, 0, 255, 255, 255, 4, 12, 20),
	PF(32, 30, 0, 255, 255, 255, 20, 10,
	   0), /* depth 30: no 24-bit TPIXEL */
	PF(32, 16, 1, 31, 63, 31, 11, 5, 0),
	PF(16, 16, 0, 31, 63, 31, 11, 5, 0),
	PF(16, 16, 1, 31, 63, 31, 11, 5, 0),
	PF(16, 15, 0, 31, 31, 31, 10, 5, 0),
	PF(16, 12, 1, 15, 15, 15, 8, 4, 0),
	PF(8, 8, 0, 7, 7, 3, 0, 3, 6),
	PF(8, 8, 0, 7, 7, 3, 5, 2, 0),
	PF(8, 3, 0, 1, 1, 1, 0, 1, 2),
};
#define NFORMATS   (sizeof(formats) / sizeof(formats[0]))
#define FMT_RGB32  (&formats[0])
#define FMT_RGB565 (&formats[7])

/* ---- a test image ------------------------------------------------- */

struct image {
	uint32_t *px;
	uint32_t w, h;
	struct fb_view view;
};

static void image_init(struct image *im, uint32_t w, uint32_t h)
{
	im->px = calloc((size_t)w * h, 4);
	assert_non_null(im->px);
	im->w = w;
	im->h = h;
	im->view.data = (const uint8_t *)im->px;
	im->view.width = w;
	im->view.height = h;
	im->view.stride = (size_t)w * 4;
}

static void image_fini(struct image *im)
{
	free(im->px);
}

#ifndef TEST_TIGHT_SEED
#define TEST_TIGHT_SEED 12345
#endif
static uint32_t rng_state = TEST_TIGHT_SEED;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* Noise with junk in the top byte, which every encoder must ignore. */
static void fill_noise(struct image *im, struct fb_rect r)
{
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++)
			im->px[(size_t)y * im->w + x] = rng();
}

/* A smooth 2D colour field with slight noise: photo-like, many colours. */
static void fill_photo(struct image *im, struct fb_rect r)
{
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++) {
			uint32_t n = rng() % 3;
			uint32_t red = (x % 512) * 250 / 512 + n;
			uint32_t green = (y % 256) * 250 / 256 + n;
			uint32_t blue = ((x + y) % 768) / 3;

			im->px[(size_t)y * im->w + x] =
				0xab000000u | red << 16 | green << 8 | blue;
		}
}

static void fill_solid(struct image *im, struct fb_rect r, uint32_t c)
{
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++)
			im->px[(size_t)y * im->w + x] = c;
}

/* ---- a Tight decoder written from the spec -------------------------- */

struct decoded_rect {
	struct fb_rect r;
	uint8_t ctl;
	int filter; /* -1 fill, -2 jpeg, else filter id */
	unsigned stream;
	unsigned ncolours;
	bool compressed;
	uint8_t palette[256 * 4];
	uint8_t *data; /* filtered data after inflating */
	size_t len;
};

struct decoder {
	struct rfb_pixfmt pf;
	bool tpix24;
	unsigned bytes;
	z_stream zs[4];
	bool live[4];
	tjhandle tj;
	uint32_t w, h;
	uint8_t *canvas;   /* client pixels, wire format */
	uint8_t *cover;	   /* how many rects covered each pixel */
	uint8_t *lossy;	   /* pixel came from JPEG */
	uint8_t *jpeg_rgb; /* what JPEG decoded to, 3 bytes per pixel */
	unsigned nrects, fills, jpegs, monos, palettes, copies, gradients;
	struct decoded_rect last;
};

static void dec_init(struct decoder *d, const struct rfb_pixfmt *pf, uint32_t w,
		     uint32_t h)
{
	memset(d, 0, sizeof(*d));
	d->pf = *pf;
	d->tpix24 = pf->bpp == 32 && pf->depth == 24 && pf->red_max == 255 &&
		    pf->green_max == 255 && pf->blue_max == 255;
	d->bytes = pf->bpp / 8;
	d->w = w;
	d->h = h;
	d->canvas = calloc((size_t)w * h, d->bytes);
	d->cover = calloc((size_t)w * h, 1);
	d->lossy = calloc((size_t)w * h, 1);
	d->jpeg_rgb = calloc((size_t)w * h, 3);
	assert_non_null(d->canvas);
	assert_non_null(d->cover);
	assert_non_null(d->lossy);
	assert_non_null(d->jpeg_rgb);
}

static void dec_reset_counts(struct decoder *d)
{
	d->nrects = d->fills = d->jpegs = d->monos = d->palettes = 0;
	d->copies = d->gradients = 0;
	memset(d->cover, 0, (size_t)d->w * d->h);
	memset(d->lossy, 0, (size_t)d->w * d->h);
}

static void dec_fini(struct decoder *d)
{
	for (int i = 0; i < 4; i++)
		if (d->live[i])
			inflateEnd(&d->zs[i]);
	if (d->tj)
		tjDestroy(d->tj);
	free(d->canvas);
	free(d->cover);
	free(d->lossy);
	free(d->jpeg_rgb);
	free(d->last.data);
}

struct reader {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct reader *rd, size_t n)
{
	const uint8_t *p = rd->p;

	assert_true(n <= rd->left);
	rd->p += n;
	rd->left -= n;
	return p;
}

static uint32_t read_compact(struct reader *rd)
{
	uint32_t b = *take(rd, 1), len = b & 0x7f;

	if (b & 0x80) {
		b = *take(rd, 1);
		len |= (b & 0x7f) << 7;
		if (b & 0x80)
			len |= (uint32_t)*take(rd, 1) << 14;
	}
	return len;
}

/* The wire bytes of a 24-bit TPIXEL in a 32 bpp client format. */
static void rgb_to_wire(const struct decoder *d, const uint8_t rgb[3],
			uint8_t *out)
{
	uint32_t v = (uint32_t)rgb[0] << d->pf.red_shift |
		     (uint32_t)rgb[1] << d->pf.green_shift |
		     (uint32_t)rgb[2] << d->pf.blue_shift;

	if (d->pf.big_endian)
		put_be32(out, v);
	else
		put_le32(out, v);
}

static unsigned tpix_bytes(const struct decoder *d)
{
	return d->tpix24 ? 3 : d->bytes;
}

static void put_tpixel(struct decoder *d, uint32_t x, uint32_t y,
		       const uint8_t *t)
{
	uint8_t *dst = d->canvas + ((size_t)y * d->w + x) * d->bytes;

	if (d->tpix24)
		rgb_to_wire(d, t, dst);
	else
		memcpy(dst, t, d->bytes);
}

static void inflate_exact(struct decoder *d, unsigned id, const uint8_t *in,
			  size_t inlen, uint8_t *out, size_t outlen)
{
	z_stream *zs = &d->zs[id];

	if (!d->live[id]) {
		memset(zs, 0, sizeof(*zs));
		assert_int_equal(inflateInit(zs), Z_OK);
		d->live[id] = true;
	}
	zs->next_in = (Bytef *)(uintptr_t)in;
	zs->avail_in = (uInt)inlen;
	zs->next_out = out;
	zs->avail_out = (uInt)outlen;
	int rc = inflate(zs, Z_SYNC_FLUSH);

	assert_true(rc == Z_OK || rc == Z_BUF_ERROR);
	/* Exactly the rect's data, all of it flushed within the rect. */
	assert_int_equal(zs->avail_out, 0);
	assert_int_equal(zs->avail_in, 0);
}

static void decode_rect(struct decoder *d, struct reader *rd)
{
	struct decoded_rect *dr = &d->last;
	const uint8_t *h = take(rd, 12);
	struct fb_rect r = {get_be16(h), get_be16(h + 2), get_be16(h + 4),
			    get_be16(h + 6)};
	uint8_t ctl;
	unsigned tb = tpix_bytes(d);

	assert_int_equal(get_be32s(h + 8), RFB_ENC_TIGHT);
	assert_true(r.w > 0 && r.h > 0);
	assert_true(r.x + r.w <= d->w && r.y + r.h <= d->h);
	assert_true(r.w <= 2048);
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++)
			d->cover[(size_t)y * d->w + x]++;
	d->nrects++;
	ctl = *take(rd, 1);
	for (unsigned i = 0; i < 4; i++) {
		if ((ctl >> i & 1) && d->live[i]) {
			inflateEnd(&d->zs[i]);
			d->live[i] = false;
		}
	}
	free(dr->data);
	memset(dr, 0, sizeof(*dr));
	dr->r = r;
	dr->ctl = ctl;
	ctl >>= 4;
	if (ctl == 0x8) {
		const uint8_t *t = take(rd, tb);

		dr->filter = -1;
		d->fills++;
		for (uint32_t y = r.y; y < r.y + r.h; y++)
			for (uint32_t x = r.x; x < r.x + r.w; x++)
				put_tpixel(d, x, y, t);
		return;
	}
	assert_true((uint64_t)r.w * r.h <= 65536);
	if (ctl == 0x9) {
		uint32_t len = read_compact(rd);
		const uint8_t *jpeg = take(rd, len);
		uint8_t *rgb = malloc((size_t)r.w * r.h * 3);

		assert_true(d->tpix24);
		assert_non_null(rgb);
		dr->filter = -2;
		d->jpegs++;
		if (!d->tj)
			d->tj = tjInitDecompress();
		assert_non_null(d->tj);
		assert_int_equal(tjDecompress2(d->tj, jpeg, len, rgb, (int)r.w,
					       0, (int)r.h, TJPF_RGB, 0),
				 0);
		for (uint32_t y = 0; y < r.h; y++)
			for (uint32_t x = 0; x < r.w; x++) {
				size_t at = (size_t)(r.y + y) * d->w + r.x + x;
				const uint8_t *t =
					rgb + ((size_t)y * r.w + x) * 3;

				put_tpixel(d, r.x + x, r.y + y, t);
				memcpy(d->jpeg_rgb + at * 3, t, 3);
				d->lossy[at] = 1;
			}
		free(rgb);
		return;
	}
	assert_true(ctl < 8); /* basic compression */
	dr->stream = ctl & 3;
	dr->filter = (ctl & 4) ? *take(rd, 1) : 0;
	unsigned bits;

	switch (dr->filter) {
	case 0:
		bits = tb * 8;
		d->copies++;
		break;
	case 1:
		dr->ncolours = *take(rd, 1) + 1u;
		assert_true(dr->ncolours >= 2);
		memcpy(dr->palette, take(rd, dr->ncolours * tb),
		       dr->ncolours * tb);
		bits = dr->ncolours == 2 ? 1 : 8;
		if (dr->ncolours == 2)
			d->monos++;
		else
			d->palettes++;
		break;
	case 2:
		assert_true(d->tpix24); /* vfbd uses it for RGB only */
		bits = tb * 8;
		d->gradients++;
		break;
	default:
		fail_msg("bad filter id %d", dr->filter);
		return;
	}
	size_t row = ((size_t)r.w * bits + 7) / 8, len = row * r.h;

	dr->data = malloc(len);
	dr->len = len;
	assert_non_null(dr->data);
	if (len < 12) {
		memcpy(dr->data, take(rd, len), len);
	} else {
		uint32_t zlen = read_compact(rd);

		dr->compressed = true;
		inflate_exact(d, dr->stream, take(rd, zlen), zlen, dr->data,
			      len);
	}
	/* Undo the filter. */
	uint8_t prev[2048 * 3], cur[2048 * 3];

	memset(prev, 0, sizeof(prev));
	for (uint32_t y = 0; y < r.h; y++) {
		const uint8_t *src = dr->data + y * row;

		for (uint32_t x = 0; x < r.w; x++) {
			const uint8_t *t;
			uint8_t g[3];

			if (dr->filter == 1 && bits == 1) {
				unsigned i = src[x / 8] >> (7 - x % 8) & 1;

				t = dr->palette + i * tb;
			} else if (dr->filter == 1) {
				assert_true(src[x] < dr->ncolours);
				t = dr->palette + src[x] * tb;
			} else if (dr->filter == 2) {
				for (int c = 0; c < 3; c++) {
					int l = x ? cur[(x - 1) * 3 + c] : 0;
					int u = prev[x * 3 + c];
					int ul = x ? prev[(x - 1) * 3 + c] : 0;
					int p = l + u - ul;

					p = p < 0 ? 0 : p > 255 ? 255 : p;
					g[c] = (uint8_t)(src[x * 3 + c] + p);
					cur[x * 3 + c] = g[c];
				}
				t = g;
			} else {
				t = src + (size_t)x * tb;
			}
			put_tpixel(d, r.x + x, r.y + y, t);
		}
		memcpy(prev, cur, sizeof(prev));
	}
}

/* Decodes a whole encoder output of `nrects` rects. */
static void decode(struct decoder *d, const struct buf *b, unsigned nrects)
{
	struct reader rd = {b->data, b->len};

	for (unsigned i = 0; i < nrects; i++)
		decode_rect(d, &rd);
	assert_int_equal(rd.left, 0);
}

/* Wire bytes the client should hold for the image in `r`. */
static void expect_exact(const struct decoder *d, const struct image *im,
			 struct fb_rect r, bool skip_lossy)
{
	struct rfb_pixconv pc;
	uint8_t want[4];

	rfb_pixconv_init(&pc, &d->pf);
	for (uint32_t y = r.y; y < r.y + r.h; y++)
		for (uint32_t x = r.x; x < r.x + r.w; x++) {
			size_t at = (size_t)y * d->w + x;

			if (skip_lossy && d->lossy[at])
				continue;
			/* Padding bits are the client's to ignore; Tight
			 * sends them as zero. */
			uint32_t px = im->px[(size_t)y * im->w + x] & 0xffffff;

			rfb_pixconv_row(&pc, &px, 1, want);
			if (memcmp(want, d->canvas + at * d->bytes, d->bytes) !=
			    0)
				fail_msg("pixel %u,%u differs", x, y);
		}
}

static void expect_covered_once(const struct decoder *d, struct fb_rect r)
{
	for (uint32_t y = 0; y < d->h; y++)
		for (uint32_t x = 0; x < d->w; x++) {
			bool in = x >= r.x && x < r.x + r.w && y >= r.y &&
				  y < r.y + r.h;

			assert_int_equal(d->cover[(size_t)y * d->w + x],
					 in ? 1 : 0);
		}
}

struct enc_run {
	struct rfb_encoder *enc;
	struct rfb_pixconv pc;
	struct rfb_enc_prefs prefs;
	struct buf out;
	unsigned nrects;
};

static void run_init(struct enc_run *run, const struct rfb_pixfmt *pf,
		     int compress, int quality)
{
	run->enc = rfb_encoder_new(RFB_ENC_TIGHT);
	assert_non_null(run->enc);
	assert_int_equal(run->enc->ops->encoding, RFB_ENC_TIGHT);
	rfb_pixconv_init(&run->pc, pf);
	run->prefs.compress_level = compress;
	run->prefs.quality_level = quality;
	run->nrects = 0;
	buf_init(&run->out);
}

static void run_encode(struct enc_run *run, const struct image *im,
		       struct fb_rect r)
{
	run->out.len = 0;
	run->nrects = 0;
	assert_int_equal(run->enc->ops->encode(run->enc, &run->out, &run->pc,
					       &im->view, r, &run->prefs,
					       &run->nrects),
			 0);
}

static void run_fini(struct enc_run *run)
{
	rfb_encoder_free(run->enc);
	buf_fini(&run->out);
}

/* ---- tests -------------------------------------------------------- */

static void compact_length_edges(void **state)
{
	static const struct {
		uint32_t v;
		size_t n;
		uint8_t b[3];
	} cases[] = {
		{0, 1, {0x00}},
		{1, 1, {0x01}},
		{127, 1, {0x7f}},
		{128, 2, {0x80, 0x01}},
		{10000, 2, {0x90, 0x4e}}, /* the spec's example */
		{16383, 2, {0xff, 0x7f}},
		{16384, 3, {0x80, 0x80, 0x01}},
		{4194303, 3, {0xff, 0xff, 0xff}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[3] = {0};
		struct reader rd = {out, 3};
		size_t n = rfb_tight_compact_len(out, cases[i].v);

		assert_int_equal(n, cases[i].n);
		assert_memory_equal(out, cases[i].b, n);
		assert_int_equal(read_compact(&rd), cases[i].v);
		assert_int_equal(3 - rd.left, n);
	}
}

static void solid_rect_is_one_fill(void **state)
{
	struct image im;
	struct enc_run run;
	struct fb_rect r = {3, 5, 100, 50};
	static const uint8_t rgb[] = {0x12, 0x34, 0x56};

	image_init(&im, 200, 100);
	fill_noise(&im, (struct fb_rect){0, 0, 200, 100});
	fill_solid(&im, r, 0xff123456u);

	/* 24-bit TPIXEL: header, 0x80, R G B. */
	run_init(&run, FMT_RGB32, -1, -1);
	run_encode(&run, &im, r);
	assert_int_equal(run.nrects, 1);
	assert_int_equal(run.out.len, 12 + 1 + 3);
	assert_int_equal(get_be16(run.out.data), 3);
	assert_int_equal(get_be16(run.out.data + 2), 5);
	assert_int_equal(get_be16(run.out.data + 4), 100);
	assert_int_equal(get_be16(run.out.data + 6), 50);
	assert_int_equal(get_be32s(run.out.data + 8), RFB_ENC_TIGHT);
	assert_int_equal(run.out.data[12], 0x80);
	assert_memory_equal(run.out.data + 13, rgb, 3);
	run_fini(&run);

	/* Other formats: the client's PIXEL, here RGB565 little-endian. */
	run_init(&run, FMT_RGB565, -1, 5);
	run_encode(&run, &im, r);
	assert_int_equal(run.nrects, 1);
	assert_int_equal(run.out.len, 12 + 1 + 2);
	assert_int_equal(run.out.data[12], 0x80);
	assert_int_equal(get_le16(run.out.data + 13),
			 (0x12 * 31 + 127) / 255 << 11 |
				 (0x34 * 63 + 127) / 255 << 5 |
				 (0x56 * 31 + 127) / 255);
	run_fini(&run);

	/* A whole solid frame, even wide and tall, is one fill rect per
	 * 2048 columns, never a compressed one. */
	image_fini(&im);
	image_init(&im, 3000, 1000);
	fill_solid(&im, (struct fb_rect){0, 0, 3000, 1000}, 0x00808080u);
	run_init(&run, FMT_RGB32, 9, 9);
	run_encode(&run, &im, (struct fb_rect){0, 0, 3000, 1000});
	assert_int_equal(run.nrects, 2);
	assert_int_equal(run.out.len, 2 * 16);
	run_fini(&run);
	image_fini(&im);
}

/* Two colours: 1 bit per pixel, leftmost pixel in the top bit, rows
 * padded to bytes; under 12 bytes uncompressed, else via stream 1. */
static void mono_palette_bit_packing(void **state)
{
	static const uint32_t widths[] = {1, 3, 7, 8, 9, 13, 17, 63, 100};
	static const uint32_t heights[] = {2, 3, 5, 11};

	for (size_t fi = 0; fi < NFORMATS; fi++) {
		struct enc_run run;
		struct decoder d;
		struct image im;

		image_init(&im, 128, 16);
		run_init(&run, &formats[fi], 6, -1);
		dec_init(&d, &formats[fi], 128, 16);
		for (size_t wi = 0; wi < sizeof(widths) / 4; wi++) {
			for (size_t hi = 0; hi < sizeof(heights) / 4; hi++) {
				uint32_t w = widths[wi], h = heights[hi];
				struct fb_rect r = {0, 0, w, h};
				size_t row = (w + 7) / 8;

				for (uint32_t y = 0; y < h; y++)
					for (uint32_t x = 0; x < w; x++)
						im.px[y * 128 + x] =
							(x * 7 + y * 3) % 5 < 2
								? 0xffffff
								: 0x203040;
				run_encode(&run, &im, r);
				assert_int_equal(run.nrects, 1);
				dec_reset_counts(&d);
				decode(&d, &run.out, run.nrects);
				assert_int_equal(d.monos, 1);
				assert_int_equal(d.last.stream, 1);
				assert_int_equal(d.last.len, row * h);
				assert_int_equal(d.last.compressed,
						 row * h >= 12);
				/* The bits, independently packed. */
				struct rfb_pixconv pc;
				uint8_t first[4];
				unsigned tb = tpix_bytes(&d);

				rfb_pixconv_init(&pc, &formats[fi]);
				for (uint32_t y = 0; y < h; y++) {
					for (size_t bx = 0; bx < row; bx++) {
						uint8_t want = 0;

						for (uint32_t k = 0; k < 8;
						     k++) {
							uint32_t x =
								(uint32_t)bx *
									8 +
								k;
							uint8_t tp[4];

							if (x >= w)
								break;
							uint32_t px =
								im.px[y * 128 +
								      x];

							if (d.tpix24) {
								tp[0] = (uint8_t)(px >>
										  16);
								tp[1] = (uint8_t)(px >>
										  8);
								tp[2] = (uint8_t)
									px;
							} else {
								rfb_pixconv_row(
									&pc,
									&px, 1,
									tp);
							}
							memcpy(first,
							       d.last.palette +
								       tb,
							       tb);
							if (memcmp(tp, first,
								   tb) == 0)
								want |= (uint8_t)(0x80 >>
										  k);
						}
						assert_int_equal(
							d.last.data[y * row +
								    bx],
							want);
					}
				}
				expect_exact(&d, &im, r, false);
			}
		}
		dec_fini(&d);
		run_fini(&run);
		image_fini(&im);
	}
}

/* The spec's gradient prediction, computed here from the image. */
static void gradient_residuals(const struct image *im, struct fb_rect r,
			       uint8_t *out)
{
	for (uint32_t y = 0; y < r.h; y++)
		for (uint32_t x = 0; x < r.w; x++)
			for (int c = 0; c < 3; c++) {
				int sh = 16 - 8 * c;
#define V(xx, yy)                                                              \
	((int)(im->px[(size_t)(r.y + (yy)) * im->w + r.x + (xx)] >> sh & 0xff))
				int l = x ? V(x - 1, y) : 0;
				int u = y ? V(x, y - 1) : 0;
				int ul = x && y ? V(x - 1, y - 1) : 0;
				int p = l + u - ul;

				p = p < 0 ? 0 : p > 255 ? 255 : p;
				*out++ = (uint8_t)(V(x, y) - p);
#undef V
			}
}

/* Each filter's data inflates, from its own persistent stream, to exactly
 * what the spec says it holds. */
static void streams_inflate_to_filtered_data(void **state)
{
	struct image im;
	struct enc_run run;
	struct decoder d;
	struct fb_rect r = {0, 0, 64, 48};
	uint8_t *want = malloc(64 * 48 * 4);
	size_t z_first;

	assert_non_null(want);
	image_init(&im, 64, 48);
	run_init(&run, FMT_RGB32, 6, -1);
	dec_init(&d, FMT_RGB32, 64, 48);

	/* Noise: copy filter, stream 0, RGB triples. */
	fill_noise(&im, r);
	run_encode(&run, &im, r);
	decode(&d, &run.out, run.nrects);
	assert_int_equal(run.nrects, 1);
	assert_int_equal(d.last.filter, 0);
	assert_int_equal(d.last.stream, 0);
	assert_int_equal(d.last.ctl & 0x4f, 0); /* no filter byte, no reset */
	for (uint32_t i = 0; i < 64 * 48; i++) {
		want[3 * i] = (uint8_t)(im.px[i] >> 16);
		want[3 * i + 1] = (uint8_t)(im.px[i] >> 8);
		want[3 * i + 2] = (uint8_t)im.px[i];
	}
	assert_int_equal(d.last.len, 64 * 48 * 3);
	assert_memory_equal(d.last.data, want, d.last.len);
	z_first = run.out.len;

	/* The same pixels again: the stream's history makes them nearly
	 * free, which only works if neither side reset it. */
	run_encode(&run, &im, r);
	decode(&d, &run.out, run.nrects);
	assert_int_equal(d.last.ctl & 0x0f, 0);
	assert_memory_equal(d.last.data, want, d.last.len);
	assert_true(run.out.len * 10 < z_first);

	/* A smooth ramp: gradient filter on stream 3. */
	fill_photo(&im, r);
	run_encode(&run, &im, r);
	decode(&d, &run.out, run.nrects);
	assert_int_equal(run.nrects, 1);
	assert_int_equal(d.last.filter, 2);
	assert_int_equal(d.last.stream, 3);
	gradient_residuals(&im, r, want);
	assert_memory_equal(d.last.data, want, 64 * 48 * 3);
	expect_exact(&d, &im, r, false);

	/* Five colours: palette indices on stream 2. */
	static const uint32_t five[] = {0x000000, 0xff0000, 0x00ff00, 0x0000ff,
					0xffffff};

	for (uint32_t i = 0; i < 64 * 48; i++)
		im.px[i] = five[(i / 7 + i % 3) % 5];
	run_encode(&run, &im, r);
	decode(&d, &run.out, run.nrects);
	assert_int_equal(run.nrects, 1);
	assert_int_equal(d.last.filter, 1);
	assert_int_equal(d.last.stream, 2);
	assert_int_equal(d.last.ncolours, 5);
	for (uint32_t i = 0; i < 64 * 48; i++) {
		const uint8_t *t = d.last.palette + 3 * d.last.data[i];
		uint32_t c = (uint32_t)t[0] << 16 | (uint32_t)t[1] << 8 | t[2];

		assert_int_equal(c, im.px[i] & 0xffffff);
	}
	expect_exact(&d, &im, r, false);
	run_fini(&run);
	dec_fini(&d);

	/* 16 bpp: copy data is the client's PIXEL bytes. */
	run_init(&run, FMT_RGB565, 6, -1);
	dec_init(&d, FMT_RGB565, 64, 48);
	fill_noise(&im, r);
	run_encode(&run, &im, r);
	decode(&d, &run.out, run.nrects);
	assert_int_equal(d.last.filter, 0);
	assert_int_equal(d.last.stream, 0);
	rfb_pixconv_row(&run.pc, im.px, 64 * 48, want);
	assert_memory_equal(d.last.data, want, 64 * 48 * 2);
	run_fini(&run);
	dec_fini(&d);
	image_fini(&im);
	free(want);
}

/* JPEG only with a quality level and a 24-bit TPIXEL, only for photo-like
 * chunks; flat areas in the same rect stay exact fill rects. */
static void jpeg_only_when_asked_and_24bit(void **state)
{
	struct image im;
	struct fb_rect all = {0, 0, 512, 256};

	image_init(&im, 512, 256);
	fill_solid(&im, all, 0x161a21);
	fill_photo(&im, (struct fb_rect){0, 64, 512, 128});
	for (size_t fi = 0; fi < NFORMATS; fi++) {
		for (int q = -1; q <= 9; q += 2) {
			struct enc_run run;
			struct decoder d;
			bool want_jpeg = q >= 0 && formats[fi].bpp == 32 &&
					 formats[fi].depth == 24;

			run_init(&run, &formats[fi], 3, q);
			dec_init(&d, &formats[fi], 512, 256);
			run_encode(&run, &im, all);
			decode(&d, &run.out, run.nrects);
			expect_covered_once(&d, all);
			assert_true(d.fills >= 2);
			if (want_jpeg)
				assert_true(d.jpegs > 0);
			else
				assert_int_equal(d.jpegs, 0);
			/* Everything not JPEG is exact... */
			expect_exact(&d, &im, all, true);
			/* ...including the whole flat area. */
			for (uint32_t y = 0; y < 256; y++)
				if (y < 64 || y >= 192)
					for (uint32_t x = 0; x < 512; x++)
						assert_int_equal(
							d.lossy[y * 512 + x],
							0);
			/* And JPEG is close. */
			unsigned maxerr = 0;

			for (size_t i = 0; i < 512u * 256; i++) {
				if (!d.lossy[i])
					continue;
				for (int c = 0; c < 3; c++) {
					int a = (int)(im.px[i] >> (16 - 8 * c) &
						      0xff);
					int b = d.jpeg_rgb[i * 3 + c];
					unsigned e = (unsigned)abs(a - b);

					maxerr = e > maxerr ? e : maxerr;
				}
			}
			if (want_jpeg && fi == 0)
				print_message("q=%d maxerr=%u\n", q, maxerr);
			if (want_jpeg)
				assert_true(maxerr <= (q >= 7 ? 8u : 32u));
			dec_fini(&d);
			run_fini(&run);
		}
	}
	image_fini(&im);
}

/* Flat rows too thin for the solid-area search (which works on 16x16
 * tiles) are still cut off a JPEG chunk and sent as fill. */
static void jpeg_trims_flat_rows(void **state)
{
	struct image im;
	struct enc_run run;
	struct decoder d;
	struct fb_rect all = {0, 0, 512, 128};

	image_init(&im, 512, 128);
	fill_photo(&im, all);
	fill_solid(&im, (struct fb_rect){0, 0, 512, 3}, 0x2b4a6f);
	fill_solid(&im, (struct fb_rect){0, 125, 512, 3}, 0x161a21);
	run_init(&run, FMT_RGB32, 6, 8);
	dec_init(&d, FMT_RGB32, 512, 128);
	run_encode(&run, &im, all);
	decode(&d, &run.out, run.nrects);
	expect_covered_once(&d, all);
	assert_int_equal(d.fills, 2);
	assert_int_equal(d.jpegs, 1);
	expect_exact(&d, &im, all, true);
	for (uint32_t x = 0; x < 512; x++)
		for (uint32_t y = 0; y < 128; y++)
			assert_int_equal(d.lossy[y * 512 + x],
					 y >= 3 && y < 125);
	dec_fini(&d);
	run_fini(&run);
	image_fini(&im);
}

/* 4096x100 of noise: split to rects of at most 2048 columns and 65536
 * pixels that cover the input exactly once. */
static void wide_rect_is_split(void **state)
{
	struct image im;
	struct fb_rect all = {0, 0, 4096, 100};

	image_init(&im, 4096, 100);
	fill_noise(&im, all);
	for (size_t fi = 0; fi < NFORMATS; fi += 4) {
		struct enc_run run;
		struct decoder d;

		run_init(&run, &formats[fi], 1, -1);
		dec_init(&d, &formats[fi], 4096, 100);
		run_encode(&run, &im, all);
		/* 2 columns x ceil(100 / 32) chunks of 2048x32 rows. */
		assert_int_equal(run.nrects, 8);
		decode(&d, &run.out, run.nrects);
		expect_covered_once(&d, all);
		expect_exact(&d, &im, all, false);
		dec_fini(&d);
		run_fini(&run);
	}
	/* An odd sub-rect of the same image. */
	{
		struct enc_run run;
		struct decoder d;
		struct fb_rect r = {5, 3, 4091 - 5, 97};

		run_init(&run, FMT_RGB32, 1, -1);
		dec_init(&d, FMT_RGB32, 4096, 100);
		run_encode(&run, &im, r);
		decode(&d, &run.out, run.nrects);
		expect_covered_once(&d, r);
		expect_exact(&d, &im, r, false);
		dec_fini(&d);
		run_fini(&run);
	}
	image_fini(&im);
}

/* The static demo console, every format, lossless and with JPEG: decoded
 * exactly (outside JPEG rects), covered once, with solid areas as fill. */
static void demo_frame_every_format(void **state)
{
	struct fb_source *src = fb_demo_new(1024, 768, true);
	struct fb_damage hint;
	struct fb_view v;
	struct image im;
	struct fb_rect all = {0, 0, 1024, 768};

	assert_non_null(src);
	src->ops->poll(src, &hint);
	assert_int_equal(src->ops->view(src, &v), 0);
	image_init(&im, 1024, 768);
	for (uint32_t y = 0; y < 768; y++)
		memcpy(im.px + (size_t)y * 1024, v.data + y * v.stride, 4096);
	for (size_t fi = 0; fi < NFORMATS; fi++) {
		for (int q = -1; q <= 9; q += 10) {
			struct enc_run run;
			struct decoder d;

			run_init(&run, &formats[fi], -1, q);
			dec_init(&d, &formats[fi], 1024, 768);
			run_encode(&run, &im, all);
			decode(&d, &run.out, run.nrects);
			expect_covered_once(&d, all);
			expect_exact(&d, &im, all, true);
			assert_true(d.fills > 0);
			/* Twice through the same streams. */
			run_encode(&run, &im, all);
			decode(&d, &run.out, run.nrects);
			expect_exact(&d, &im, all, true);
			dec_fini(&d);
			run_fini(&run);
		}
	}
	image_fini(&im);
	fb_source_free(src);
}

/* A scene of flat areas, text-like two-colour patches, few-colour
 * patches, photo and noise, for random rects. */
static void fill_scene(struct image *im)
{
	fill_solid(im, (struct fb_rect){0, 0, im->w, im->h}, 0x161a21);
	for (int i = 0; i < 40; i++) {
		struct fb_rect r;
		uint32_t kind = rng() % 5, c = rng() & 0xffffff;

		r.x = rng() % im->w;
		r.y = rng() % im->h;
		r.w = 1 + rng() % (im->w - r.x);
		r.h = 1 + rng() % (im->h - r.y);
		if (r.w > 300)
			r.w = 300;
		if (r.h > 200)
			r.h = 200;
		switch (kind) {
		case 0:
			fill_solid(im, r, c);
			break;
		case 1:
			fill_noise(im, r);
			break;
		case 2:
			fill_photo(im, r);
			break;
		default:
			for (uint32_t y = r.y; y < r.y + r.h; y++)
				for (uint32_t x = r.x; x < r.x + r.w; x++)
					im->px[(size_t)y * im->w + x] =
						c ^ (((x * 7 + y * 13) %
						      (kind == 3 ? 2 : 17))
						     << 4);
			break;
		}
	}
}

/* Random rects of a random scene, random levels, and pixel-format
 * switches, all through one encoder and one client: every rect decodes
 * exactly (outside JPEG) and the zlib streams never lose step. */
static void random_rects_round_trip(void **state)
{
	struct image im;
	struct decoder d;
	struct rfb_encoder *enc = rfb_encoder_new(RFB_ENC_TIGHT);
	struct buf out;
	const uint32_t w = 700, h = 300;

	assert_non_null(enc);
	buf_init(&out);
	image_init(&im, w, h);
	fill_scene(&im);
	dec_init(&d, FMT_RGB32, w, h);
	for (int round = 0; round < 8; round++) {
		const struct rfb_pixfmt *pf = &formats[rng() % NFORMATS];
		struct rfb_pixconv pc;

		/* The client switches format; its streams carry on. */
		free(d.canvas);
		d.pf = *pf;
		d.tpix24 = pf->bpp == 32 && pf->depth == 24 &&
			   pf->red_max == 255 && pf->green_max == 255 &&
			   pf->blue_max == 255;
		d.bytes = pf->bpp / 8;
		d.canvas = calloc((size_t)w * h, d.bytes);
		assert_non_null(d.canvas);
		rfb_pixconv_init(&pc, pf);
		for (int i = 0; i < 40; i++) {
			struct rfb_enc_prefs prefs = {(int)(rng() % 11) - 1,
						      (int)(rng() % 11) - 1};
			struct fb_rect r;
			unsigned n = 0;

			r.x = rng() % w;
			r.y = rng() % h;
			r.w = 1 + rng() % (w - r.x);
			r.h = 1 + rng() % (h - r.y);
			out.len = 0;
			assert_int_equal(enc->ops->encode(enc, &out, &pc,
							  &im.view, r, &prefs,
							  &n),
					 0);
			dec_reset_counts(&d);
			decode(&d, &out, n);
			expect_covered_once(&d, r);
			expect_exact(&d, &im, r, true);
			if (prefs.quality_level < 0 || !d.tpix24)
				assert_int_equal(d.jpegs, 0);
		}
	}
	dec_fini(&d);
	image_fini(&im);
	buf_fini(&out);
	rfb_encoder_free(enc);
}

static void bad_rects_write_nothing(void **state)
{
	struct image im;
	struct enc_run run;

	image_init(&im, 64, 64);
	run_init(&run, FMT_RGB32, -1, -1);
	assert_int_equal(run.enc->ops->encode(run.enc, &run.out, &run.pc,
					      &im.view,
					      (struct fb_rect){60, 0, 5, 1},
					      &run.prefs, &run.nrects),
			 -EINVAL);
	assert_int_equal(run.enc->ops->encode(run.enc, &run.out, &run.pc,
					      &im.view,
					      (struct fb_rect){0, 0, 0, 10},
					      &run.prefs, &run.nrects),
			 0);
	assert_int_equal(run.out.len, 0);
	assert_int_equal(run.nrects, 0);
	run_fini(&run);
	image_fini(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compact_length_edges),
		cmocka_unit_test(solid_rect_is_one_fill),
		cmocka_unit_test(mono_palette_bit_packing),
		cmocka_unit_test(streams_inflate_to_filtered_data),
		cmocka_unit_test(jpeg_only_when_asked_and_24bit),
		cmocka_unit_test(jpeg_trims_flat_rows),
		cmocka_unit_test(wide_rect_is_split),
		cmocka_unit_test(demo_frame_every_format),
		cmocka_unit_test(random_rects_round_trip),
		cmocka_unit_test(bad_rects_write_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
