/* Tight (encoding 7), written from the RFB community specification
 * (rfbproto.rst, "Tight Encoding").
 *
 * Every rect starts with a compression-control byte. Its low four bits
 * tell the client to reset zlib streams; vfbd sets them only after it has
 * reset a stream itself (after an internal error). The high bits choose:
 *   fill   one TPIXEL for the whole rect (solid areas),
 *   jpeg   a JFIF image (only when the client sent a quality level and
 *          TPIXEL is 24-bit RGB),
 *   basic  filtered pixels through one of four persistent zlib streams:
 *          copy (stream 0), two-colour palette at 1 bit per pixel
 *          (stream 1), palette of up to 256 colours (stream 2), gradient
 *          (stream 3, 24-bit TPIXEL only). Filtered data under 12 bytes
 *          goes uncompressed, as the spec requires.
 *
 * Rects are at most 2048 pixels wide; basic and JPEG rects hold at most
 * 65536 pixels (the limits decoders size their buffers for). Large input
 * rects are first searched for big solid areas, which go out as fill
 * rects; what is left is cut into chunks within the limits, and each
 * chunk is classified by its number of colours. Keeping flat areas out of
 * the chunks also keeps them out of JPEG, so they stay exact.
 *
 * TPIXEL is three bytes R, G, B when the client's format is 32 bpp, depth
 * 24, true colour with all maxima 255 (then the channel values equal the
 * source bytes); otherwise it is the client's PIXEL, converted with
 * rfb_pixconv_row. */
#include "net/encoder.h"
#include "net/rfb-proto.h"
#include "net/rfb-write.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>
#include <zlib.h>

/* Limits from the spec (width) and from what decoders allocate (area). */
#define TIGHT_MAX_WIDTH	      2048u
#define TIGHT_MAX_AREA	      65536u
#define TIGHT_MIN_TO_COMPRESS 12u
#define TIGHT_MAX_COMPACT_LEN 4194303u

/* Solid-area search: only rects of at least MIN_SPLIT pixels are
 * searched, on a grid of TILE x TILE tiles, and an area is split out
 * when it covers at least MIN_SOLID pixels. Below that the rect headers
 * cost more than zlib would spend on the flat pixels. */
#define TIGHT_TILE	      16u
#define TIGHT_MIN_SPLIT_AREA  4096u
#define TIGHT_MIN_SOLID_AREA  2048u
#define TIGHT_MAX_SPLIT_DEPTH 8

/* JPEG headers and tables cost about 600 bytes: not worth it for tiny
 * chunks, which go lossless instead. */
#define TIGHT_JPEG_MIN_AREA 1024u

/* A many-colour chunk gets the gradient filter when, on a sample of up
 * to SMOOTH_ROWS rows, its residuals carry less than SMOOTH_GAIN times
 * the information of the plain bytes (see tight_smooth). */
#define TIGHT_SMOOTH_ROWS 32u
#define TIGHT_SMOOTH_GAIN 0.9

#define TIGHT_CTL_FILL 0x80u
/* Gradient residuals under this many bits per byte compress losslessly
 * to less than JPEG would take at any useful quality. */
#define TIGHT_LOSSLESS_BITS   1.0
#define TIGHT_CTL_JPEG	      0x90u
#define TIGHT_CTL_FILTER      0x40u
#define TIGHT_FILTER_PALETTE  1u
#define TIGHT_FILTER_GRADIENT 2u

enum tight_stream {
	TIGHT_STREAM_COPY = 0,
	TIGHT_STREAM_MONO = 1,
	TIGHT_STREAM_PALETTE = 2,
	TIGHT_STREAM_GRADIENT = 3,
	TIGHT_NSTREAMS = 4,
};

#define TIGHT_HASH_BITS 10u
#define TIGHT_HASH_SIZE (1u << TIGHT_HASH_BITS)

/* The spec's compact length; exported for the unit test. */
size_t rfb_tight_compact_len(uint8_t out[3], uint32_t len);

struct tight_enc {
	struct rfb_encoder base;
	z_stream zs[TIGHT_NSTREAMS];
	bool zs_live[TIGHT_NSTREAMS];
	int zs_level[TIGHT_NSTREAMS];
	uint8_t reset_pending; /* for the next compression-control byte */
	tjhandle tj;
	/* Scratch for one chunk, allocated on first use. */
	uint32_t *keys; /* one colour key per pixel */
	uint8_t *pix;	/* converted or filtered pixels */
	uint8_t *idx;	/* palette indices */
	unsigned char *jpeg;
	unsigned long jpeg_cap;
	/* Colour counting: an open-addressed hash whose slots are valid
	 * only when stamped with the current generation, so nothing is
	 * cleared between chunks. */
	uint32_t gen;
	uint32_t hash_gen[TIGHT_HASH_SIZE];
	uint32_t hash_key[TIGHT_HASH_SIZE];
	uint8_t hash_idx[TIGHT_HASH_SIZE];
	uint32_t pal[256];
};

