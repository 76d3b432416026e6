/* RRE (2, RFC 6143 7.7.3): a background colour and a list of one-colour
 * subrectangles. Subrects are found row by row: each row's runs of
 * non-background colour extend the rects of the row above that have the
 * same left edge, width and colour, and open new ones otherwise, so one
 * pass over the pixels does it, in O(width) memory. When the result
 * would be larger than Raw, the rect goes out as Raw instead (which every
 * client must accept). */
#include "net/enc-trle.h"
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"
#include "vfbd/base/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Colour histogram for picking the background. Once it holds this many
 * colours, new ones are not counted: a rect that colourful ends up Raw
 * anyway, and the background is only a size heuristic. */
#define RRE_HIST_SLOTS 1024
#define RRE_HIST_MAX   768

struct rre_span {
	uint32_t x, w, colour, y0;
};

struct rre_hist_slot {
	uint32_t colour;
	uint32_t used;
	uint64_t count;
};

struct rre_enc {
	struct rfb_encoder base;
	uint32_t *vals; /* one row of client pixel values */
	struct rre_span *open, *next, *runs;
	size_t cap; /* entries in each array above */
	struct rre_hist_slot hist[RRE_HIST_SLOTS];
};

static int rre_reserve(struct rre_enc *e, size_t w)
{
	void *p[4];

	if (w <= e->cap)
		return 0;
	p[0] = realloc(e->vals, w * sizeof(*e->vals));
	if (p[0])
		e->vals = p[0];
	p[1] = realloc(e->open, w * sizeof(*e->open));
	if (p[1])
		e->open = p[1];
	p[2] = realloc(e->next, w * sizeof(*e->next));
	if (p[2])
		e->next = p[2];
	p[3] = realloc(e->runs, w * sizeof(*e->runs));
	if (p[3])
		e->runs = p[3];
	if (!p[0] || !p[1] || !p[2] || !p[3])
		return -ENOMEM;
	e->cap = w;
	return 0;
}

static void hist_add(struct rre_enc *e, unsigned *n, uint32_t c, uint32_t k)
{
	unsigned s = (c * 2654435761u) >> 22;

	for (;; s = (s + 1) & (RRE_HIST_SLOTS - 1)) {
		struct rre_hist_slot *h = &e->hist[s];

		if (!h->used) {
			if (*n == RRE_HIST_MAX)
				return;
			h->used = 1;
			h->colour = c;
			h->count = k;
			++*n;
			return;
		}
		if (h->colour == c) {
			h->count += k;
			return;
		}
	}
}

/* The most common client colour of the rect. */
static uint32_t background(struct rre_enc *e, const struct rfb_pixconv *pc,
			   const struct fb_view *src, struct fb_rect r)
{
	unsigned n = 0;
	const struct rre_hist_slot *best = NULL;

	memset(e->hist, 0, sizeof(e->hist));
	for (uint32_t y = 0; y < r.h; y++) {
		rfb_enc_load_row(pc, rfb_enc_row(src, r.x, r.y + y), r.w,
				 e->vals);
		for (uint32_t x = 0; x < r.w;) {
			uint32_t x2 = x + 1;

			while (x2 < r.w && e->vals[x2] == e->vals[x])
				x2++;
			hist_add(e, &n, e->vals[x], x2 - x);
			x = x2;
		}
	}
	for (unsigned s = 0; s < RRE_HIST_SLOTS; s++)
		if (e->hist[s].used &&
		    (!best || e->hist[s].count > best->count))
			best = &e->hist[s];
	return best->colour;
}

static int put_subrect(struct buf *out, const struct rfb_pixout *pix,
		       const struct rre_span *s, uint32_t y_end)
{
	uint8_t *p;

	if (buf_reserve(out, 4 + 8))
		return -ENOMEM;
	p = rfb_pixout_put(pix, out->data + out->len, s->colour);
	put_be16(p, (uint16_t)s->x);
	put_be16(p + 2, (uint16_t)s->y0);
	put_be16(p + 4, (uint16_t)s->w);
	put_be16(p + 6, (uint16_t)(y_end - s->y0));
	out->len = (size_t)(p + 8 - out->data);
	return 0;
}

