/* Unit tests for the demo console source (fb/src-demo.c): damage hints
 * that cover every changed pixel, static-mode determinism, the line
 * editor, the status line, the colour strip, and geometry limits (run
 * under ASan to catch drawing outside the frame). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fb/font.h"
#include "fb/src-demo.h"

struct frame {
	uint32_t *px;
	uint32_t width, height;
};

static struct fb_source *new_static(uint32_t w, uint32_t h)
{
	struct fb_source *src = fb_demo_new(w, h, true);

	assert_non_null(src);
	return src;
}

/* Copies the current pixels; the view must be tightly packed XRGB. */
static struct frame snap(struct fb_source *src)
{
	struct fb_view v;
	struct frame f;

	assert_int_equal(src->ops->view(src, &v), 0);
	assert_int_equal(v.stride, (size_t)v.width * 4);
	f.width = v.width;
	f.height = v.height;
	f.px = malloc(v.stride * v.height);
	assert_non_null(f.px);
	memcpy(f.px, v.data, v.stride * v.height);
	return f;
}

static uint32_t at(const struct frame *f, uint32_t x, uint32_t y)
{
	return f->px[(size_t)y * f->width + x];
}

static bool frames_equal(const struct frame *a, const struct frame *b)
{
	return a->width == b->width && a->height == b->height &&
	       memcmp(a->px, b->px, (size_t)a->width * a->height * 4) == 0;
}

/* Drains pending damage so the next poll reports only what follows. */
static void drain(struct fb_source *src)
{
	struct fb_damage d;

	src->ops->poll(src, &d);
}

static bool in_rect(const struct fb_rect *r, uint32_t x, uint32_t y)
{
	return x >= r->x && x - r->x < r->w && y >= r->y && y - r->y < r->h;
}

/* Every pixel that differs between a and b lies in one of the hint's
 * rects; returns how many differ. */
static size_t check_diff_covered(const struct frame *a, const struct frame *b,
				 const struct fb_damage *hint)
{
	size_t changed = 0;

	for (uint32_t y = 0; y < a->height; y++) {
		for (uint32_t x = 0; x < a->width; x++) {
			bool covered = hint->all;

			if (at(a, x, y) == at(b, x, y))
				continue;
			changed++;
			for (unsigned i = 0; i < hint->n && !covered; i++)
				covered = in_rect(&hint->rects[i], x, y);
			if (!covered)
				fail_msg("pixel %u,%u changed outside damage",
					 (unsigned)x, (unsigned)y);
		}
	}
	return changed;
}

/* Changed pixels all lie in rows y0 .. y1 - 1. */
static void check_diff_rows(const struct frame *a, const struct frame *b,
			    uint32_t y0, uint32_t y1)
{
	for (uint32_t y = 0; y < a->height; y++) {
		if (y >= y0 && y < y1)
			continue;
		assert_memory_equal(a->px + (size_t)y * a->width,
				    b->px + (size_t)y * b->width,
				    (size_t)a->width * 4);
	}
}

/* The pixels of text cell (row, col) match `glyph`: one colour where its
 * bits are set, another where they are clear. */
static void check_cell_shows(const struct frame *f,
			     const struct fb_demo_layout *l, uint32_t row,
			     uint32_t col, const uint8_t *glyph)
{
	uint32_t x0 = l->text_x + col * FB_FONT_WIDTH;
	uint32_t y0 = l->text_y + row * FB_FONT_HEIGHT;
	uint32_t fg = 0, bg = 0;
	bool have_fg = false, have_bg = false;

	for (uint32_t y = 0; y < FB_FONT_HEIGHT; y++) {
		for (uint32_t x = 0; x < FB_FONT_WIDTH; x++) {
			uint32_t p = at(f, x0 + x, y0 + y);

			if (glyph[y] & (0x80 >> x)) {
				if (have_fg)
					assert_int_equal(p, fg);
				fg = p;
				have_fg = true;
			} else {
				if (have_bg)
					assert_int_equal(p, bg);
				bg = p;
				have_bg = true;
			}
		}
	}
	assert_true(have_fg && have_bg);
	assert_int_not_equal(fg, bg);
}

