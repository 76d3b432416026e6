/* Encoders: one instance per client and encoding, so zlib streams and
 * other state persist across updates as the RFB encodings require.
 *
 * An encoder reads pixels from a view of the shadow (XRGB8888, host
 * order) and appends complete rectangles (rect header included) in the
 * client's pixel format to `out`. It may split one input rect into
 * several (e.g. Tight's size limits); it reports how many rect headers it
 * wrote. Encoders never touch sockets or the loop, so they can run on a
 * worker thread; one instance is never used by two threads at once. */
#ifndef VFBD_NET_ENCODER_H
#define VFBD_NET_ENCODER_H

#include <stdint.h>

#include "fb/fb.h"
#include "net/pixfmt.h"
#include "vfbd/base/buf.h"

/* Client preferences from the -256..-247 (compression) and -32..-23
 * (JPEG quality) pseudo-encodings; -1 when the client sent none. */
struct rfb_enc_prefs {
	int compress_level; /* 0..9 or -1 */
	int quality_level;  /* 0..9 or -1: -1 means lossless only */
};

struct rfb_encoder;

struct rfb_encoder_ops {
	int32_t encoding; /* the RFB encoding number */
	const char *name;
	/* Appends rect `r` (inside `src`) encoded for `pc` to `out`;
	 * adds the number of rect headers written to *nrects. 0 or
	 * -errno (-ENOMEM, -EINVAL for a rect outside the view). */
	int (*encode)(struct rfb_encoder *e, struct buf *out,
		      const struct rfb_pixconv *pc, const struct fb_view *src,
		      struct fb_rect r, const struct rfb_enc_prefs *prefs,
		      unsigned *nrects);
	void (*free)(struct rfb_encoder *e);
};

struct rfb_encoder {
	const struct rfb_encoder_ops *ops;
};

/* Constructors; NULL on out of memory. */
struct rfb_encoder *rfb_enc_raw_new(void);
struct rfb_encoder *rfb_enc_rre_new(void);
struct rfb_encoder *rfb_enc_hextile_new(void);
struct rfb_encoder *rfb_enc_zlib_new(void);
struct rfb_encoder *rfb_enc_zrle_new(void);
struct rfb_encoder *rfb_enc_trle_new(void);
struct rfb_encoder *rfb_enc_tight_new(void);

/* Creates the encoder for an RFB encoding number, or NULL when vfbd has
 * none (or out of memory). */
struct rfb_encoder *rfb_encoder_new(int32_t encoding);

static inline void rfb_encoder_free(struct rfb_encoder *e)
{
	if (e)
		e->ops->free(e);
}

#endif
