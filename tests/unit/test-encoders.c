/* Unit tests for the RRE, Hextile, Zlib, TRLE and ZRLE encoders
 * (net/enc-*.c): every update is decoded by an independent reference
 * decoder written here from RFC 6143 and the rfbproto text, and must give
 * exactly the expected client pixels for many pixel formats, geometries
 * and contents. The decoder is strict where decoders disagree (colours
 * carried over a raw Hextile tile, TRLE palettes reused across a tile
 * without one), so the encoders are held to the safe subset. Also checks
 * the forms chosen for simple content (solid tiles, palette sizes,
 * 3-byte CPIXELs) and the bytes inside the zlib streams. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zlib.h>

#include "net/encoder.h"
#include "net/pixfmt.h"
#include "net/rfb-proto.h"

#define PF(b, d, be, rm, gm, bm, rs, gs, bs)                                   \
	{                                                                      \
		.bpp = (b), .depth = (d), .big_endian = (be),                  \
		.true_colour = 1, .red_max = (rm), .green_max = (gm),          \
		.blue_max = (bm), .red_shift = (rs), .green_shift = (gs),      \
		.blue_shift = (bs)                                             \
	}

struct fmt {
	const char *name;
	struct rfb_pixfmt pf;
	unsigned cpixel; /* expected CPIXEL bytes */
};

static const struct fmt formats[] = {
	{"rgb888-32le", PF(32, 24, 0, 255, 255, 255, 16, 8, 0), 3},
	{"rgb888-32be", PF(32, 24, 1, 255, 255, 255, 16, 8, 0), 3},
	{"bgr888-32le", PF(32, 24, 0, 255, 255, 255, 0, 8, 16), 3},
	{"rgbx-32le-hi", PF(32, 24, 0, 255, 255, 255, 24, 16, 8), 3},
	{"xbgr-32be-hi", PF(32, 24, 1, 255, 255, 255, 8, 16, 24), 3},
	{"rgb888-32le-depth32", PF(32, 32, 0, 255, 255, 255, 16, 8, 0), 4},
	{"odd-32be", PF(32, 20, 1, 63, 127, 31, 3, 10, 25), 4},
	{"mid-32le", PF(32, 16, 0, 31, 63, 31, 8, 13, 19), 3},
	{"mid-32be", PF(32, 16, 1, 31, 63, 31, 8, 13, 19), 3},
	{"rgb565-16le", PF(16, 16, 0, 31, 63, 31, 11, 5, 0), 2},
	{"rgb565-16be", PF(16, 16, 1, 31, 63, 31, 11, 5, 0), 2},
	{"rgb555-16le", PF(16, 15, 0, 31, 31, 31, 10, 5, 0), 2},
	{"rgb444-16be", PF(16, 12, 1, 15, 15, 15, 8, 4, 0), 2},
	{"bgr233-8", PF(8, 8, 0, 7, 7, 3, 0, 3, 6), 1},
	{"rgb332-8", PF(8, 8, 0, 7, 7, 3, 5, 2, 0), 1},
	{"rgb111-8", PF(8, 3, 0, 1, 1, 1, 0, 1, 2), 1},
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

static const int32_t encodings[] = {RFB_ENC_RRE, RFB_ENC_HEXTILE, RFB_ENC_ZLIB,
				    RFB_ENC_TRLE, RFB_ENC_ZRLE};
#define N_ENCODINGS (sizeof(encodings) / sizeof(encodings[0]))

/* ---- expected pixels ------------------------------------------------ */

static uint32_t want_value(const struct rfb_pixfmt *pf, uint32_t xrgb)
{
	uint32_t r = (xrgb >> 16) & 0xff, g = (xrgb >> 8) & 0xff,
		 b = xrgb & 0xff;

	return (r * pf->red_max + 127) / 255 << pf->red_shift |
	       (g * pf->green_max + 127) / 255 << pf->green_shift |
	       (b * pf->blue_max + 127) / 255 << pf->blue_shift;
}

static uint32_t channel_bits(const struct rfb_pixfmt *pf)
{
	return (uint32_t)pf->red_max << pf->red_shift |
	       (uint32_t)pf->green_max << pf->green_shift |
	       (uint32_t)pf->blue_max << pf->blue_shift;
}

/* ---- the reference decoder ----------------------------------------- */

#define SENTINEL 0xffffffffu /* no channel mask has all 32 bits */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static bool rd_need(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static uint32_t rd_u8(struct rd *r)
{
	return rd_need(r, 1) ? *r->p++ : 0;
}

static uint32_t rd_be16(struct rd *r)
{
	uint32_t v;

	if (!rd_need(r, 2))
		return 0;
	v = (uint32_t)r->p[0] << 8 | r->p[1];
	r->p += 2;
	return v;
}

static uint32_t rd_be32(struct rd *r)
{
	uint32_t v;

	if (!rd_need(r, 4))
		return 0;
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return v;
}

/* `n` bytes in the client's byte order, the value shifted left by
 * `shift` (a CPIXEL made of the top three bytes). */
static uint32_t rd_pix(struct rd *r, unsigned n, bool big_endian,
		       unsigned shift)
{
	uint32_t v = 0;

	if (!rd_need(r, n))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned byte = big_endian ? n - 1 - i : i;

		v |= (uint32_t)r->p[i] << (8 * byte);
	}
	r->p += n;
	return v << shift;
}

struct dec {
	struct rfb_pixfmt pf;
	uint32_t w, h;
	uint32_t *fb;
	z_stream zlib, zrle;
	bool zlib_ready, zrle_ready;
	/* What the updates used. */
	unsigned rects[32];		 /* by encoding (0..16) */
	unsigned tile_types[256];	 /* TRLE/ZRLE subencodings */
	unsigned hextile_masks[32];	 /* Hextile subencoding masks */
	unsigned long rre_subrects;	 /* in the last RRE rect */
	size_t zrle_inflated, zrle_wire; /* over all ZRLE rects */
	char why[160];			 /* first decoding error */
};