/* What one encode call needs, derived once from the format and prefs. */
struct tight_job {
	struct tight_enc *e;
	struct buf *out;
	const struct rfb_pixconv *pc;
	const struct fb_view *src;
	unsigned *nrects;
	unsigned bytes; /* wire bytes per pixel */
	bool tpix24;	/* TPIXEL is R, G, B */
	int zlevel_idx, zlevel_raw;
	unsigned pal_max;      /* palette limit when lossless */
	unsigned pal_max_jpeg; /* palette limit when JPEG is the other way */
	bool jpeg;
	int jpeg_quality;
	int jpeg_subsamp;
};

/* Compression level 0..9 to zlib levels and the palette size limit.
 * zlib's lazy matching (levels 4 and up) is costly on both kinds of data
 * for little gain, and explodes on palette indices of text: on a busy
 * 1024x768 console (tools/fbfeed console, about 540k changed pixels per
 * update) palette levels 1, 2, 3, 5, 6, 9 give 77, 73, 68, 61, 61, 59 kB
 * per update for 5.0, 5.2, 7.0, 8.8, 17 and 110 ms of CPU. On gradient
 * data of a 1080p photo-like frame levels 1, 3, 5, 6 take 55, 130, 190,
 * 450 ms for 13% fewer bytes from 1 to 6. So the levels stay low, and
 * the client's level moves them only a little. Level 0 still compresses
 * (the spec's uncompressed mode needs a pseudo-encoding vfbd does not
 * take). With no level from the client, level 6. */
static const uint8_t tight_zlib_level_idx[10] = {1, 1, 2, 3, 4, 4, 5, 5, 5, 6};
static const uint8_t tight_zlib_level_raw[10] = {1, 1, 1, 1, 2, 2, 3, 3, 4, 6};
static const uint16_t tight_pal_max[10] = {64,	64,  128, 128, 128,
					   256, 256, 256, 256, 256};

/* JPEG quality level 0..9 to libjpeg quality and chroma subsampling, and
 * the colour count above which a chunk goes JPEG (higher quality keeps
 * more mid-colour chunks such as anti-aliased text lossless). Screens
 * are full of thin horizontal features (text, bars, ramps) that 4:2:0
 * smears vertically: on the demo's colour strip 4:2:0 leaves a mean error
 * near 6 even at libjpeg quality 95, 4:2:2 gets 0.8 for 15% more bytes
 * and 4:2:0 saves only 3% at quality 25. So 4:2:0 is kept for level 0
 * alone, and the top levels keep full chroma. */
static const uint8_t tight_jpeg_quality[10] = {15, 25, 35, 45, 55,
					       65, 75, 82, 89, 95};
static const uint8_t tight_jpeg_subsamp[10] = {
	TJSAMP_420, TJSAMP_422, TJSAMP_422, TJSAMP_422, TJSAMP_422,
	TJSAMP_422, TJSAMP_422, TJSAMP_444, TJSAMP_444, TJSAMP_444,
};
static const uint16_t tight_jpeg_pal_max[10] = {24,  32,  48,  64,  96,
						128, 160, 192, 256, 256};

size_t rfb_tight_compact_len(uint8_t out[3], uint32_t len)
{
	assert(len <= TIGHT_MAX_COMPACT_LEN);
	out[0] = (uint8_t)(len & 0x7f);
	if (len < 0x80)
		return 1;
	out[0] |= 0x80;
	out[1] = (uint8_t)((len >> 7) & 0x7f);
	if (len < 0x4000)
		return 2;
	out[1] |= 0x80;
	out[2] = (uint8_t)(len >> 14);
	return 3;
}

static inline const uint32_t *tight_row(const struct fb_view *v, uint32_t x,
					uint32_t y)
{
	return (const uint32_t *)(v->data + (size_t)y * v->stride) + x;
}

static inline uint64_t tight_area(struct fb_rect r)
{
	return (uint64_t)r.w * r.h;
}

/* ---- solid areas -------------------------------------------------- */

static bool tight_region_is(const struct fb_view *v, uint32_t x, uint32_t y,
			    uint32_t w, uint32_t h, uint32_t colour)
{
	for (uint32_t j = 0; j < h; j++) {
		const uint32_t *p = tight_row(v, x, y + j);

		for (uint32_t i = 0; i < w; i++)
			if ((p[i] & 0xffffffu) != colour)
				return false;
	}
	return true;
}

static bool tight_tile_solid(const struct fb_view *v, uint32_t x, uint32_t y,
			     uint32_t w, uint32_t h, uint32_t *colour)
{
	*colour = tight_row(v, x, y)[0] & 0xffffffu;
	return tight_region_is(v, x, y, w, h, *colour);
}

static uint32_t tight_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Grows a solid tile at (x, y) into a solid area within `r`, on the tile
 * grid: first right as far as the colour goes, then down with that
 * width; and the other way round. The larger of the two wins. */
