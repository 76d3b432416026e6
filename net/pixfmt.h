/* RFB pixel formats: validation of what a client asks for, wire encoding,
 * and conversion from vfbd's XRGB8888 to the client's format. */
#ifndef VFBD_NET_PIXFMT_H
#define VFBD_NET_PIXFMT_H

#include <stddef.h>
#include <stdint.h>

#define RFB_PIXFMT_LEN 16

struct rfb_pixfmt {
	uint8_t bpp;   /* 8, 16 or 32 */
	uint8_t depth; /* 1..bpp */
	uint8_t big_endian;
	uint8_t true_colour;
	uint16_t red_max, green_max, blue_max; /* 2^n - 1, n = 1..8 */
	uint8_t red_shift, green_shift, blue_shift;
};

/* What vfbd announces in ServerInit: 32 bpp, depth 24, little-endian,
 * red at bit 16, green at 8, blue at 0 (XRGB8888 in memory). */
extern const struct rfb_pixfmt rfb_pixfmt_server;

/* Reads the 16-byte PIXEL_FORMAT wire structure (padding ignored). The
 * big-endian and true-colour flags are normalised to 0 or 1 (the wire
 * says any non-zero value means true). */
void rfb_pixfmt_read(struct rfb_pixfmt *pf, const uint8_t in[RFB_PIXFMT_LEN]);

/* Writes the 16-byte wire structure, padding zeroed. */
void rfb_pixfmt_write(const struct rfb_pixfmt *pf, uint8_t out[RFB_PIXFMT_LEN]);

/* Returns 0 if vfbd can serve `pf`, else -EINVAL with a short reason
 * ("colour-map (non-true-colour) pixel formats are not supported",
 * "bits-per-pixel 24 not supported (8, 16 or 32)", "red-max 254 is not
 * 2^n-1", "channels overlap", ...). The reason is a string literal or a
 * thread-local buffer valid until the next call on the same thread.
 * Rules: bpp in {8,16,32}; 1 <= depth <= bpp; true colour; every max is
 * 2^n - 1 with 1 <= n <= 8; each channel fits in bpp; channels do not
 * overlap. `reason` may be NULL. */
int rfb_pixfmt_check(const struct rfb_pixfmt *pf, const char **reason);

/* Bytes per pixel on the wire (1, 2 or 4). */
static inline size_t rfb_pixfmt_bytes(const struct rfb_pixfmt *pf)
{
	return pf->bpp / 8u;
}

/* A ready-to-use converter for one checked format: per-channel lookup
 * tables so a row converts with a few loads per pixel.
 *
 * Scaling: an 8-bit source channel c8 becomes
 *     v = (c8 * max + 127) / 255      (integer division)
 * i.e. c8 * max / 255 rounded to the nearest integer (there are no ties,
 * 255 being odd), placed at `shift`; bits outside the three channels are
 * zero. Maxima of 255 pass c8 through unchanged, so a client that maps
 * back with round(v * 255 / max) recovers c8 exactly for max 255 and to
 * within 255 / (2 * max) + 1/2 otherwise. Example, RGB565: 0x808080 -> 0x8410,
 * 0x7f7f7f -> 0x7bef. The identity case (the server's own format on a
 * little-endian host) copies the source bytes, padding byte X included. */
struct rfb_pixconv {
	struct rfb_pixfmt pf;
	int identity; /* the format is the server's own: plain copy */
	uint32_t red[256], green[256], blue[256];
};

/* Prepares `pc` for `pf`, which must have passed rfb_pixfmt_check(). */
void rfb_pixconv_init(struct rfb_pixconv *pc, const struct rfb_pixfmt *pf);

/* Converts `n` XRGB8888 pixels to the client's format: writes exactly
 * n * rfb_pixfmt_bytes() bytes to `dst` (no alignment needed). */
void rfb_pixconv_row(const struct rfb_pixconv *pc, const uint32_t *src,
		     size_t n, uint8_t *dst);

#endif
