/* The shadow copy in fb/shadow.c: what a sync compares (the hint, clipped),
 * what it copies (exactly the tiles that differ) and what it refuses. */
#include "fb/shadow.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A live frame with its own stride, the shadow, and a region for what
 * changed. Bytes between width * 4 and the stride hold junk that must
 * never reach the shadow. */
struct fixture {
	struct fb_shadow s;
	struct fb_region changed;
	struct fb_view view;
	uint8_t *live;
	uint32_t width, height;
	size_t stride;
};

#define PAD_JUNK 0xee

static void fx_init(struct fixture *f, uint32_t width, uint32_t height,
		    size_t stride)
{
	f->width = width;
	f->height = height;
	f->stride = stride;
	f->live = malloc(stride * height);
	assert_non_null(f->live);
	memset(f->live, PAD_JUNK, stride * height);
	for (uint32_t y = 0; y < height; y++)
		memset(f->live + y * stride, 0, (size_t)width * 4);
	f->view = (struct fb_view){f->live, width, height, stride};
	assert_int_equal(fb_shadow_init(&f->s, width, height), 0);
	assert_int_equal(fb_region_init(&f->changed, width, height), 0);
}

static void fx_fini(struct fixture *f)
{
	fb_region_fini(&f->changed);
	fb_shadow_fini(&f->s);
	free(f->live);
}

static uint32_t get_px(const struct fixture *f, uint32_t x, uint32_t y)
{
	uint32_t v;

	memcpy(&v, f->live + y * f->stride + (size_t)x * 4, 4);
	return v;
}

static void set_px(struct fixture *f, uint32_t x, uint32_t y, uint32_t v)
{
	memcpy(f->live + y * f->stride + (size_t)x * 4, &v, 4);
}

static void fill(struct fixture *f, uint32_t seed)
{
	for (uint32_t y = 0; y < f->height; y++)
		for (uint32_t x = 0; x < f->width; x++)
			set_px(f, x, y,
			       (x * 2654435761u ^ y * 40503u ^ seed) | 1u);
}

static long sync_all(struct fixture *f)
{
	struct fb_damage all = {.all = true};

	return fb_shadow_sync(&f->s, &f->view, &all, &f->changed, NULL);
}

static long sync_rects(struct fixture *f, const struct fb_rect *rects,
		       unsigned n)
{
	struct fb_damage hint = {.all = false, .n = n};

	assert_true(n <= FB_DAMAGE_MAX_RECTS);
	if (n)
		memcpy(hint.rects, rects, n * sizeof(*rects));
	return fb_shadow_sync(&f->s, &f->view, &hint, &f->changed, NULL);
}

static bool shadow_equals_live(const struct fixture *f)
{
	for (uint32_t y = 0; y < f->height; y++)
		if (memcmp(f->s.pixels + (size_t)y * f->width,
			   f->live + y * f->stride, (size_t)f->width * 4) != 0)
			return false;
	return true;
}

static bool tile_set(const struct fb_region *r, uint32_t col, uint32_t row)
{
	return fb_region_has_tile(r, col, row);
}

/* The changed region holds exactly the tiles of `want` (cols * rows
 * flags). */
static void expect_tiles(const struct fixture *f, const uint8_t *want)
{
	size_t n = 0;

	for (uint32_t row = 0; row < f->changed.rows; row++)
		for (uint32_t col = 0; col < f->changed.cols; col++) {
			bool w = want[(size_t)row * f->changed.cols + col];

			assert_int_equal(tile_set(&f->changed, col, row), w);
			n += w;
		}
	assert_int_equal(f->changed.count, n);
}