/* All pixels of text row `row` (full width) have one colour. */
static bool row_is_blank(const struct frame *f, const struct fb_demo_layout *l,
			 uint32_t row)
{
	uint32_t y0 = l->text_y + row * FB_FONT_HEIGHT;
	uint32_t c = at(f, 0, y0);

	for (uint32_t y = y0; y < y0 + FB_FONT_HEIGHT; y++) {
		for (uint32_t x = 0; x < f->width; x++) {
			if (at(f, x, y) != c)
				return false;
		}
	}
	return true;
}

static void type_str(struct fb_source *src, const char *s)
{
	for (; *s; s++)
		fb_demo_type_char(src, (unsigned char)*s);
}

static void test_first_poll_all(void **state)
{
	struct fb_source *src =
		new_static(FB_DEMO_DEFAULT_WIDTH, FB_DEMO_DEFAULT_HEIGHT);
	struct fb_damage d;
	struct fb_view v;

	memset(&d, 0, sizeof(d));
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	assert_true(d.all);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_IDLE);
	assert_int_equal(src->ops->fd(src), -1);
	assert_string_equal(src->name, "vfbd demo 1024x768");
	assert_int_equal(src->ops->view(src, &v), 0);
	assert_int_equal(v.width, 1024);
	assert_int_equal(v.height, 768);
	assert_int_equal(v.stride, 1024 * 4);
	fb_source_free(src);
}

static void test_bad_geometry(void **state)
{
	static const uint32_t bad[][2] = {
		{0, 768},    {1024, 0},	   {159, 768},
		{1024, 159}, {16385, 768}, {1024, 16385},
		{16384, 16}, {0, 0},	   {UINT32_MAX, 768},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(fb_demo_new(bad[i][0], bad[i][1], true));
		assert_null(fb_demo_new(bad[i][0], bad[i][1], false));
	}
}

static void apply_inputs(struct fb_source *src)
{
	type_str(src, "hello, world");
	fb_demo_backspace(src);
	fb_demo_enter(src);
	fb_demo_type_char(src, 0xe9);
	fb_demo_type_char(src, 0x263a);
	fb_demo_pointer(src, 100, 200, 5);
	fb_demo_pointer(src, 101, 201, 0);
}

static void test_static_deterministic(void **state)
{
	struct fb_source *a = new_static(640, 480), *b = new_static(640, 480);
	struct frame fa = snap(a), fb = snap(b);

	assert_true(frames_equal(&fa, &fb));
	free(fa.px);
	free(fb.px);

	apply_inputs(a);
	drain(b);
	apply_inputs(b);
	fa = snap(a);
	fb = snap(b);
	assert_true(frames_equal(&fa, &fb));

	/* Polling changes nothing in static mode. */
	drain(a);
	free(fa.px);
	fa = snap(a);
	assert_true(frames_equal(&fa, &fb));
	free(fa.px);
	free(fb.px);
	fb_source_free(a);
	fb_source_free(b);
}

static void test_type_damage(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct frame before, after;
	size_t changed;

	drain(src);
	fb_demo_get_layout(src, &l);
	before = snap(src);
	fb_demo_type_char(src, 'A');
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	assert_false(d.all);
	assert_true(d.n >= 1 && d.n <= FB_DAMAGE_MAX_RECTS);
	after = snap(src);
	changed = check_diff_covered(&before, &after, &d);
	assert_true(changed > 0);
	check_cell_shows(&after, &l, l.cursor_row, l.cursor_col,
			 fb_font_glyph('A'));
	/* The cursor moved one cell right. */
	fb_demo_get_layout(src, &l);
	assert_int_equal(l.cursor_col, 1);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_IDLE);
	free(before.px);
	free(after.px);
	fb_source_free(src);
}