/* Appends the subrects of `r` after the header at `count_at`; returns the
 * number written, -ENOMEM, or -E2BIG when `out` grows past `limit`. */
static long rre_subrects(struct rre_enc *e, struct buf *out,
			 const struct rfb_pixconv *pc,
			 const struct rfb_pixout *pix,
			 const struct fb_view *src, struct fb_rect r,
			 uint32_t bg, size_t limit)
{
	size_t nopen = 0;
	long ns = 0;

	for (uint32_t y = 0; y <= r.h; y++) {
		size_t nruns = 0, nnext = 0, i = 0, j = 0;
		struct rre_span *t;

		/* The row past the end has no runs: it closes them all. */
		if (y < r.h) {
			rfb_enc_load_row(pc, rfb_enc_row(src, r.x, r.y + y),
					 r.w, e->vals);
			for (uint32_t x = 0; x < r.w;) {
				uint32_t c = e->vals[x], x2 = x + 1;

				while (x2 < r.w && e->vals[x2] == c)
					x2++;
				if (c != bg)
					e->runs[nruns++] = (struct rre_span){
						x, x2 - x, c, y};
				x = x2;
			}
		}
		/* Both lists are sorted by x and their spans are disjoint. */
		while (i < nopen || j < nruns) {
			const struct rre_span *o = &e->open[i];
			const struct rre_span *n = &e->runs[j];

			if (i < nopen && j < nruns && o->x == n->x &&
			    o->w == n->w && o->colour == n->colour) {
				e->next[nnext++] = *o;
				i++;
				j++;
			} else if (i < nopen && (j == nruns || o->x <= n->x)) {
				if (put_subrect(out, pix, o, y))
					return -ENOMEM;
				ns++;
				i++;
			} else {
				e->next[nnext++] = *n;
				j++;
			}
		}
		if (out->len > limit)
			return -E2BIG;
		t = e->open;
		e->open = e->next;
		e->next = t;
		nopen = nnext;
	}
	return ns;
}

static int rre_encode(struct rfb_encoder *base, struct buf *out,
		      const struct rfb_pixconv *pc, const struct fb_view *src,
		      struct fb_rect r, const struct rfb_enc_prefs *prefs,
		      unsigned *nrects)
{
	struct rre_enc *e = (struct rre_enc *)base;
	struct rfb_pixout pix;
	size_t start = out->len, count_at, raw;
	uint32_t bg;
	uint8_t *p;
	long ns;

	if (!rfb_enc_rect_inside(src, r))
		return -EINVAL;
	if (r.w == 0 || r.h == 0)
		return 0;
	if (rre_reserve(e, r.w))
		return -ENOMEM;
	rfb_pixout_pixel(&pix, &pc->pf);
	raw = (size_t)r.w * r.h * pix.bytes;
	bg = background(e, pc, src, r);

	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_RRE) ||
	    buf_reserve(out, 4 + 4))
		return -ENOMEM;
	count_at = out->len;
	p = rfb_pixout_put(&pix, out->data + count_at + 4, bg);
	out->len = (size_t)(p - out->data);
	ns = rre_subrects(e, out, pc, &pix, src, r, bg, start + 12 + raw);
	if (ns == -E2BIG) {
		out->len = start;
		if (rfb_write_raw_rect(out, pc, src, r))
			return -ENOMEM;
	} else if (ns < 0) {
		out->len = start;
		return (int)ns;
	} else {
		put_be32(out->data + count_at, (uint32_t)ns);
	}
	(*nrects)++;
	return 0;
}

static void rre_free(struct rfb_encoder *base)
{
	struct rre_enc *e = (struct rre_enc *)base;

	free(e->vals);
	free(e->open);
	free(e->next);
	free(e->runs);
	free(e);
}

static const struct rfb_encoder_ops rre_ops = {
	.encoding = RFB_ENC_RRE,
	.name = "rre",
	.encode = rre_encode,
	.free = rre_free,
};

struct rfb_encoder *rfb_enc_rre_new(void)
{
	struct rre_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &rre_ops;
	return &e->base;
}
