/* Tile regions in fb/region.c: tiles marked by rects, merge and clear,
 * and the coalesced rect output. Every shape is checked against a model
 * kept by the test: the output rects must cover exactly the marked
 * tiles, clipped to the frame, without overlapping. */
#include "fb/region.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* What the region should hold: one flag per tile, kept independently. */
struct model {
	uint32_t width, height, cols, rows;
	uint8_t *t;
	size_t count;
};

static void model_init(struct model *m, uint32_t width, uint32_t height)
{
	m->width = width;
	m->height = height;
	m->cols = (uint32_t)(((uint64_t)width + FB_TILE_W - 1) / FB_TILE_W);
	m->rows = (uint32_t)(((uint64_t)height + FB_TILE_H - 1) / FB_TILE_H);
	m->t = calloc((size_t)m->cols * m->rows + 1, 1);
	assert_non_null(m->t);
	m->count = 0;
}

static void model_fini(struct model *m)
{
	free(m->t);
}

static void model_tile(struct model *m, uint32_t col, uint32_t row)
{
	uint8_t *t = &m->t[(size_t)row * m->cols + col];

	if (!*t)
		m->count++;
	*t = 1;
}

/* Marks every tile holding a pixel of `rect` inside the frame, pixel
 * arithmetic in 64 bits so that nothing wraps. */
static void model_rect(struct model *m, struct fb_rect rect)
{
	uint64_t x2 = (uint64_t)rect.x + rect.w, y2 = (uint64_t)rect.y + rect.h;

	if (x2 > m->width)
		x2 = m->width;
	if (y2 > m->height)
		y2 = m->height;
	if (rect.x >= x2 || rect.y >= y2)
		return;
	for (uint64_t row = rect.y / FB_TILE_H; row <= (y2 - 1) / FB_TILE_H;
	     row++)
		for (uint64_t col = rect.x / FB_TILE_W;
		     col <= (x2 - 1) / FB_TILE_W; col++)
			model_tile(m, (uint32_t)col, (uint32_t)row);
}

static void add_both(struct fb_region *r, struct model *m, uint32_t x,
		     uint32_t y, uint32_t w, uint32_t h)
{
	struct fb_rect rect = {x, y, w, h};

	fb_region_add_rect(r, rect);
	model_rect(m, rect);
}

/* Returns the output rects (caller frees) after checking, against the
 * model, that they are clipped, tile-aligned except at the frame's right
 * and bottom edges, disjoint, and cover exactly the marked tiles. */
/* The header's promise: one rect per horizontal run of tiles, except
 * that a run with exactly the same span as a run in the row above
 * extends that run's rect. */
static size_t model_rect_count(const struct model *m)
{
	size_t n = 0;

	for (uint32_t row = 0; row < m->rows; row++) {
		const uint8_t *t = &m->t[(size_t)row * m->cols];
		const uint8_t *up = row ? t - m->cols : NULL;

		for (uint32_t col = 0; col < m->cols;) {
			uint32_t c0 = col;
			bool same;

			if (!t[col++])
				continue;
			while (col < m->cols && t[col])
				col++;
			same = up && (c0 == 0 || !up[c0 - 1]) &&
			       (col == m->cols || !up[col]);
			for (uint32_t c = c0; same && c < col; c++)
				same = up[c];
			n += !same;
		}
	}
	return n;
}