static void test_init(void **state)
{
	struct fb_shadow s;

	assert_int_equal(fb_shadow_init(&s, 0, 10), -EINVAL);
	assert_int_equal(fb_shadow_init(&s, 10, 0), -EINVAL);
	assert_int_equal(fb_shadow_init(&s, FB_MAX_DIM + 1, 10), -EINVAL);
	assert_int_equal(fb_shadow_init(&s, 10, FB_MAX_DIM + 1), -EINVAL);
	assert_int_equal(fb_shadow_init(&s, UINT32_MAX, UINT32_MAX), -EINVAL);
	fb_shadow_fini(&s);

	assert_int_equal(fb_shadow_init(&s, 1023, 767), 0);
	assert_int_equal(s.width, 1023);
	assert_int_equal(s.height, 767);
	for (size_t i = 0; i < (size_t)1023 * 767; i++)
		assert_int_equal(s.pixels[i], 0);
	fb_shadow_fini(&s);
}

static void test_first_sync_copies_all(void **state)
{
	struct fixture f;

	fx_init(&f, 1023, 767, 1023 * 4);
	/* A black frame matches the fresh (black) shadow. */
	assert_int_equal(sync_all(&f), 0);
	assert_true(fb_region_empty(&f.changed));

	fill(&f, 1);
	assert_int_equal(sync_all(&f), 16 * 48);
	assert_int_equal(f.changed.count, 16 * 48);
	assert_true(shadow_equals_live(&f));

	/* Nothing new: nothing reported. */
	fb_region_clear(&f.changed);
	assert_int_equal(sync_all(&f), 0);
	assert_true(fb_region_empty(&f.changed));
	fx_fini(&f);
}

/* One changed pixel anywhere, tile corners and frame edges included,
 * reports its tile and only that tile, and in it that pixel alone. */
static void test_single_pixel(void **state)
{
	static const uint32_t px[][2] = {
		{0, 0},	    {63, 0},	{64, 0},    {0, 15},	 {0, 16},
		{63, 15},   {64, 16},	{1022, 0},  {0, 766},	 {1022, 766},
		{960, 752}, {959, 751}, {500, 300}, {1021, 765}, {128, 32},
	};
	struct fixture f;
	uint8_t want[16 * 48];
	struct fb_rect got;

	fx_init(&f, 1023, 767, 1023 * 4);
	fill(&f, 2);
	assert_int_equal(sync_all(&f), 16 * 48);
	for (size_t i = 0; i < sizeof(px) / sizeof(px[0]); i++) {
		uint32_t x = px[i][0], y = px[i][1];

		fb_region_clear(&f.changed);
		set_px(&f, x, y, get_px(&f, x, y) ^ 0x00010000);
		assert_int_equal(sync_all(&f), 1);
		memset(want, 0, sizeof(want));
		want[(y / FB_TILE_H) * 16 + x / FB_TILE_W] = 1;
		expect_tiles(&f, want);
		assert_int_equal(fb_region_rects(&f.changed, &got, 1), 1);
		assert_int_equal(got.x, x);
		assert_int_equal(got.y, y);
		assert_int_equal(got.w, 1);
		assert_int_equal(got.h, 1);
		assert_true(shadow_equals_live(&f));
	}
	fx_fini(&f);
}

/* Several tiles of one tile row changed on different pixel rows, next
 * to tiles that did not change: exactly the changed ones are reported
 * and copied. */
static void test_changes_in_one_row(void **state)
{
	struct fixture f;
	uint8_t want[16 * 48] = {0};

	fx_init(&f, 1023, 767, 1023 * 4);
	fill(&f, 3);
	sync_all(&f);
	fb_region_clear(&f.changed);

	set_px(&f, 70, 160, 0xabcdef);	 /* tile (1, 10), first pixel row */
	set_px(&f, 200, 175, 0x123456);	 /* tile (3, 10), last pixel row */
	set_px(&f, 383, 167, 0x654321);	 /* tile (5, 10), last column */
	set_px(&f, 384, 168, 0x111111);	 /* tile (6, 10), first column */
	set_px(&f, 1022, 170, 0x222222); /* tile (15, 10), clipped */
	want[10 * 16 + 1] = want[10 * 16 + 3] = want[10 * 16 + 5] = 1;
	want[10 * 16 + 6] = want[10 * 16 + 15] = 1;
	assert_int_equal(sync_all(&f), 5);
	expect_tiles(&f, want);
	assert_true(shadow_equals_live(&f));

	/* The whole tile is copied, not only the first row found to
	 * differ. */
	fb_region_clear(&f.changed);
	memset(want, 0, sizeof(want));
	for (uint32_t y = 32; y < 48; y++)
		for (uint32_t x = 64; x < 128; x++)
			set_px(&f, x, y, get_px(&f, x, y) + 1);
	want[2 * 16 + 1] = 1;
	assert_int_equal(sync_all(&f), 1);
	expect_tiles(&f, want);
	assert_true(shadow_equals_live(&f));
	fx_fini(&f);
}

