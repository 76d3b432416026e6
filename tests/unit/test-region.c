/* Damage regions in fb/region.c: per-tile pixel boxes grown by rects,
 * tiles and boxes, cut by subtract, merged and cleared, and the rect
 * output that joins them. Every shape is checked against a model kept
 * by the test: one box per tile, the bounding box of what was added to
 * it, computed in 64 bits and clipped to the frame. The output rects
 * must cover those boxes without overlapping, take in nothing of a clean
 * tile, and be the loose runs and stacks the header promises. */
#include "fb/region.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Absolute pixels [x0, x1) x [y0, y1) of one tile; x1 == 0 when clean
 * (a dirty box always ends right of pixel 0). */
struct mbox {
	uint64_t x0, x1, y0, y1;
};

/* What the region should hold, kept independently of fb/region.c. */
struct model {
	uint32_t width, height, cols, rows;
	struct mbox *t;
	size_t count;
};

static void model_init(struct model *m, uint32_t width, uint32_t height)
{
	m->width = width;
	m->height = height;
	m->cols = (uint32_t)(((uint64_t)width + FB_TILE_W - 1) / FB_TILE_W);
	m->rows = (uint32_t)(((uint64_t)height + FB_TILE_H - 1) / FB_TILE_H);
	m->t = calloc((size_t)m->cols * m->rows + 1, sizeof(*m->t));
	assert_non_null(m->t);
	m->count = 0;
}

static void model_fini(struct model *m)
{
	free(m->t);
}

static void model_clear(struct model *m)
{
	memset(m->t, 0, (size_t)m->cols * m->rows * sizeof(*m->t));
	m->count = 0;
}

static struct mbox *model_at(const struct model *m, uint32_t col, uint32_t row)
{
	return &m->t[(size_t)row * m->cols + col];
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The whole of tile (col, row), clipped to the frame. */
static struct mbox model_tile_box(const struct model *m, uint32_t col,
				  uint32_t row)
{
	uint64_t x = (uint64_t)col * FB_TILE_W, y = (uint64_t)row * FB_TILE_H;

	return (struct mbox){x, min64(x + FB_TILE_W, m->width), y,
			     min64(y + FB_TILE_H, m->height)};
}

/* Grows the box of tile (col, row) to cover `b`, which lies inside it. */
static void model_box(struct model *m, uint32_t col, uint32_t row,
		      struct mbox b)
{
	struct mbox *t = model_at(m, col, row);

	assert_true(b.x0 < b.x1 && b.y0 < b.y1);
	if (t->x1 == 0) {
		*t = b;
		m->count++;
		return;
	}
	t->x0 = min64(t->x0, b.x0);
	t->x1 = max64(t->x1, b.x1);
	t->y0 = min64(t->y0, b.y0);
	t->y1 = max64(t->y1, b.y1);
}

static void model_tile(struct model *m, uint32_t col, uint32_t row)
{
	model_box(m, col, row, model_tile_box(m, col, row));
}

/* `rect` clipped to the frame, in 64 bits so that nothing wraps; false
 * when nothing of it is left. */
static bool model_clip(const struct model *m, struct fb_rect rect,
		       struct mbox *out)
{
	*out = (struct mbox){rect.x, min64((uint64_t)rect.x + rect.w, m->width),
			     rect.y,
			     min64((uint64_t)rect.y + rect.h, m->height)};
	return out->x0 < out->x1 && out->y0 < out->y1;
}

static struct mbox meet(struct mbox a, struct mbox b)
{
	return (struct mbox){max64(a.x0, b.x0), min64(a.x1, b.x1),
			     max64(a.y0, b.y0), min64(a.y1, b.y1)};
}

static bool box_empty(struct mbox b)
{
	return b.x0 >= b.x1 || b.y0 >= b.y1;
}

static uint64_t box_area(struct mbox b)
{
	return box_empty(b) ? 0 : (b.x1 - b.x0) * (b.y1 - b.y0);
}

static void model_rect(struct model *m, struct fb_rect rect)
{
	struct mbox c;

	if (!model_clip(m, rect, &c))
		return;
	for (uint64_t row = c.y0 / FB_TILE_H; row <= (c.y1 - 1) / FB_TILE_H;
	     row++)
		for (uint64_t col = c.x0 / FB_TILE_W;
		     col <= (c.x1 - 1) / FB_TILE_W; col++)
			model_box(m, (uint32_t)col, (uint32_t)row,
				  meet(c, model_tile_box(m, (uint32_t)col,
							 (uint32_t)row)));
}

/* The header's subtract: a tile's box loses the rect's part only where
 * what is left is one box. */
static void model_subtract(struct model *m, struct fb_rect rect)
{
	struct mbox c;

	if (!model_clip(m, rect, &c))
		return;
	for (size_t i = 0; i < (size_t)m->cols * m->rows; i++) {
		struct mbox *t = &m->t[i];
		struct mbox in = meet(*t, c);
		bool wide, tall;

		if (t->x1 == 0 || box_empty(in))
			continue;
		wide = in.x0 == t->x0 && in.x1 == t->x1;
		tall = in.y0 == t->y0 && in.y1 == t->y1;
		if (wide && tall) {
			*t = (struct mbox){0, 0, 0, 0};
			m->count--;
		} else if (wide && in.y0 == t->y0) {
			t->y0 = in.y1;
		} else if (wide && in.y1 == t->y1) {
			t->y1 = in.y0;
		} else if (tall && in.x0 == t->x0) {
			t->x0 = in.x1;
		} else if (tall && in.x1 == t->x1) {
			t->x1 = in.x0;
		}
	}
}

static void model_merge(struct model *dst, const struct model *src)
{
	for (uint32_t row = 0; row < src->rows; row++)
		for (uint32_t col = 0; col < src->cols; col++)
			if (model_at(src, col, row)->x1)
				model_box(dst, col, row,
					  *model_at(src, col, row));
}

static bool model_touches(const struct model *m, struct fb_rect rect)
{
	struct mbox c;

	if (!model_clip(m, rect, &c))
		return false;
	for (size_t i = 0; i < (size_t)m->cols * m->rows; i++)
		if (m->t[i].x1 && !box_empty(meet(m->t[i], c)))
			return true;
	return false;
}

/* Whether the box of tile `col` runs on into the box of tile col + 1:
 * it reaches its tile's right edge, the next starts at its tile's left
 * edge, on the same pixel rows. */
static bool model_joins(const struct model *m, uint32_t col, uint32_t row)
{
	const struct mbox *a = model_at(m, col, row), *b = a + 1;

	return col + 1 < m->cols && a->x1 && b->x1 &&
	       a->x1 == model_tile_box(m, col, row).x1 && b->x0 == a->x1 &&
	       a->y0 == b->y0 && a->y1 == b->y1;
}

/* The runs of tile row `row`, left to right; returns how many. */
static size_t model_runs(const struct model *m, uint32_t row,
			 struct fb_rect *out)
{
	size_t n = 0;

