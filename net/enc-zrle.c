/* ZRLE (16, RFC 6143 7.7.6): TRLE's tile coding with 64x64 tiles and no
 * palette reuse, compressed by one deflate stream kept for the whole
 * connection; each rect is a u32 length and the stream's bytes up to a
 * Z_SYNC_FLUSH.
 *
 * A rect is sent as bands of one tile row (64 pixel rows), so that the
 * scratch buffer the tiles are coded into stays small. Every band goes
 * out as ZRLE, however little its tiles compress: at 32 bpp all-raw
 * tiles still save the padding byte of each pixel, real pictures leave
 * deflate something to squeeze, and only pure noise at 8 or 16 bpp comes
 * out a few bytes larger than Raw, which is not worth a second path.
 *
 * The one decoder with a fixed output buffer is libvncclient (0.9.14,
 * libvncclient/zrle.c, HandleZRLE): it inflates a whole rect into its
 * raw_buffer, sized at least rw * rh * (REALBPP / 8) * 2 bytes, and gives
 * up only when inflate fills that with input left over. REALBPP / 8 is
 * 1 at 8 bpp, 2 at 16 bpp and 3 or 4 at 32 bpp (15 bpp, which would make
 * it 1, is picked only when the server's own format has a green max
 * under 32: vfbd's is 255, net/pixfmt.c). A tile is at most one
 * subencoding byte plus its raw CPIXELs, so a band's tile data is at
 * most w * h * (cpixel + 1) bytes, which always fits. TigerVNC and
 * gtk-vnc inflate as they decode, with no such buffer. So nothing is
 * split further and nothing falls back to Raw. */
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

	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_ZRLE) ||
	    buf_put_be32(out, 0))
		return -ENOMEM;
	len_at = out->len - 4;
	/* Tiles that found no runs or palettes hold pixels too varied for
	 * deflate's string matching to pay for its time: Huffman coding
	 * alone gets nearly the same bytes at a fraction of the CPU. */
	rc = rfb_zstream_begin(&e->z, out, level,
			       e->tiles.len * 8 >= (size_t)r.w * r.h *
							   e->t.cpix.bytes * 7
				       ? Z_HUFFMAN_ONLY
				       : Z_DEFAULT_STRATEGY);
	if (rc == 0)
		rc = rfb_zstream_write(&e->z, out, e->tiles.data, e->tiles.len);
	return rfb_zstream_end_rect(&e->z, out, start, len_at, rc);
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