static void test_backspace_restores(void **state)
{
	struct fb_source *src = new_static(800, 600);
	struct fb_demo_layout l;
	struct frame before, after;

	drain(src);
	before = snap(src);
	fb_demo_type_char(src, 'A');
	fb_demo_backspace(src);
	after = snap(src);
	assert_true(frames_equal(&before, &after));
	free(after.px);

	/* Across a wrap: a full row plus two, then all of it back. */
	fb_demo_get_layout(src, &l);
	for (uint32_t i = 0; i < l.cols + 2; i++)
		fb_demo_type_char(src, 'a' + i % 26);
	after = snap(src);
	assert_false(frames_equal(&before, &after));
	free(after.px);
	for (uint32_t i = 0; i < l.cols + 2; i++)
		fb_demo_backspace(src);
	after = snap(src);
	assert_true(frames_equal(&before, &after));
	free(after.px);

	/* Nothing to delete at the start of a fresh line. */
	fb_demo_backspace(src);
	after = snap(src);
	assert_true(frames_equal(&before, &after));
	free(after.px);
	free(before.px);
	fb_source_free(src);
}

static void test_wrap(void **state)
{
	struct fb_source *src = new_static(640, 480);
	struct fb_demo_layout l;
	uint32_t row;
	struct frame f;

	fb_demo_get_layout(src, &l);
	row = l.cursor_row;
	assert_int_equal(l.cursor_col, 0);
	for (uint32_t i = 0; i < l.cols; i++)
		fb_demo_type_char(src, 'x');
	fb_demo_type_char(src, 'W');
	fb_demo_get_layout(src, &l);
	assert_int_equal(l.cursor_row, row + 1);
	assert_int_equal(l.cursor_col, 1);
	f = snap(src);
	check_cell_shows(&f, &l, row, l.cols - 1, fb_font_glyph('x'));
	check_cell_shows(&f, &l, row + 1, 0, fb_font_glyph('W'));
	free(f.px);
	fb_source_free(src);
}

static void test_scroll(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct frame before, after;

	drain(src);
	fb_demo_get_layout(src, &l);
	before = snap(src);
	/* The welcome text is on the first row. */
	assert_false(row_is_blank(&before, &l, 0));
	for (uint32_t i = 0; i < l.rows; i++)
		fb_demo_enter(src);
	fb_demo_get_layout(src, &l);
	assert_int_equal(l.cursor_row, l.rows - 1);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	after = snap(src);
	check_diff_covered(&before, &after, &d);
	assert_true(row_is_blank(&after, &l, 0));
	free(after.px);

	/* Text typed on the last row moves up when the screen scrolls. */
	type_str(src, "Q");
	fb_demo_enter(src);
	after = snap(src);
	check_cell_shows(&after, &l, l.rows - 2, 0, fb_font_glyph('Q'));
	free(after.px);
	free(before.px);
	fb_source_free(src);
}

static void test_pointer_status(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct frame before, after;

	drain(src);
	fb_demo_get_layout(src, &l);
	before = snap(src);
	fb_demo_pointer(src, 512, 384, 1 | 4);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	after = snap(src);
	assert_true(check_diff_covered(&before, &after, &d) > 0);
	check_diff_rows(&before, &after, l.status_y, 1024);

	/* The same state again draws nothing. */
	fb_demo_pointer(src, 512, 384, 1 | 4);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_IDLE);

	/* Buttons alone change the status line. */
	free(before.px);
	before = after;
	fb_demo_pointer(src, 512, 384, 0);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	after = snap(src);
	assert_true(check_diff_covered(&before, &after, &d) > 0);
	check_diff_rows(&before, &after, l.status_y, 1024);
	free(after.px);

	/* Far outside is clamped, not drawn outside. */
	fb_demo_pointer(src, UINT32_MAX, UINT32_MAX, 0xff);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	free(before.px);
	fb_source_free(src);
}