static struct fb_rect *check_rects(const struct fb_region *r,
				   const struct model *m, size_t *n_out)
{
	size_t cap = (size_t)m->cols * m->rows + 1, n;
	struct fb_rect *out = calloc(cap, sizeof(*out));
	uint8_t *cover = calloc(cap, 1);

	assert_non_null(out);
	assert_non_null(cover);
	assert_int_equal(r->width, m->width);
	assert_int_equal(r->height, m->height);
	assert_int_equal(r->count, m->count);
	assert_int_equal(fb_region_empty(r), m->count == 0);
	n = fb_region_rects(r, out, cap);
	assert_true(n <= m->count);
	for (size_t i = 0; i < n; i++) {
		uint64_t x2 = (uint64_t)out[i].x + out[i].w;
		uint64_t y2 = (uint64_t)out[i].y + out[i].h;

		assert_true(out[i].w > 0 && out[i].h > 0);
		assert_true(x2 <= m->width && y2 <= m->height);
		assert_int_equal(out[i].x % FB_TILE_W, 0);
		assert_int_equal(out[i].y % FB_TILE_H, 0);
		assert_true(x2 % FB_TILE_W == 0 || x2 == m->width);
		assert_true(y2 % FB_TILE_H == 0 || y2 == m->height);
		for (uint64_t row = out[i].y / FB_TILE_H;
		     row <= (y2 - 1) / FB_TILE_H; row++)
			for (uint64_t col = out[i].x / FB_TILE_W;
			     col <= (x2 - 1) / FB_TILE_W; col++) {
				uint8_t *c = &cover[row * m->cols + col];

				assert_int_equal(*c, 0); /* overlap */
				*c = 1;
			}
	}
	assert_memory_equal(cover, m->t, (size_t)m->cols * m->rows);
	assert_int_equal(n, model_rect_count(m));
	free(cover);
	*n_out = n;
	return out;
}

static size_t check(const struct fb_region *r, const struct model *m)
{
	size_t n;

	free(check_rects(r, m, &n));
	return n;
}

static void expect_one(const struct fb_region *r, const struct model *m,
		       uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	size_t n;
	struct fb_rect *out = check_rects(r, m, &n);

	assert_int_equal(n, 1);
	assert_int_equal(out[0].x, x);
	assert_int_equal(out[0].y, y);
	assert_int_equal(out[0].w, w);
	assert_int_equal(out[0].h, h);
	free(out);
}

static void test_init_empty(void **state)
{
	static const uint32_t geo[][4] = {
		/* width, height, cols, rows */
		{1024, 768, 16, 48},
		{1023, 767, 16, 48},
		{1025, 769, 17, 49},
		{1, 1, 1, 1},
		{64, 16, 1, 1},
		{65, 17, 2, 2},
		{16384, 16384, 256, 1024},
	};
	struct fb_rect out[2] = {{7, 7, 7, 7}, {7, 7, 7, 7}};

	for (size_t i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		struct fb_region r;
		struct model m;

		assert_int_equal(fb_region_init(&r, geo[i][0], geo[i][1]), 0);
		assert_int_equal(r.cols, geo[i][2]);
		assert_int_equal(r.rows, geo[i][3]);
		assert_true(fb_region_empty(&r));
		assert_int_equal(fb_region_rects(&r, out, 2), 0);
		assert_int_equal(out[0].x, 7);
		model_init(&m, geo[i][0], geo[i][1]);
		assert_int_equal(check(&r, &m), 0);
		model_fini(&m);
		fb_region_fini(&r);
	}
}

static void test_full_frame(void **state)
{
	static const uint32_t geo[][2] = {
		{1024, 768}, {1023, 767}, {1, 1},   {63, 15},
		{65, 17},    {640, 1},	  {1, 480},
	};

	for (size_t i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		struct fb_region r;
		struct model m;

		assert_int_equal(fb_region_init(&r, geo[i][0], geo[i][1]), 0);
		model_init(&m, geo[i][0], geo[i][1]);
		/* By add_all and by one rect covering the frame. */
		fb_region_add_all(&r);
		add_both(&r, &m, 0, 0, geo[i][0], geo[i][1]);
		expect_one(&r, &m, 0, 0, geo[i][0], geo[i][1]);
		fb_region_clear(&r);
		fb_region_add_rect(
			&r, (struct fb_rect){0, 0, geo[i][0], geo[i][1]});
		expect_one(&r, &m, 0, 0, geo[i][0], geo[i][1]);
		model_fini(&m);
		fb_region_fini(&r);
	}
}