static void dec_init(struct dec *d, const struct rfb_pixfmt *pf, uint32_t w,
		     uint32_t h)
{
	memset(d, 0, sizeof(*d));
	d->pf = *pf;
	d->w = w;
	d->h = h;
	d->fb = malloc((size_t)w * h * sizeof(uint32_t));
	assert_non_null(d->fb);
	for (size_t i = 0; i < (size_t)w * h; i++)
		d->fb[i] = SENTINEL;
}

static void dec_fini(struct dec *d)
{
	if (d->zlib_ready)
		inflateEnd(&d->zlib);
	if (d->zrle_ready)
		inflateEnd(&d->zrle);
	free(d->fb);
}

__attribute__((format(printf, 2, 3))) static bool bad(struct dec *d,
						      const char *fmt, ...)
{
	va_list ap;

	if (d->why[0] == 0) {
		va_start(ap, fmt);
		vsnprintf(d->why, sizeof(d->why), fmt, ap);
		va_end(ap);
	}
	return false;
}

static void put(struct dec *d, uint32_t x, uint32_t y, uint32_t v)
{
	d->fb[(size_t)y * d->w + x] = v;
}

static void fill(struct dec *d, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		 uint32_t v)
{
	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			put(d, x + i, y + j, v);
}

static unsigned pixel_bytes(const struct dec *d)
{
	return d->pf.bpp / 8u;
}

/* The CPIXEL rule, restated: 32 bpp, depth <= 24, and no channel bit in
 * the top byte (the low three bytes are sent) or none in the bottom byte
 * (the high three). If both hold, the three bytes that come first in the
 * client's byte order, as TigerVNC and libvncclient read them. */
static void cpixel_layout(const struct dec *d, unsigned *bytes, unsigned *shift)
{
	uint32_t m = channel_bits(&d->pf);
	bool low = m <= 0xffffffu, high = (m & 0xff) == 0;

	*bytes = pixel_bytes(d);
	*shift = 0;
	if (d->pf.bpp != 32 || d->pf.depth > 24 || !(low || high))
		return;
	*bytes = 3;
	if (high && (!low || d->pf.big_endian))
		*shift = 8;
}

static uint32_t rd_pixel(struct dec *d, struct rd *r)
{
	return rd_pix(r, pixel_bytes(d), d->pf.big_endian && d->pf.bpp > 8, 0);
}

/* Raw pixels (Raw, Zlib) are rfb_pixconv_row()'s, which in the server's
 * own format copies the padding byte as it is: only channels count. */
static bool dec_raw(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
		    uint32_t w, uint32_t h)
{
	uint32_t m = channel_bits(&d->pf);

	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			put(d, x + i, y + j, rd_pixel(d, r) & m);
	return !r->bad || bad(d, "raw: short");
}

static bool dec_rre(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
		    uint32_t w, uint32_t h)
{
	uint32_t n = rd_be32(r);

	fill(d, x, y, w, h, rd_pixel(d, r));
	d->rre_subrects = n;
	for (uint32_t k = 0; k < n && !r->bad; k++) {
		uint32_t v = rd_pixel(d, r);
		uint32_t sx = rd_be16(r), sy = rd_be16(r);
		uint32_t sw = rd_be16(r), sh = rd_be16(r);

		if (sw == 0 || sh == 0 || sx + sw > w || sy + sh > h)
			return bad(d, "rre: subrect %u outside", k);
		fill(d, x + sx, y + sy, sw, sh, v);
	}
	return !r->bad || bad(d, "rre: short");
}

static bool dec_hextile(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
			uint32_t w, uint32_t h)
{
	bool bg_ok = false, fg_ok = false;
	uint32_t bg = 0, fg = 0;

	for (uint32_t ty = 0; ty < h; ty += 16) {
		for (uint32_t tx = 0; tx < w; tx += 16) {
			uint32_t tw = w - tx < 16 ? w - tx : 16;
			uint32_t th = h - ty < 16 ? h - ty : 16;
			uint32_t mask = rd_u8(r), n;

			d->hextile_masks[mask & 31]++;
			if (mask & 1) {
				if (!dec_raw(d, r, x + tx, y + ty, tw, th))
					return false;
				/* Strict: colours do not survive a raw
				 * tile. */
				bg_ok = fg_ok = false;
				continue;
			}
			if (mask & ~31u)
				return bad(d, "hextile: mask %#x", mask);
			if (mask & 2) {
				bg = rd_pixel(d, r);
				bg_ok = true;
			}
			if (!bg_ok)
				return bad(d, "hextile: no background");
			fill(d, x + tx, y + ty, tw, th, bg);
			if (mask & 4) {
				if (mask & 16)
					return bad(d, "hextile: fg+coloured");
				fg = rd_pixel(d, r);
				fg_ok = true;
			}
			if (!(mask & 8)) {
				if (mask & 16)
					return bad(d, "hextile: coloured "
						      "without subrects");
				continue;
			}
			n = rd_u8(r);
			if (n == 0)
				return bad(d, "hextile: zero subrects");
			if (!(mask & 16) && !fg_ok)
				return bad(d, "hextile: no foreground");
			for (uint32_t k = 0; k < n; k++) {
				uint32_t c = mask & 16 ? rd_pixel(d, r) : fg;
				uint32_t xy = rd_u8(r), wh = rd_u8(r);
				uint32_t sx = xy >> 4, sy = xy & 15;
				uint32_t sw = (wh >> 4) + 1, sh = (wh & 15) + 1;

				if (sx + sw > tw || sy + sh > th)
					return bad(d, "hextile: subrect out");
				fill(d, x + tx + sx, y + ty + sy, sw, sh, c);
			}
			/* Strict: the foreground is undefined after
			 * coloured subrects. */
			if (mask & 16)
				fg_ok = false;
			if (r->bad)
				return bad(d, "hextile: short");
		}
	}
	return true;
}