	for (uint32_t col = 0; col < m->cols; col++) {
		const struct mbox *a = model_at(m, col, row);

		if (!a->x1)
			continue;
		while (model_joins(m, col, row))
			col++;
		out[n++] = (struct fb_rect){
			(uint32_t)a->x0, (uint32_t)a->y0,
			(uint32_t)(model_at(m, col, row)->x1 - a->x0),
			(uint32_t)(a->y1 - a->y0)};
	}
	return n;
}

/* Loose joins, for rect output: neighbouring dirty tiles. */
static bool model_joins_loose(const struct model *m, uint32_t col, uint32_t row)
{
	const struct mbox *a = model_at(m, col, row), *b = a + 1;

	return col + 1 < m->cols && a->x1 && b->x1;
}

/* The loose runs of tile row `row`: each spans the rows of all its
 * boxes. Returns how many. */
static size_t model_loose_runs(const struct model *m, uint32_t row,
			       struct fb_rect *out)
{
	size_t n = 0;

	for (uint32_t col = 0; col < m->cols; col++) {
		const struct mbox *a = model_at(m, col, row);
		uint64_t y0 = a->y0, y1 = a->y1;

		if (!a->x1)
			continue;
		while (model_joins_loose(m, col, row)) {
			col++;
			y0 = min64(y0, model_at(m, col, row)->y0);
			y1 = max64(y1, model_at(m, col, row)->y1);
		}
		out[n++] = (struct fb_rect){
			(uint32_t)a->x0, (uint32_t)y0,
			(uint32_t)(model_at(m, col, row)->x1 - a->x0),
			(uint32_t)(y1 - y0)};
	}
	return n;
}

/* The rects fb_region_rects should give: each loose run of a tile row either
 * continues a rect that took a run of the row above (same x span, that
 * rect reaching the bottom of the row above, this run starting at the
 * top of its row) or starts a new one. Caller frees. */
static struct fb_rect *model_rects(const struct model *m, size_t *n_out)
{
	struct fb_rect *out = calloc(m->count + 1, sizeof(*out));
	struct fb_rect *runs = calloc(m->cols + 1, sizeof(*runs));
	/* Rects that took a run of the previous row, and of this one. */
	size_t *prev = calloc(m->cols + 1, sizeof(*prev));
	size_t *cur = calloc(m->cols + 1, sizeof(*cur));
	size_t n = 0, n_prev = 0;