/* Random scattered changes: the changed region is exactly the set of
 * tiles holding a changed pixel. */
static void test_random_changes(void **state)
{
	static const uint32_t geo[][2] = {
		{1023, 767}, {640, 480}, {1, 1}, {65, 17}, {4096, 20}};
	uint32_t seed = 99;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct fixture f;
		uint32_t w = geo[g][0], h = geo[g][1];
		uint32_t cols = (w + 63) / 64, rows = (h + 15) / 16;
		uint8_t *want = calloc((size_t)cols * rows, 1);

		assert_non_null(want);
		fx_init(&f, w, h, (size_t)w * 4 + 12);
		fill(&f, 4);
		sync_all(&f);
		for (int round = 0; round < 20; round++) {
			long expect = 0;

			fb_region_clear(&f.changed);
			memset(want, 0, (size_t)cols * rows);
			uint32_t xs[8], ys[8];
			int n = round % 7 + 1;

			for (int i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				xs[i] = (seed >> 8) % w;
				seed = seed * 1103515245u + 12345u;
				ys[i] = (seed >> 8) % h;
				set_px(&f, xs[i], ys[i],
				       get_px(&f, xs[i], ys[i]) ^ seed);
			}
			/* Decided after all writes: one may undo another. */
			for (int i = 0; i < n; i++) {
				uint32_t x = xs[i], y = ys[i];
				uint8_t *t = &want[y / 16 * cols + x / 64];

				if (get_px(&f, x, y) != f.s.pixels[y * w + x]) {
					expect += !*t;
					*t = 1;
				}
			}
			assert_int_equal(sync_all(&f), expect);
			assert_int_equal(f.changed.count, expect);
			for (uint32_t r = 0; r < rows; r++)
				for (uint32_t c = 0; c < cols; c++)
					assert_int_equal(
						tile_set(&f.changed, c, r),
						want[r * cols + c]);
			assert_true(shadow_equals_live(&f));
		}
		free(want);
		fx_fini(&f);
	}
}

/* `changed` is added to, not replaced; the count is of tiles this sync
 * found. */
static void test_changed_accumulates(void **state)
{
	struct fixture f;

	fx_init(&f, 640, 480, 640 * 4);
	fill(&f, 5);
	sync_all(&f);
	fb_region_clear(&f.changed);
	fb_region_add_tile(&f.changed, 9, 29);
	set_px(&f, 0, 0, 0);
	assert_int_equal(sync_all(&f), 1);
	assert_int_equal(f.changed.count, 2);
	assert_true(tile_set(&f.changed, 0, 0));
	assert_true(tile_set(&f.changed, 9, 29));
	fx_fini(&f);
}