static bool run_length(struct rd *r, uint32_t *len)
{
	uint32_t b;

	*len = 1;
	do {
		b = rd_u8(r);
		*len += b;
	} while (b == 255 && !r->bad);
	return !r->bad;
}

static bool dec_tiles(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
		      uint32_t w, uint32_t h, uint32_t tile, bool trle)
{
	unsigned cp, shift, prev_n = 0;
	bool big = d->pf.big_endian && d->pf.bpp > 8;
	uint32_t pal[128];

	cpixel_layout(d, &cp, &shift);
	for (uint32_t ty = 0; ty < h; ty += tile) {
		for (uint32_t tx = 0; tx < w; tx += tile) {
			uint32_t tw = w - tx < tile ? w - tx : tile;
			uint32_t th = h - ty < tile ? h - ty : tile;
			uint32_t t = rd_u8(r), n = tw * th, npal = 0;
			uint32_t x0 = x + tx, y0 = y + ty;
			bool rle, reuse = false;

			if (r->bad)
				return bad(d, "tiles: short");
			d->tile_types[t]++;
			if (t == 0) {
				for (uint32_t i = 0; i < n; i++)
					put(d, x0 + i % tw, y0 + i / tw,
					    rd_pix(r, cp, big, shift));
				prev_n = 0;
				continue;
			}
			if (t == 1) {
				fill(d, x0, y0, tw, th,
				     rd_pix(r, cp, big, shift));
				prev_n = 0;
				continue;
			}
			if (t == 128) {
				for (uint32_t i = 0; i < n;) {
					uint32_t v = rd_pix(r, cp, big, shift);
					uint32_t len;

					if (!run_length(r, &len) || len > n - i)
						return bad(d, "plain rle run");
					for (; len; len--, i++)
						put(d, x0 + i % tw, y0 + i / tw,
						    v);
				}
				prev_n = 0;
				continue;
			}
			if ((t >= 17 && t <= 126) || (t == 129 && !trle) ||
			    (t == 127 && !trle))
				return bad(d, "tiles: subencoding %u", t);
			rle = t >= 128;
			if (t == 127 || t == 129) {
				/* Strict: only right after a palette tile. */
				if (prev_n < 2)
					return bad(d, "tiles: reuse of no "
						      "palette");
				npal = prev_n;
				reuse = true;
			} else {
				npal = rle ? t - 128 : t;
				for (uint32_t k = 0; k < npal; k++)
					pal[k] = rd_pix(r, cp, big, shift);
			}
			if (t == 127 && npal > 16)
				return bad(d, "packed reuse of %u", npal);
			if (!rle) {
				unsigned bits = npal > 4 ? 4 : npal > 2 ? 2 : 1;

				for (uint32_t j = 0; j < th; j++) {
					unsigned acc = 0, left = 0;

					for (uint32_t i = 0; i < tw; i++) {
						unsigned k;

						if (left == 0) {
							acc = rd_u8(r);
							left = 8;
						}
						left -= bits;
						k = (acc >> left) &
						    ((1u << bits) - 1);
						if (k >= npal)
							return bad(d, "index");
						put(d, x0 + i, y0 + j, pal[k]);
					}
				}
			} else {
				for (uint32_t i = 0; i < n;) {
					uint32_t b = rd_u8(r), len = 1;

					if ((b & 127) >= npal)
						return bad(d, "rle index");
					if ((b & 128) && !run_length(r, &len))
						return bad(d, "rle short");
					if (len > n - i)
						return bad(d, "rle overrun");
					for (; len; len--, i++)
						put(d, x0 + i % tw, y0 + i / tw,
						    pal[b & 127]);
				}
			}
			if (!reuse)
				prev_n = npal;
			if (r->bad)
				return bad(d, "tiles: short");
		}
	}
	return true;
}

static bool inflate_all(struct dec *d, z_stream *zs, bool *ready,
			const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			size_t *got)
{
	int rc;

	if (!*ready) {
		memset(zs, 0, sizeof(*zs));
		assert_int_equal(inflateInit(zs), Z_OK);
		*ready = true;
	}
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	zs->next_out = out;
	zs->avail_out = (uInt)cap;
	rc = inflate(zs, Z_SYNC_FLUSH);
	if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs->avail_in == 0))
		return bad(d, "inflate: %d", rc);
	if (zs->avail_in != 0)
		return bad(d, "inflate: %u bytes left over", zs->avail_in);
	*got = cap - zs->avail_out;
	return true;
}

static bool dec_zlib(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
		     uint32_t w, uint32_t h)
{
	uint32_t len = rd_be32(r);
	size_t want = (size_t)w * h * pixel_bytes(d), got;
	/* One byte more than needed shows any excess. */
	uint8_t *raw = malloc(want + 1);
	struct rd in;
	bool ok;

	assert_non_null(raw);
	if (!rd_need(r, len)) {
		free(raw);
		return bad(d, "zlib: short");
	}
	ok = inflate_all(d, &d->zlib, &d->zlib_ready, r->p, len, raw, want + 1,
			 &got);
	r->p += len;
	if (ok && got != want)
		ok = bad(d, "zlib: %zu bytes, wanted %zu", got, want);
	in = (struct rd){raw, raw + want, false};
	if (ok)
		ok = dec_raw(d, &in, x, y, w, h);
	free(raw);
	return ok;
}

/* The tile data of one ZRLE rect that libvncclient 0.9.14 can take: it
 * inflates the rect into raw_buffer, rw * rh * (REALBPP / 8) * 2 bytes
 * (libvncclient/zrle.c, HandleZRLE), and fails when input is left over
 * once that is full. rfbproto.c picks REALBPP from the client's bpp, the
 * green max of the server's own format and where the client's channels
 * lie (24 whenever they fit in either three bytes, whatever the depth). */