	assert_non_null(out);
	assert_non_null(runs);
	assert_non_null(prev);
	assert_non_null(cur);
	for (uint32_t row = 0; row < m->rows; row++) {
		size_t k = model_loose_runs(m, row, runs), n_cur = 0;
		uint64_t top = (uint64_t)row * FB_TILE_H;

		for (size_t i = 0; i < k; i++) {
			size_t j;

			for (j = 0; j < n_prev; j++) {
				struct fb_rect *p = &out[prev[j]];

				if (p->x == runs[i].x && p->w == runs[i].w &&
				    (uint64_t)p->y + p->h == top &&
				    runs[i].y == top)
					break;
			}
			if (j < n_prev) {
				out[prev[j]].h += runs[i].h;
				cur[n_cur++] = prev[j];
			} else {
				assert_true(n < m->count);
				cur[n_cur++] = n;
				out[n++] = runs[i];
			}
		}
		memcpy(prev, cur, n_cur * sizeof(*cur));
		n_prev = n_cur;
	}
	free(runs);
	free(prev);
	free(cur);
	*n_out = n;
	return out;
}

static int rect_order(const void *pa, const void *pb)
{
	const struct fb_rect *a = pa, *b = pb;

	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	return 0;
}

static void assert_rect(struct fb_rect got, struct fb_rect want)
{
	assert_int_equal(got.x, want.x);
	assert_int_equal(got.y, want.y);
	assert_int_equal(got.w, want.w);
	assert_int_equal(got.h, want.h);
}

/* The same set of rects, in any order. */
static void assert_same_rects(const struct fb_rect *got, size_t n_got,
			      const struct fb_rect *want, size_t n_want)
{
	struct fb_rect *a = calloc(n_got + 1, sizeof(*a));
	struct fb_rect *b = calloc(n_want + 1, sizeof(*b));

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(n_got, n_want);
	memcpy(a, got, n_got * sizeof(*a));
	memcpy(b, want, n_want * sizeof(*b));
	qsort(a, n_got, sizeof(*a), rect_order);
	qsort(b, n_want, sizeof(*b), rect_order);
	for (size_t i = 0; i < n_got; i++)
		assert_rect(a[i], b[i]);
	free(a);
	free(b);
}

static bool rects_meet(struct fb_rect a, struct fb_rect b)
{
	return (uint64_t)a.x < (uint64_t)b.x + b.w &&
	       (uint64_t)b.x < (uint64_t)a.x + a.w &&
	       (uint64_t)a.y < (uint64_t)b.y + b.h &&
	       (uint64_t)b.y < (uint64_t)a.y + a.h;
}

/* Every tile's box, count, the row range and next_run against the
 * model. */
static void check_tiles(const struct fb_region *r, const struct model *m)
{
	struct fb_rect *runs = calloc(m->cols + 1, sizeof(*runs));

	assert_non_null(runs);
	assert_int_equal(r->width, m->width);
	assert_int_equal(r->height, m->height);
	assert_int_equal(r->cols, m->cols);
	assert_int_equal(r->rows, m->rows);
	assert_int_equal(r->count, m->count);
	assert_int_equal(fb_region_empty(r), m->count == 0);
	assert_true(r->row0 <= r->row1 && r->row1 <= r->rows);
	if (m->count == 0) {
		assert_int_equal(r->row0, 0);
		assert_int_equal(r->row1, 0);
	}
	for (uint32_t row = 0; row < m->rows; row++) {
		size_t k = model_runs(m, row, runs), i = 0;
		uint32_t col = 0;
		struct fb_rect run;

		for (uint32_t c = 0; c < m->cols; c++) {
			const struct mbox *b = model_at(m, c, row);
			const struct fb_tile_box *t =
				&r->tiles[(size_t)row * r->cols + c];
			uint64_t x = (uint64_t)c * FB_TILE_W;
			uint64_t y = (uint64_t)row * FB_TILE_H;

			assert_int_equal(fb_region_has_tile(r, c, row),
					 b->x1 != 0);
			if (!b->x1) {
				assert_int_equal(t->x1, 0);
				continue;
			}
			assert_true(row >= r->row0 && row < r->row1);
			assert_int_equal(t->x0, b->x0 - x);
			assert_int_equal(t->x1, b->x1 - x);
			assert_int_equal(t->y0, b->y0 - y);
			assert_int_equal(t->y1, b->y1 - y);
		}
		while (fb_region_next_run(r, row, &col, &run)) {
			assert_true(i < k);
			assert_rect(run, runs[i++]);
			assert_true(col <= m->cols);
		}
		assert_int_equal(i, k);
		assert_int_equal(col, m->cols);
	}
	free(runs);
}

/* Returns the output rects (caller frees) after checking them against
 * the model: non-empty, inside the frame, pairwise disjoint, covering
 * each tile's box and no clean tile, no more of them than dirty tiles,
 * the loose runs and stacks of the header, and the same whatever `max`
 * is. */
static struct fb_rect *check_rects(const struct fb_region *r,
				   const struct model *m, size_t *n_out)
{
	size_t n = fb_region_rects(r, NULL, 0), n_model, half;
	struct fb_rect *out, *part, *want;
	uint32_t *area;

	check_tiles(r, m);
	assert_true(n <= m->count);
	out = calloc(n + 1, sizeof(*out));
	part = calloc(n / 2 + 1, sizeof(*part));
	area = calloc((size_t)m->cols * m->rows + 1, sizeof(*area));
	assert_non_null(out);
	assert_non_null(part);
	assert_non_null(area);

	/* Truncation changes neither the total nor the first rects. */
	out[n] = (struct fb_rect){1, 2, 3, 4};
	assert_int_equal(fb_region_rects(r, out, n), n);
	assert_rect(out[n], (struct fb_rect){1, 2, 3, 4});
	half = n / 2;
	part[half] = (struct fb_rect){5, 6, 7, 8};
	assert_int_equal(fb_region_rects(r, part, half), n);
	assert_rect(part[half], (struct fb_rect){5, 6, 7, 8});
	for (size_t i = 0; i < half; i++)
		assert_rect(part[i], out[i]);

	for (size_t i = 0; i < n; i++) {
		struct mbox b = {out[i].x, (uint64_t)out[i].x + out[i].w,
				 out[i].y, (uint64_t)out[i].y + out[i].h};

		assert_true(out[i].w > 0 && out[i].h > 0);
		assert_true(b.x1 <= m->width && b.y1 <= m->height);
		for (size_t j = 0; j < i; j++)
			assert_false(rects_meet(out[i], out[j]));
		for (uint64_t row = b.y0 / FB_TILE_H;
		     row <= (b.y1 - 1) / FB_TILE_H; row++)
			for (uint64_t col = b.x0 / FB_TILE_W;
			     col <= (b.x1 - 1) / FB_TILE_W; col++) {
				const struct mbox *t = model_at(
					m, (uint32_t)col, (uint32_t)row);
				struct mbox in =
					meet(b, model_tile_box(m, (uint32_t)col,
							       (uint32_t)row));

				/* Only dirty tiles; their unchanged pixels
				 * may come along (a loose run spans from its
				 * first box to its last, over all their
				 * rows). */
				assert_true(t->x1 != 0);
				area[row * m->cols + col] +=
					(uint32_t)box_area(meet(in, *t));
			}
	}
	/* Disjoint pieces inside a box with the box's area fill it. */
	for (size_t i = 0; i < (size_t)m->cols * m->rows; i++)
		assert_int_equal(area[i], m->t[i].x1 ? box_area(m->t[i]) : 0);

	want = model_rects(m, &n_model);
	assert_same_rects(out, n, want, n_model);
	free(want);
	free(area);
	free(part);
	*n_out = n;
	return out;
}

static size_t check(const struct fb_region *r, const struct model *m)
{
	size_t n;

	free(check_rects(r, m, &n));
	return n;
}

/* Checks, then asserts the output is exactly `want` (in any order). */
static void expect_rects(const struct fb_region *r, const struct model *m,
			 const struct fb_rect *want, size_t n_want)
{
	size_t n;
	struct fb_rect *out = check_rects(r, m, &n);

	assert_same_rects(out, n, want, n_want);
	free(out);
}

static void expect_one(const struct fb_region *r, const struct model *m,
		       uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	expect_rects(r, m, &(struct fb_rect){x, y, w, h}, 1);
}

#define EXPECT_RECTS(r, m, ...)                                                \
	do {                                                                   \
		static const struct fb_rect want_[] = {__VA_ARGS__};           \
		expect_rects((r), (m), want_,                                  \
			     sizeof(want_) / sizeof(want_[0]));                \
	} while (0)

static void add_both(struct fb_region *r, struct model *m, uint32_t x,
		     uint32_t y, uint32_t w, uint32_t h)
{
	struct fb_rect rect = {x, y, w, h};

	fb_region_add_rect(r, rect);
	model_rect(m, rect);
}

static void tile_both(struct fb_region *r, struct model *m, uint32_t col,
		      uint32_t row)
{
	fb_region_add_tile(r, col, row);
	model_tile(m, col, row);
}

static void box_both(struct fb_region *r, struct model *m, uint32_t col,
		     uint32_t row, struct fb_tile_box b)
{
	struct mbox t = model_tile_box(m, col, row);

	fb_region_add_box(r, col, row, b);
	model_box(m, col, row,
		  (struct mbox){t.x0 + b.x0, t.x0 + b.x1, t.y0 + b.y0,
				t.y0 + b.y1});
}

static void sub_both(struct fb_region *r, struct model *m, uint32_t x,
		     uint32_t y, uint32_t w, uint32_t h)
{
	struct fb_rect rect = {x, y, w, h};

	fb_region_subtract(r, rect);
	model_subtract(m, rect);
}

static void clear_both(struct fb_region *r, struct model *m)
{
	fb_region_clear(r);
	model_clear(m);
}

static uint32_t rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* A rect of a w x h frame, sometimes hanging off its edges. */
static struct fb_rect rnd_rect(uint32_t *seed, uint32_t w, uint32_t h)
{
	uint32_t x = rnd(seed) % (w + w / 4 + 1);
	uint32_t y = rnd(seed) % (h + h / 4 + 1);
	uint32_t rw = rnd(seed) % (w / 2 + 2), rh = rnd(seed) % (h / 2 + 2);

	return (struct fb_rect){x, y, rw, rh};
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
		{0, 0, 0, 0},
		{0, 768, 0, 48},
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
		assert_false(fb_region_touches(
			&r, (struct fb_rect){0, 0, UINT32_MAX, UINT32_MAX}));
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
		uint32_t w = geo[i][0], h = geo[i][1];
		struct fb_region r;
		struct model m;

		assert_int_equal(fb_region_init(&r, w, h), 0);
		model_init(&m, w, h);
		/* By add_all and by one rect covering the frame. */
		fb_region_add_all(&r);
		add_both(&r, &m, 0, 0, w, h);
		expect_one(&r, &m, 0, 0, w, h);
		fb_region_clear(&r);
		fb_region_add_rect(&r, (struct fb_rect){0, 0, w, h});
		expect_one(&r, &m, 0, 0, w, h);
		/* And by every tile, one at a time. */
		fb_region_clear(&r);
		for (uint32_t row = 0; row < r.rows; row++)
			for (uint32_t col = 0; col < r.cols; col++)
				fb_region_add_tile(&r, col, row);
		expect_one(&r, &m, 0, 0, w, h);
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

	/* The last pixel alone is exactly that pixel. */
	clear_both(&r, &m);
	add_both(&r, &m, FB_MAX_DIM - 1, FB_MAX_DIM - 1, 1, 1);
	assert_int_equal(r.row0, 1023);
	assert_int_equal(r.row1, 1024);
	expect_one(&r, &m, FB_MAX_DIM - 1, FB_MAX_DIM - 1, 1, 1);