static struct fb_rect tight_grow_tiles(const struct fb_view *v,
				       struct fb_rect r, uint32_t x, uint32_t y,
				       uint32_t colour)
{
	uint32_t rx2 = r.x + r.w, ry2 = r.y + r.h;
	uint32_t th = tight_min(TIGHT_TILE, ry2 - y);
	uint32_t tw = tight_min(TIGHT_TILE, rx2 - x);
	struct fb_rect a = {x, y, tw, th}, b = {x, y, tw, th};

	while (a.x + a.w < rx2) {
		uint32_t w = tight_min(TIGHT_TILE, rx2 - (a.x + a.w));

		if (!tight_region_is(v, a.x + a.w, y, w, th, colour))
			break;
		a.w += w;
	}
	while (a.y + a.h < ry2) {
		uint32_t h = tight_min(TIGHT_TILE, ry2 - (a.y + a.h));

		if (!tight_region_is(v, x, a.y + a.h, a.w, h, colour))
			break;
		a.h += h;
	}
	while (b.y + b.h < ry2) {
		uint32_t h = tight_min(TIGHT_TILE, ry2 - (b.y + b.h));

		if (!tight_region_is(v, x, b.y + b.h, tw, h, colour))
			break;
		b.h += h;
	}
	while (b.x + b.w < rx2) {
		uint32_t w = tight_min(TIGHT_TILE, rx2 - (b.x + b.w));

		if (!tight_region_is(v, b.x + b.w, y, w, b.h, colour))
			break;
		b.w += w;
	}
	return tight_area(a) >= tight_area(b) ? a : b;
}

/* Extends a solid area pixel by pixel in all four directions, so the
 * fill rect follows the real edges rather than the tile grid. */
static void tight_extend_exact(const struct fb_view *v, struct fb_rect r,
			       struct fb_rect *s, uint32_t colour)
{
	while (s->y > r.y &&
	       tight_region_is(v, s->x, s->y - 1, s->w, 1, colour)) {
		s->y--;
		s->h++;
	}
	while (s->y + s->h < r.y + r.h &&
	       tight_region_is(v, s->x, s->y + s->h, s->w, 1, colour))
		s->h++;
	while (s->x > r.x &&
	       tight_region_is(v, s->x - 1, s->y, 1, s->h, colour)) {
		s->x--;
		s->w++;
	}
	while (s->x + s->w < r.x + r.w &&
	       tight_region_is(v, s->x + s->w, s->y, 1, s->h, colour))
		s->w++;
}

/* Finds the first (in raster order of tiles) solid area of at least
 * TIGHT_MIN_SOLID_AREA pixels inside `r`. */
static bool tight_find_solid(const struct fb_view *v, struct fb_rect r,
			     struct fb_rect *s, uint32_t *colour)
{
	for (uint32_t y = r.y; y < r.y + r.h; y += TIGHT_TILE) {
		uint32_t th = tight_min(TIGHT_TILE, r.y + r.h - y);

		for (uint32_t x = r.x; x < r.x + r.w; x += TIGHT_TILE) {
			uint32_t tw = tight_min(TIGHT_TILE, r.x + r.w - x);

			if (!tight_tile_solid(v, x, y, tw, th, colour))
				continue;
			*s = tight_grow_tiles(v, r, x, y, *colour);
			if (tight_area(*s) < TIGHT_MIN_SOLID_AREA)
				continue;
			tight_extend_exact(v, r, s, *colour);
			return true;
		}
	}
	return false;
}

/* ---- output helpers ----------------------------------------------- */

static int tight_header(struct tight_job *j, struct fb_rect r, uint8_t ctl)
{
	int rc = rfb_write_rect_header(j->out, r.x, r.y, r.w, r.h,
				       RFB_ENC_TIGHT);

	if (rc == 0)
		rc = buf_put_u8(j->out, (uint8_t)(ctl | j->e->reset_pending));
	if (rc)
		return -ENOMEM;
	/* The client resets the flagged streams at this rect, whatever
	 * its type, before any later use. */
	j->e->reset_pending = 0;
	(*j->nrects)++;
	return 0;
}

/* Writes the TPIXEL of a colour key (see tight_keys). */
static void tight_put_tpixel(const struct tight_job *j, uint8_t *dst,
			     uint32_t key)
{
	if (j->tpix24) {
		dst[0] = (uint8_t)(key >> 16);
		dst[1] = (uint8_t)(key >> 8);
		dst[2] = (uint8_t)key;
		return;
	}
	for (unsigned i = 0; i < j->bytes; i++)
		dst[i] = (uint8_t)(key >> (8 * (j->bytes - 1 - i)));
}

static unsigned tight_tpixel_bytes(const struct tight_job *j)
{
	return j->tpix24 ? 3 : j->bytes;
}

/* The colour key of one client pixel from its wire bytes: the bytes read
 * big-endian, so writing them back big-endian restores the wire bytes. */
static uint32_t tight_wire_key(const uint8_t *p, unsigned bytes)
{
	uint32_t k = 0;

	for (unsigned i = 0; i < bytes; i++)
		k = k << 8 | p[i];
	return k;
}