static size_t libvncclient_zrle_room(const struct dec *d, uint32_t w,
				     uint32_t h)
{
	uint32_t m = channel_bits(&d->pf);
	unsigned real;

	switch (d->pf.bpp) {
	case 8:
		real = 8;
		break;
	case 16:
		real = rfb_pixfmt_server.green_max > 0x1f ? 16 : 15;
		break;
	default:
		real = (m & 0xff) == 0 || (m & 0xff000000u) == 0 ? 24 : 32;
		break;
	}
	return (size_t)w * h * (real / 8) * 2;
}

static bool dec_zrle(struct dec *d, struct rd *r, uint32_t x, uint32_t y,
		     uint32_t w, uint32_t h)
{
	uint32_t len = rd_be32(r);
	/* Inflating into exactly libvncclient's buffer fails where it does,
	 * with input left over ("inflate: N bytes left over"). */
	size_t cap = libvncclient_zrle_room(d, w, h);
	uint8_t *raw = malloc(cap);
	size_t got = 0;
	struct rd in;
	bool ok;

	assert_non_null(raw);
	if (!rd_need(r, len)) {
		free(raw);
		return bad(d, "zrle: short");
	}
	ok = inflate_all(d, &d->zrle, &d->zrle_ready, r->p, len, raw, cap,
			 &got);
	r->p += len;
	d->zrle_inflated += got;
	d->zrle_wire += len;
	in = (struct rd){raw, raw + got, false};
	if (ok)
		ok = dec_tiles(d, &in, x, y, w, h, 64, false);
	if (ok && in.p != in.end)
		ok = bad(d, "zrle: %zu bytes left", (size_t)(in.end - in.p));
	free(raw);
	return ok;
}

/* Decodes the rects of one FramebufferUpdate body (no message header). */
static bool dec_update(struct dec *d, const uint8_t *data, size_t len,
		       unsigned nrects)
{
	struct rd r = {data, data + len, false};

	for (unsigned i = 0; i < nrects; i++) {
		uint32_t x = rd_be16(&r), y = rd_be16(&r);
		uint32_t w = rd_be16(&r), h = rd_be16(&r);
		int32_t enc = (int32_t)rd_be32(&r);
		bool ok;

		if (r.bad)
			return bad(d, "rect header short");
		if (x + w > d->w || y + h > d->h)
			return bad(d, "rect %u,%u %ux%u outside", x, y, w, h);
		if (enc >= 0 && enc < 32)
			d->rects[enc]++;
		switch (enc) {
		case RFB_ENC_RAW:
			ok = dec_raw(d, &r, x, y, w, h);
			break;
		case RFB_ENC_RRE:
			ok = dec_rre(d, &r, x, y, w, h);
			break;
		case RFB_ENC_HEXTILE:
			ok = dec_hextile(d, &r, x, y, w, h);
			break;
		case RFB_ENC_ZLIB:
			ok = dec_zlib(d, &r, x, y, w, h);
			break;
		case RFB_ENC_TRLE:
			ok = dec_tiles(d, &r, x, y, w, h, 16, true);
			break;
		case RFB_ENC_ZRLE:
			ok = dec_zrle(d, &r, x, y, w, h);
			break;
		default:
			return bad(d, "encoding %d", enc);
		}
		if (!ok)
			return false;
	}
	if (r.p != r.end)
		return bad(d, "%zu bytes after the last rect",
			   (size_t)(r.end - r.p));
	return true;
}

/* ---- images ---------------------------------------------------------- */

struct image {
	uint32_t w, h;
	uint32_t *px;
	struct fb_view view;
};

static void image_new(struct image *im, uint32_t w, uint32_t h)
{
	im->w = w;
	im->h = h;
	/* A stride wider than the image catches row arithmetic mistakes. */
	im->px = calloc((size_t)(w + 3) * h, 4);
	assert_non_null(im->px);
	im->view = (struct fb_view){(const uint8_t *)im->px, w, h,
				    (size_t)(w + 3) * 4};
}

static void image_free(struct image *im)
{
	free(im->px);
}

static uint32_t *at(struct image *im, uint32_t x, uint32_t y)
{
	return &im->px[(size_t)y * (im->w + 3) + x];
}

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* The top byte is junk on purpose: encoders must ignore it. */
static uint32_t junk(uint32_t c)
{
	return (c & 0xffffff) | (rnd() & 0xff000000u);
}

enum pattern {
	P_SOLID,
	P_NOISE,
	P_TEXT,	   /* glyph-like blocks of two colours on a background */
	P_FEW,	   /* 3..20 colours in short horizontal runs */
	P_GRADIENT /* smooth, many colours */
};

static const uint32_t text_colours[] = {0x101820, 0xe0e0e0, 0x30c050, 0xffcc00,
					0x2060ff};

static void paint(struct image *im, enum pattern p)
{
	uint32_t few[20];
	unsigned nfew = 3 + rnd() % 18;

	for (unsigned k = 0; k < nfew; k++)
		few[k] = rnd() & 0xffffff;
	for (uint32_t y = 0; y < im->h; y++) {
		for (uint32_t x = 0; x < im->w; x++) {
			uint32_t c;

			switch (p) {
			case P_SOLID:
				c = 0x336699;
				break;
			case P_NOISE:
				c = rnd();
				break;
			case P_TEXT: {
				/* 8x16 cells: background, or a glyph made
				 * of a few strokes in one colour. */
				uint32_t cell = (y / 16) * 977 + (x / 8) * 131;
				uint32_t gx = x % 8, gy = y % 16;
				bool ink =
					cell % 3 != 0 && ((gx == 1 + cell % 5 &&
							   gy > 2 && gy < 13) ||
							  (gy == 3 + cell % 9 &&
							   gx > 0 && gx < 7));

				c = ink ? text_colours[1 + cell % 4]
					: text_colours[0];
				break;
			}
			case P_FEW:
				c = few[(x / (1 + rnd() % 6) + y) % nfew];
				break;
			default:
				c = (x * 255 / (im->w ? im->w : 1)) << 16 |
				    (y * 255 / (im->h ? im->h : 1)) << 8 |
				    ((x + y) & 0xff);
				break;
			}
			*at(im, x, y) = junk(c);
		}
	}
}