	/* A band down the whole frame, off the tile grid. */
	clear_both(&r, &m);
	add_both(&r, &m, 1000, 0, 3, UINT32_MAX);
	expect_one(&r, &m, 1000, 0, 3, FB_MAX_DIM);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_bands(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	/* Pixels 100..149 straddle tile columns 1 and 2. */
	add_both(&r, &m, 100, 0, 50, 768);
	expect_one(&r, &m, 100, 0, 50, 768);

	clear_both(&r, &m);
	add_both(&r, &m, 0, 17, 1024, 15); /* in tile row 1 only */
	expect_one(&r, &m, 0, 17, 1024, 15);
	add_both(&r, &m, 0, 32, 1024, 1); /* the top of row 2 joins it */
	expect_one(&r, &m, 0, 17, 1024, 16);
	add_both(&r, &m, 0, 40, 1024, 1); /* row 2's box grows to 9 rows */
	expect_one(&r, &m, 0, 17, 1024, 24);
	add_both(&r, &m, 0, 48, 1024, 1); /* row 3 does not: a gap above */
	EXPECT_RECTS(&r, &m, {0, 17, 1024, 24}, {0, 48, 1024, 1});

	/* A block in the middle, built from overlapping pieces, with a
	 * notch at its bottom left: tile boxes fill the notch's rows that
	 * share a tile row with the block, and the rows under them form a
	 * narrower rect. */
	clear_both(&r, &m);
	add_both(&r, &m, 200, 200, 100, 100);
	add_both(&r, &m, 250, 250, 100, 100);
	add_both(&r, &m, 200, 250, 150, 50);
	add_both(&r, &m, 300, 200, 50, 50);
	EXPECT_RECTS(&r, &m, {200, 200, 150, 104}, {250, 304, 100, 46});

	/* Tile-aligned and full: the old whole-tile answer. */
	clear_both(&r, &m);
	add_both(&r, &m, 192, 192, 192, 160);
	expect_one(&r, &m, 192, 192, 192, 160);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_l_shapes(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	/* A left column and the bottom row: the corner tile's box is the
	 * bounding box of both pieces, so it is whole. */
	add_both(&r, &m, 0, 0, 10, 767);
	add_both(&r, &m, 0, 760, 1023, 7);
	EXPECT_RECTS(&r, &m, {0, 0, 10, 752}, {0, 752, 1023, 15});

	/* The top row and a right column: the edge tiles are clipped. */
	clear_both(&r, &m);
	add_both(&r, &m, 0, 0, 1023, 1);
	add_both(&r, &m, 1022, 0, 1, 767);
	EXPECT_RECTS(&r, &m, {0, 0, 1023, 16}, {1022, 16, 1, 751});

	/* The same with the column on the tile grid's last edge pixel. */
	clear_both(&r, &m);
	add_both(&r, &m, 0, 0, 960, 1);
	add_both(&r, &m, 960, 0, 63, 767);
	EXPECT_RECTS(&r, &m, {0, 0, 1023, 16}, {960, 16, 63, 751});

	/* A ring: top, two sides, bottom. */
	clear_both(&r, &m);
	add_both(&r, &m, 0, 0, 1023, 16);
	add_both(&r, &m, 0, 0, 64, 767);
	add_both(&r, &m, 960, 0, 63, 767);
	add_both(&r, &m, 0, 752, 1023, 15);
	EXPECT_RECTS(&r, &m, {0, 0, 1023, 16}, {0, 16, 64, 736},
		     {960, 16, 63, 736}, {0, 752, 1023, 15});

	/* Two blocks side by side on the same rows. */
	clear_both(&r, &m);
	add_both(&r, &m, 0, 100, 64, 100);
	add_both(&r, &m, 640, 100, 64, 100);
	EXPECT_RECTS(&r, &m, {0, 100, 64, 100}, {640, 100, 64, 100});

	/* Two blocks touching edge to edge in one tile row join, over the
	 * rows of both. */
	clear_both(&r, &m);
	add_both(&r, &m, 0, 0, 64, 16);
	add_both(&r, &m, 64, 0, 64, 8);
	EXPECT_RECTS(&r, &m, {0, 0, 128, 16});
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
	expect_one(&r, &m, 1000, 760, 23, 7);
	tile_both(&r, &m, 15, 47);
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
	tile_both(&r, &m, 0, 0);
	expect_one(&r, &m, 0, 0, 1, 1);
	model_fini(&m);
	fb_region_fini(&r);

	/* One pixel past a tile boundary makes a one-pixel tile. */
	assert_int_equal(fb_region_init(&r, 129, 33), 0);
	model_init(&m, 129, 33);
	add_both(&r, &m, 128, 32, 1, 1);
	expect_one(&r, &m, 128, 32, 1, 1);
	/* A row across it joins the clipped tile on the right. */
	add_both(&r, &m, 0, 32, 128, 1);
	expect_one(&r, &m, 0, 32, 129, 1);
	/* A column down the last pixel column stacks over it. */
	clear_both(&r, &m);
	add_both(&r, &m, 128, 0, 1, 33);
	expect_one(&r, &m, 128, 0, 1, 33);
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
	expect_one(&r, &m, 1000, 0, 24, 1);
	add_both(&r, &m, 0, 700, 1, UINT32_MAX - 600);
	add_both(&r, &m, 900, 300, UINT32_MAX - 899, UINT32_MAX - 299);
	check(&r, &m);

	/* None of them touches, or takes anything out of, a full frame. */
	fb_region_add_all(&r);
	model_rect(&m, (struct fb_rect){0, 0, 1024, 768});
	for (size_t i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++) {
		assert_false(fb_region_touches(&r, nothing[i]));
		fb_region_subtract(&r, nothing[i]);
	}
	expect_one(&r, &m, 0, 0, 1024, 768);
	/* A wrapping subtract takes out everything right of x = 1000. */
	sub_both(&r, &m, 1000, 0, UINT32_MAX, UINT32_MAX);
	expect_one(&r, &m, 0, 0, 1000, 768);
	sub_both(&r, &m, 0, 0, UINT32_MAX, UINT32_MAX);
	assert_true(fb_region_empty(&r));
	check(&r, &m);

	add_both(&r, &m, 0, 0, UINT32_MAX, UINT32_MAX);
	expect_one(&r, &m, 0, 0, 1024, 768);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_add_tile_corners(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	tile_both(&r, &m, 0, 0);
	tile_both(&r, &m, 15, 0);
	tile_both(&r, &m, 0, 47);
	tile_both(&r, &m, 15, 47);
	tile_both(&r, &m, 15, 47);
	assert_int_equal(r.count, 4);
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 48);
	EXPECT_RECTS(&r, &m, {0, 0, 64, 16}, {960, 0, 63, 16}, {0, 752, 64, 15},
		     {960, 752, 63, 15});

	/* A tile over a small box in it is the whole tile. */
	clear_both(&r, &m);
	add_both(&r, &m, 70, 20, 3, 3);
	tile_both(&r, &m, 1, 1);
	expect_one(&r, &m, 64, 16, 64, 16);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_add_box(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1023, 767), 0);
	model_init(&m, 1023, 767);
	box_both(&r, &m, 2, 3, (struct fb_tile_box){5, 9, 1, 2});
	expect_one(&r, &m, 133, 49, 4, 1);
	box_both(&r, &m, 2, 3, (struct fb_tile_box){60, 64, 14, 16});
	expect_one(&r, &m, 133, 49, 59, 15);
	/* The clipped corner tile's largest box. */
	box_both(&r, &m, 15, 47, (struct fb_tile_box){0, 63, 0, 15});
	EXPECT_RECTS(&r, &m, {133, 49, 59, 15}, {960, 752, 63, 15});
	/* A box reaching its tile's right edge joins the next tile's box
	 * from 0 into one rect over the rows of both. */
	box_both(&r, &m, 3, 3, (struct fb_tile_box){0, 1, 14, 16});
	EXPECT_RECTS(&r, &m, {133, 49, 60, 15}, {960, 752, 63, 15});
	box_both(&r, &m, 3, 3, (struct fb_tile_box){0, 1, 1, 2});
	EXPECT_RECTS(&r, &m, {133, 49, 60, 15}, {960, 752, 63, 15});
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
	expect_one(&a, &m, 10, 10, 100, 40);
	fb_region_merge(&b, &a);
	expect_one(&b, &m, 10, 10, 100, 40);

	/* Overlapping sets: shared tiles are counted once and their boxes
	 * become bounding boxes. */
	fb_region_clear(&b);
	fb_region_add_rect(&b, (struct fb_rect){50, 30, 500, 300});
	model_rect(&m, (struct fb_rect){50, 30, 500, 300});
	fb_region_merge(&a, &b);
	check(&a, &m);
	/* Merging again changes nothing, and src is untouched. */
	fb_region_merge(&a, &b);
	check(&a, &m);
	assert_int_equal(b.count, 9 * 20);

	/* Two boxes in one tile from two regions. */
	fb_region_clear(&a);
	fb_region_clear(&b);
	model_clear(&m);
	add_both(&a, &m, 70, 18, 3, 2);
	add_both(&b, &m, 100, 25, 5, 4);
	fb_region_merge(&a, &b);
	expect_one(&a, &m, 70, 18, 35, 11);

	/* A source missing one tile is not mistaken for a full one. */
	fb_region_clear(&a);
	fb_region_clear(&b);
	model_clear(&m);
	for (uint32_t row = 0; row < 48; row++)
		for (uint32_t col = 0; col < 16; col++)
			if (row != 47 || col != 15) {
				fb_region_add_tile(&b, col, row);
				model_tile(&m, col, row);
			}
	fb_region_merge(&a, &b);
	EXPECT_RECTS(&a, &m, {0, 0, 1023, 752}, {0, 752, 960, 15});

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
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 0);
	assert_int_equal(fb_region_rects(&r, NULL, 0), 0);
	assert_false(fb_region_touches(&r, (struct fb_rect){0, 0, 640, 480}));
	/* The tiles really are clear: adding one back counts one, and its
	 * box is only what was added. */
	model_init(&m, 1024, 768);
	add_both(&r, &m, 64, 16, 1, 1);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.row0, 1);
	assert_int_equal(r.row1, 2);
	expect_one(&r, &m, 64, 16, 1, 1);
	fb_region_clear(&r);
	fb_region_clear(&r);
	assert_true(fb_region_empty(&r));
	model_fini(&m);