static int tight_fill(struct tight_job *j, struct fb_rect r, uint32_t key)
{
	uint8_t *p;
	int rc = tight_header(j, r, TIGHT_CTL_FILL);

	if (rc)
		return rc;
	p = buf_grow(j->out, tight_tpixel_bytes(j));
	if (!p)
		return -ENOMEM;
	tight_put_tpixel(j, p, key);
	return 0;
}

/* A fill from a source colour (XRGB8888), converted for the client. */
static int tight_fill_xrgb(struct tight_job *j, struct fb_rect r, uint32_t xrgb)
{
	uint8_t wire[4];

	if (j->tpix24)
		return tight_fill(j, r, xrgb & 0xffffffu);
	rfb_pixconv_row(j->pc, &xrgb, 1, wire);
	return tight_fill(j, r, tight_wire_key(wire, j->bytes));
}

/* Appends `len` bytes through zlib stream `id`, preceded by their
 * compact length. The whole rect's data is flushed (Z_SYNC_FLUSH) so the
 * client can decode it without waiting for the next rect. */
static int tight_deflate(struct tight_job *j, unsigned id, const uint8_t *data,
			 size_t len)
{
	struct tight_enc *e = j->e;
	z_stream *zs = &e->zs[id];
	struct buf *out = j->out;
	size_t base = out->len, produced = 0, room;
	int level = id == TIGHT_STREAM_MONO || id == TIGHT_STREAM_PALETTE
			    ? j->zlevel_idx
			    : j->zlevel_raw;
	uint8_t hdr[3];
	size_t hlen;
	int zrc;

	if (!e->zs_live[id]) {
		memset(zs, 0, sizeof(*zs));
		if (deflateInit2(zs, level, Z_DEFLATED, MAX_WBITS,
				 MAX_MEM_LEVEL - 1, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		e->zs_live[id] = true;
		e->zs_level[id] = level;
	}
	room = deflateBound(zs, (uLong)len) + 64;
	if (buf_reserve(out, 3 + room))
		return -ENOMEM;
	zs->next_out = out->data + base + 3;
	zs->avail_out = (uInt)room;
	if (e->zs_level[id] != level) {
		/* The previous rect was flushed, so nothing is pending and
		 * this emits nothing; should zlib ever write here, the
		 * bytes belong to this rect. Z_BUF_ERROR means the level
		 * did not change: it is tried again next time. */
		zs->next_in = NULL;
		zs->avail_in = 0;
		zrc = deflateParams(zs, level, Z_DEFAULT_STRATEGY);
		if (zrc == Z_OK)
			e->zs_level[id] = level;
		else if (zrc != Z_BUF_ERROR)
			return -EIO;
	}
	zs->next_in = (Bytef *)(uintptr_t)data;
	zs->avail_in = (uInt)len;
	for (;;) {
		zrc = deflate(zs, Z_SYNC_FLUSH);
		produced = (size_t)(zs->next_out - (out->data + base + 3));
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return -EIO;
		if (zs->avail_out != 0 && zs->avail_in == 0)
			break;
		/* Out of room (never expected with deflateBound): more. */
		room = len / 2 + 4096;
		if (buf_reserve(out, 3 + produced + room))
			return -ENOMEM;
		zs->next_out = out->data + base + 3 + produced;
		zs->avail_out = (uInt)room;
	}
	if (produced > TIGHT_MAX_COMPACT_LEN)
		return -E2BIG;
	hlen = rfb_tight_compact_len(hdr, (uint32_t)produced);
	memmove(out->data + base + hlen, out->data + base + 3, produced);
	memcpy(out->data + base, hdr, hlen);
	out->len = base + hlen + produced;
	return 0;
}

/* Filtered data: as is below 12 bytes, else through stream `id`. */
static int tight_data(struct tight_job *j, unsigned id, const uint8_t *data,
		      size_t len)
{
	if (len < TIGHT_MIN_TO_COMPRESS)
		return buf_append(j->out, data, len) ? -ENOMEM : 0;
	return tight_deflate(j, id, data, len);
}

/* ---- chunk analysis ----------------------------------------------- */

/* Fills e->keys with one key per pixel of `c`: the RGB value for 24-bit
 * TPIXEL, else the client's pixel value (its wire bytes, which also land
 * in e->pix for the copy filter). */
static void tight_keys(struct tight_job *j, struct fb_rect c)
{
	struct tight_enc *e = j->e;
	uint32_t *k = e->keys;

	for (uint32_t y = 0; y < c.h; y++) {
		const uint32_t *row = tight_row(j->src, c.x, c.y + y);

		if (j->tpix24) {
			for (uint32_t x = 0; x < c.w; x++)
				*k++ = row[x] & 0xffffffu;
			continue;
		}
		uint8_t *wire = e->pix + (size_t)y * c.w * j->bytes;

		rfb_pixconv_row(j->pc, row, c.w, wire);
		switch (j->bytes) {
		case 1:
			for (uint32_t x = 0; x < c.w; x++)
				*k++ = wire[x];
			break;
		case 2:
			for (uint32_t x = 0; x < c.w; x++)
				*k++ = (uint32_t)wire[2 * x] << 8 |
				       wire[2 * x + 1];
			break;
		default:
			for (uint32_t x = 0; x < c.w; x++)
				*k++ = tight_wire_key(wire + 4 * x, 4);
			break;
		}
	}
}

/* Counts the colours of `n` keys and indexes them into e->pal / e->idx.
 * Stops as soon as there are more than `limit` (<= 256) and returns
 * limit + 1 then. Runs of one colour cost a compare each. */
static unsigned tight_count_colours(struct tight_enc *e, size_t n,
				    unsigned limit)
{
	const uint32_t *k = e->keys;
	uint32_t last = 0;
	uint8_t last_idx = 0;
	unsigned count = 0;

	if (++e->gen == 0) {
		memset(e->hash_gen, 0, sizeof(e->hash_gen));
		e->gen = 1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t key = k[i], h;

		if (key == last && count > 0) {
			e->idx[i] = last_idx;
			continue;
		}
		h = (key * 2654435761u) >> (32 - TIGHT_HASH_BITS);
		for (;;) {
			if (e->hash_gen[h] != e->gen) {
				if (count == limit)
					return limit + 1;
				e->hash_gen[h] = e->gen;
				e->hash_key[h] = key;
				e->hash_idx[h] = (uint8_t)count;
				e->pal[count++] = key;
				break;
			}
			if (e->hash_key[h] == key)
				break;
			h = (h + 1) & (TIGHT_HASH_SIZE - 1);
		}
		last = key;
		last_idx = e->hash_idx[h];
		e->idx[i] = last_idx;
	}
	return count;
}

/* The gradient filter's prediction of the channel at bit `sh` from the
 * pixels left, up and up-left: left + up - up-left, clamped to 0..255. */
static inline uint32_t tight_predict(uint32_t left, uint32_t up,
				     uint32_t up_left, int sh)
{
	int p = (int)(left >> sh & 0xff) + (int)(up >> sh & 0xff) -
		(int)(up_left >> sh & 0xff);

	return (uint32_t)(p < 0 ? 0 : p > 255 ? 255 : p);
}

/* Order-0 entropy in bits of a byte histogram of n samples. */
static double tight_entropy_bits(const uint32_t hist[256], uint64_t n)
{
	double bits = 0;

	for (unsigned i = 0; i < 256; i++)
		if (hist[i])
			bits += hist[i] * log2((double)n / hist[i]);
	return bits;
}

/* Order-0 entropies, in bits per byte, of the gradient filter's residuals
 * and of the plain channel bytes, on a sample of rows. zlib's Huffman
 * stage is what either filter's bytes mostly meet, so these predict
 * which compresses better: smooth content (photos, ramps) gives small
 * residuals, while noise or detail on a few base colours compresses
 * better as it is. Returns false when the chunk is too small to tell. */
static bool tight_sample_entropy(const struct tight_enc *e, struct fb_rect c,
				 double *grad_bits, double *copy_bits)
{
	uint32_t step = c.h / TIGHT_SMOOTH_ROWS + 1;
	uint32_t grad[256] = {0}, copy[256] = {0};
	uint64_t n = 0;

	if (c.w < 2 || c.h < 2)
		return false;
	for (uint32_t y = 1; y < c.h; y += step) {
		const uint32_t *row = e->keys + (size_t)y * c.w;
		const uint32_t *up = row - c.w;

		for (uint32_t x = 1; x < c.w; x++) {
			for (int sh = 0; sh < 24; sh += 8) {
				uint32_t v = row[x] >> sh & 0xff;

				grad[(uint8_t)(v -
					       tight_predict(row[x - 1], up[x],
							     up[x - 1], sh))]++;
				copy[v]++;
			}
			n += 3;
		}
	}
	if (n == 0)
		return false;
	*grad_bits = tight_entropy_bits(grad, n) / (double)n;
	*copy_bits = tight_entropy_bits(copy, n) / (double)n;
	return true;
}

/* ---- subencodings ------------------------------------------------- */

static int tight_palette(struct tight_job *j, struct fb_rect c,
			 unsigned ncolours)
{
	struct tight_enc *e = j->e;
	bool mono = ncolours == 2;
	unsigned id = mono ? TIGHT_STREAM_MONO : TIGHT_STREAM_PALETTE;
	unsigned tb = tight_tpixel_bytes(j);
	const uint8_t *data = e->idx;
	size_t len = (size_t)c.w * c.h;
	uint8_t *p;
	int rc;

	rc = tight_header(j, c, (uint8_t)(TIGHT_CTL_FILTER | id << 4));
	if (rc)
		return rc;
	p = buf_grow(j->out, 2 + (size_t)ncolours * tb);
	if (!p)
		return -ENOMEM;
	p[0] = TIGHT_FILTER_PALETTE;
	p[1] = (uint8_t)(ncolours - 1);
	for (unsigned i = 0; i < ncolours; i++)
		tight_put_tpixel(j, p + 2 + (size_t)i * tb, e->pal[i]);
	if (mono) {
		/* One bit per pixel, leftmost pixel in the top bit, each
		 * row padded to whole bytes. */
		size_t row_bytes = (c.w + 7) / 8;
		uint8_t *bits = e->pix;

		memset(bits, 0, row_bytes * c.h);
		for (uint32_t y = 0; y < c.h; y++) {
			const uint8_t *ix = e->idx + (size_t)y * c.w;
			uint8_t *dst = bits + y * row_bytes;

			for (uint32_t x = 0; x < c.w; x++)
				dst[x >> 3] |=
					(uint8_t)(ix[x] << (7 - (x & 7)));
		}
		data = bits;
		len = row_bytes * c.h;
	}
	return tight_data(j, id, data, len);
}

static int tight_copy(struct tight_job *j, struct fb_rect c)
{
	struct tight_enc *e = j->e;
	size_t n = (size_t)c.w * c.h;
	int rc = tight_header(j, c, TIGHT_STREAM_COPY << 4);

	if (rc)
		return rc;
	if (j->tpix24) {
		uint8_t *p = e->pix;

		for (size_t i = 0; i < n; i++) {
			p[3 * i] = (uint8_t)(e->keys[i] >> 16);
			p[3 * i + 1] = (uint8_t)(e->keys[i] >> 8);
			p[3 * i + 2] = (uint8_t)e->keys[i];
		}
		return tight_data(j, TIGHT_STREAM_COPY, p, 3 * n);
	}
	/* tight_keys left the client's wire pixels in e->pix. */
	return tight_data(j, TIGHT_STREAM_COPY, e->pix, n * j->bytes);
}

/* The row above the first row of a rect: pixels outside count as zero. */
static const uint32_t tight_zero_row[TIGHT_MAX_WIDTH];

/* The gradient filter for 24-bit TPIXEL: each channel minus its
 * prediction, modulo 256; pixels outside the rect count as zero. */
static int tight_gradient(struct tight_job *j, struct fb_rect c)
{
	struct tight_enc *e = j->e;
	uint8_t *p = e->pix;
	int rc = tight_header(
		j, c, (uint8_t)(TIGHT_CTL_FILTER | TIGHT_STREAM_GRADIENT << 4));

	if (rc)
		return rc;
	rc = buf_put_u8(j->out, TIGHT_FILTER_GRADIENT);
	if (rc)
		return -ENOMEM;
	for (uint32_t y = 0; y < c.h; y++) {
		const uint32_t *row = e->keys + (size_t)y * c.w;
		const uint32_t *up = y ? row - c.w : tight_zero_row;
		uint32_t left = 0, up_left = 0;

		for (uint32_t x = 0; x < c.w; x++) {
			uint32_t v = row[x], u = up[x];

			for (int sh = 16; sh >= 0; sh -= 8)
				*p++ = (uint8_t)((v >> sh) -
						 tight_predict(left, u, up_left,
							       sh));
			left = v;
			up_left = u;
		}
	}
	return tight_data(j, TIGHT_STREAM_GRADIENT, e->pix,
			  (size_t)c.w * c.h * 3);
}

/* JPEG straight from the shadow's XRGB rows. Returns 1 when libjpeg
 * failed and nothing was written (the caller goes lossless). */
static int tight_jpeg(struct tight_job *j, struct fb_rect c)
{
	struct tight_enc *e = j->e;
	unsigned long need = tjBufSize((int)c.w, (int)c.h, j->jpeg_subsamp);
	unsigned long size;
	uint8_t hdr[3];
	size_t hlen;
	int rc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const int tjpf = TJPF_BGRX;
#else
	const int tjpf = TJPF_XRGB;
#endif

	if (!e->tj) {
		e->tj = tjInitCompress();
		if (!e->tj)
			return 1;
	}
	if (need == (unsigned long)-1)
		return 1;
	if (need > e->jpeg_cap) {
		unsigned char *b = realloc(e->jpeg, need);

		if (!b)
			return -ENOMEM;
		e->jpeg = b;
		e->jpeg_cap = need;
	}
	size = e->jpeg_cap;
	if (tjCompress2(e->tj,
			(const unsigned char *)tight_row(j->src, c.x, c.y),
			(int)c.w, (int)j->src->stride, (int)c.h, tjpf, &e->jpeg,
			&size, j->jpeg_subsamp, j->jpeg_quality,
			TJFLAG_NOREALLOC) != 0 ||
	    size > TIGHT_MAX_COMPACT_LEN)
		return 1;
	rc = tight_header(j, c, TIGHT_CTL_JPEG);
	if (rc)
		return rc;
	hlen = rfb_tight_compact_len(hdr, (uint32_t)size);
	if (buf_append(j->out, hdr, hlen) || buf_append(j->out, e->jpeg, size))
		return -ENOMEM;
	return 0;
}

/* The number of rows from `from` on (stepping `dir`, +1 or -1) that are
 * all of one colour, and that colour. */
static uint32_t tight_flat_rows(const struct tight_enc *e, struct fb_rect c,
				uint32_t from, int dir, uint32_t *colour)
{
	uint32_t n = 0;

	*colour = e->keys[(size_t)from * c.w];
	for (uint32_t y = from; n < c.h; y += (uint32_t)dir, n++) {
		const uint32_t *k = e->keys + (size_t)y * c.w;

		for (uint32_t x = 0; x < c.w; x++)
			if (k[x] != *colour)
				return n;
	}
	return n;
}

static int tight_chunk(struct tight_job *j, struct fb_rect c, bool trimmed);

/* Before a chunk goes JPEG, flat rows at its top and bottom (where the
 * chunk's edge cut through a flat area) leave as fill rects, so they stay
 * exact. Returns 1 when there is nothing to trim. */
static int tight_trim_flat(struct tight_job *j, struct fb_rect c)
{
	uint32_t top_colour, bottom_colour, top, bottom;
	struct fb_rect mid;
	int rc;

	top = tight_flat_rows(j->e, c, 0, 1, &top_colour);
	bottom = tight_flat_rows(j->e, c, c.h - 1, -1, &bottom_colour);
	if (top == 0 && bottom == 0)
		return 1;
	/* More than two colours, so some rows are left in the middle. */
	assert(top + bottom < c.h);
	mid = (struct fb_rect){c.x, c.y + top, c.w, c.h - top - bottom};
	if (top) {
		rc = tight_fill(j, (struct fb_rect){c.x, c.y, c.w, top},
				top_colour);
		if (rc)
			return rc;
	}
	rc = tight_chunk(j, mid, true);
	if (rc == 0 && bottom)
		rc = tight_fill(
			j, (struct fb_rect){c.x, mid.y + mid.h, c.w, bottom},
			bottom_colour);
	return rc;
}

/* One chunk within the size limits: fill, palette, JPEG, gradient or
 * copy, by its colours. */
static int tight_chunk(struct tight_job *j, struct fb_rect c, bool trimmed)
{
	size_t n = (size_t)c.w * c.h;
	bool jpeg = j->jpeg && n >= TIGHT_JPEG_MIN_AREA;
	unsigned limit = jpeg ? j->pal_max_jpeg : j->pal_max;
	unsigned ncolours;
	double grad = 0, copy = 0;
	bool smooth;

	/* A palette must pay for itself: with 8-bit pixels only the 1-bit
	 * form is smaller, and a tiny rect cannot carry a big palette. */
	if (j->bytes == 1)
		limit = 2;
	else if (limit > n / 2)
		limit = n / 2 < 2 ? 2 : (unsigned)(n / 2);
	tight_keys(j, c);
	ncolours = tight_count_colours(j->e, n, limit);
	if (ncolours == 1)
		return tight_fill(j, c, j->e->pal[0]);
	if (ncolours <= limit)
		return tight_palette(j, c, ncolours);
	smooth = j->tpix24 && tight_sample_entropy(j->e, c, &grad, &copy) &&
		 grad < TIGHT_SMOOTH_GAIN * copy;
	/* Content the gradient filter predicts almost perfectly (synthetic
	 * ramps, flat shading) is smaller lossless than as JPEG: then the
	 * client gets exact pixels for fewer bytes. */
	if (jpeg && !(smooth && grad < TIGHT_LOSSLESS_BITS)) {
		int rc = trimmed ? 1 : tight_trim_flat(j, c);

		if (rc <= 0)
			return rc;
		rc = tight_jpeg(j, c);
		if (rc <= 0)
			return rc;
	}
	if (smooth)
		return tight_gradient(j, c);
	return tight_copy(j, c);
}

/* A rect at most TIGHT_MAX_WIDTH wide, cut into chunks of at most
 * TIGHT_MAX_AREA pixels (whole rows). */
static int tight_plain(struct tight_job *j, struct fb_rect r)
{
	uint32_t rows = TIGHT_MAX_AREA / r.w;

	for (uint32_t y = 0; y < r.h; y += rows) {
		struct fb_rect c = {r.x, r.y + y, r.w,
				    tight_min(rows, r.h - y)};
		int rc = tight_chunk(j, c, false);

		if (rc)
			return rc;
	}
	return 0;
}

/* A rect at most TIGHT_MAX_WIDTH wide: big solid areas go out as fill
 * rects, the rest (above, left, right and below each) as chunks. */
static int tight_area_rect(struct tight_job *j, struct fb_rect r, int depth)
{
	while (r.h > 0) {
		struct fb_rect s;
		uint32_t colour;
		int rc = 0;

		if (tight_area(r) < TIGHT_MIN_SPLIT_AREA ||
		    depth > TIGHT_MAX_SPLIT_DEPTH ||
		    !tight_find_solid(j->src, r, &s, &colour))
			return tight_plain(j, r);
		/* Tiles above s held no big solid area. */
		if (s.y > r.y)
			rc = tight_plain(
				j, (struct fb_rect){r.x, r.y, r.w, s.y - r.y});
		if (rc == 0 && s.x > r.x)
			rc = tight_area_rect(
				j, (struct fb_rect){r.x, s.y, s.x - r.x, s.h},
				depth + 1);
		if (rc == 0)
			rc = tight_fill_xrgb(j, s, colour);
		if (rc == 0 && s.x + s.w < r.x + r.w)
			rc = tight_area_rect(
				j,
				(struct fb_rect){s.x + s.w, s.y,
						 r.x + r.w - (s.x + s.w), s.h},
				depth + 1);
		if (rc)
			return rc;
		r = (struct fb_rect){r.x, s.y + s.h, r.w,
				     r.y + r.h - (s.y + s.h)};
	}
	return 0;
}

/* ---- the encoder -------------------------------------------------- */

static int tight_alloc(struct tight_enc *e)
{
	if (e->keys)
		return 0;
	e->keys = malloc(TIGHT_MAX_AREA * sizeof(*e->keys));
	e->pix = malloc(TIGHT_MAX_AREA * 4);
	e->idx = malloc(TIGHT_MAX_AREA);
	if (e->keys && e->pix && e->idx)
		return 0;
	free(e->keys);
	free(e->pix);
	free(e->idx);
	e->keys = NULL;
	e->pix = NULL;
	e->idx = NULL;
	return -ENOMEM;
}

/* After a failure the client never sees part of what went through the
 * streams, so each is restarted and the client told to do the same. */
static void tight_reset_streams(struct tight_enc *e)
{
	for (unsigned i = 0; i < TIGHT_NSTREAMS; i++) {
		if (!e->zs_live[i])
			continue;
		deflateEnd(&e->zs[i]);
		e->zs_live[i] = false;
		e->reset_pending |= (uint8_t)(1u << i);
	}
}

static void tight_job_init(struct tight_job *j, const struct rfb_pixconv *pc,
			   const struct rfb_enc_prefs *prefs)
{
	const struct rfb_pixfmt *pf = &pc->pf;
	int cl = prefs->compress_level, ql = prefs->quality_level;

	j->bytes = (unsigned)rfb_pixfmt_bytes(pf);
	j->tpix24 = pf->bpp == 32 && pf->depth == 24 && pf->true_colour &&
		    pf->red_max == 255 && pf->green_max == 255 &&
		    pf->blue_max == 255;
	if (cl < 0 || cl > 9)
		cl = 6;
	j->zlevel_idx = tight_zlib_level_idx[cl];
	j->zlevel_raw = tight_zlib_level_raw[cl];
	j->pal_max = tight_pal_max[cl];
	/* JPEG only on the client's request, and only where TPIXEL is
	 * plain RGB, so decoders hand it straight to libjpeg. */
	j->jpeg = ql >= 0 && ql <= 9 && j->tpix24;
	if (j->jpeg) {
		j->jpeg_quality = tight_jpeg_quality[ql];
		j->jpeg_subsamp = tight_jpeg_subsamp[ql];
		j->pal_max_jpeg = tight_jpeg_pal_max[ql];
		if (j->pal_max_jpeg > j->pal_max)
			j->pal_max_jpeg = j->pal_max;
	}
}

static int tight_encode(struct rfb_encoder *base, struct buf *out,
			const struct rfb_pixconv *pc, const struct fb_view *src,
			struct fb_rect r, const struct rfb_enc_prefs *prefs,
			unsigned *nrects)
{
	struct tight_enc *e = (struct tight_enc *)base;
	struct tight_job j = {
		.e = e,
		.out = out,
		.pc = pc,
		.src = src,
		.nrects = nrects,
	};
	size_t start = out->len;
	unsigned start_rects = *nrects;
	int rc = 0;

	if ((uint64_t)r.x + r.w > src->width ||
	    (uint64_t)r.y + r.h > src->height)
		return -EINVAL;
	if (r.w == 0 || r.h == 0)
		return 0;
	if (tight_alloc(e))
		return -ENOMEM;
	tight_job_init(&j, pc, prefs);
	for (uint32_t x = 0; x < r.w && rc == 0; x += TIGHT_MAX_WIDTH) {
		struct fb_rect col = {r.x + x, r.y,
				      tight_min(TIGHT_MAX_WIDTH, r.w - x), r.h};

		rc = tight_area_rect(&j, col, 0);
	}
	if (rc) {
		out->len = start;
		*nrects = start_rects;
		tight_reset_streams(e);
	}
	return rc;
}

static void tight_free(struct rfb_encoder *base)
{
	struct tight_enc *e = (struct tight_enc *)base;

	for (unsigned i = 0; i < TIGHT_NSTREAMS; i++)
		if (e->zs_live[i])
			deflateEnd(&e->zs[i]);
	if (e->tj)
		tjDestroy(e->tj);
	free(e->jpeg);
	free(e->keys);
	free(e->pix);
	free(e->idx);
	free(e);
}

static const struct rfb_encoder_ops tight_ops = {
	.encoding = RFB_ENC_TIGHT,
	.name = "tight",
	.encode = tight_encode,
	.free = tight_free,
};

struct rfb_encoder *rfb_enc_tight_new(void)
{
	struct tight_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &tight_ops;
	return &e->base;
}