/* ---- the round trip ------------------------------------------------- */

/* Encodes `r` of `im` and decodes it into `d`; returns the encoded
 * update size. Pixels in `r` must then equal the conversion of the image
 * and pixels outside must not have been touched since `d` was made. */
static size_t round_trip(struct rfb_encoder *e, struct dec *d, struct image *im,
			 struct fb_rect r, int level)
{
	struct rfb_pixconv pc;
	struct rfb_enc_prefs prefs = {level, -1};
	struct buf b;
	unsigned nrects = 0;
	size_t size, npx = (size_t)d->w * d->h;
	uint32_t *before = malloc(npx * sizeof(uint32_t));
	int rc;

	assert_non_null(before);
	memcpy(before, d->fb, npx * sizeof(uint32_t));
	rfb_pixconv_init(&pc, &d->pf);
	buf_init(&b);
	rc = e->ops->encode(e, &b, &pc, &im->view, r, &prefs, &nrects);
	assert_int_equal(rc, 0);
	if (!dec_update(d, b.data, b.len, nrects)) {
		print_error("%s %ux%u+%u+%u: %s\n", e->ops->name, r.w, r.h, r.x,
			    r.y, d->why);
		fail_msg("decode failed");
	}
	for (uint32_t y = 0; y < d->h; y++) {
		for (uint32_t x = 0; x < d->w; x++) {
			bool in = x >= r.x && x < r.x + r.w && y >= r.y &&
				  y < r.y + r.h;
			uint32_t got = d->fb[(size_t)y * d->w + x];

			if (!in) {
				if (got != before[(size_t)y * d->w + x]) {
					print_error("%s: pixel %u,%u outside "
						    "the rect changed\n",
						    e->ops->name, x, y);
					fail_msg("pixel outside changed");
				}
				continue;
			}
			if (got == want_value(&d->pf, *at(im, x, y)))
				continue;
			print_error("%s %ux%u+%u+%u: pixel %u,%u is %#x, "
				    "wanted %#x (source %#x)\n",
				    e->ops->name, r.w, r.h, r.x, r.y, x, y, got,
				    want_value(&d->pf, *at(im, x, y)),
				    *at(im, x, y));
			fail_msg("pixel mismatch");
		}
	}
	size = b.len;
	buf_fini(&b);
	free(before);
	return size;
}

/* Geometries inside a 150x90 view: whole, tile-aligned, odd, thin, tiny
 * and at the right and bottom edges with partial tiles. */
static const struct fb_rect shapes[] = {
	{0, 0, 150, 90}, {0, 0, 64, 64},   {16, 16, 32, 32}, {3, 5, 17, 33},
	{149, 89, 1, 1}, {0, 7, 150, 1},   {77, 0, 1, 90},   {130, 70, 20, 20},
	{65, 1, 85, 89}, {10, 20, 65, 65}, {1, 1, 2, 3},
};

static void test_round_trip_all(void **state)
{
	static const enum pattern pats[] = {P_SOLID, P_NOISE, P_TEXT, P_FEW,
					    P_GRADIENT};
	struct image im;

	image_new(&im, 150, 90);
	for (size_t pi = 0; pi < sizeof(pats) / sizeof(pats[0]); pi++) {
		paint(&im, pats[pi]);
		for (size_t ei = 0; ei < N_ENCODINGS; ei++) {
			for (size_t fi = 0; fi < N_FORMATS; fi++) {
				struct rfb_encoder *e =
					rfb_encoder_new(encodings[ei]);
				struct dec d;

				assert_non_null(e);
				dec_init(&d, &formats[fi].pf, im.w, im.h);
				/* One decoder across all shapes: zlib
				 * streams must carry on from rect to rect. */
				for (size_t si = 0;
				     si < sizeof(shapes) / sizeof(shapes[0]);
				     si++)
					round_trip(e, &d, &im, shapes[si], -1);
				dec_fini(&d);
				rfb_encoder_free(e);
			}
		}
	}
	image_free(&im);
}

/* One encoder instance sees a new pixel format and new compression
 * levels mid-connection; the same decoder (and zlib streams) follow. */
static void test_format_and_level_changes(void **state)
{
	static const int levels[] = {-1, 0, 1, 9, 9, 6, 0, 3};
	struct image im;

	image_new(&im, 150, 90);
	for (size_t ei = 0; ei < N_ENCODINGS; ei++) {
		struct rfb_encoder *e = rfb_encoder_new(encodings[ei]);
		struct dec d;

		assert_non_null(e);
		dec_init(&d, &formats[0].pf, im.w, im.h);
		for (size_t k = 0; k < 24; k++) {
			const struct fmt *f = &formats[k % N_FORMATS];
			int level = levels[k % 8];

			/* Decoded values are per format: start over. */
			d.pf = f->pf;
			for (size_t i = 0; i < (size_t)d.w * d.h; i++)
				d.fb[i] = SENTINEL;
			paint(&im, (enum pattern)(k % 5));
			round_trip(e, &d, &im, shapes[k % 4], level);
		}
		dec_fini(&d);
		rfb_encoder_free(e);
	}
	image_free(&im);
}

static struct dec *run(int32_t enc, const struct fmt *f, struct image *im,
		       struct fb_rect r, size_t *size)
{
	struct rfb_encoder *e = rfb_encoder_new(enc);
	struct dec *d = malloc(sizeof(*d));
	size_t n;

	assert_non_null(e);
	assert_non_null(d);
	dec_init(d, &f->pf, im->w, im->h);
	n = round_trip(e, d, im, r, -1);
	if (size)
		*size = n;
	rfb_encoder_free(e);
	return d;
}