	/* After add_all, clear and a new shape. */
	fb_region_add_all(&r);
	fb_region_clear(&r);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 500, 500, 10, 10);
	expect_one(&r, &m, 500, 500, 10, 10);
	model_fini(&m);

	/* Reset to a new geometry empties the region. */
	assert_int_equal(fb_region_reset(&r, 800, 600), 0);
	assert_int_equal(r.cols, 13);
	assert_int_equal(r.rows, 38);
	assert_true(fb_region_empty(&r));
	model_init(&m, 800, 600);
	assert_int_equal(check(&r, &m), 0);
	add_both(&r, &m, 790, 590, 100, 100);
	expect_one(&r, &m, 790, 590, 10, 10);
	fb_region_add_all(&r);
	model_rect(&m, (struct fb_rect){0, 0, 800, 600});
	expect_one(&r, &m, 0, 0, 800, 600);
	model_fini(&m);
	fb_region_fini(&r);
}

/* With fewer slots than rects, the count is still the full count (the
 * same as with room for everything), the slots hold the first rects and
 * nothing past `max` is written. */
static void check_truncated(const struct fb_region *r, const struct model *m)
{
	size_t full;
	struct fb_rect *all = check_rects(r, m, &full);

	for (size_t max = 0; max <= full + 1; max++) {
		struct fb_rect *out = calloc(max + 1, sizeof(*out));

		assert_non_null(out);
		out[max] = (struct fb_rect){1, 2, 3, 4};
		assert_int_equal(fb_region_rects(r, out, max), full);
		for (size_t i = 0; i < max && i < full; i++)
			assert_rect(out[i], all[i]);
		assert_rect(out[max], (struct fb_rect){1, 2, 3, 4});
		free(out);
	}
	free(all);
}

static void test_rects_truncated(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 0, 0, 1024, 768);
	check_truncated(&r, &m);

	clear_both(&r, &m);
	add_both(&r, &m, 0, 0, 64, 768);
	add_both(&r, &m, 0, 752, 1024, 16);
	add_both(&r, &m, 300, 100, 200, 200);
	add_both(&r, &m, 517, 333, 7, 90);
	add_both(&r, &m, 900, 3, 1, 1);
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

	/* The same with an unaligned band and pieces smaller than tiles. */
	clear_both(&r, &m);
	add_both(&r, &m, 5, 3, 20, 760);
	for (uint32_t row = 0; row < 48; row++)
		for (uint32_t col = 2 + row % 2; col < 16; col += 2)
			add_both(&r, &m, col * 64 + 1, row * 16 + 2, 9, 9);
	out = check_rects(&r, &m, &n);
	assert_int_equal(n, 1 + 7 * 48);
	bands = 0;
	for (size_t i = 0; i < n; i++)
		if (out[i].x == 5) {
			assert_rect(out[i], (struct fb_rect){5, 3, 20, 760});
			bands++;
		}
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
				struct fb_rect rect = rnd_rect(&seed, w, h);

				add_both(&r, &m, rect.x, rect.y, rect.w,
					 rect.h);
			}
			check(&r, &m);
			model_fini(&m);
			fb_region_fini(&r);
		}
	}
}

/* One rect anywhere comes back as exactly itself, clipped. */
static void test_single_rect_exact(void **state)
{
	static const uint32_t geo[][2] = {
		{1024, 768}, {1023, 767}, {65, 17}, {4096, 20}, {1, 1}};
	uint32_t seed = 777;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		uint32_t w = geo[g][0], h = geo[g][1];
		struct fb_region r;
		struct model m;

		assert_int_equal(fb_region_init(&r, w, h), 0);
		model_init(&m, w, h);
		for (int round = 0; round < 300; round++) {
			struct fb_rect rect = rnd_rect(&seed, w, h);
			struct mbox c;

			clear_both(&r, &m);
			add_both(&r, &m, rect.x, rect.y, rect.w, rect.h);
			if (!model_clip(&m, rect, &c)) {
				assert_int_equal(check(&r, &m), 0);
				continue;
			}
			expect_one(&r, &m, (uint32_t)c.x0, (uint32_t)c.y0,
				   (uint32_t)(c.x1 - c.x0),
				   (uint32_t)(c.y1 - c.y0));
		}
		model_fini(&m);
		fb_region_fini(&r);
	}
}

