/* Hextile (5, RFC 6143 7.7.4): 16x16 tiles, each raw, solid background,
 * background plus one-colour subrects, or background plus coloured
 * subrects, whichever is smallest. Background and foreground carry over
 * from tile to tile, so unchanged ones are not repeated. */
#include "net/enc-trle.h"
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HX_RAW		     1
#define HX_BACKGROUND	     2
#define HX_FOREGROUND	     4
#define HX_ANY_SUBRECTS	     8
#define HX_SUBRECTS_COLOURED 16

#define HX_TILE		16
#define HX_MAX_SUBRECTS 255

struct hx_subrect {
	uint32_t colour;
	uint8_t xy, wh;
};

/* What the decoder remembers between tiles of one rect. */
struct hx_state {
	struct rfb_pixout pix;
	bool bg_known, fg_known;
	uint32_t bg, fg;
};

struct hx_colours {
	uint16_t slot[512]; /* index + 1, 0 for empty */
	uint32_t colour[HX_TILE * HX_TILE];
	uint16_t count[HX_TILE * HX_TILE];
	unsigned n;
};

/* Counts the tile's colours; there are at most 256, so the 512-slot
 * hash is never more than half full. */
static void count_colours(struct hx_colours *c, const uint32_t *px, unsigned n)
{
	memset(c->slot, 0, sizeof(c->slot));
	c->n = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = px[i];
		unsigned s = (v * 2654435761u) >> 23;

		for (;; s = (s + 1) & 511) {
			unsigned k = c->slot[s];

			if (k == 0) {
				c->colour[c->n] = v;
				c->count[c->n] = 1;
				c->slot[s] = (uint16_t)++c->n;
				break;
			}
			if (c->colour[k - 1] == v) {
				c->count[k - 1]++;
				break;
			}
		}
	}
}

