/* Zlib (6): Raw pixels compressed by one deflate stream that lasts as
 * long as the connection. Each rect is a u32 length and the bytes the
 * stream gave up to a Z_SYNC_FLUSH. Also the deflate helpers of ZRLE. */
#include "net/enc-trle.h"
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"
#include "vfbd/base/bytes.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Level when the client sent no compression pseudo-encoding: zlib's own
 * default. On the 1024x768 demo console at 32 bpp, level 1 sends 2.5 to
 * 4.6 times as many bytes, and level 9 saves 6 to 21 per cent for 1.5 to
 * 7 times the time (up to 135 ms a frame with the console full of text,
 * against 19 ms). */
#define ZLIB_DEFAULT_LEVEL 6

/* Rows of one Zlib rect hold at most this many uncompressed bytes: some
 * decoders inflate each rect into a buffer of its full raw size. */
#define ZLIB_MAX_RECT_BYTES (1u << 20)

/* Room for deflate to write into before it is called again. */
#define ZS_CHUNK 16384

static int zs_run(struct rfb_zstream *z, struct buf *out, int flush)
{
	for (;;) {
		size_t room;
		int rc;

		if (buf_reserve(out, ZS_CHUNK)) {
			z->broken = true;
			return -ENOMEM;
		}
		room = out->cap - out->len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		z->zs.next_out = out->data + out->len;
		z->zs.avail_out = (uInt)room;
		rc = deflate(&z->zs, flush);
		out->len += room - z->zs.avail_out;
		/* Z_BUF_ERROR only says no progress was possible: nothing
		 * was left to compress or flush. */
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			z->broken = true;
			return -EIO;
		}
		if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
			return 0;
	}
}

int rfb_zstream_begin(struct rfb_zstream *z, struct buf *out, int level,
		      int strategy)
{
	if (level < 0 || level > 9)
		level = Z_DEFAULT_COMPRESSION;
	if (z->broken)
		return -EIO;
	if (!z->ready) {
		memset(&z->zs, 0, sizeof(z->zs));
		switch (deflateInit2(&z->zs, level, Z_DEFLATED, MAX_WBITS,
				     8 /* deflateInit's */, strategy)) {
		case Z_OK:
			break;
		case Z_MEM_ERROR:
			return -ENOMEM;
		default:
			return -EIO;
		}
		z->ready = true;
		z->level = level;
		z->strategy = strategy;
		return 0;
	}
	if (level == z->level && strategy == z->strategy)
		return 0;
	if (buf_reserve(out, ZS_CHUNK))
		return -ENOMEM;
	/* The stream was flushed at the end of the last rect, so there is
	 * nothing pending: whatever deflateParams emits fits easily. */
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	z->zs.next_out = out->data + out->len;
	z->zs.avail_out = ZS_CHUNK;
	if (deflateParams(&z->zs, level, strategy) == Z_OK) {
		z->level = level;
		z->strategy = strategy;
	}
	out->len += ZS_CHUNK - z->zs.avail_out;
	return 0;
}

int rfb_zstream_write(struct rfb_zstream *z, struct buf *out, const void *in,
		      size_t len)
{
	const uint8_t *p = in;

	if (z->broken)
		return -EIO;
	while (len > 0) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;
		int rc;

		z->zs.next_in = (Bytef *)p;
		z->zs.avail_in = n;
		rc = zs_run(z, out, Z_NO_FLUSH);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

int rfb_zstream_flush(struct rfb_zstream *z, struct buf *out)
{
	if (z->broken)
		return -EIO;
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	return zs_run(z, out, Z_SYNC_FLUSH);
}

int rfb_zstream_end_rect(struct rfb_zstream *z, struct buf *out, size_t start,
			 size_t len_at, int rc)
{
	if (rc == 0)
		rc = rfb_zstream_flush(z, out);
	if (rc == 0 && out->len - len_at - 4 > UINT32_MAX)
		rc = -E2BIG;
	if (rc) {
		if (z->ready)
			z->broken = true;
		out->len = start;
		return rc;
	}
	put_be32(out->data + len_at, (uint32_t)(out->len - len_at - 4));
	return 0;
}

void rfb_zstream_fini(struct rfb_zstream *z)
{
	if (z->ready)
		deflateEnd(&z->zs);
	z->ready = false;
}

struct zlib_enc {
	struct rfb_encoder base;
	struct rfb_zstream z;
	uint8_t *row; /* one converted row */
	size_t row_cap;
};

static int zlib_band(struct zlib_enc *e, struct buf *out,
		     const struct rfb_pixconv *pc, const struct fb_view *src,
		     struct fb_rect r, int level)
{
	size_t row_bytes = (size_t)r.w * rfb_pixfmt_bytes(&pc->pf);
	size_t start = out->len, len_at;
	int rc;

	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_ZLIB) ||
	    buf_put_be32(out, 0))
		return -ENOMEM;
	len_at = out->len - 4;
	rc = rfb_zstream_begin(&e->z, out, level, Z_DEFAULT_STRATEGY);
	for (uint32_t y = 0; y < r.h && rc == 0; y++) {
		rfb_pixconv_row(pc, rfb_enc_row(src, r.x, r.y + y), r.w,
				e->row);
		rc = rfb_zstream_write(&e->z, out, e->row, row_bytes);
	}
	return rfb_zstream_end_rect(&e->z, out, start, len_at, rc);
}

static int zlib_encode(struct rfb_encoder *base, struct buf *out,
		       const struct rfb_pixconv *pc, const struct fb_view *src,
		       struct fb_rect r, const struct rfb_enc_prefs *prefs,
		       unsigned *nrects)
{
	struct zlib_enc *e = (struct zlib_enc *)base;
	size_t row_bytes = (size_t)r.w * rfb_pixfmt_bytes(&pc->pf);
	int level = prefs && prefs->compress_level >= 0 ? prefs->compress_level
							: ZLIB_DEFAULT_LEVEL;
	uint32_t band;

	if (!rfb_enc_rect_inside(src, r))
		return -EINVAL;
	if (r.w == 0 || r.h == 0)
		return 0;
	if (row_bytes > e->row_cap) {
		uint8_t *p = realloc(e->row, row_bytes);

		if (!p)
			return -ENOMEM;
		e->row = p;
		e->row_cap = row_bytes;
	}
	band = (uint32_t)(ZLIB_MAX_RECT_BYTES / row_bytes);
	if (band == 0)
		band = 1;
	for (uint32_t y = 0; y < r.h; y += band) {
		struct fb_rect b = {r.x, r.y + y, r.w,
				    r.h - y < band ? r.h - y : band};
		int rc = zlib_band(e, out, pc, src, b, level);

		if (rc)
			return rc;
		(*nrects)++;
	}
	return 0;
}

static void zlib_free(struct rfb_encoder *base)
{
	struct zlib_enc *e = (struct zlib_enc *)base;

	rfb_zstream_fini(&e->z);
	free(e->row);
	free(e);
}

static const struct rfb_encoder_ops zlib_ops = {
	.encoding = RFB_ENC_ZLIB,
	.name = "zlib",
	.encode = zlib_encode,
	.free = zlib_free,
};

struct rfb_encoder *rfb_enc_zlib_new(void)
{
	struct zlib_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &zlib_ops;
	return &e->base;
}