/* Two rects in one tile make their bounding box. */
static void test_same_tile_bounding_box(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 70, 18, 3, 2);
	add_both(&r, &m, 100, 25, 5, 4);
	assert_int_equal(r.count, 1);
	expect_one(&r, &m, 70, 18, 35, 11);
	/* One inside the box changes nothing. */
	add_both(&r, &m, 80, 20, 4, 4);
	expect_one(&r, &m, 70, 18, 35, 11);
	/* One in the next tile joins it in the output, across the gap, */
	add_both(&r, &m, 128, 18, 10, 11);
	expect_one(&r, &m, 70, 18, 68, 11);
	/* but not in the exact runs the shadow copies by. */
	{
		uint32_t col = 0;
		struct fb_rect run;

		assert_true(fb_region_next_run(&r, 1, &col, &run));
		assert_int_equal(run.w, 35);
		assert_true(fb_region_next_run(&r, 1, &col, &run));
		assert_int_equal(run.x, 128);
		assert_false(fb_region_next_run(&r, 1, &col, &run));
	}
	add_both(&r, &m, 105, 18, 23, 1);
	expect_one(&r, &m, 70, 18, 68, 11);
	model_fini(&m);
	fb_region_fini(&r);
}

/* A window moved or redrawn: one rect for it, however the tiles cut
 * it. */
static void test_window(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 37, 21, 400, 300);
	assert_int_equal(r.count, 7 * 20);
	expect_one(&r, &m, 37, 21, 400, 300);
	/* The same window a few pixels on: old and new place together. */
	add_both(&r, &m, 45, 29, 400, 300);
	check(&r, &m);
	/* The client was sent the new place: the old place's strips stay. */
	sub_both(&r, &m, 45, 29, 400, 300);
	check(&r, &m);
	assert_true(fb_region_touches(&r, (struct fb_rect){37, 21, 1, 1}));
	assert_false(fb_region_touches(&r, (struct fb_rect){200, 200, 1, 1}));
	/* Everything sent: nothing left. */
	sub_both(&r, &m, 37, 21, 408, 308);
	assert_true(fb_region_empty(&r));
	check(&r, &m);
	model_fini(&m);
	fb_region_fini(&r);
}

/* Text typed into a terminal: 8x16 cells. */
static void test_typing(void **state)
{
	struct fb_region r;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 8 * 13, 16 * 5, 8, 16);
	assert_int_equal(r.count, 1);
	expect_one(&r, &m, 104, 80, 8, 16);

	/* A cell across four tiles is still one rect. */
	clear_both(&r, &m);
	add_both(&r, &m, 60, 10, 8, 16);
	assert_int_equal(r.count, 4);
	expect_one(&r, &m, 60, 10, 8, 16);

	/* A line typed off the tile grid. */
	clear_both(&r, &m);
	for (uint32_t i = 0; i < 21; i++)
		add_both(&r, &m, 8 * i, 100, 8, 16);
	expect_one(&r, &m, 0, 100, 168, 16);
	/* And a cursor one line down under its first cell. */
	add_both(&r, &m, 0, 116, 8, 16);
	check(&r, &m);
	/* The line sent, then the cursor: the tile they share kept their
	 * bounding box, so the part of it that neither cut takes out of
	 * one box stays. */
	sub_both(&r, &m, 0, 100, 168, 16);
	check(&r, &m);
	sub_both(&r, &m, 0, 116, 8, 16);
	expect_one(&r, &m, 8, 116, 56, 12);
	sub_both(&r, &m, 8, 116, 56, 12);
	assert_true(fb_region_empty(&r));
	check(&r, &m);
	model_fini(&m);
	fb_region_fini(&r);
}

/* Box x 10..30, y 2..12 in tile (0, 0), cut by `cut`, leaves `left`
 * (w == 0: nothing); a bystander elsewhere stays. */
static void expect_cut(struct fb_rect cut, struct fb_rect left)
{
	struct fb_region r;
	struct model m;
	struct fb_rect want[2] = {{500, 500, 1, 1}, left};

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 10, 2, 20, 10);
	add_both(&r, &m, 500, 500, 1, 1);
	sub_both(&r, &m, cut.x, cut.y, cut.w, cut.h);
	assert_int_equal(r.count, left.w ? 2 : 1);
	expect_rects(&r, &m, want, left.w ? 2 : 1);
	model_fini(&m);
	fb_region_fini(&r);
}

static void test_subtract_cases(void **state)
{
	struct fb_region r;
	struct model m;

	/* Box inside the rect (or exactly it): the tile is clean. */
	expect_cut((struct fb_rect){10, 2, 20, 10}, (struct fb_rect){0});
	expect_cut((struct fb_rect){0, 0, 64, 16}, (struct fb_rect){0});
	expect_cut((struct fb_rect){5, 1, UINT32_MAX, 40}, (struct fb_rect){0});
	/* Full width: rows off the top or the bottom. */
	expect_cut((struct fb_rect){0, 0, 64, 5},
		   (struct fb_rect){10, 5, 20, 7});
	expect_cut((struct fb_rect){10, 2, 20, 1},
		   (struct fb_rect){10, 3, 20, 9});
	expect_cut((struct fb_rect){5, 8, 40, 100},
		   (struct fb_rect){10, 2, 20, 6});
	expect_cut((struct fb_rect){10, 11, 20, 1},
		   (struct fb_rect){10, 2, 20, 9});
	/* Full height: columns off the left or the right. */
	expect_cut((struct fb_rect){0, 0, 15, 16},
		   (struct fb_rect){15, 2, 15, 10});
	expect_cut((struct fb_rect){25, 0, 100, 16},
		   (struct fb_rect){10, 2, 15, 10});
	expect_cut((struct fb_rect){29, 2, 1, 10},
		   (struct fb_rect){10, 2, 19, 10});
	/* In the middle, across a corner, a middle band of full width or
	 * height, or beside the box: unchanged. */
	expect_cut((struct fb_rect){15, 5, 5, 3},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){5, 0, 10, 5},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){20, 8, 40, 40},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){0, 5, 64, 3},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){15, 0, 5, 16},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){30, 0, 34, 16},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){0, 12, 64, 4},
		   (struct fb_rect){10, 2, 20, 10});
	expect_cut((struct fb_rect){10, 2, 0, 10},
		   (struct fb_rect){10, 2, 20, 10});

	/* Over many tiles: the tiles inside go, the ones on its sides are
	 * cut, the corners stay. */
	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 37, 21, 400, 300);
	sub_both(&r, &m, 100, 100, 100, 100);
	assert_int_equal(r.count, 140 - 5);
	check(&r, &m);
	assert_true(fb_region_touches(&r, (struct fb_rect){100, 100, 1, 1}));
	assert_true(fb_region_touches(&r, (struct fb_rect){199, 199, 1, 1}));
	assert_false(fb_region_touches(&r, (struct fb_rect){120, 115, 1, 1}));
	assert_false(fb_region_touches(&r, (struct fb_rect){130, 115, 60, 80}));
	assert_false(fb_region_touches(&r, (struct fb_rect){192, 115, 8, 1}));
	assert_true(fb_region_touches(&r, (struct fb_rect){120, 110, 1, 1}));
	/* Subtracting the same again changes nothing more. */
	sub_both(&r, &m, 100, 100, 100, 100);
	assert_int_equal(r.count, 140 - 5);
	check(&r, &m);

	/* A full frame less one band across it, then less everything. */
	clear_both(&r, &m);
	fb_region_add_all(&r);
	model_rect(&m, (struct fb_rect){0, 0, 1024, 768});
	sub_both(&r, &m, 0, 100, 1024, 12);
	EXPECT_RECTS(&r, &m, {0, 0, 1024, 100}, {0, 112, 1024, 656});
	sub_both(&r, &m, 0, 0, 1024, 768);
	assert_true(fb_region_empty(&r));
	check(&r, &m);
	/* On an empty region it is a no-op. */
	sub_both(&r, &m, 0, 0, 1024, 768);
	check(&r, &m);
	model_fini(&m);
	fb_region_fini(&r);
}