static void done(struct dec *d)
{
	dec_fini(d);
	free(d);
}

static void test_rre_solid_is_background_only(void **state)
{
	struct image im;

	image_new(&im, 40, 30);
	paint(&im, P_SOLID);
	for (size_t fi = 0; fi < N_FORMATS; fi++) {
		size_t size;
		struct dec *d = run(RFB_ENC_RRE, &formats[fi], &im,
				    (struct fb_rect){0, 0, 40, 30}, &size);

		assert_int_equal(d->rects[RFB_ENC_RRE], 1);
		assert_int_equal(d->rre_subrects, 0);
		/* Header, count, background. */
		assert_int_equal(size, 12 + 4 + formats[fi].pf.bpp / 8);
		done(d);
	}
	/* A solid rect with a block of another colour: one subrect. */
	for (uint32_t y = 10; y < 20; y++)
		for (uint32_t x = 5; x < 12; x++)
			*at(&im, x, y) = 0xff0000;
	{
		struct dec *d = run(RFB_ENC_RRE, &formats[0], &im,
				    (struct fb_rect){0, 0, 40, 30}, NULL);

		assert_int_equal(d->rre_subrects, 1);
		done(d);
	}
	image_free(&im);
}

static void test_rre_noise_falls_back_to_raw(void **state)
{
	struct image im;
	struct dec *d;
	size_t size;

	image_new(&im, 64, 20);
	paint(&im, P_NOISE);
	d = run(RFB_ENC_RRE, &formats[0], &im, (struct fb_rect){0, 0, 64, 20},
		&size);
	assert_int_equal(d->rects[RFB_ENC_RAW], 1);
	assert_int_equal(d->rects[RFB_ENC_RRE], 0);
	assert_int_equal(size, 12 + 64 * 20 * 4);
	done(d);
	image_free(&im);
}

static void test_hextile_solid_tiles(void **state)
{
	struct image im;

	image_new(&im, 48, 20); /* 3 x 2 tiles, the bottom ones 4 high */
	paint(&im, P_SOLID);
	for (size_t fi = 0; fi < N_FORMATS; fi++) {
		size_t size;
		struct dec *d = run(RFB_ENC_HEXTILE, &formats[fi], &im,
				    (struct fb_rect){0, 0, 48, 20}, &size);

		/* The first tile names the background, the other five
		 * reuse it with an empty mask. */
		assert_int_equal(d->hextile_masks[2], 1);
		assert_int_equal(d->hextile_masks[0], 5);
		assert_int_equal(size, 12 + 1 + formats[fi].pf.bpp / 8 + 5);
		done(d);
	}
	image_free(&im);
}

static void test_hextile_forms(void **state)
{
	struct image im;
	struct dec *d;

	image_new(&im, 16, 16);
	/* Two colours: background plus one-colour subrects. */
	paint(&im, P_SOLID);
	for (uint32_t y = 4; y < 12; y++)
		*at(&im, 3, y) = 0xffffff;
	*at(&im, 9, 9) = 0xffffff;
	d = run(RFB_ENC_HEXTILE, &formats[0], &im,
		(struct fb_rect){0, 0, 16, 16}, NULL);
	assert_int_equal(d->hextile_masks[2 | 4 | 8], 1);
	done(d);
	/* Three colours: coloured subrects. */
	*at(&im, 12, 2) = 0x00ff00;
	d = run(RFB_ENC_HEXTILE, &formats[0], &im,
		(struct fb_rect){0, 0, 16, 16}, NULL);
	assert_int_equal(d->hextile_masks[2 | 8 | 16], 1);
	done(d);
	/* Noise: raw. */
	paint(&im, P_NOISE);
	d = run(RFB_ENC_HEXTILE, &formats[0], &im,
		(struct fb_rect){0, 0, 16, 16}, NULL);
	assert_int_equal(d->hextile_masks[1], 1);
	done(d);
	image_free(&im);
}

static void test_trle_zrle_solid_and_palettes(void **state)
{
	struct image im;

	image_new(&im, 64, 64);
	for (size_t fi = 0; fi < N_FORMATS; fi++) {
		const struct fmt *f = &formats[fi];
		struct dec *d;
		size_t size;

		paint(&im, P_SOLID);
		d = run(RFB_ENC_TRLE, f, &im, (struct fb_rect){0, 0, 64, 64},
			&size);
		assert_int_equal(d->tile_types[1], 16);
		assert_int_equal(size, 12 + 16 * (1 + f->cpixel));
		done(d);
		d = run(RFB_ENC_ZRLE, f, &im, (struct fb_rect){0, 0, 64, 64},
			NULL);
		assert_int_equal(d->tile_types[1], 1);
		assert_int_equal(d->zrle_inflated, 1 + f->cpixel);
		done(d);
	}
	/* k colours scattered over a 16x16 tile at 32 bpp: packed
	 * palettes up to 16 colours, palette RLE beyond. */
	for (unsigned k = 2; k <= 40; k++) {
		uint32_t cols[40];
		struct dec *d;

		for (unsigned c = 0; c < k; c++)
			cols[c] = 0x010203 * (c + 1);
		for (uint32_t y = 0; y < 16; y++)
			for (uint32_t x = 0; x < 16; x++)
				*at(&im, x, y) =
					cols[(x * 7 + y * 13 + (x * y) % 5) %
					     k];
		for (unsigned c = 0; c < k; c++)
			*at(&im, c % 16, c / 16) = cols[c];
		d = run(RFB_ENC_TRLE, &formats[0], &im,
			(struct fb_rect){0, 0, 16, 16}, NULL);
		if (k <= 16)
			assert_int_equal(d->tile_types[k], 1);
		else
			assert_int_equal(d->tile_types[128 + k], 1);
		done(d);
	}
	image_free(&im);
}