/* Pointer back where it was gives the old status pixels back, even after
 * a longer text was shown in between. */
static void test_pointer_restores(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct frame before, after;

	before = snap(src);
	fb_demo_pointer(src, 1023, 767, 31);
	fb_demo_pointer(src, 0, 0, 0);
	after = snap(src);
	assert_true(frames_equal(&before, &after));
	free(before.px);
	free(after.px);
	fb_source_free(src);
}

static void test_controls_ignored(void **state)
{
	struct fb_source *src = new_static(640, 480);
	struct fb_damage d;

	drain(src);
	fb_demo_type_char(src, 0);
	fb_demo_type_char(src, '\n');
	fb_demo_type_char(src, 0x1b);
	fb_demo_type_char(src, 0x7f);
	fb_demo_type_char(src, 0x9f);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_IDLE);
	fb_source_free(src);
}

static void test_missing_glyph(void **state)
{
	struct fb_source *a = new_static(640, 480), *b = new_static(640, 480);
	struct frame fa, fb;

	/* A character the font lacks looks like the replacement glyph. */
	fb_demo_type_char(a, 0x4e00);
	fb_demo_type_char(b, 0xfffd);
	fa = snap(a);
	fb = snap(b);
	assert_true(frames_equal(&fa, &fb));
	free(fa.px);
	free(fb.px);
	fb_source_free(a);
	fb_source_free(b);
}

static void test_damage_bounded(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct frame before, after;

	drain(src);
	fb_demo_get_layout(src, &l);
	before = snap(src);
	/* Scattered changes: more rows touched than rects fit. */
	for (int i = 0; i < FB_DAMAGE_MAX_RECTS + 4; i++) {
		fb_demo_type_char(src, 'z');
		fb_demo_enter(src);
		fb_demo_pointer(src, (uint32_t)i, 0, 0);
	}
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	assert_true(d.all || d.n <= FB_DAMAGE_MAX_RECTS);
	after = snap(src);
	check_diff_covered(&before, &after, &d);
	for (unsigned i = 0; i < d.n; i++) {
		struct fb_rect r = d.rects[i];

		assert_true(fb_rect_clip(&r, 1024, 768));
		assert_memory_equal(&r, &d.rects[i], sizeof(r));
	}
	free(before.px);
	free(after.px);
	fb_source_free(src);
}

/* Exercises everything at one geometry; ASan reports any write outside
 * the frame. */
static void exercise(uint32_t w, uint32_t h, bool is_static)
{
	struct fb_source *src = fb_demo_new(w, h, is_static);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct fb_view v;

	assert_non_null(src);
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	assert_true(d.all);
	fb_demo_get_layout(src, &l);
	assert_true(l.cols >= 1 && l.rows >= 1);
	assert_true((uint64_t)l.text_x + (uint64_t)l.cols * FB_FONT_WIDTH <= w);
	assert_true((uint64_t)l.text_y + (uint64_t)l.rows * FB_FONT_HEIGHT <=
		    l.status_y);
	assert_true(l.status_y + l.status_h == h);

	for (uint32_t i = 0; i < 3 * l.cols + 5; i++)
		fb_demo_type_char(src, 0x21 + i % 94);
	for (uint32_t i = 0; i < l.rows + 2; i++) {
		fb_demo_type_char(src, 0x263a);
		fb_demo_enter(src);
	}
	for (uint32_t i = 0; i < l.cols + 3; i++)
		fb_demo_backspace(src);
	fb_demo_pointer(src, w - 1, h - 1, 7);
	fb_demo_pointer(src, w, h, 0xff);
	fb_demo_pointer(src, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		enum fb_poll p = src->ops->poll(src, &d);

		assert_true(p == FB_POLL_DAMAGE || p == FB_POLL_IDLE);
		for (unsigned j = 0; p == FB_POLL_DAMAGE && j < d.n; j++) {
			struct fb_rect r = d.rects[j];

			assert_true(fb_rect_clip(&r, w, h));
		}
	}
	assert_int_equal(src->ops->view(src, &v), 0);
	assert_int_equal(v.width, w);
	assert_int_equal(v.height, h);
	fb_source_free(src);
}