static void test_hint_limits_compare(void **state)
{
	struct fixture f;
	uint32_t before;

	fx_init(&f, 1023, 767, 1023 * 4);
	fill(&f, 6);
	sync_all(&f);
	fb_region_clear(&f.changed);

	/* A hint covering the change: found. */
	set_px(&f, 300, 300, 0x42);
	assert_int_equal(sync_rects(&f, &(struct fb_rect){290, 290, 20, 20}, 1),
			 1);
	assert_true(tile_set(&f.changed, 4, 18));
	assert_int_equal(f.s.pixels[300 * 1023 + 300], 0x42);

	/* A hint that misses the change: by design not seen, and the
	 * shadow keeps what it had there. */
	fb_region_clear(&f.changed);
	before = f.s.pixels[700 * 1023 + 900];
	set_px(&f, 900, 700, before ^ 0xff);
	assert_int_equal(sync_rects(&f, &(struct fb_rect){0, 0, 800, 600}, 1),
			 0);
	assert_true(fb_region_empty(&f.changed));
	assert_int_equal(f.s.pixels[700 * 1023 + 900], before);
	/* An empty hint compares nothing either. */
	assert_int_equal(sync_rects(&f, NULL, 0), 0);
	assert_int_equal(f.s.pixels[700 * 1023 + 900], before);
	/* The next full compare catches up. */
	assert_int_equal(sync_all(&f), 1);
	assert_true(tile_set(&f.changed, 14, 43));
	assert_true(shadow_equals_live(&f));

	/* Two changes, a hint over one of them. */
	fb_region_clear(&f.changed);
	set_px(&f, 10, 10, 1);
	set_px(&f, 1000, 10, 1);
	assert_int_equal(sync_rects(&f, &(struct fb_rect){0, 0, 64, 16}, 1), 1);
	assert_int_equal(f.changed.count, 1);
	assert_true(tile_set(&f.changed, 0, 0));
	assert_int_equal(sync_all(&f), 1);
	assert_true(tile_set(&f.changed, 15, 0));
	fx_fini(&f);
}

/* Hints that are too big, off the frame or overlapping are clipped; the
 * changes inside the frame are still found, each tile once. */
static void test_hint_hostile(void **state)
{
	static const struct fb_rect junk[] = {
		{5000, 5000, 10, 10},
		{1023, 0, 10, 10},
		{0, 767, 10, 10},
		{UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX},
		{UINT32_MAX - 1, 0, 5, 5},
		{10, 10, 0, 0},
	};
	struct fixture f;
	struct fb_rect rects[4];

	fx_init(&f, 1023, 767, 1023 * 4);
	fill(&f, 7);
	sync_all(&f);
	fb_region_clear(&f.changed);

	set_px(&f, 1022, 766, get_px(&f, 1022, 766) ^ 0xff);
	set_px(&f, 0, 0, get_px(&f, 0, 0) ^ 0xff);
	assert_int_equal(sync_rects(&f, junk, sizeof(junk) / sizeof(junk[0])),
			 0);
	assert_true(fb_region_empty(&f.changed));

	/* Wrapping sizes and overlapping rects. */
	rects[0] = (struct fb_rect){1000, 700, UINT32_MAX, UINT32_MAX};
	rects[1] = (struct fb_rect){0, 0, UINT32_MAX, 1};
	rects[2] = (struct fb_rect){1020, 760, 100, 100};
	rects[3] = (struct fb_rect){0, 0, 5, 5};
	assert_int_equal(sync_rects(&f, rects, 4), 2);
	assert_int_equal(f.changed.count, 2);
	assert_true(tile_set(&f.changed, 0, 0));
	assert_true(tile_set(&f.changed, 15, 47));
	assert_true(shadow_equals_live(&f));

	/* A count past the array cannot be trusted: the whole frame is
	 * compared rather than rects read past the end. */
	fb_region_clear(&f.changed);
	set_px(&f, 600, 400, get_px(&f, 600, 400) ^ 0xff);
	{
		struct fb_damage bogus = {.all = false,
					  .n = FB_DAMAGE_MAX_RECTS + 1};

		assert_int_equal(
			fb_shadow_sync(&f.s, &f.view, &bogus, &f.changed, NULL),
			1);
		bogus.n = UINT32_MAX;
		set_px(&f, 601, 400, get_px(&f, 601, 400) ^ 0xff);
		assert_int_equal(
			fb_shadow_sync(&f.s, &f.view, &bogus, &f.changed, NULL),
			1);
	}
	assert_true(tile_set(&f.changed, 9, 25));
	assert_true(shadow_equals_live(&f));
	fx_fini(&f);
}

