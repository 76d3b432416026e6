#include "fb/motion.h"

#include <string.h>

/* Rows probed in the live frame to find candidate shifts. */
#define PROBES	       8
#define MAX_CANDIDATES 16

static uint64_t hash_row(const uint8_t *p, size_t bytes)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ bytes;
	size_t i = 0;

	for (; i + 8 <= bytes; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < bytes; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
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

bool fb_motion_find(const uint32_t *old, size_t old_stride,
		    const struct fb_view *live, struct fb_rect box,
		    uint64_t *scratch, struct fb_move *move)
{
	size_t bytes;
	uint64_t *hashes, *live_hash, *old_hash;
	int32_t cand[MAX_CANDIDATES];
	unsigned ncand = 0;
	uint32_t best = 0, best_start = 0;
	int32_t best_dy = 0;

	if (!fb_rect_clip(&box, live->width, live->height) ||
	    box.h < FB_MOTION_MIN_ROWS * 2 || box.w < 16)
		return false;
	bytes = (size_t)box.w * 4;
	hashes = scratch;
	live_hash = hashes;
	old_hash = hashes + box.h;
	for (uint32_t i = 0; i < box.h; i++) {
		live_hash[i] = hash_row(live_row(live, box, box.y + i), bytes);
		old_hash[i] = hash_row(old_row(old, old_stride, box, box.y + i),
				       bytes);
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
	for (unsigned k = 0; k < ncand; k++) {
		uint32_t start = 0;
		uint32_t run =
			best_run(live_hash, old_hash, box.h, cand[k], &start);

		if (run > best) {
			best = run;
			best_start = start;
			best_dy = cand[k];
		}
	}
	if (best < FB_MOTION_MIN_ROWS)
		return false;
	/* Hashes chose the run; the bytes decide. Trim rows that only
	 * collided. */
	for (uint32_t i = 0; i < best; i++) {
		uint32_t y = box.y + best_start + i;
		uint32_t sy = (uint32_t)((int64_t)y + best_dy);

		if (memcmp(live_row(live, box, y),
			   old_row(old, old_stride, box, sy), bytes) != 0) {
			if (i >= FB_MOTION_MIN_ROWS) {
				best = i;
				break;
			}
			return false;
		}
	}
	move->dst = (struct fb_rect){box.x, box.y + best_start, box.w, best};
	move->dy = best_dy;
	return true;
}

bool fb_motion_verify(const uint32_t *now, size_t now_stride,
		      struct fb_rect box, const uint64_t *scratch,
		      struct fb_move *move)
{
	const uint64_t *old_hash = scratch + box.h;
	size_t bytes = (size_t)move->dst.w * 4;
	uint32_t good = 0;

	/* fb_motion_find hashed whole box rows: the move spans them. */
	if (move->dst.x != box.x || move->dst.w != box.w)
		return false;
	for (; good < move->dst.h; good++) {
		uint32_t y = move->dst.y + good;
		uint32_t sy = (uint32_t)((int64_t)y + move->dy);

		if (hash_row((const uint8_t *)(now + (size_t)y * now_stride +
					       box.x),
			     bytes) != old_hash[sy - box.y])
			break;
	}
	if (good < FB_MOTION_MIN_ROWS)
		return false;
	move->dst.h = good;
	return true;
}