static void test_geometries(void **state)
{
	static const uint32_t geo[][2] = {
		{160, 160},   {161, 999}, {999, 161},  {16384, 160},
		{160, 16384}, {167, 175}, {1024, 768},
	};

	for (size_t i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		exercise(geo[i][0], geo[i][1], true);
		exercise(geo[i][0], geo[i][1], false);
	}
}

static void test_strip_values(void **state)
{
	struct fb_source *src = new_static(1024, 768);
	struct fb_demo_layout l;
	bool seen[3][256] = {{false}};
	unsigned count[3] = {0, 0, 0};
	struct frame f;

	fb_demo_get_layout(src, &l);
	assert_true(l.strip_y >= l.title_h);
	assert_true(l.strip_y + l.strip_h <= l.text_y);
	f = snap(src);
	for (uint32_t y = l.strip_y; y < l.strip_y + l.strip_h; y++) {
		for (uint32_t x = 0; x < f.width; x++) {
			uint32_t p = at(&f, x, y);

			assert_int_equal(p >> 24, 0);
			for (int c = 0; c < 3; c++) {
				unsigned v = p >> (16 - 8 * c) & 0xff;

				if (!seen[c][v]) {
					seen[c][v] = true;
					count[c]++;
				}
			}
		}
	}
	assert_true(count[0] >= 200);
	assert_true(count[1] >= 200);
	assert_true(count[2] >= 200);
	/* Pure ramps reach both ends. */
	assert_int_equal(at(&f, 0, l.strip_y), 0x000000);
	assert_int_equal(at(&f, 1023, l.strip_y), 0xff0000);
	free(f.px);
	fb_source_free(src);
}

/* Live mode: the clock changes on its own within about a second, and only
 * the title and status bars change with it. */
static void test_live_clock(void **state)
{
	struct fb_source *src = fb_demo_new(1024, 768, false);
	struct fb_demo_layout l;
	struct fb_damage d;
	struct frame before, after;
	struct timespec nap = {0, 50 * 1000 * 1000};
	enum fb_poll p = FB_POLL_IDLE;

	assert_non_null(src);
	assert_string_equal(src->name, "vfbd demo 1024x768");
	assert_int_equal(src->ops->poll(src, &d), FB_POLL_DAMAGE);
	assert_true(d.all);
	fb_demo_get_layout(src, &l);
	before = snap(src);
	for (int i = 0; i < 60 && p == FB_POLL_IDLE; i++) {
		nanosleep(&nap, NULL);
		p = src->ops->poll(src, &d);
	}
	assert_int_equal(p, FB_POLL_DAMAGE);
	assert_false(d.all);
	after = snap(src);
	assert_true(check_diff_covered(&before, &after, &d) > 0);
	for (unsigned i = 0; i < d.n; i++) {
		assert_true(d.rects[i].y + d.rects[i].h <= l.title_h ||
			    d.rects[i].y >= l.status_y);
	}
	free(before.px);
	free(after.px);
	fb_source_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_poll_all),
		cmocka_unit_test(test_bad_geometry),
		cmocka_unit_test(test_static_deterministic),
		cmocka_unit_test(test_type_damage),
		cmocka_unit_test(test_backspace_restores),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_scroll),
		cmocka_unit_test(test_pointer_status),
		cmocka_unit_test(test_pointer_restores),
		cmocka_unit_test(test_controls_ignored),
		cmocka_unit_test(test_missing_glyph),
		cmocka_unit_test(test_damage_bounded),
		cmocka_unit_test(test_geometries),
		cmocka_unit_test(test_strip_values),
		cmocka_unit_test(test_live_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
