/* Client pixel values, PIXEL/CPIXEL writers and the TRLE tile coder
 * shared by TRLE (15) and ZRLE (16). See net/enc-trle.h. */
#include "net/enc-trle.h"
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"
#include "vfbd/base/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t channel_mask(const struct rfb_pixfmt *pf)
{
	return (uint32_t)pf->red_max << pf->red_shift |
	       (uint32_t)pf->green_max << pf->green_shift |
	       (uint32_t)pf->blue_max << pf->blue_shift;
}

void rfb_pixout_pixel(struct rfb_pixout *o, const struct rfb_pixfmt *pf)
{
	o->bytes = (uint8_t)(pf->bpp / 8);
	o->shift = 0;
	o->big_endian = pf->big_endian && pf->bpp > 8;
}

void rfb_pixout_cpixel(struct rfb_pixout *o, const struct rfb_pixfmt *pf)
{
	uint32_t mask = channel_mask(pf);

	rfb_pixout_pixel(o, pf);
	if (pf->bpp != 32 || pf->depth > 24 || !pf->true_colour)
		return;
	/* The byte left out is one no channel touches. When both the top
	 * and the bottom byte are free, the spec does not say which goes;
	 * decoders (TigerVNC, libvncclient) then expect the first three
	 * bytes in the client's byte order, so the last one is dropped. */
	if ((mask & 0xff000000u) == 0 &&
	    (!pf->big_endian || (mask & 0xffu) != 0)) {
		o->bytes = 3;
	} else if ((mask & 0xffu) == 0) {
		o->bytes = 3;
		o->shift = 8;
	}
}

void rfb_enc_load_row(const struct rfb_pixconv *pc, const uint32_t *src,
		      size_t n, uint32_t *vals)
{
	const struct rfb_pixfmt *pf = &pc->pf;
	uint32_t mask = channel_mask(pf);
	uint8_t *b = (uint8_t *)vals;
	size_t i = n;

	rfb_pixconv_row(pc, src, n, b);
	/* Widened in place from the end: value i goes to bytes 4i..4i+3,
	 * which only overlap the wire bytes of pixels after i, already
	 * read. */
	switch (pf->bpp * 2 + (pf->big_endian != 0)) {
	case 8 * 2:
	case 8 * 2 + 1:
		while (i--)
			vals[i] = b[i] & mask;
		break;
	case 16 * 2:
		while (i--)
			vals[i] = get_le16(b + 2 * i) & mask;
		break;
	case 16 * 2 + 1:
		while (i--)
			vals[i] = get_be16(b + 2 * i) & mask;
		break;
	case 32 * 2:
		while (i--)
			vals[i] = get_le32(b + 4 * i) & mask;
		break;
	default:
		while (i--)
			vals[i] = get_be32(b + 4 * i) & mask;
		break;
	}
}

void rfb_trle_init(struct rfb_trle *t, unsigned tile, bool may_reuse)
{
	t->tile = tile;
	t->may_reuse = may_reuse;
	t->prev_n = 0;
}

/* Bytes of a run length: 255 for each full 255 of (length - 1), then the
 * rest. */
static inline size_t run_bytes(unsigned run)
{
	return (run - 1) / 255 + 1;
}

static inline uint8_t *put_run(uint8_t *p, unsigned run)
{
	unsigned left = run - 1;

	for (; left >= 255; left -= 255)
		*p++ = 255;
	*p++ = (uint8_t)left;
	return p;
}

static inline unsigned slot_of(uint32_t v)
{
	return (v * 2654435761u) >> 24;
}

/* Index of `v` in the tile's palette, adding it if new; -1 once the
 * palette would outgrow RFB_TRLE_MAX_PALETTE. The hash never fills: at
 * most 127 of its 256 slots are used. */
static int palette_index(struct rfb_trle *t, unsigned *n, uint32_t v)
{
	unsigned s = slot_of(v);

	for (;; s = (s + 1) & 255) {
		unsigned k = t->slot[s];

		if (k == 0)
			break;
		if (t->pal[k - 1] == v)
			return (int)k - 1;
	}
	if (*n == RFB_TRLE_MAX_PALETTE)
		return -1;
	t->pal[*n] = v;
	t->slot[s] = (uint8_t)(*n + 1);
	return (int)(*n)++;
}

static unsigned index_bits(unsigned palette_size)
{
	return palette_size > 4 ? 4 : palette_size > 2 ? 2 : 1;
}

static size_t packed_bytes(unsigned w, unsigned h, unsigned palette_size)
{
	return (size_t)h * ((w * index_bits(palette_size) + 7) / 8);
}