static void test_max_geometry_add_all(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, FB_MAX_DIM, FB_MAX_DIM), 0);
	model_init(&m, FB_MAX_DIM, FB_MAX_DIM);
	fb_region_add_all(&r);
	add_both(&r, &m, 0, 0, UINT32_MAX, UINT32_MAX);
	assert_int_equal(r.count, 256 * 1024);
	expect_one(&r, &m, 0, 0, FB_MAX_DIM, FB_MAX_DIM);

	/* The last pixel alone. */
	fb_region_clear(&r);
	model_fini(&m);
	model_init(&m, FB_MAX_DIM, FB_MAX_DIM);
	add_both(&r, &m, FB_MAX_DIM - 1, FB_MAX_DIM - 1, 1, 1);
	expect_one(&r, &m, FB_MAX_DIM - 64, FB_MAX_DIM - 16, 64, 16);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_bands(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	/* Pixels 100..149 touch tile columns 1 and 2. */
	add_both(&r, &m, 100, 0, 50, 768);
	expect_one(&r, &m, 64, 0, 128, 768);
	model_fini(&m);
	fb_region_clear(&r);

	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 17, 1024, 15); /* rows 1 only */
	expect_one(&r, &m, 0, 16, 1024, 16);
	add_both(&r, &m, 0, 32, 1024, 1); /* row 2 joins it */
	expect_one(&r, &m, 0, 16, 1024, 32);
	model_fini(&m);

	/* A block in the middle, built from overlapping pieces. */
	fb_region_clear(&r);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 200, 200, 100, 100);
	add_both(&r, &m, 250, 250, 100, 100);
	add_both(&r, &m, 200, 250, 150, 50);
	add_both(&r, &m, 300, 200, 50, 50);
	expect_one(&r, &m, 192, 192, 192, 160);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_l_shapes(void **state)
{
	struct fb_region r;
	struct model m;
	struct fb_rect *out;
	size_t n;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	/* A left column and the bottom row. */
	add_both(&r, &m, 0, 0, 10, 767);
	add_both(&r, &m, 0, 760, 1023, 7);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 2);
	free(out);
	model_fini(&m);

	/* The top row and a right column: the edge tiles are clipped. */
	fb_region_clear(&r);
	model_init(&m, 1023, 767);
	add_both(&r, &m, 0, 0, 1023, 1);
	add_both(&r, &m, 1022, 0, 1, 767);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 2);
	free(out);
	model_fini(&m);

	/* A ring: top, two sides, bottom. */
	fb_region_clear(&r);
	model_init(&m, 1023, 767);
	add_both(&r, &m, 0, 0, 1023, 16);
	add_both(&r, &m, 0, 0, 64, 767);
	add_both(&r, &m, 960, 0, 63, 767);
	add_both(&r, &m, 0, 752, 1023, 15);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 4);
	free(out);
	model_fini(&m);

	/* Two blocks side by side on the same rows. */
	fb_region_clear(&r);
	model_init(&m, 1023, 767);
	add_both(&r, &m, 0, 100, 64, 100);
	add_both(&r, &m, 640, 100, 64, 100);
	assert_int_equal(check(&r, &m), 2);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_edge_tiles_clipped(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	add_both(&r, &m, 1000, 760, 100, 100);
	expect_one(&r, &m, 960, 752, 63, 15);
	model_fini(&m);
	fb_region_fini(&r);

	assert_int_equal(fb_region_init(&r, 1, 1), 0);
	model_init(&m, 1, 1);
	add_both(&r, &m, 1, 0, 1, 1);
	add_both(&r, &m, 0, 1, 1, 1);
	assert_true(fb_region_empty(&r));
	add_both(&r, &m, 0, 0, 5, 5);
	expect_one(&r, &m, 0, 0, 1, 1);
	fb_region_add_tile(&r, 0, 0);
	expect_one(&r, &m, 0, 0, 1, 1);
	model_fini(&m);
	fb_region_fini(&r);

	/* One pixel past a tile boundary makes a one-pixel-wide tile. */
	assert_int_equal(fb_region_init(&r, 129, 33), 0);
	model_init(&m, 129, 33);
	add_both(&r, &m, 128, 32, 1, 1);
	expect_one(&r, &m, 128, 32, 1, 1);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_hostile_rects(void **state)
{
	static const struct fb_rect nothing[] = {
		{1024, 0, 10, 10},
		{0, 768, 10, 10},
		{2000, 5, 10, 10},
		{5, 5000, 10, 10},
		{UINT32_MAX, 0, 1, 1},
		{0, UINT32_MAX, 1, 1},
		{UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX},
		{UINT32_MAX - 10, 5, 100, 1},
		{5, UINT32_MAX - 10, 1, 100},
		{10, 10, 0, 10},
		{10, 10, 10, 0},
		{10, 10, 0, UINT32_MAX},
	};
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	for (size_t i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++) {
		fb_region_add_rect(&r, nothing[i]);
		assert_true(fb_region_empty(&r));
	}
	assert_int_equal(check(&r, &m), 0);

	/* x + w wraps around 2^32: the rect runs to the right edge, not to
	 * some small width. */
	add_both(&r, &m, 1000, 0, UINT32_MAX, 1);
	expect_one(&r, &m, 960, 0, 64, 16);
	add_both(&r, &m, 0, 700, 1, UINT32_MAX - 600);
	add_both(&r, &m, 900, 300, UINT32_MAX - 899, UINT32_MAX - 299);
	check(&r, &m);
	fb_region_clear(&r);
	model_fini(&m);

	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 0, UINT32_MAX, UINT32_MAX);
	expect_one(&r, &m, 0, 0, 1024, 768);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_add_tile_corners(void **state)
{
	struct fb_region r;
	struct model m;
	struct fb_rect *out;
	size_t n;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	fb_region_add_tile(&r, 0, 0);
	fb_region_add_tile(&r, 15, 0);
	fb_region_add_tile(&r, 0, 47);
	fb_region_add_tile(&r, 15, 47);
	fb_region_add_tile(&r, 15, 47);
	model_tile(&m, 0, 0);
	model_tile(&m, 15, 0);
	model_tile(&m, 0, 47);
	model_tile(&m, 15, 47);
	assert_int_equal(r.count, 4);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		if (out[i].x == 960 && out[i].y == 752) {
			assert_int_equal(out[i].w, 63);
			assert_int_equal(out[i].h, 15);
		}
	free(out);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_merge(void **state)
{
	struct fb_region a, b;
	struct model m;

	assert_int_equal(fb_region_init(&a, 1023, 767), 0);
	assert_int_equal(fb_region_init(&b, 1023, 767), 0);
	model_init(&m, 1023, 767);

	/* Empty into empty, empty into something, something into empty. */
	fb_region_merge(&a, &b);
	assert_true(fb_region_empty(&a));
	add_both(&a, &m, 10, 10, 100, 40);
	fb_region_merge(&a, &b);
	check(&a, &m);
	fb_region_merge(&b, &a);
	check(&b, &m);

	/* Overlapping sets: shared tiles are counted once. */
	fb_region_clear(&b);
	fb_region_add_rect(&b, (struct fb_rect){50, 30, 500, 300});
	model_rect(&m, (struct fb_rect){50, 30, 500, 300});
	fb_region_merge(&a, &b);
	check(&a, &m);
	/* Merging again changes nothing, and src is untouched. */
	fb_region_merge(&a, &b);
	check(&a, &m);
	assert_int_equal(b.count, 9 * 20);

	/* A source missing one tile is not mistaken for a full one. */
	fb_region_clear(&a);
	fb_region_clear(&b);
	model_fini(&m);
	model_init(&m, 1023, 767);
	for (uint32_t row = 0; row < 48; row++)
		for (uint32_t col = 0; col < 16; col++)
			if (row != 47 || col != 15) {
				fb_region_add_tile(&b, col, row);
				model_tile(&m, col, row);
			}
	fb_region_merge(&a, &b);
	assert_int_equal(check(&a, &m), 2);

	/* A full source makes a full destination. */
	fb_region_add_all(&b);
	fb_region_merge(&a, &b);
	model_rect(&m, (struct fb_rect){0, 0, 1023, 767});
	expect_one(&a, &m, 0, 0, 1023, 767);
	model_fini(&m);
	fb_region_fini(&a);
	fb_region_fini(&b);
}

static void test_clear_and_reset(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	fb_region_add_rect(&r, (struct fb_rect){0, 0, 640, 480});
	fb_region_clear(&r);
	assert_true(fb_region_empty(&r));
	assert_int_equal(fb_region_rects(&r, NULL, 0), 0);
	/* The tiles really are clear: adding one back counts one. */
	model_init(&m, 1024, 768);
	add_both(&r, &m, 64, 16, 1, 1);
	assert_int_equal(r.count, 1);
	expect_one(&r, &m, 64, 16, 64, 16);
	fb_region_clear(&r);
	fb_region_clear(&r);
	assert_true(fb_region_empty(&r));
	model_fini(&m);

	/* After add_all, clear and a new shape. */
	fb_region_add_all(&r);
	fb_region_clear(&r);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 500, 500, 10, 10);
	expect_one(&r, &m, 448, 496, 64, 16);
	model_fini(&m);

	/* Reset to a new geometry empties the region. */
	assert_int_equal(fb_region_reset(&r, 800, 600), 0);
	assert_int_equal(r.cols, 13);
	assert_int_equal(r.rows, 38);
	assert_true(fb_region_empty(&r));
	model_init(&m, 800, 600);
	assert_int_equal(check(&r, &m), 0);
	add_both(&r, &m, 790, 590, 100, 100);
	expect_one(&r, &m, 768, 576, 32, 24);
	fb_region_add_all(&r);
	model_rect(&m, (struct fb_rect){0, 0, 800, 600});
	expect_one(&r, &m, 0, 0, 800, 600);
	model_fini(&m);
	fb_region_fini(&r);
}

/* With fewer slots than rects, the count is still the full count (the
 * same as with room for everything) and nothing past `max` is written. */
static void check_truncated(const struct fb_region *r, const struct model *m)
{
	size_t full = check(r, m);

	for (size_t max = 0; max <= full; max++) {
		struct fb_rect *out = calloc(max + 1, sizeof(*out));

		assert_non_null(out);
		out[max] = (struct fb_rect){1, 2, 3, 4};
		assert_int_equal(fb_region_rects(r, out, max), full);
		assert_int_equal(out[max].x, 1);
		assert_int_equal(out[max].h, 4);
		free(out);
	}
}

static void test_rects_truncated(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 0, 1024, 768);
	check_truncated(&r, &m);
	fb_region_clear(&r);
	model_fini(&m);

	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 0, 64, 768);
	add_both(&r, &m, 0, 752, 1024, 16);
	add_both(&r, &m, 300, 100, 200, 200);
	check_truncated(&r, &m);
	model_fini(&m);
	fb_region_fini(&r);
}

