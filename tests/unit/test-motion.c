/* Move detection in fb/motion.c: a dragged window and a scrolled console
 * are found, every reported pixel really moved, content that did not
 * move is never reported, and a frame rewritten after the search drops
 * what no longer holds. */
#include "fb/motion.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define W 320u
#define H 240u

struct frames {
	uint32_t old[W * H];
	uint32_t live[W * H];
	uint64_t scratch[2 * H];
	struct fb_view view;
};

static uint32_t noise(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t h = x * 0x9e3779b1u ^ y * 0x85ebca6bu ^ seed * 0xc2b2ae35u;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h & 0xffffff;
}

static struct frames *frames_new(void)
{
	struct frames *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->view = (struct fb_view){(const uint8_t *)f->live, W, H, W * 4};
	return f;
}

/* A desktop (flat, or a fine pattern) with a textured window on it. */
static void draw(uint32_t *px, bool flat_desktop, uint32_t wx, uint32_t wy,
		 uint32_t ww, uint32_t wh)
{
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++)
			px[y * W + x] =
				flat_desktop ? 0x336699
					     : ((x / 4 ^ y / 4) & 1 ? 0x404040
								    : 0x505050);
	for (uint32_t v = 0; v < wh; v++)
		for (uint32_t u = 0; u < ww; u++)
			px[(wy + v) * W + wx + u] = noise(u, v, 7);
}

/* Every pixel of the move's destination equals the old pixel it would be
 * copied from. */
static void assert_move_holds(const struct frames *f, const struct fb_move *m)
{
	assert_true(m->dst.w > 0 && m->dst.h > 0);
	assert_true(m->dst.x + m->dst.w <= W && m->dst.y + m->dst.h <= H);
	for (uint32_t y = m->dst.y; y < m->dst.y + m->dst.h; y++) {
		int64_t sy = (int64_t)y + m->dy;

		assert_true(sy >= 0 && sy < H);
		for (uint32_t x = m->dst.x; x < m->dst.x + m->dst.w; x++) {
			int64_t sx = (int64_t)x + m->dx;

			assert_true(sx >= 0 && sx < W);
			assert_int_equal(f->live[y * W + x],
					 f->old[sy * W + sx]);
		}
	}
}

static void drag(bool flat, uint32_t ox, uint32_t oy, uint32_t nx, uint32_t ny)
{
	struct frames *f = frames_new();
	struct fb_rect box = {0, 0, W, H};
	struct fb_move m;

	draw(f->old, flat, ox, oy, 120, 90);
	draw(f->live, flat, nx, ny, 120, 90);
	assert_true(fb_motion_find(f->old, W, &f->view, box, f->scratch, &m));
	assert_int_equal(m.dx, (int32_t)ox - (int32_t)nx);
	assert_int_equal(m.dy, (int32_t)oy - (int32_t)ny);
	assert_move_holds(f, &m);
	/* The whole window is copied, nothing of the desktop beside it
	 * that only matched by chance on a few rows. */
	assert_true(m.dst.x <= nx && m.dst.y <= ny);
	assert_true(m.dst.x + m.dst.w >= nx + 120);
	assert_true(m.dst.y + m.dst.h >= ny + 90);
	free(f);
}

static void window_dragged_on_pattern(void **state)
{
	(void)state;
	drag(false, 50, 40, 58, 44);
	drag(false, 150, 100, 100, 60);
}

static void window_dragged_on_flat_desktop(void **state)
{
	(void)state;
	drag(true, 50, 40, 58, 44);
	drag(true, 100, 100, 93, 110);
}

/* The box bounds both ends of the copy: content that moved from outside
 * it is not used. */
static void move_kept_inside_box(void **state)
{
	struct frames *f = frames_new();
	struct fb_rect box = {60, 40, 140, 120};
	struct fb_move m;

	(void)state;
	draw(f->old, false, 50, 40, 120, 90);
	draw(f->live, false, 66, 48, 120, 90);
	if (fb_motion_find(f->old, W, &f->view, box, f->scratch, &m)) {
		assert_move_holds(f, &m);
		assert_true(m.dst.x >= box.x && m.dst.y >= box.y);
		assert_true(m.dst.x + m.dst.w <= box.x + box.w);
		assert_true(m.dst.y + m.dst.h <= box.y + box.h);
		assert_true(m.dst.x + m.dx >= (int64_t)box.x);
		assert_true(m.dst.y + m.dy >= (int64_t)box.y);
		assert_true(m.dst.x + m.dx + m.dst.w <= box.x + box.w);
		assert_true(m.dst.y + m.dy + m.dst.h <= box.y + box.h);
	}
	free(f);
}

static void nothing_moved(void **state)
{
	struct frames *f = frames_new();
	struct fb_rect box = {0, 0, W, H};
	struct fb_move m;

	(void)state;
	/* Every pixel new, as in a video. */
	for (uint32_t i = 0; i < W * H; i++) {
		f->old[i] = noise(i % W, i / W, 1);
		f->live[i] = noise(i % W, i / W, 2);
	}
	assert_false(fb_motion_find(f->old, W, &f->view, box, f->scratch, &m));
	/* A window drawn where there was none, and one moved farther than
	 * the search radius. */
	draw(f->old, false, 0, 0, 0, 0);
	draw(f->live, false, 100, 100, 120, 90);
	assert_false(fb_motion_find(f->old, W, &f->view, box, f->scratch, &m));
	free(f);
}