static void test_geometry_mismatch(void **state)
{
	struct fixture f;
	struct fb_region other;
	struct fb_damage all = {.all = true};
	struct fb_view v;

	fx_init(&f, 640, 480, 640 * 4 + 64);
	fill(&f, 8);

	v = f.view;
	v.width = 639;
	assert_int_equal(fb_shadow_sync(&f.s, &v, &all, &f.changed, NULL),
			 -EINVAL);
	v = f.view;
	v.height = 481;
	assert_int_equal(fb_shadow_sync(&f.s, &v, &all, &f.changed, NULL),
			 -EINVAL);
	v = f.view;
	v.stride = 640 * 4 - 1;
	assert_int_equal(fb_shadow_sync(&f.s, &v, &all, &f.changed, NULL),
			 -EINVAL);
	v.stride = 0;
	assert_int_equal(fb_shadow_sync(&f.s, &v, &all, &f.changed, NULL),
			 -EINVAL);

	assert_int_equal(fb_region_init(&other, 640, 479), 0);
	assert_int_equal(fb_shadow_sync(&f.s, &f.view, &all, &other, NULL),
			 -EINVAL);
	assert_int_equal(fb_region_reset(&other, 641, 480), 0);
	assert_int_equal(fb_shadow_sync(&f.s, &f.view, &all, &other, NULL),
			 -EINVAL);
	fb_region_fini(&other);

	/* Nothing was compared or copied by the refused calls. */
	assert_true(fb_region_empty(&f.changed));
	for (size_t i = 0; i < (size_t)640 * 480; i++)
		assert_int_equal(f.s.pixels[i], 0);

	/* The exact minimum stride is fine. */
	v = f.view;
	v.stride = 640 * 4;
	assert_true(fb_shadow_sync(&f.s, &v, &all, &f.changed, NULL) > 0);
	fx_fini(&f);
}

/* A stride wider than the row: the bytes past width * 4 are neither
 * copied nor compared. */
static void test_wide_stride(void **state)
{
	struct fixture f;

	fx_init(&f, 100, 40, 100 * 4 + 36);
	fill(&f, 9);
	assert_int_equal(sync_all(&f), 2 * 3);
	assert_true(shadow_equals_live(&f));
	for (size_t i = 0; i < (size_t)100 * 40; i++)
		assert_int_not_equal(f.s.pixels[i], 0xeeeeeeee);

	/* Only padding changes: nothing to report. */
	fb_region_clear(&f.changed);
	for (uint32_t y = 0; y < 40; y++)
		memset(f.live + y * f.stride + 400, 0x11, 36);
	assert_int_equal(sync_all(&f), 0);
	assert_true(fb_region_empty(&f.changed));

	/* A change in the last row and column lands where it should. */
	set_px(&f, 99, 39, 0xdead);
	assert_int_equal(sync_all(&f), 1);
	assert_true(tile_set(&f.changed, 1, 2));
	assert_int_equal(f.s.pixels[39 * 100 + 99], 0xdead);
	assert_true(shadow_equals_live(&f));
	fx_fini(&f);
}

/* A tile changed and changed back between two syncs: nothing to send. */
static void test_aba(void **state)
{
	struct fixture f;
	uint32_t old;

	fx_init(&f, 1023, 767, 1023 * 4);
	fill(&f, 10);
	sync_all(&f);
	fb_region_clear(&f.changed);

	old = get_px(&f, 512, 384);
	set_px(&f, 512, 384, ~old);
	set_px(&f, 512, 384, old);
	assert_int_equal(sync_all(&f), 0);
	assert_true(fb_region_empty(&f.changed));
	assert_int_equal(sync_rects(&f, &(struct fb_rect){512, 384, 1, 1}, 1),
			 0);
	assert_true(shadow_equals_live(&f));

	/* A change synced, then undone: the undo is a change too. */
	set_px(&f, 512, 384, ~old);
	assert_int_equal(sync_all(&f), 1);
	fb_region_clear(&f.changed);
	set_px(&f, 512, 384, old);
	assert_int_equal(sync_all(&f), 1);
	assert_true(tile_set(&f.changed, 8, 24));
	assert_true(shadow_equals_live(&f));
	fx_fini(&f);
}