static bool model_has_pixel(const struct model *m, uint32_t x, uint32_t y)
{
	const struct mbox *t = model_at(m, x / FB_TILE_W, y / FB_TILE_H);

	return t->x1 && x >= t->x0 && x < t->x1 && y >= t->y0 && y < t->y1;
}

static bool touched(const struct fb_region *r, uint64_t x, uint64_t y)
{
	return fb_region_touches(
		r, (struct fb_rect){(uint32_t)x, (uint32_t)y, 1, 1});
}

/* Subtracts `cut` and checks, pixel by pixel around it (`before` is a
 * w x h scratch map), that touches follows the model and that pixels
 * outside the cut are kept while those inside can only go. */
static void cut_and_probe(struct fb_region *r, struct model *m,
			  struct fb_rect cut, uint8_t *before)
{
	uint32_t w = m->width;
	struct mbox c, p;

	if (!model_clip(m, cut, &c))
		c = (struct mbox){0, 0, 0, 0};
	p = (struct mbox){c.x0 > 80 ? c.x0 - 80 : 0, min64(c.x1 + 80, w),
			  c.y0 > 80 ? c.y0 - 80 : 0,
			  min64(c.y1 + 80, m->height)};
	if (box_empty(c))
		p = (struct mbox){0, w, 0, m->height};
	for (uint64_t y = p.y0; y < p.y1; y++)
		for (uint64_t x = p.x0; x < p.x1; x++)
			before[y * w + x] = touched(r, x, y);
	sub_both(r, m, cut.x, cut.y, cut.w, cut.h);
	check(r, m);
	for (uint64_t y = p.y0; y < p.y1; y++) {
		for (uint64_t x = p.x0; x < p.x1; x++) {
			bool now = touched(r, x, y), was = before[y * w + x];
			bool in =
				x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1;

			assert_int_equal(now, model_has_pixel(m, (uint32_t)x,
							      (uint32_t)y));
			assert_true(in ? now <= was : now == was);
		}
	}
}

/* Random regions less random rects: the model is followed exactly, and
 * no pixel outside the rect is lost. */
static void test_subtract_random(void **state)
{
	static const uint32_t geo[][3] = {
		/* width, height, rounds */
		{65, 17, 300},
		{200, 50, 200},
		{1023, 767, 20},
	};
	uint32_t seed = 4242;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		uint32_t w = geo[g][0], h = geo[g][1];
		struct fb_region r;
		struct model m;
		uint8_t *before = calloc((size_t)w * h, 1);

		assert_non_null(before);
		assert_int_equal(fb_region_init(&r, w, h), 0);
		model_init(&m, w, h);
		for (uint32_t round = 0; round < geo[g][2]; round++) {
			int adds = (int)(rnd(&seed) % 6) + 1;

			clear_both(&r, &m);
			for (int i = 0; i < adds; i++) {
				struct fb_rect a = rnd_rect(&seed, w, h);

				add_both(&r, &m, a.x, a.y, a.w, a.h);
			}
			cut_and_probe(&r, &m, rnd_rect(&seed, w, h), before);
		}
		model_fini(&m);
		fb_region_fini(&r);
		free(before);
	}
}

static void test_touches(void **state)
{
	static const struct fb_rect no[] = {
		{110, 100, 5, 5},  /* right next to it */
		{90, 100, 10, 10}, /* left */
		{100, 110, 10, 5}, /* below */
		{100, 90, 10, 10}, /* above */
		{110, 110, 1, 1},  /* the corner beyond */
		{90, 90, 10, 10},  /* the corner before */
		{110, 110, UINT32_MAX, UINT32_MAX},
		{UINT32_MAX, 100, 2, 2},
		{100, UINT32_MAX, 2, 2},
		{100, 100, 0, 5},
		{100, 100, 5, 0},
		{1024, 100, 5, 5},
	};
	static const struct fb_rect yes[] = {
		{109, 109, 1, 1},
		{100, 100, 1, 1},
		{90, 90, 11, 11},
		{105, 0, 1, UINT32_MAX},
		{0, 105, UINT32_MAX, 1},
		{0, 0, 1024, 768},
		{0, 0, UINT32_MAX, UINT32_MAX},
		{64, 96, 64, 16}, /* the tile's corner sub-rect */
	};
	struct fb_region r;
	struct model m;
	uint32_t seed = 99;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	model_init(&m, 1024, 768);
	add_both(&r, &m, 100, 100, 10, 10);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(fb_region_touches(&r, no[i]));
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(fb_region_touches(&r, yes[i]));

	/* A box at its tile's right edge, and the next tile. */
	clear_both(&r, &m);
	add_both(&r, &m, 120, 0, 8, 16);
	assert_false(fb_region_touches(&r, (struct fb_rect){128, 0, 5, 5}));
	assert_false(fb_region_touches(&r, (struct fb_rect){120, 16, 8, 8}));
	assert_true(fb_region_touches(&r, (struct fb_rect){127, 15, 1, 1}));
	assert_true(fb_region_touches(&r, (struct fb_rect){127, 15, 9, 9}));

	/* The box is what the region keeps: a pixel between two added
	 * rects in one tile is in it. */
	clear_both(&r, &m);
	add_both(&r, &m, 70, 18, 3, 2);
	add_both(&r, &m, 100, 25, 5, 4);
	assert_true(fb_region_touches(&r, (struct fb_rect){80, 22, 1, 1}));
	assert_false(fb_region_touches(&r, (struct fb_rect){105, 18, 1, 11}));

	/* Random regions and rects. */
	for (int round = 0; round < 200; round++) {
		clear_both(&r, &m);
		for (int i = round % 5; i >= 0; i--) {
			struct fb_rect a = rnd_rect(&seed, 1024, 768);

			a.w /= 4;
			a.h /= 4;
			add_both(&r, &m, a.x, a.y, a.w, a.h);
		}
		for (int i = 0; i < 50; i++) {
			struct fb_rect q = rnd_rect(&seed, 1024, 768);

			q.w /= 8;
			q.h /= 8;
			assert_int_equal(fb_region_touches(&r, q),
					 model_touches(&m, q));
		}
	}
	model_fini(&m);
	fb_region_fini(&r);
}

