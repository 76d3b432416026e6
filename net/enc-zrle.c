/* ZRLE (16, RFC 6143 7.7.6): TRLE's tile coding with 64x64 tiles and no
 * palette reuse, compressed by one deflate stream kept for the whole
 * connection; each rect is a u32 length and the stream's bytes up to a
 * Z_SYNC_FLUSH.
 *
 * A rect is sent as bands of one tile row (64 pixel rows). Each band's
 * tiles are coded into a scratch buffer first, because some decoders
 * (libvncclient) inflate a rect into a buffer of w * h CPIXELs and fail
 * when the tile data is larger, which happens when nearly every tile is
 * raw (each tile adds a subencoding byte). Such a band goes out as a Raw
 * rect instead, without touching the stream. */
#include "net/enc-trle.h"
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"
#include "vfbd/base/bytes.h"

#include <errno.h>
#include <stdlib.h>

#define ZRLE_TILE 64

/* Level when the client sent no compression pseudo-encoding. The tile
 * coding leaves deflate little to do: on the 1024x768 demo console at
 * 32 bpp a frame full of text takes 3 ms at level 6 for 13.6 KB, against
 * 1.7 ms and 18 KB at level 1, 8 ms and 13.1 KB at level 9. */
#define ZRLE_DEFAULT_LEVEL 6

/* Scratch larger than this is let go after each update, so that one huge
 * update does not pin memory for the rest of the connection. */
#define ZRLE_KEEP_SCRATCH (1u << 20)

struct zrle_enc {
	struct rfb_encoder base;
	struct rfb_zstream z;
	struct buf tiles;
	struct rfb_trle t;
};

static int zrle_band(struct zrle_enc *e, struct buf *out,
		     const struct rfb_pixconv *pc, const struct fb_view *src,
		     struct fb_rect r, int level)
{
	size_t start = out->len, len_at;
	int rc;

	e->tiles.len = 0;
	rc = rfb_trle_rect(&e->t, &e->tiles, pc, src, r);
	if (rc)
		return rc;
	if (e->tiles.len > (size_t)r.w * r.h * e->t.cpix.bytes)
		return rfb_write_raw_rect(out, pc, src, r) ? -ENOMEM : 0;

	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_ZRLE) ||
	    buf_put_be32(out, 0))
		return -ENOMEM;
	len_at = out->len - 4;
	rc = rfb_zstream_begin(&e->z, out, level);
	if (rc == 0)
		rc = rfb_zstream_write(&e->z, out, e->tiles.data, e->tiles.len);
	if (rc == 0)
		rc = rfb_zstream_flush(&e->z, out);
	if (rc) {
		/* Whatever the stream swallowed never reaches the client. */
		if (e->z.ready)
			e->z.broken = true;
		out->len = start;
		return rc;
	}
	put_be32(out->data + len_at, (uint32_t)(out->len - len_at - 4));
	return 0;
}

static int zrle_encode(struct rfb_encoder *base, struct buf *out,
		       const struct rfb_pixconv *pc, const struct fb_view *src,
		       struct fb_rect r, const struct rfb_enc_prefs *prefs,
		       unsigned *nrects)
{
	struct zrle_enc *e = (struct zrle_enc *)base;
	int level = prefs && prefs->compress_level >= 0 ? prefs->compress_level
							: ZRLE_DEFAULT_LEVEL;
	int rc = 0;

	if (!rfb_enc_rect_inside(src, r))
		return -EINVAL;
	for (uint32_t y = 0; y < r.h && r.w > 0 && rc == 0; y += ZRLE_TILE) {
		struct fb_rect b = {r.x, r.y + y, r.w,
				    r.h - y < ZRLE_TILE ? r.h - y : ZRLE_TILE};

		rc = zrle_band(e, out, pc, src, b, level);
		if (rc == 0)
			(*nrects)++;
	}
	if (e->tiles.cap > ZRLE_KEEP_SCRATCH)
		buf_fini(&e->tiles);
	return rc;
}

static void zrle_free(struct rfb_encoder *base)
{
	struct zrle_enc *e = (struct zrle_enc *)base;

	rfb_zstream_fini(&e->z);
	buf_fini(&e->tiles);
	free(e);
}

static const struct rfb_encoder_ops zrle_ops = {
	.encoding = RFB_ENC_ZRLE,
	.name = "zrle",
	.encode = zrle_encode,
	.free = zrle_free,
};

struct rfb_encoder *rfb_enc_zrle_new(void)
{
	struct zrle_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &zrle_ops;
	buf_init(&e->tiles);
	rfb_trle_init(&e->t, ZRLE_TILE, false);
	return &e->base;
}