static bool row_is(const uint32_t *px, unsigned w, unsigned x, unsigned y,
		   unsigned len, uint32_t c)
{
	const uint32_t *p = px + y * w + x;

	for (unsigned i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static bool column_is(const uint32_t *px, unsigned w, unsigned x, unsigned y,
		      unsigned len, uint32_t c)
{
	const uint32_t *p = px + y * w + x;

	for (unsigned i = 0; i < len; i++)
		if (p[i * w] != c)
			return false;
	return true;
}

/* Covers every pixel that is not `bg` with rectangles of one colour, at
 * most `limit` of them; returns how many, or limit + 1 if more are
 * needed. Each starts at the first uncovered pixel in raster order and
 * grows either right-then-down or down-then-right, whichever covers
 * more; a rectangle may overlap an earlier one of its own colour. */
static unsigned find_subrects(const uint32_t *px, unsigned w, unsigned h,
			      uint32_t bg, struct hx_subrect *sub,
			      unsigned limit)
{
	uint16_t done[HX_TILE] = {0};
	unsigned ns = 0;

	for (unsigned y = 0; y < h; y++) {
		for (unsigned x = 0; x < w; x++) {
			uint32_t c = px[y * w + x];
			unsigned hw = 1, hh = 1, vw = 1, vh = 1, rw, rh;

			if (c == bg || (done[y] >> x & 1))
				continue;
			if (ns == limit)
				return limit + 1;
			while (x + hw < w && px[y * w + x + hw] == c)
				hw++;
			while (y + hh < h && row_is(px, w, x, y + hh, hw, c))
				hh++;
			while (y + vh < h && px[(y + vh) * w + x] == c)
				vh++;
			while (x + vw < w && column_is(px, w, x + vw, y, vh, c))
				vw++;
			if (hw * hh >= vw * vh) {
				rw = hw;
				rh = hh;
			} else {
				rw = vw;
				rh = vh;
			}
			for (unsigned i = 0; i < rh; i++)
				done[y + i] |=
					(uint16_t)(((1u << rw) - 1) << x);
			sub[ns].colour = c;
			sub[ns].xy = (uint8_t)(x << 4 | y);
			sub[ns].wh = (uint8_t)((rw - 1) << 4 | (rh - 1));
			ns++;
		}
	}
	return ns;
}

static uint8_t *hx_raw(struct hx_state *s, uint8_t *p, const uint32_t *px,
		       unsigned n)
{
	*p++ = HX_RAW;
	for (unsigned i = 0; i < n; i++)
		p = rfb_pixout_put(&s->pix, p, px[i]);
	/* Not every decoder keeps colours across a raw tile. */
	s->bg_known = s->fg_known = false;
	return p;
}

/* Codes one tile of `px` into `p`, which has room for a raw tile plus
 * the largest header (1 + 256 * 4 + 8 bytes); returns the end. */
static uint8_t *hx_tile(struct hx_state *s, struct hx_colours *col, uint8_t *p,
			const uint32_t *px, unsigned w, unsigned h)
{
	const unsigned n = w * h;
	const size_t bpp = s->pix.bytes;
	const size_t raw = 1 + n * bpp;
	struct hx_subrect sub[HX_MAX_SUBRECTS];
	uint8_t *tile = p, mask;
	unsigned ns = 0, best = 0;
	bool mono = false;
	uint32_t bg, fg = 0;

	count_colours(col, px, n);
	/* The most common colour is the background; on a tie the one the
	 * decoder already has saves its bytes. */
	for (unsigned k = 1; k < col->n; k++)
		if (col->count[k] > col->count[best] ||
		    (col->count[k] == col->count[best] && s->bg_known &&
		     col->colour[k] == s->bg))
			best = k;
	bg = col->colour[best];
	mask = !s->bg_known || s->bg != bg ? HX_BACKGROUND : 0;

	if (col->n > 1) {
		size_t head = 1 + (mask & HX_BACKGROUND ? bpp : 0) + 1;
		unsigned limit;

		mono = col->n == 2;
		if (mono) {
			fg = col->colour[best ^ 1];
			if (!s->fg_known || s->fg != fg) {
				mask |= HX_FOREGROUND;
				head += bpp;
			}
		}
		/* Subrects are only worth it while the tile stays smaller
		 * than raw. */
		if (head >= raw)
			return hx_raw(s, tile, px, n);
		limit = (unsigned)((raw - head - 1) / (mono ? 2 : 2 + bpp));
		if (limit > HX_MAX_SUBRECTS)
			limit = HX_MAX_SUBRECTS;
		ns = find_subrects(px, w, h, bg, sub, limit);
		if (ns > limit)
			return hx_raw(s, tile, px, n);
		mask |= HX_ANY_SUBRECTS;
		if (!mono)
			mask |= HX_SUBRECTS_COLOURED;
	}

	*p++ = mask;
	if (mask & HX_BACKGROUND)
		p = rfb_pixout_put(&s->pix, p, bg);
	s->bg = bg;
	s->bg_known = true;
	if (!(mask & HX_ANY_SUBRECTS))
		return p;
	if (mask & HX_FOREGROUND) {
		p = rfb_pixout_put(&s->pix, p, fg);
		s->fg = fg;
		s->fg_known = true;
	}
	*p++ = (uint8_t)ns;
	for (unsigned i = 0; i < ns; i++) {
		if (!mono)
			p = rfb_pixout_put(&s->pix, p, sub[i].colour);
		*p++ = sub[i].xy;
		*p++ = sub[i].wh;
	}
	/* After coloured subrects the decoder's foreground is undefined. */
	if (!mono)
		s->fg_known = false;
	return p;
}

struct hextile_enc {
	struct rfb_encoder base;
	struct hx_colours col;
	uint32_t px[HX_TILE * HX_TILE];
};

static int hextile_encode(struct rfb_encoder *base, struct buf *out,
			  const struct rfb_pixconv *pc,
			  const struct fb_view *src, struct fb_rect r,
			  const struct rfb_enc_prefs *prefs, unsigned *nrects)
{
	struct hextile_enc *e = (struct hextile_enc *)base;
	struct hx_state s = {.bg_known = false, .fg_known = false};
	size_t start = out->len;

	if (!rfb_enc_rect_inside(src, r))
		return -EINVAL;
	if (r.w == 0 || r.h == 0)
		return 0;
	rfb_pixout_pixel(&s.pix, &pc->pf);
	if (rfb_write_rect_header(out, r.x, r.y, r.w, r.h, RFB_ENC_HEXTILE))
		return -ENOMEM;
	for (uint32_t ty = 0; ty < r.h; ty += HX_TILE) {
		unsigned th = r.h - ty < HX_TILE ? r.h - ty : HX_TILE;

		for (uint32_t tx = 0; tx < r.w; tx += HX_TILE) {
			unsigned tw = r.w - tx < HX_TILE ? r.w - tx : HX_TILE;
			uint8_t *end;

			for (unsigned y = 0; y < th; y++)
				rfb_enc_load_row(pc,
						 rfb_enc_row(src, r.x + tx,
							     r.y + ty + y),
						 tw, e->px + y * tw);
			if (buf_reserve(out, 1 + 8 + (size_t)tw * th * 4)) {
				out->len = start;
				return -ENOMEM;
			}
			end = hx_tile(&s, &e->col, out->data + out->len, e->px,
				      tw, th);
			out->len = (size_t)(end - out->data);
		}
	}
	(*nrects)++;
	return 0;
}

static void hextile_free(struct rfb_encoder *base)
{
	free(base);
}

static const struct rfb_encoder_ops hextile_ops = {
	.encoding = RFB_ENC_HEXTILE,
	.name = "hextile",
	.encode = hextile_encode,
	.free = hextile_free,
};

struct rfb_encoder *rfb_enc_hextile_new(void)
{
	struct hextile_enc *e = malloc(sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &hextile_ops;
	return &e->base;
}