static void test_trle_palette_reuse(void **state)
{
	struct image im;
	struct dec *d;

	/* Two tiles of the same two colours: the second reuses the
	 * palette. */
	image_new(&im, 32, 16);
	paint(&im, P_SOLID);
	for (uint32_t y = 0; y < 16; y++)
		for (uint32_t x = 0; x < 32; x++)
			if ((x + y) % 3 == 0)
				*at(&im, x, y) = 0xffffff;
	d = run(RFB_ENC_TRLE, &formats[0], &im, (struct fb_rect){0, 0, 32, 16},
		NULL);
	assert_int_equal(d->tile_types[2], 1);
	assert_int_equal(d->tile_types[127], 1);
	done(d);
	/* ZRLE never reuses (its decoders reject 127 and 129). */
	image_free(&im);
}

static void test_cpixel_bytes(void **state)
{
	struct image im;

	image_new(&im, 16, 16);
	paint(&im, P_NOISE);
	for (size_t fi = 0; fi < N_FORMATS; fi++) {
		size_t size;
		struct dec *d = run(RFB_ENC_TRLE, &formats[fi], &im,
				    (struct fb_rect){0, 0, 16, 16}, &size);

		/* 256 colours (at most 2^depth): raw or RLE, and a raw
		 * tile is 1 + 256 CPIXELs. */
		if (d->tile_types[0])
			assert_int_equal(size,
					 12 + 1 + 256 * formats[fi].cpixel);
		done(d);
	}
	image_free(&im);
}

/* The bytes inside the streams for tiny known images. */
static void test_stream_contents(void **state)
{
	static const struct rfb_pixfmt be565 =
		PF(16, 16, 1, 31, 63, 31, 11, 5, 0);
	static const struct rfb_pixfmt le888 =
		PF(32, 24, 0, 255, 255, 255, 16, 8, 0);
	static const struct rfb_pixfmt be888 =
		PF(32, 24, 1, 255, 255, 255, 16, 8, 0);
	static const struct rfb_pixfmt le888hi =
		PF(32, 24, 0, 255, 255, 255, 24, 16, 8);
	static const struct rfb_pixfmt be888hi =
		PF(32, 24, 1, 255, 255, 255, 24, 16, 8);
	/* 5-6-5 in bits 8..23: both the top and the bottom byte are
	 * free. */
	static const struct rfb_pixfmt le565mid =
		PF(32, 16, 0, 31, 63, 31, 19, 13, 8);
	static const struct rfb_pixfmt be565mid =
		PF(32, 16, 1, 31, 63, 31, 19, 13, 8);
	static const struct {
		const struct rfb_pixfmt *pf;
		uint8_t cpixel[3];
	} cases[] = {
		{&le888, {0x56, 0x34, 0x12}},
		{&be888, {0x12, 0x34, 0x56}},
		{&le888hi, {0x56, 0x34, 0x12}},
		{&be888hi, {0x12, 0x34, 0x56}},
		/* 0x123456 -> r 2, g 13, b 10: value 0x0011aa00, whose
		 * first three bytes on the wire are sent. */
		{&le565mid, {0x00, 0xaa, 0x11}},
		{&be565mid, {0x00, 0x11, 0xaa}},
	};
	struct rfb_pixconv pc;
	struct rfb_enc_prefs prefs = {-1, -1};
	struct image im;
	struct buf b;
	unsigned n = 0;
	uint8_t out[64];
	z_stream zs;
	struct rfb_encoder *e;

	/* Zlib, RGB565 big-endian: red, green, blue, white. */
	image_new(&im, 2, 2);
	*at(&im, 0, 0) = 0xff0000;
	*at(&im, 1, 0) = 0x00ff00;
	*at(&im, 0, 1) = 0x0000ff;
	*at(&im, 1, 1) = 0xffffff;
	rfb_pixconv_init(&pc, &be565);
	e = rfb_encoder_new(RFB_ENC_ZLIB);
	buf_init(&b);
	assert_int_equal(e->ops->encode(e, &b, &pc, &im.view,
					(struct fb_rect){0, 0, 2, 2}, &prefs,
					&n),
			 0);
	assert_int_equal(n, 1);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit(&zs), Z_OK);
	zs.next_in = b.data + 16;
	zs.avail_in = (uInt)(b.len - 16);
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(sizeof(out) - zs.avail_out, 8);
	assert_memory_equal(out, "\xf8\x00\x07\xe0\x00\x1f\xff\xff", 8);
	/* The rect ends on a sync flush marker. */
	assert_memory_equal(b.data + b.len - 4, "\x00\x00\xff\xff", 4);
	assert_int_equal(b.data[12] << 24 | b.data[13] << 16 | b.data[14] << 8 |
				 b.data[15],
			 b.len - 16);
	inflateEnd(&zs);
	buf_fini(&b);
	rfb_encoder_free(e);

	/* ZRLE solid tile: subencoding 1 and a 3-byte CPIXEL, whose bytes
	 * are the pixel's significant three in the client's order. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (uint32_t y = 0; y < 2; y++)
			for (uint32_t x = 0; x < 2; x++)
				*at(&im, x, y) = 0x123456;
		rfb_pixconv_init(&pc, cases[i].pf);
		e = rfb_encoder_new(RFB_ENC_ZRLE);
		buf_init(&b);
		n = 0;
		assert_int_equal(e->ops->encode(e, &b, &pc, &im.view,
						(struct fb_rect){0, 0, 2, 2},
						&prefs, &n),
				 0);
		assert_int_equal(n, 1);
		assert_int_equal(b.data[11], RFB_ENC_ZRLE);
		memset(&zs, 0, sizeof(zs));
		assert_int_equal(inflateInit(&zs), Z_OK);
		zs.next_in = b.data + 16;
		zs.avail_in = (uInt)(b.len - 16);
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		assert_int_equal(inflate(&zs, Z_SYNC_FLUSH), Z_OK);
		assert_int_equal(sizeof(out) - zs.avail_out, 4);
		assert_int_equal(out[0], 1);
		assert_memory_equal(out + 1, cases[i].cpixel, 3);
		inflateEnd(&zs);
		buf_fini(&b);
		rfb_encoder_free(e);

		/* TRLE: the same tile, uncompressed. */
		e = rfb_encoder_new(RFB_ENC_TRLE);
		buf_init(&b);
		n = 0;
		assert_int_equal(e->ops->encode(e, &b, &pc, &im.view,
						(struct fb_rect){0, 0, 2, 2},
						&prefs, &n),
				 0);
		assert_int_equal(b.len, 12 + 4);
		assert_int_equal(b.data[12], 1);
		assert_memory_equal(b.data + 13, cases[i].cpixel, 3);
		buf_fini(&b);
		rfb_encoder_free(e);
	}
	image_free(&im);
}

