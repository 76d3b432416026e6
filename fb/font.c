/* Code point to glyph lookup over the tables psf2c generates. */
#include "fb/font.h"

#include <stddef.h>

#include "fb/font-data.h"

/* Returns the glyph index for `cp`, or -1 if the font has none. */
static long fb_font_find(uint32_t cp)
{
	size_t lo = 0, hi = fb_font_nmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t key = fb_font_map[mid].codepoint;

		if (key < cp)
			lo = mid + 1;
		else if (key > cp)
			hi = mid;
		else if (fb_font_map[mid].glyph < fb_font_nglyphs)
			return fb_font_map[mid].glyph;
		else
			return -1;
	}
	return -1;
}

const uint8_t *fb_font_glyph(uint32_t codepoint)
{
	long g = fb_font_find(codepoint);

	/* U+FFFD is what Unicode says to show for a character that cannot
	 * be shown; older fonts lack it, so '?' stands in, and glyph 0 if
	 * even that is missing, so callers never get NULL. */
	if (g < 0)
		g = fb_font_find(0xfffd);
	if (g < 0)
		g = fb_font_find('?');
	if (g < 0)
		g = 0;
	return fb_font_glyphs[g];
}