static uint8_t *put_packed(uint8_t *p, const uint8_t *idx, const uint8_t *map,
			   unsigned w, unsigned h, unsigned palette_size)
{
	unsigned bits = index_bits(palette_size);

	for (unsigned y = 0; y < h; y++) {
		unsigned acc = 0, used = 0;

		for (unsigned x = 0; x < w; x++) {
			acc = acc << bits | map[*idx++];
			used += bits;
			if (used == 8) {
				*p++ = (uint8_t)acc;
				acc = used = 0;
			}
		}
		if (used)
			*p++ = (uint8_t)(acc << (8 - used));
	}
	return p;
}

static uint8_t *put_palette_runs(uint8_t *p, const uint8_t *idx,
				 const uint8_t *map, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;

		while (j < n && idx[j] == idx[i])
			j++;
		if (j - i == 1) {
			*p++ = map[idx[i]];
		} else {
			*p++ = (uint8_t)(map[idx[i]] | 0x80);
			p = put_run(p, j - i);
		}
		i = j;
	}
	return p;
}

enum tile_kind {
	TILE_RAW,
	TILE_SOLID,
	TILE_PACKED,
	TILE_PALETTE_RLE,
	TILE_PLAIN_RLE,
	TILE_PACKED_REUSE,
	TILE_PALETTE_RLE_REUSE,
};

/* Codes the w x h values in t->px into `p`, which has room for a raw
 * tile (1 + w * h * cpixel bytes); returns the end. */
static uint8_t *trle_tile(struct rfb_trle *t, uint8_t *p, unsigned w,
			  unsigned h)
{
	const unsigned n = w * h;
	const size_t cp = t->cpix.bytes;
	const uint32_t *px = t->px;
	uint8_t *idx = t->idx;
	uint8_t ident[RFB_TRLE_MAX_PALETTE], reuse_map[RFB_TRLE_MAX_PALETTE];
	unsigned npal = 0, run = 1;
	bool pal_ok = true, can_reuse = false;
	size_t plain = 0, prle = 0, best;
	enum tile_kind kind = TILE_RAW;
	uint32_t prev = px[0];
	int cur;

	/* One pass finds the runs and the palette: sizes of every
	 * subencoding follow from the run lengths and the palette size. */
	memset(t->slot, 0, sizeof(t->slot));
	cur = palette_index(t, &npal, px[0]);
	idx[0] = (uint8_t)cur;
	for (unsigned i = 1; i < n; i++) {
		uint32_t v = px[i];

		if (v == prev) {
			run++;
			idx[i] = (uint8_t)cur;
			continue;
		}
		plain += cp + run_bytes(run);
		prle += run == 1 ? 1 : 1 + run_bytes(run);
		run = 1;
		prev = v;
		if (pal_ok) {
			cur = palette_index(t, &npal, v);
			pal_ok = cur >= 0;
		}
		idx[i] = (uint8_t)cur;
	}
	plain += cp + run_bytes(run);
	prle += run == 1 ? 1 : 1 + run_bytes(run);

	best = 1 + (size_t)n * cp;
	if (pal_ok && npal == 1) {
		best = 1 + cp;
		kind = TILE_SOLID;
		pal_ok = false;
	}
	if (1 + plain < best) {
		best = 1 + plain;
		kind = TILE_PLAIN_RLE;
	}
	if (pal_ok) {
		size_t pal_bytes = npal * cp;

		if (npal <= 16 &&
		    1 + pal_bytes + packed_bytes(w, h, npal) < best) {
			best = 1 + pal_bytes + packed_bytes(w, h, npal);
			kind = TILE_PACKED;
		}
		if (1 + pal_bytes + prle < best) {
			best = 1 + pal_bytes + prle;
			kind = TILE_PALETTE_RLE;
		}
		/* The previous tile's palette serves when it holds every
		 * colour of this one; only small palettes are kept, so the
		 * search stays at most 16 x 16 compares. */
		if (t->may_reuse && npal <= t->prev_n) {
			can_reuse = true;
			for (unsigned k = 0; k < npal && can_reuse; k++) {
				unsigned j = 0;

				while (j < t->prev_n &&
				       t->prev_pal[j] != t->pal[k])
					j++;
				reuse_map[k] = (uint8_t)j;
				can_reuse = j < t->prev_n;
			}
		}
		if (can_reuse) {
			if (1 + packed_bytes(w, h, t->prev_n) < best) {
				best = 1 + packed_bytes(w, h, t->prev_n);
				kind = TILE_PACKED_REUSE;
			}
			if (1 + prle < best) {
				best = 1 + prle;
				kind = TILE_PALETTE_RLE_REUSE;
			}
		}
	}

	for (unsigned k = 0; k < npal && pal_ok; k++)
		ident[k] = (uint8_t)k;

	switch (kind) {
	case TILE_SOLID:
		*p++ = RFB_TRLE_SOLID;
		p = rfb_pixout_put(&t->cpix, p, px[0]);
		break;
	case TILE_RAW:
		*p++ = RFB_TRLE_RAW;
		for (unsigned i = 0; i < n; i++)
			p = rfb_pixout_put(&t->cpix, p, px[i]);
		break;
	case TILE_PLAIN_RLE:
		*p++ = RFB_TRLE_RLE;
		for (unsigned i = 0; i < n;) {
			unsigned j = i + 1;

			while (j < n && px[j] == px[i])
				j++;
			p = rfb_pixout_put(&t->cpix, p, px[i]);
			p = put_run(p, j - i);
			i = j;
		}
		break;
	case TILE_PACKED:
	case TILE_PALETTE_RLE:
		*p++ = (uint8_t)(kind == TILE_PACKED ? npal
						     : RFB_TRLE_RLE + npal);
		for (unsigned k = 0; k < npal; k++)
			p = rfb_pixout_put(&t->cpix, p, t->pal[k]);
		if (kind == TILE_PACKED)
			p = put_packed(p, idx, ident, w, h, npal);
		else
			p = put_palette_runs(p, idx, ident, n);
		break;
	case TILE_PACKED_REUSE:
		*p++ = RFB_TRLE_PACKED_REUSE;
		p = put_packed(p, idx, reuse_map, w, h, t->prev_n);
		break;
	case TILE_PALETTE_RLE_REUSE:
		*p++ = RFB_TRLE_PALETTE_RLE_REUSE;
		p = put_palette_runs(p, idx, reuse_map, n);
		break;
	}

	/* Reuse is offered only right after a tile that had a palette of
	 * two or more colours: decoders disagree on whether solid, raw or
	 * plain RLE tiles in between keep or replace it. */
	if (kind == TILE_PACKED || kind == TILE_PALETTE_RLE) {
		t->prev_n = npal <= 16 ? npal : 0;
		memcpy(t->prev_pal, t->pal, t->prev_n * sizeof(uint32_t));
	} else if (kind != TILE_PACKED_REUSE &&
		   kind != TILE_PALETTE_RLE_REUSE) {
		t->prev_n = 0;
	}
	return p;
}