static void test_one_pixel_frame(void **state)
{
	struct fixture f;

	fx_init(&f, 1, 1, 4);
	set_px(&f, 0, 0, 0x00ffffff);
	assert_int_equal(sync_rects(&f, &(struct fb_rect){0, 0, 1, 1}, 1), 1);
	assert_int_equal(f.s.pixels[0], 0x00ffffff);
	assert_true(tile_set(&f.changed, 0, 0));
	assert_int_equal(sync_all(&f), 0);
	fx_fini(&f);
}

/* A window dragged by (12, -7): the sync reports the move, the shadow
 * ends equal to live (the window by the move, the rest copied), and the
 * changed region holds the destination, for clients that do not take
 * the CopyRect, and the uncovered desktop. */
static void test_sync_applies_move(void **state)
{
	struct fixture f;
	struct fb_damage all = {.all = true};
	struct fb_move m;
	struct fb_rect win = {112, 57, 200, 150};

	fx_init(&f, 640, 480, 640 * 4 + 8);
	fill(&f, 9);
	for (uint32_t y = 0; y < win.h; y++)
		for (uint32_t x = 0; x < win.w; x++)
			set_px(&f, win.x + x, win.y + y,
			       (x * 7919u ^ y * 104729u) & 0xffffff);
	sync_all(&f);
	fb_region_clear(&f.changed);
	/* Redraw: desktop where the window was, the window 12 right, 7 up. */
	for (uint32_t y = 0; y < win.h; y++)
		for (uint32_t x = 0; x < win.w; x++)
			set_px(&f, win.x + x, win.y + y,
			       ((win.x + x) * 2654435761u ^
				(win.y + y) * 40503u ^ 9) |
				       1u);
	for (uint32_t y = 0; y < win.h; y++)
		for (uint32_t x = 0; x < win.w; x++)
			set_px(&f, win.x + 12 + x, win.y - 7 + y,
			       (x * 7919u ^ y * 104729u) & 0xffffff);
	assert_true(fb_shadow_sync(&f.s, &f.view, &all, &f.changed, &m) > 0);
	assert_int_equal(m.dx, -12);
	assert_int_equal(m.dy, 7);
	assert_int_equal(m.dst.x, win.x + 12);
	assert_int_equal(m.dst.y, win.y - 7);
	assert_int_equal(m.dst.w, win.w);
	assert_int_equal(m.dst.h, win.h);
	assert_true(shadow_equals_live(&f));
	for (uint32_t y = 0; y < f.height; y++)
		for (uint32_t x = 0; x < f.width; x++) {
			bool in_new = x >= win.x + 12 &&
				      x < win.x + 12 + win.w &&
				      y >= win.y - 7 && y < win.y - 7 + win.h;
			bool in_old = x >= win.x && x < win.x + win.w &&
				      y >= win.y && y < win.y + win.h;
			struct fb_rect px = {x, y, 1, 1};

			if (in_new || in_old)
				assert_true(fb_region_touches(&f.changed, px));
		}
	/* Far from both windows nothing is reported. */
	assert_false(fb_region_touches(&f.changed,
				       (struct fb_rect){400, 300, 240, 180}));
	fx_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_first_sync_copies_all),
		cmocka_unit_test(test_single_pixel),
		cmocka_unit_test(test_changes_in_one_row),
		cmocka_unit_test(test_random_changes),
		cmocka_unit_test(test_changed_accumulates),
		cmocka_unit_test(test_hint_limits_compare),
		cmocka_unit_test(test_hint_hostile),
		cmocka_unit_test(test_geometry_mismatch),
		cmocka_unit_test(test_wide_stride),
		cmocka_unit_test(test_aba),
		cmocka_unit_test(test_one_pixel_frame),
		cmocka_unit_test(test_sync_applies_move),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
