/* Internal to the pixel encoders in net/enc-*.c (not a public interface):
 *
 *  - client pixel values: a row of the shadow converted to the client's
 *    format with rfb_pixconv_row() and read back as one uint32_t per
 *    pixel, so that palettes and runs compare what the client will see
 *    (two shadow colours that a 3-bit channel merges are one colour);
 *  - writers for PIXELs and the 3-byte CPIXELs of TRLE and ZRLE;
 *  - the TRLE tile coder (RFC 6143 7.7.5), shared by TRLE (16x16 tiles,
 *    palette reuse) and ZRLE (64x64 tiles inside a zlib stream, 7.7.6);
 *  - the persistent deflate stream of Zlib and ZRLE (net/enc-zlib.c). */
#ifndef VFBD_NET_ENC_TRLE_H
#define VFBD_NET_ENC_TRLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "fb/fb.h"
#include "net/pixfmt.h"
#include "vfbd/base/buf.h"

/* How a client pixel value goes on the wire: the low `bytes` bytes of
 * (value >> shift), in the client's byte order. A PIXEL has shift 0 and
 * bpp / 8 bytes; a 3-byte CPIXEL drops the byte no channel uses (shift 8
 * when the channels sit in the most significant three bytes). */
struct rfb_pixout {
	uint8_t bytes; /* 1..4 */
	uint8_t shift; /* 0 or 8 */
	bool big_endian;
};

/* PIXEL layout of `pf` (Raw, RRE, Hextile). */
void rfb_pixout_pixel(struct rfb_pixout *o, const struct rfb_pixfmt *pf);

/* CPIXEL layout of `pf` (TRLE, ZRLE): 3 bytes when bpp is 32, depth at
 * most 24 and every channel bit lies in the least or the most significant
 * three bytes (if both, the three sent first in the client's byte order);
 * otherwise the same as a PIXEL. */
void rfb_pixout_cpixel(struct rfb_pixout *o, const struct rfb_pixfmt *pf);

static inline uint8_t *rfb_pixout_put(const struct rfb_pixout *o, uint8_t *p,
				      uint32_t v)
{
	v >>= o->shift;
	if (o->big_endian) {
		for (unsigned i = o->bytes; i-- > 0; v >>= 8)
			p[i] = (uint8_t)v;
	} else {
		for (unsigned i = 0; i < o->bytes; i++, v >>= 8)
			p[i] = (uint8_t)v;
	}
	return p + o->bytes;
}

/* Converts `n` shadow pixels (XRGB8888) to client pixel values: the value
 * rfb_pixconv_row() puts on the wire, read back in the client's byte
 * order, with every bit outside the three channels cleared. */
void rfb_enc_load_row(const struct rfb_pixconv *pc, const uint32_t *src,
		      size_t n, uint32_t *vals);

/* Row `y` of the view, from column `x`. */
static inline const uint32_t *rfb_enc_row(const struct fb_view *v, uint32_t x,
					  uint32_t y)
{
	return (const uint32_t *)(v->data + (size_t)y * v->stride) + x;
}

/* True when `r` lies inside the view (an encoder returns -EINVAL
 * otherwise); an empty rect inside it is fine and encodes to nothing. */
static inline bool rfb_enc_rect_inside(const struct fb_view *v,
				       struct fb_rect r)
{
	return (uint64_t)r.x + r.w <= v->width &&
	       (uint64_t)r.y + r.h <= v->height;
}

/* TRLE subencodings (the ZRLE ones are the same minus 127 and 129). */
#define RFB_TRLE_RAW		   0
#define RFB_TRLE_SOLID		   1
#define RFB_TRLE_PACKED_REUSE	   127
#define RFB_TRLE_RLE		   128 /* alone: plain RLE; + palette size: palette RLE */
#define RFB_TRLE_PALETTE_RLE_REUSE 129

#define RFB_TRLE_MAX_TILE    64
#define RFB_TRLE_MAX_PALETTE 127

/* State of the tile coder: scratch for one tile and the palette the next
 * tile may reuse. Large (about 25 KiB): embed it in a heap object. */
struct rfb_trle {
	struct rfb_pixout cpix;
	unsigned tile;	 /* 16 (TRLE) or 64 (ZRLE) */
	bool may_reuse;	 /* subencodings 127 and 129 (TRLE only) */
	unsigned prev_n; /* size of the reusable palette, 0 for none */
	uint32_t prev_pal[16];
	uint32_t pal[RFB_TRLE_MAX_PALETTE];
	uint8_t slot[256]; /* palette hash: index + 1, 0 for empty */
	uint8_t idx[RFB_TRLE_MAX_TILE * RFB_TRLE_MAX_TILE];
	uint32_t px[RFB_TRLE_MAX_TILE * RFB_TRLE_MAX_TILE];
};

/* Sets the tile size (16 or 64) and whether palettes may be reused. */
void rfb_trle_init(struct rfb_trle *t, unsigned tile, bool may_reuse);

/* Appends the tiles of `r` (which must lie inside `src`), left to right,
 * top to bottom, each with the subencoding that takes the fewest bytes,
 * CPIXELs in the format of `pc`. No rect header and no length: TRLE puts
 * the tiles straight after the header, ZRLE deflates them. 0 or -ENOMEM;
 * on failure `out` may hold a partial rect (the caller rewinds). */
int rfb_trle_rect(struct rfb_trle *t, struct buf *out,
		  const struct rfb_pixconv *pc, const struct fb_view *src,
		  struct fb_rect r);

/* A deflate stream that lives as long as the encoder, as RFB requires of
 * Zlib and ZRLE: the client inflates every rect with one stream. */
struct rfb_zstream {
	z_stream zs;
	bool ready;
	bool broken; /* a failure left the client's inflater behind */
	int level, strategy;
};

/* Starts the stream on first use, or moves it to `level` (0..9, else
 * zlib's default) and `strategy` (Z_DEFAULT_STRATEGY, Z_HUFFMAN_ONLY...):
 * any bytes that produces are appended to `out`, so call it after the
 * rect's length field has been reserved. 0, -ENOMEM or -EIO. Once any
 * call has failed mid-rect the stream is out of step with the client for
 * good, and every later call fails with -EIO. */
int rfb_zstream_begin(struct rfb_zstream *z, struct buf *out, int level,
		      int strategy);

/* Compresses `len` bytes into `out` (output may lag behind the input). */
int rfb_zstream_write(struct rfb_zstream *z, struct buf *out, const void *in,
		      size_t len);

/* Z_SYNC_FLUSH: everything written so far reaches `out`, ending on a byte
 * boundary, so the client can decode the rect without the next one. */
int rfb_zstream_flush(struct rfb_zstream *z, struct buf *out);

/* Ends a rect whose u32 length field sits at `len_at` in `out`, after
 * rfb_zstream_begin/write returned `rc`: on success flushes the stream
 * and fills in the length. On failure (or a length past u32) the rect is
 * cut from `out` back to `start`, and since whatever the stream swallowed
 * never reaches the client, the stream stays broken. Returns 0 or the
 * error. */
int rfb_zstream_end_rect(struct rfb_zstream *z, struct buf *out, size_t start,
			 size_t len_at, int rc);

void rfb_zstream_fini(struct rfb_zstream *z);

#endif