int rfb_trle_rect(struct rfb_trle *t, struct buf *out,
		  const struct rfb_pixconv *pc, const struct fb_view *src,
		  struct fb_rect r)
{
	rfb_pixout_cpixel(&t->cpix, &pc->pf);
	/* A palette never crosses rects: each rect may go to a client
	 * that starts decoding afresh. */
	t->prev_n = 0;
	for (uint32_t ty = 0; ty < r.h; ty += t->tile) {
		unsigned th = r.h - ty < t->tile ? r.h - ty : t->tile;

		for (uint32_t tx = 0; tx < r.w; tx += t->tile) {
			unsigned tw = r.w - tx < t->tile ? r.w - tx : t->tile;
			size_t room = 1 + (size_t)tw * th * t->cpix.bytes;
			uint8_t *end;

			for (unsigned y = 0; y < th; y++)
				rfb_enc_load_row(pc,
						 rfb_enc_row(src, r.x + tx,
							     r.y + ty + y),
						 tw, t->px + y * tw);
			if (buf_reserve(out, room))
				return -ENOMEM;
			end = trle_tile(t, out->data + out->len, tw, th);
			out->len = (size_t)(end - out->data);
		}
	}
	return 0;
}

/* TRLE (15): the tiles straight after the rect header, 16x16, with
 * palette reuse. */
struct trle_enc {
	struct rfb_encoder base;
	struct rfb_trle t;
};

static int trle_encode(struct rfb_encoder *base, struct buf *out,
		       const struct rfb_pixconv *pc, const struct fb_view *src,
		       struct fb_rect r, const struct rfb_enc_prefs *prefs,
		       unsigned *nrects)
{
	struct trle_enc *e = (struct trle_enc *)base;
	size_t start = out->len;

	if (!rfb_enc_rect_inside(src, r))
		return -EINVAL;
	if (r.w == 0 || r.h == 0)
		return 0;
	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_TRLE) ||
	    rfb_trle_rect(&e->t, out, pc, src, r)) {
		out->len = start;
		return -ENOMEM;
	}
	(*nrects)++;
	return 0;
}

static void trle_free(struct rfb_encoder *base)
{
	free(base);
}

static const struct rfb_encoder_ops trle_ops = {
	.encoding = RFB_ENC_TRLE,
	.name = "trle",
	.encode = trle_encode,
	.free = trle_free,
};

struct rfb_encoder *rfb_enc_trle_new(void)
{
	struct trle_enc *e = malloc(sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &trle_ops;
	rfb_trle_init(&e->t, 16, true);
	return &e->base;
}