/* The tile rows [row0, row1) hold the dirty tiles, tightly while only
 * added to, and are empty once the region is. */
static void test_row_range(void **state)
{
	struct fb_region r, b;
	struct model m;

	assert_int_equal(fb_region_init(&r, 1024, 768), 0);
	assert_int_equal(fb_region_init(&b, 1024, 768), 0);
	model_init(&m, 1024, 768);
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 0);
	add_both(&r, &m, 10, 85, 5, 30); /* tile rows 5..7 */
	assert_int_equal(r.row0, 5);
	assert_int_equal(r.row1, 8);
	add_both(&r, &m, 500, 40, 1, 1);
	assert_int_equal(r.row0, 2);
	assert_int_equal(r.row1, 8);
	tile_both(&r, &m, 0, 40);
	assert_int_equal(r.row0, 2);
	assert_int_equal(r.row1, 41);
	check(&r, &m);
	clear_both(&r, &m);
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 0);
	check(&r, &m);

	/* Subtract down to nothing, then start again elsewhere. */
	add_both(&r, &m, 300, 165, 20, 3);
	assert_int_equal(r.row0, 10);
	assert_int_equal(r.row1, 11);
	add_both(&r, &m, 300, 600, 20, 3);
	sub_both(&r, &m, 290, 160, 40, 10);
	check(&r, &m);
	sub_both(&r, &m, 300, 600, 20, 3);
	assert_true(fb_region_empty(&r));
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 0);
	check(&r, &m);
	add_both(&r, &m, 0, 50, 1, 1);
	assert_int_equal(r.row0, 3);
	assert_int_equal(r.row1, 4);
	expect_one(&r, &m, 0, 50, 1, 1);
	/* Clearing after a subtract leaves nothing behind. */
	add_both(&r, &m, 0, 700, 1, 1);
	sub_both(&r, &m, 0, 50, 1, 1);
	fb_region_clear(&r);
	model_clear(&m);
	check(&r, &m);
	for (uint32_t row = 0; row < r.rows; row++)
		for (uint32_t col = 0; col < r.cols; col++)
			assert_false(fb_region_has_tile(&r, col, row));

	/* add_all covers every row; a merge into empty takes src's. */
	fb_region_add_all(&r);
	assert_int_equal(r.row0, 0);
	assert_int_equal(r.row1, 48);
	fb_region_clear(&r);
	fb_region_add_rect(&b, (struct fb_rect){0, 300, 5, 50});
	fb_region_merge(&r, &b);
	model_rect(&m, (struct fb_rect){0, 300, 5, 50});
	assert_int_equal(r.row0, 18);
	assert_int_equal(r.row1, 22);
	expect_one(&r, &m, 0, 300, 5, 50);
	model_fini(&m);
	fb_region_fini(&r);
	fb_region_fini(&b);
}

/* A random box of tile (col, row) inside the frame. */
static struct fb_tile_box rnd_box(uint32_t *seed, const struct model *m,
				  uint32_t col, uint32_t row)
{
	struct mbox t = model_tile_box(m, col, row);
	uint32_t tw = (uint32_t)(t.x1 - t.x0), th = (uint32_t)(t.y1 - t.y0);
	uint32_t x0 = rnd(seed) % tw, y0 = rnd(seed) % th;
	uint32_t x1 = x0 + 1 + rnd(seed) % (tw - x0);
	uint32_t y1 = y0 + 1 + rnd(seed) % (th - y0);

	return (struct fb_tile_box){(uint8_t)x0, (uint8_t)x1, (uint8_t)y0,
				    (uint8_t)y1};
}

/* One random operation on r (and m), with b and mb as scratch for a
 * merge source. */
static void random_step(uint32_t *seed, struct fb_region *r, struct model *m,
			struct fb_region *b, struct model *mb)
{
	uint32_t op = rnd(seed) % 100, w = m->width, h = m->height;
	struct fb_rect a = rnd_rect(seed, w, h);
	uint32_t col = rnd(seed) % m->cols, row = rnd(seed) % m->rows;

	if (op < 45) {
		add_both(r, m, a.x, a.y, a.w, a.h);
	} else if (op < 65) {
		sub_both(r, m, a.x, a.y, a.w, a.h);
	} else if (op < 75) {
		tile_both(r, m, col, row);
	} else if (op < 88) {
		box_both(r, m, col, row, rnd_box(seed, m, col, row));
	} else if (op < 96) {
		clear_both(b, mb);
		add_both(b, mb, a.x, a.y, a.w, a.h);
		a = rnd_rect(seed, w, h);
		add_both(b, mb, a.x, a.y, a.w, a.h);
		fb_region_merge(r, b);
		model_merge(m, mb);
		check(b, mb);
	} else if (op < 98) {
		clear_both(r, m);
	} else {
		fb_region_add_all(r);
		model_rect(m, (struct fb_rect){0, 0, w, h});
	}
}

/* Random sequences of every operation, checked after each step. */
static void test_random_ops(void **state)
{
	static const uint32_t geo[][2] = {
		{1, 1}, {65, 17}, {1023, 767}, {4096, 20}};
	uint32_t seed = 2024;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		uint32_t w = geo[g][0], h = geo[g][1];
		struct fb_region r, b;
		struct model m, mb;

		assert_int_equal(fb_region_init(&r, w, h), 0);
		assert_int_equal(fb_region_init(&b, w, h), 0);
		model_init(&m, w, h);
		model_init(&mb, w, h);
		for (int round = 0; round < 30; round++) {
			clear_both(&r, &m);
			for (int step = 0; step < 40; step++) {
				struct fb_rect q = rnd_rect(&seed, w, h);

				random_step(&seed, &r, &m, &b, &mb);
				assert_int_equal(fb_region_touches(&r, q),
						 model_touches(&m, q));
				check(&r, &m);
			}
		}
		model_fini(&m);
		model_fini(&mb);
		fb_region_fini(&r);
		fb_region_fini(&b);
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
		cmocka_unit_test(test_add_box),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_clear_and_reset),
		cmocka_unit_test(test_rects_truncated),
		cmocka_unit_test(test_band_beside_checkerboard),
		cmocka_unit_test(test_random_shapes),
		cmocka_unit_test(test_single_rect_exact),
		cmocka_unit_test(test_same_tile_bounding_box),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_typing),
		cmocka_unit_test(test_subtract_cases),
		cmocka_unit_test(test_subtract_random),
		cmocka_unit_test(test_touches),
		cmocka_unit_test(test_row_range),
		cmocka_unit_test(test_random_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
