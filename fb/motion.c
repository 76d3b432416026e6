#include "fb/motion.h"

#include <string.h>

/* Rows probed in the live frame to find candidate shifts. */
#define PROBES	       8
#define MAX_CANDIDATES 16

/* Block search: a probe is this many pixels of one live row, looked for
 * in the old frame around where it is now. */
#define PROBE_LEN     16
#define PROBE_GRID    3
#define MAX_FRUITLESS 3

/* Four independent lanes, so that the multiplies overlap. */
static uint64_t hash_row(const uint8_t *p, size_t bytes)
{
	const uint64_t k = 0xff51afd7ed558ccdull;
	uint64_t h[4] = {0x9e3779b97f4a7c15ull ^ bytes, 0xc2b2ae3d27d4eb4full,
			 0x165667b19e3779f9ull, 0x27d4eb2f165667c5ull};
	size_t i = 0;

	for (; i + 32 <= bytes; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, 32);
		for (unsigned l = 0; l < 4; l++) {
			h[l] = (h[l] ^ w[l]) * k;
			h[l] ^= h[l] >> 29;
		}
	}
	for (; i < bytes; i++)
		h[0] = (h[0] ^ p[i]) * 0x100000001b3ull;
	h[0] ^= (h[1] * k) ^ (h[2] * 0x9e3779b97f4a7c15ull) ^ (h[3] >> 7);
	h[0] *= k;
	return h[0] ^ (h[0] >> 32);
}

static const uint8_t *old_row(const uint32_t *old, size_t stride,
			      struct fb_rect box, uint32_t y)
{
	return (const uint8_t *)(old + (size_t)y * stride + box.x);
}

static const uint8_t *live_row(const struct fb_view *live, struct fb_rect box,
			       uint32_t y)
{
	return live->data + (size_t)y * live->stride + (size_t)box.x * 4;
}

/* Longest run of rows i (box-relative) with live[i] == old[i + dy],
 * judged by the row hashes. */
static uint32_t best_run(const uint64_t *live_hash, const uint64_t *old_hash,
			 uint32_t h, int32_t dy, uint32_t *run_start)
{
	uint32_t best = 0, cur = 0, start = 0;
	uint32_t i0 = dy < 0 ? (uint32_t)-dy : 0;
	uint32_t i1 = dy > 0 ? h - (uint32_t)dy : h;

	for (uint32_t i = i0; i < i1; i++) {
		if (live_hash[i] == old_hash[(uint32_t)((int64_t)i + dy)]) {
			if (cur++ == 0)
				start = i;
			if (cur > best) {
				best = cur;
				*run_start = start;
			}
		} else {
			cur = 0;
		}
	}
	return best;
}

/* A probe must be a row that says something: one equal to its neighbour
 * above (blank space between text lines, flat areas) matches everywhere
 * and would only yield wrong shifts. */
static bool distinctive(const uint64_t *live_hash, uint32_t i)
{
	return i > 0 && live_hash[i] != live_hash[i - 1];
}

/* A hash of SAMPLE_WORDS words spread over the row: enough to tell rows
 * of a picture apart and to propose shifts, at a tenth of the cost of
 * hashing whole 1080p rows. Only proposals: the bytes decide. */
#define SAMPLE_WORDS 64