/* A tall band beside many small pieces: the band still comes out as one
 * rect however many rects the pieces make. */
static void test_band_beside_checkerboard(void **state)
{
	struct fb_region r;
	struct model m;
	struct fb_rect *out;
	size_t n, bands = 0;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 0, 64, 768);
	for (uint32_t row = 0; row < 48; row++)
		for (uint32_t col = 2 + row % 2; col < 16; col += 2)
			add_both(&r, &m, col * 64, row * 16, 64, 16);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 1 + 7 * 48);
	for (size_t i = 0; i < n; i++)
		bands += out[i].x == 0;
	assert_int_equal(bands, 1);
	free(out);
	model_fini(&m);
	fb_region_fini(&r);
}

/* Scattered and overlapping rects, some hanging off the frame, in
 * several geometries: the output always matches the model. */
static void test_random_shapes(void **state)
{
	static const uint32_t geo[][2] = {
		{1024, 768}, {1023, 767},  {1, 1},
		{100, 3},    {3000, 2000}, {FB_MAX_DIM, 64},
	};
	uint32_t seed = 12345;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		for (int round = 0; round < 40; round++) {
			struct fb_region r;
			struct model m;
			uint32_t w = geo[g][0], h = geo[g][1];
			int n = round % 8 + 1;

			assert_int_equal(fb_region_init(&r, w, h), 0);
			model_init(&m, w, h);
			for (int i = 0; i < n; i++) {
				uint32_t v[4];

				for (int k = 0; k < 4; k++) {
					seed = seed * 1103515245u + 12345u;
					v[k] = seed >> 8;
				}
				add_both(&r, &m, v[0] % (w + w / 4 + 1),
					 v[1] % (h + h / 4 + 1),
					 v[2] % (w / 2 + 2),
					 v[3] % (h / 2 + 2));
			}
			check(&r, &m);
			model_fini(&m);
			fb_region_fini(&r);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_full_frame),
		cmocka_unit_test(test_max_geometry_add_all),
		cmocka_unit_test(test_bands),
		cmocka_unit_test(test_l_shapes),
		cmocka_unit_test(test_edge_tiles_clipped),
		cmocka_unit_test(test_hostile_rects),
		cmocka_unit_test(test_add_tile_corners),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_clear_and_reset),
		cmocka_unit_test(test_rects_truncated),
		cmocka_unit_test(test_band_beside_checkerboard),
		cmocka_unit_test(test_random_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
