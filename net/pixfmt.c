/* RFB pixel formats: validation, wire encoding and XRGB8888 conversion. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "net/pixfmt.h"
#include "vfbd/base/bytes.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RFB_HOST_LITTLE_ENDIAN 1
#else
#define RFB_HOST_LITTLE_ENDIAN 0
#endif

const struct rfb_pixfmt rfb_pixfmt_server = {
	.bpp = 32,
	.depth = 24,
	.big_endian = 0,
	.true_colour = 1,
	.red_max = 255,
	.green_max = 255,
	.blue_max = 255,
	.red_shift = 16,
	.green_shift = 8,
	.blue_shift = 0,
};

void rfb_pixfmt_read(struct rfb_pixfmt *pf, const uint8_t in[RFB_PIXFMT_LEN])
{
	pf->bpp = in[0];
	pf->depth = in[1];
	pf->big_endian = in[2] != 0;
	pf->true_colour = in[3] != 0;
	pf->red_max = get_be16(in + 4);
	pf->green_max = get_be16(in + 6);
	pf->blue_max = get_be16(in + 8);
	pf->red_shift = in[10];
	pf->green_shift = in[11];
	pf->blue_shift = in[12];
}

void rfb_pixfmt_write(const struct rfb_pixfmt *pf, uint8_t out[RFB_PIXFMT_LEN])
{
	/* The three padding bytes must not carry stale memory to a peer. */
	memset(out, 0, RFB_PIXFMT_LEN);
	out[0] = pf->bpp;
	out[1] = pf->depth;
	out[2] = pf->big_endian != 0;
	out[3] = pf->true_colour != 0;
	put_be16(out + 4, pf->red_max);
	put_be16(out + 6, pf->green_max);
	put_be16(out + 8, pf->blue_max);
	out[10] = pf->red_shift;
	out[11] = pf->green_shift;
	out[12] = pf->blue_shift;
}

/* Formatted reasons need storage that outlives the call without an
 * allocation; per thread, so that checks on two threads cannot garble
 * each other's text. */
static _Thread_local char rfb_pixfmt_reason[96];

__attribute__((format(printf, 2, 3))) static int
rfb_pixfmt_fail(const char **reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rfb_pixfmt_reason, sizeof(rfb_pixfmt_reason), fmt, ap);
	va_end(ap);
	if (reason)
		*reason = rfb_pixfmt_reason;
	return -EINVAL;
}

int rfb_pixfmt_check(const struct rfb_pixfmt *pf, const char **reason)
{
	const struct {
		const char *name;
		unsigned max, shift;
	} ch[3] = {
		{"red", pf->red_max, pf->red_shift},
		{"green", pf->green_max, pf->green_shift},
		{"blue", pf->blue_max, pf->blue_shift},
	};
	uint64_t mask[3];

	if (pf->bpp != 8 && pf->bpp != 16 && pf->bpp != 32)
		return rfb_pixfmt_fail(reason,
				       "bits-per-pixel %u not supported "
				       "(8, 16 or 32)",
				       pf->bpp);
	if (pf->depth == 0)
		return rfb_pixfmt_fail(reason, "depth 0 invalid");
	if (pf->depth > pf->bpp)
		return rfb_pixfmt_fail(reason,
				       "depth %u exceeds bits-per-pixel %u",
				       pf->depth, pf->bpp);
	if (!pf->true_colour) {
		if (reason)
			*reason = "colour-map (non-true-colour) pixel formats "
				  "are not supported";
		return -EINVAL;
	}

	for (int i = 0; i < 3; i++) {
		unsigned bits;

		/* 2^n - 1 is exactly the numbers whose successor shares no
		 * bit with them. */
		if (ch[i].max == 0 || (ch[i].max & (ch[i].max + 1)) != 0)
			return rfb_pixfmt_fail(reason, "%s-max %u is not 2^n-1",
					       ch[i].name, ch[i].max);
		if (ch[i].max > 255)
			return rfb_pixfmt_fail(reason,
					       "%s-max %u has more than 8 bits",
					       ch[i].name, ch[i].max);
		bits = (unsigned)__builtin_popcount(ch[i].max);
		if (ch[i].shift + bits > pf->bpp)
			return rfb_pixfmt_fail(reason,
					       "%s channel at bits %u..%u "
					       "exceeds bits-per-pixel %u",
					       ch[i].name, ch[i].shift,
					       ch[i].shift + bits - 1, pf->bpp);
		mask[i] = (uint64_t)ch[i].max << ch[i].shift;
		for (int j = 0; j < i; j++)
			if (mask[i] & mask[j])
				return rfb_pixfmt_fail(
					reason, "channels overlap (%s and %s)",
					ch[j].name, ch[i].name);
	}
	return 0;
}