static void far_move_not_found(void **state)
{
	struct frames *f = frames_new();
	struct fb_rect box = {0, 0, 2 * W, 2 * H}; /* clipped to the frame */
	struct fb_move m;

	(void)state;
	assert_true(W - 100 > FB_MOTION_RADIUS + 1);
	draw(f->old, false, 0, 0, 100, 100);
	draw(f->live, false, W - 100, 0, 100, 100);
	if (fb_motion_find(f->old, W, &f->view, box, f->scratch, &m))
		assert_move_holds(f, &m);
	assert_false(fb_motion_find(f->old, W, &f->view,
				    (struct fb_rect){W, H, 10, 10}, f->scratch,
				    &m));
	free(f);
}

/* Text lines scrolled up by one line over the whole width: found as a
 * scroll, dx = 0. */
static void console_scroll(void **state)
{
	struct frames *f = frames_new();
	struct fb_rect box = {0, 0, W, H};
	struct fb_move m;

	(void)state;
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			f->old[y * W + x] = noise(x / 8, y, y / 16);
			f->live[y * W + x] =
				y + 16 < H ? noise(x / 8, y + 16, (y + 16) / 16)
					   : noise(x, y, 99);
		}
	assert_true(fb_motion_find(f->old, W, &f->view, box, f->scratch, &m));
	assert_int_equal(m.dx, 0);
	assert_int_equal(m.dy, 16);
	assert_int_equal(m.dst.w, W);
	assert_int_equal(m.dst.h, H - 16);
	assert_move_holds(f, &m);
	free(f);
}

/* Applying a move does to the old frame what CopyRect does to a client;
 * rows the producer drew again after the search are cut off, and too
 * few rows left drop the move. */
static void apply_cuts_rewritten_rows(void **state)
{
	struct frames *f = frames_new();
	struct fb_rect box = {0, 0, W, H};
	struct fb_move m, kept;
	uint32_t *saved = malloc(sizeof(f->old));

	(void)state;
	assert_non_null(saved);
	draw(f->old, false, 50, 40, 120, 90);
	draw(f->live, false, 60, 50, 120, 90);
	memcpy(saved, f->old, sizeof(f->old));
	assert_true(fb_motion_find(f->old, W, &f->view, box, f->scratch, &m));
	kept = m;
	assert_true(fb_motion_apply(f->old, W, &f->view, &kept));
	assert_memory_equal(&kept, &m, sizeof(m));
	/* The destination now holds the live window; nothing else moved. */
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			bool in = x >= m.dst.x && x < m.dst.x + m.dst.w &&
				  y >= m.dst.y && y < m.dst.y + m.dst.h;

			assert_int_equal(f->old[y * W + x],
					 in ? f->live[y * W + x]
					    : saved[y * W + x]);
		}

	memcpy(f->old, saved, sizeof(f->old));
	f->live[(m.dst.y + 40) * W + m.dst.x + 3] ^= 1;
	kept = m;
	assert_true(fb_motion_apply(f->old, W, &f->view, &kept));
	assert_int_equal(kept.dst.h, 40);
	assert_int_equal(kept.dst.y, m.dst.y);

	memcpy(f->old, saved, sizeof(f->old));
	f->live[(m.dst.y + 2) * W + m.dst.x] ^= 1;
	kept = m;
	assert_false(fb_motion_apply(f->old, W, &f->view, &kept));
	free(saved);
	free(f);
}

/* A scroll applied in place, both directions: rows overlap their
 * sources, so the order of the copy matters. */
static void apply_scroll_in_place(void **state)
{
	for (int dir = -1; dir <= 1; dir += 2) {
		struct frames *f = frames_new();
		struct fb_move m = {{0, 32, W, H - 64}, 0, 16 * dir};

		(void)state;
		for (uint32_t y = 0; y < H; y++)
			for (uint32_t x = 0; x < W; x++)
				f->old[y * W + x] = noise(x, y, 5);
		for (uint32_t y = 0; y < H; y++)
			for (uint32_t x = 0; x < W; x++) {
				int64_t sy = (int64_t)y + m.dy;

				f->live[y * W + x] =
					y >= 32 && y < H - 32
						? f->old[sy * W + x]
						: f->old[y * W + x];
			}
		assert_true(fb_motion_apply(f->old, W, &f->view, &m));
		assert_int_equal(m.dst.h, H - 64);
		assert_memory_equal(f->old, f->live, sizeof(f->old));
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_dragged_on_pattern),
		cmocka_unit_test(window_dragged_on_flat_desktop),
		cmocka_unit_test(move_kept_inside_box),
		cmocka_unit_test(nothing_moved),
		cmocka_unit_test(far_move_not_found),
		cmocka_unit_test(console_scroll),
		cmocka_unit_test(apply_cuts_rewritten_rows),
		cmocka_unit_test(apply_scroll_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