/* Noise makes a band of raw tiles, whose tile data is larger than w * h
 * CPIXELs by the subencoding bytes. It still goes out as ZRLE in every
 * format (dec_zrle checks that libvncclient's buffer takes it), and the
 * band costs about its CPIXELs: less than Raw wherever CPIXELs drop a
 * padding byte, at most deflate's few bytes more elsewhere. */
static void test_zrle_noise_band_stays_zrle(void **state)
{
	struct image im;

	image_new(&im, 128, 100);
	paint(&im, P_NOISE);
	for (uint32_t y = 64; y < 100; y++)
		for (uint32_t x = 0; x < 128; x++)
			*at(&im, x, y) = 0x808080;
	for (size_t fi = 0; fi < N_FORMATS; fi++) {
		const struct fmt *f = &formats[fi];
		const struct rfb_pixfmt *pf = &f->pf;
		const size_t npx = 128 * 64;
		size_t size, raw = 12 + npx * (pf->bpp / 8);
		/* More colours than a ZRLE palette holds (127): raw tiles. */
		bool many = (pf->red_max + 1u) * (pf->green_max + 1u) *
				    (pf->blue_max + 1u) >
			    127;
		struct dec *d;

		d = run(RFB_ENC_ZRLE, f, &im, (struct fb_rect){0, 0, 128, 64},
			&size);
		assert_int_equal(d->rects[RFB_ENC_RAW], 0);
		assert_int_equal(d->rects[RFB_ENC_ZRLE], 1);
		if (many) {
			assert_int_equal(d->tile_types[0], 2);
			assert_true(d->zrle_inflated > npx * f->cpixel);
		}
		if (f->cpixel * 8 < pf->bpp)
			assert_true(size < 12 + 4 + npx * f->cpixel + 64);
		else
			assert_true(size < raw + 64);
		done(d);

		d = run(RFB_ENC_ZRLE, f, &im, (struct fb_rect){0, 0, 128, 100},
			NULL);
		assert_int_equal(d->rects[RFB_ENC_RAW], 0);
		assert_int_equal(d->rects[RFB_ENC_ZRLE], 2);
		done(d);
	}
	image_free(&im);
}

static void test_bad_and_empty_rects(void **state)
{
	struct image im;
	struct rfb_pixconv pc;
	struct rfb_enc_prefs prefs = {-1, -1};

	image_new(&im, 20, 10);
	paint(&im, P_TEXT);
	rfb_pixconv_init(&pc, &formats[0].pf);
	for (size_t ei = 0; ei < N_ENCODINGS; ei++) {
		struct rfb_encoder *e = rfb_encoder_new(encodings[ei]);
		static const struct fb_rect bad[] = {
			{0, 0, 21, 10},
			{0, 0, 20, 11},
			{20, 0, 1, 1},
			{0, 0xffffffffu, 1, 2},
			{0xfffffff0u, 0, 0x20, 1},
		};
		struct buf b;
		unsigned n = 0;

		buf_init(&b);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(e->ops->encode(e, &b, &pc, &im.view,
							bad[i], &prefs, &n),
					 -EINVAL);
		assert_int_equal(e->ops->encode(e, &b, &pc, &im.view,
						(struct fb_rect){3, 3, 0, 5},
						&prefs, &n),
				 0);
		assert_int_equal(n, 0);
		assert_int_equal(b.len, 0);
		buf_fini(&b);
		rfb_encoder_free(e);
	}
	image_free(&im);
}

/* The widest frame vfbd allows, a few rows high, in every encoding. */
static void test_wide_rect(void **state)
{
	struct image im;

	image_new(&im, FB_MAX_DIM, 40);
	paint(&im, P_TEXT);
	for (uint32_t x = 9000; x < 9100; x++)
		for (uint32_t y = 0; y < 40; y++)
			*at(&im, x, y) = rnd();
	for (size_t ei = 0; ei < N_ENCODINGS; ei++) {
		for (size_t fi = 0; fi < N_FORMATS; fi += 4) {
			struct dec *d;

			d = run(encodings[ei], &formats[fi], &im,
				(struct fb_rect){0, 0, FB_MAX_DIM, 40}, NULL);
			done(d);
			d = run(encodings[ei], &formats[fi], &im,
				(struct fb_rect){0, 39, FB_MAX_DIM, 1}, NULL);
			done(d);
		}
	}
	image_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_format_and_level_changes),
		cmocka_unit_test(test_rre_solid_is_background_only),
		cmocka_unit_test(test_rre_noise_falls_back_to_raw),
		cmocka_unit_test(test_hextile_solid_tiles),
		cmocka_unit_test(test_hextile_forms),
		cmocka_unit_test(test_trle_zrle_solid_and_palettes),
		cmocka_unit_test(test_trle_palette_reuse),
		cmocka_unit_test(test_cpixel_bytes),
		cmocka_unit_test(test_stream_contents),
		cmocka_unit_test(test_zrle_noise_band_stays_zrle),
		cmocka_unit_test(test_bad_and_empty_rects),
		cmocka_unit_test(test_wide_rect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