static uint64_t sample_row(const uint8_t *p, size_t bytes)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ bytes;

	if (bytes <= SAMPLE_WORDS * 8 * 2)
		return hash_row(p, bytes);
	for (size_t k = 0; k < SAMPLE_WORDS; k++) {
		uint64_t w;

		memcpy(&w, p + (bytes - 8) * k / (SAMPLE_WORDS - 1), 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

/* How many leading rows of the run really moved by dy (whole-row
 * memcmp), or 0 when fewer than FB_MOTION_MIN_ROWS do. */
static uint32_t confirm_run(const uint32_t *old, size_t old_stride,
			    const struct fb_view *live, struct fb_rect box,
			    uint32_t start, uint32_t len, int32_t dy)
{
	size_t bytes = (size_t)box.w * 4;

	for (uint32_t i = 0; i < len; i++) {
		uint32_t y = box.y + start + i;
		uint32_t sy = (uint32_t)((int64_t)y + dy);

		if (memcmp(live_row(live, box, y),
			   old_row(old, old_stride, box, sy), bytes) != 0)
			return i >= FB_MOTION_MIN_ROWS ? i : 0;
	}
	return len;
}

/* A vertical scroll: box rows of `live` equal to box rows of `old` a
 * fixed number of rows away; the longest run of them. */
static bool find_scroll(const uint32_t *old, size_t old_stride,
			const struct fb_view *live, struct fb_rect box,
			uint64_t *scratch, struct fb_move *move)
{
	size_t bytes;
	uint64_t *live_hash, *old_hash;
	int32_t cand[MAX_CANDIDATES];
	uint32_t run_start[MAX_CANDIDATES], run_len[MAX_CANDIDATES];
	uint32_t run_gain[MAX_CANDIDATES];
	unsigned ncand = 0;
	uint32_t best = 0, best_start = 0;
	int32_t best_dy = 0;

	if (box.h < FB_MOTION_MIN_ROWS * 2 || box.w < 16)
		return false;
	bytes = (size_t)box.w * 4;
	live_hash = scratch;
	old_hash = scratch + box.h;
	for (uint32_t i = 0; i < box.h; i++) {
		live_hash[i] =
			sample_row(live_row(live, box, box.y + i), bytes);
		old_hash[i] = sample_row(
			old_row(old, old_stride, box, box.y + i), bytes);
	}
	/* Old rows equal to a probed live row give the candidate shifts. */
	for (unsigned p = 0; p < PROBES; p++) {
		uint32_t i =
			(uint32_t)((uint64_t)box.h * (p + 1) / (PROBES + 1));
		uint32_t end = i + FB_MOTION_MIN_ROWS;

		while (i < end && i < box.h && !distinctive(live_hash, i))
			i++;
		if (i >= end || i >= box.h)
			continue;
		for (uint32_t j = 0; j < box.h && ncand < MAX_CANDIDATES; j++) {
			int32_t dy = (int32_t)j - (int32_t)i;
			bool known = false;

			if (old_hash[j] != live_hash[i] || dy == 0)
				continue;
			for (unsigned k = 0; k < ncand; k++)
				known |= cand[k] == dy;
			if (!known)
				cand[ncand++] = dy;
		}
	}
	/* A run is worth what it changes: rows of a repeating pattern
	 * equal their neighbours a period away, and copying them onto
	 * themselves saves nothing. The sampled hashes propose; the bytes
	 * decide, best proposal first. */
	for (unsigned k = 0; k < ncand; k++) {
		run_len[k] = best_run(live_hash, old_hash, box.h, cand[k],
				      &run_start[k]);
		run_gain[k] = 0;
		for (uint32_t i = run_start[k]; i < run_start[k] + run_len[k];
		     i++)
			run_gain[k] += live_hash[i] != old_hash[i];
	}
	for (;;) {
		unsigned pick = ncand;

		for (unsigned k = 0; k < ncand; k++)
			if (run_len[k] >= FB_MOTION_MIN_ROWS &&
			    run_gain[k] >= FB_MOTION_MIN_ROWS / 2 &&
			    (pick == ncand || run_gain[k] > run_gain[pick]))
				pick = k;
		if (pick == ncand)
			return false;
		best = confirm_run(old, old_stride, live, box, run_start[pick],
				   run_len[pick], cand[pick]);
		if (best >= FB_MOTION_MIN_ROWS) {
			best_start = run_start[pick];
			best_dy = cand[pick];
			break;
		}
		run_len[pick] = 0;
	}
	move->dst = (struct fb_rect){box.x, box.y + best_start, box.w, best};
	move->dx = 0;
	move->dy = best_dy;
	return true;
}

static uint32_t live_px(const struct fb_view *live, uint32_t x, uint32_t y)
{
	uint32_t v;

	memcpy(&v, live->data + (size_t)y * live->stride + (size_t)x * 4, 4);
	return v;
}

static bool worth_copying(uint32_t w, uint32_t h)
{
	return w >= FB_MOTION_MIN_SIDE && h >= FB_MOTION_MIN_SIDE &&
	       (uint64_t)w * h >= FB_MOTION_MIN_AREA;
}

/* The search below keeps the source inside the box and the frame, so
 * these hold for every (x, y) of a candidate block. */
struct block_ctx {
	const uint32_t *old;
	size_t old_stride;
	const struct fb_view *live;
	struct fb_rect box;
};

static bool same_px(const struct block_ctx *b, uint32_t x, uint32_t y,
		    int32_t dx, int32_t dy)
{
	size_t sx = (size_t)((int64_t)x + dx), sy = (size_t)((int64_t)y + dy);

	return live_px(b->live, x, y) == b->old[sy * b->old_stride + sx];
}

static bool same_span(const struct block_ctx *b, uint32_t x, uint32_t w,
		      uint32_t y, int32_t dx, int32_t dy)
{
	size_t sx = (size_t)((int64_t)x + dx), sy = (size_t)((int64_t)y + dy);

	return memcmp(b->live->data + (size_t)y * b->live->stride +
			      (size_t)x * 4,
		      b->old + sy * b->old_stride + sx, (size_t)w * 4) == 0;
}

/* Whether (x, y) shifted by (dx, dy) stays inside the box. */
static bool src_inside(const struct block_ctx *b, int64_t x, int64_t y,
		       int32_t dx, int32_t dy)
{
	int64_t sx = x + dx, sy = y + dy;

	return sx >= b->box.x && sx < (int64_t)b->box.x + b->box.w &&
	       sy >= b->box.y && sy < (int64_t)b->box.y + b->box.h;
}

/* The widest run of pixels on row y around x that moved by (dx, dy). */
static void grow_span(const struct block_ctx *b, uint32_t x, uint32_t y,
		      int32_t dx, int32_t dy, uint32_t *xa, uint32_t *xb)
{
	uint32_t a = x, e = x;

	while (a > b->box.x && src_inside(b, a - 1, y, dx, dy) &&
	       same_px(b, a - 1, y, dx, dy))
		a--;
	while (e < b->box.x + b->box.w && src_inside(b, e, y, dx, dy) &&
	       same_px(b, e, y, dx, dy))
		e++;
	*xa = a;
	*xb = e;
}

/* Rows [*ya, *yb) around y where the span [x, x + w) moved by (dx, dy). */
static void grow_rows(const struct block_ctx *b, uint32_t x, uint32_t w,
		      uint32_t y, int32_t dx, int32_t dy, uint32_t *ya,
		      uint32_t *yb)
{
	uint32_t a = y, e = y + 1;

	while (a > b->box.y && src_inside(b, x, a - 1, dx, dy) &&
	       same_span(b, x, w, a - 1, dx, dy))
		a--;
	while (e < b->box.y + b->box.h && src_inside(b, x, e, dx, dy) &&
	       same_span(b, x, w, e, dx, dy))
		e++;
	*ya = a;
	*yb = e;
}

/* The block around the probe at (x, y) that moved by (dx, dy). Flat or
 * repeating background beside a window matches by chance on some rows,
 * so the height comes from the probe's own columns, the width is what
 * rows spread over that height agree on, and the rows are checked again
 * at that width. */
static struct fb_rect grow_block(const struct block_ctx *b, uint32_t x,
				 uint32_t y, int32_t dx, int32_t dy)
{
	enum { SAMPLES = 5 };
	uint32_t xa = 0, xb = UINT32_MAX, ya, yb, h;

	grow_rows(b, x, PROBE_LEN, y, dx, dy, &ya, &yb);
	h = yb - ya;
	for (unsigned i = 0; i < SAMPLES; i++) {
		uint32_t sy =
			ya + (uint32_t)((uint64_t)(h - 1) * i / (SAMPLES - 1));
		uint32_t la, lb;

		grow_span(b, x, sy, dx, dy, &la, &lb);
		xa = la > xa ? la : xa;
		xb = lb < xb ? lb : xb;
	}
	if (xb - xa < FB_MOTION_MIN_SIDE)
		return (struct fb_rect){0, 0, 0, 0};
	grow_rows(b, xa, xb - xa, y, dx, dy, &ya, &yb);
	return (struct fb_rect){xa, ya, xb - xa, yb - ya};
}

/* A probe must say something: a changed, not flat run of pixels. */
static bool good_probe(const struct block_ctx *b, uint32_t x, uint32_t y)
{
	bool flat = true;

	if (x + PROBE_LEN > b->box.x + b->box.w)
		return false;
	for (uint32_t i = 1; i < PROBE_LEN && flat; i++)
		flat = live_px(b->live, x + i, y) == live_px(b->live, x, y);
	return !flat && !same_span(b, x, PROBE_LEN, y, 0, 0);
}

/* Offsets (dx, dy) within the radius where the old frame holds the probe
 * at (x, y); at most `max`. */
static unsigned find_probe(const struct block_ctx *b, uint32_t x, uint32_t y,
			   int32_t (*cand)[2], unsigned max)
{
	const uint8_t *p =
		b->live->data + (size_t)y * b->live->stride + (size_t)x * 4;
	uint32_t first = live_px(b->live, x, y);
	int64_t bx0 = b->box.x, by0 = b->box.y;
	int64_t bx1 = bx0 + b->box.w - PROBE_LEN, by1 = by0 + b->box.h - 1;
	int64_t sx0 = (int64_t)x - FB_MOTION_RADIUS;
	int64_t sx1 = (int64_t)x + FB_MOTION_RADIUS;
	int64_t sy0 = (int64_t)y - FB_MOTION_RADIUS;
	int64_t sy1 = (int64_t)y + FB_MOTION_RADIUS;
	unsigned n = 0;

	sx0 = sx0 < bx0 ? bx0 : sx0;
	sx1 = sx1 > bx1 ? bx1 : sx1;
	sy0 = sy0 < by0 ? by0 : sy0;
	sy1 = sy1 > by1 ? by1 : sy1;
	for (int64_t sy = sy0; sy <= sy1 && n < max; sy++) {
		const uint32_t *row = b->old + (size_t)sy * b->old_stride;

		for (int64_t sx = sx0; sx <= sx1 && n < max; sx++) {
			if (row[sx] != first ||
			    memcmp(row + sx, p, PROBE_LEN * 4) != 0 ||
			    (sx == x && sy == y))
				continue;
			cand[n][0] = (int32_t)(sx - x);
			cand[n][1] = (int32_t)(sy - y);
			n++;
		}
	}
	return n;
}

/* A block moved in any direction: probes on a grid over the box, the
 * middle first, each looked for in the old frame; the first probe that
 * leads to a block worth a CopyRect gives the move. */
static bool find_block(const uint32_t *old, size_t old_stride,
		       const struct fb_view *live, struct fb_rect box,
		       struct fb_move *move)
{
	static const unsigned order[PROBE_GRID] = {1, 0, 2};
	struct block_ctx b = {old, old_stride, live, box};
	int32_t cand[MAX_CANDIDATES][2];
	unsigned fruitless = 0;

	if (box.w < FB_MOTION_MIN_SIDE + PROBE_LEN ||
	    box.h < FB_MOTION_MIN_SIDE)
		return false;
	for (unsigned gy = 0; gy < PROBE_GRID; gy++) {
		for (unsigned gx = 0; gx < PROBE_GRID; gx++) {
			uint32_t y = box.y + (uint32_t)((uint64_t)box.h *
							(2 * order[gy] + 1) /
							(2 * PROBE_GRID));
			uint32_t x = box.x +
				     (uint32_t)((uint64_t)(box.w - PROBE_LEN) *
						(2 * order[gx] + 1) /
						(2 * PROBE_GRID));
			struct fb_rect best = {0, 0, 0, 0};
			unsigned n, best_k = 0;

			if (!good_probe(&b, x, y))
				continue;
			n = find_probe(&b, x, y, cand, MAX_CANDIDATES);
			/* Moved content is found by most probes that land
			 * on it; new content (a video) by none. */
			if (n == 0 && ++fruitless >= MAX_FRUITLESS)
				return false;
			for (unsigned k = 0; k < n; k++) {
				struct fb_rect r = grow_block(
					&b, x, y, cand[k][0], cand[k][1]);

				if ((uint64_t)r.w * r.h >
				    (uint64_t)best.w * best.h) {
					best = r;
					best_k = k;
				}
			}
			if (worth_copying(best.w, best.h)) {
				move->dst = best;
				move->dx = cand[best_k][0];
				move->dy = cand[best_k][1];
				return true;
			}
		}
	}
	return false;
}

bool fb_motion_find(const uint32_t *old, size_t old_stride,
		    const struct fb_view *live, struct fb_rect box,
		    uint64_t *scratch, struct fb_move *move)
{
	if (!fb_rect_clip(&box, live->width, live->height))
		return false;
	return find_scroll(old, old_stride, live, box, scratch, move) ||
	       find_block(old, old_stride, live, box, move);
}

bool fb_motion_apply(uint32_t *frame, size_t stride, const struct fb_view *live,
		     struct fb_move *move)
{
	struct fb_rect d = move->dst;
	size_t sx = (size_t)((int64_t)d.x + move->dx);
	uint32_t good = 0;

	/* Rows in the order that reads each source row before a write
	 * lands on it; memmove takes care of overlap within a row. */
	for (uint32_t i = 0; i < d.h; i++) {
		uint32_t k = move->dy > 0 ? i : d.h - 1 - i;
		size_t y = (size_t)d.y + k;
		size_t sy = (size_t)((int64_t)y + move->dy);

		memmove(frame + y * stride + d.x, frame + sy * stride + sx,
			(size_t)d.w * 4);
	}
	while (good < d.h &&
	       memcmp(frame + ((size_t)d.y + good) * stride + d.x,
		      live->data + ((size_t)d.y + good) * live->stride +
			      (size_t)d.x * 4,
		      (size_t)d.w * 4) == 0)
		good++;
	if (!worth_copying(d.w, good))
		return false;
	move->dst.h = good;
	return true;
}
