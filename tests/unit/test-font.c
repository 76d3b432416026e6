/* Unit tests for the demo console's font (fb/font.c and the tables that
 * tools/host/psf2c generates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "fb/font-data.h"
#include "fb/font.h"

static bool glyph_blank(const uint8_t *g)
{
	for (int i = 0; i < FB_FONT_HEIGHT; i++) {
		if (g[i])
			return false;
	}
	return true;
}

static void test_tables_sane(void **state)
{
	assert_true(fb_font_nglyphs >= 95);
	assert_true(fb_font_nmap >= 95);
	for (unsigned i = 0; i < fb_font_nmap; i++) {
		assert_true(fb_font_map[i].glyph < fb_font_nglyphs);
		if (i > 0)
			assert_true(fb_font_map[i - 1].codepoint <
				    fb_font_map[i].codepoint);
	}
}

static void test_ascii(void **state)
{
	const uint8_t *space = fb_font_glyph(' ');
	const uint8_t *a = fb_font_glyph('A');

	assert_non_null(space);
	assert_non_null(a);
	assert_true(glyph_blank(space));
	assert_false(glyph_blank(a));
	assert_memory_not_equal(a, space, FB_FONT_HEIGHT);
	assert_memory_not_equal(a, fb_font_glyph('a'), FB_FONT_HEIGHT);
	/* Every printable ASCII character has its own glyph: none falls
	 * back to the replacement. */
	for (uint32_t c = 0x21; c < 0x7f; c++) {
		if (c == '?')
			continue;
		assert_ptr_not_equal(fb_font_glyph(c), fb_font_glyph(0x4e00));
		assert_false(glyph_blank(fb_font_glyph(c)));
	}
}

static void test_latin1(void **state)
{
	/* The font is Lat15: accented letters are there and differ from
	 * their base letters. */
	assert_ptr_not_equal(fb_font_glyph(0xe9), fb_font_glyph(0x4e00));
	assert_memory_not_equal(fb_font_glyph(0xe9), fb_font_glyph('e'),
				FB_FONT_HEIGHT);
}

static void test_missing(void **state)
{
	static const uint32_t missing[] = {0x4e00,   0x1f600, 0x10ffff,
					   0x110000, 0xd800,  UINT32_MAX};
	const uint8_t *repl = fb_font_glyph(0xfffd);

	assert_non_null(repl);
	assert_false(glyph_blank(repl));
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		const uint8_t *g = fb_font_glyph(missing[i]);

		assert_non_null(g);
		assert_ptr_equal(g, repl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_sane),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_latin1),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