/* See the header for why this rounding: it is part of what clients (and
 * the tests comparing decoded pixels) rely on. */
static void rfb_pixconv_table(uint32_t table[256], unsigned max, unsigned shift)
{
	for (unsigned c = 0; c < 256; c++) {
		uint32_t v = (c * max + 127) / 255;

		/* Only a format that skipped rfb_pixfmt_check() can get
		 * here with a shift of 32 or more; never shift by that. */
		table[c] = shift < 32 ? v << shift : 0;
	}
}

void rfb_pixconv_init(struct rfb_pixconv *pc, const struct rfb_pixfmt *pf)
{
	assert(rfb_pixfmt_check(pf, NULL) == 0);
	memset(pc, 0, sizeof(*pc));
	pc->pf = *pf;
	/* Depth does not change the bytes on the wire, so it is left out. */
	pc->identity = RFB_HOST_LITTLE_ENDIAN && pf->bpp == 32 &&
		       !pf->big_endian && pf->true_colour &&
		       pf->red_max == 255 && pf->green_max == 255 &&
		       pf->blue_max == 255 && pf->red_shift == 16 &&
		       pf->green_shift == 8 && pf->blue_shift == 0;
	rfb_pixconv_table(pc->red, pf->red_max, pf->red_shift);
	rfb_pixconv_table(pc->green, pf->green_max, pf->green_shift);
	rfb_pixconv_table(pc->blue, pf->blue_max, pf->blue_shift);
}

static inline uint32_t rfb_pixconv_one(const struct rfb_pixconv *pc,
				       uint32_t xrgb)
{
	return pc->red[(xrgb >> 16) & 0xff] | pc->green[(xrgb >> 8) & 0xff] |
	       pc->blue[xrgb & 0xff];
}

void rfb_pixconv_row(const struct rfb_pixconv *pc, const uint32_t *src,
		     size_t n, uint8_t *dst)
{
	size_t i;

	if (pc->identity) {
		memcpy(dst, src, n * 4);
		return;
	}
	/* One loop per layout keeps the per-pixel work branch-free. */
	switch (pc->pf.bpp * 2 + (pc->pf.big_endian != 0)) {
	case 8 * 2:
	case 8 * 2 + 1:
		for (i = 0; i < n; i++)
			dst[i] = (uint8_t)rfb_pixconv_one(pc, src[i]);
		break;
	case 16 * 2:
		for (i = 0; i < n; i++)
			put_le16(dst + 2 * i,
				 (uint16_t)rfb_pixconv_one(pc, src[i]));
		break;
	case 16 * 2 + 1:
		for (i = 0; i < n; i++)
			put_be16(dst + 2 * i,
				 (uint16_t)rfb_pixconv_one(pc, src[i]));
		break;
	case 32 * 2:
		for (i = 0; i < n; i++)
			put_le32(dst + 4 * i, rfb_pixconv_one(pc, src[i]));
		break;
	case 32 * 2 + 1:
		for (i = 0; i < n; i++)
			put_be32(dst + 4 * i, rfb_pixconv_one(pc, src[i]));
		break;
	default:
		assert(!"rfb_pixconv_row on an unchecked format");
		break;
	}
}
