/* The known image of the Xen end-to-end test (tests/xen/). The guest
 * (xt-guest.c) draws it into /dev/fb0; the host client (xt-vnc.c) checks
 * every pixel that reaches it through vfbd. Both compute it from
 * (x, y, width, height, seed) alone, so nothing but the seed and the mode
 * has to travel between them.
 *
 * The picture is made to exercise every kind of encoder: four horizontal
 * bands (a smooth gradient, flat rectangles on a checkerboard, noise that
 * does not compress, and sparse two-colour "text"), framed by a 2-pixel
 * border whose colour depends on the seed, so a frame cut at any edge or
 * left over from another seed shows.
 *
 * The key box: on every key press the guest fills a square near the top
 * left corner with a colour derived from the key code, which lets the host
 * time a keystroke's round trip through the guest. */
#ifndef VFBD_TESTS_XEN_PATTERN_H
#define VFBD_TESTS_XEN_PATTERN_H

#include <stdint.h>

#define XT_KEYBOX_X    16u
#define XT_KEYBOX_Y    16u
#define XT_KEYBOX_SIZE 48u

static inline uint32_t xt_mix(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352du;
	v ^= v >> 15;
	v *= 0x846ca68bu;
	v ^= v >> 16;
	return v;
}

/* 0xRRGGBB of pixel (x, y) of a w x h frame drawn with `seed`. */
static inline uint32_t xt_pixel(unsigned x, unsigned y, unsigned w, unsigned h,
				unsigned seed)
{
	unsigned band, r, g, b;

	if (x < 2 || y < 2 || x + 2 >= w || y + 2 >= h)
		return xt_mix(seed * 0x9e3779b9u) & 0xffffffu;
	band = y * 4u / h;
	switch (band) {
	case 0: /* gradient */
		r = x * 255u / (w - 1u);
		g = y * 255u / (h - 1u);
		b = (seed * 53u + (x + y) / 8u) & 0xffu;
		break;
	case 1: /* flat rectangles over a 16x16 checkerboard */
		if (((x + seed * 24u) / 96u) % 3u == 1u && (y / 24u) % 2u == 0u)
			return 0x2060c0u ^ (seed * 0x010101u & 0x3f3f3fu);
		return ((x / 16u + y / 16u) % 2u) ? 0xf0f0f0u : 0x303030u;
	case 2: /* noise */
		return xt_mix(x * 0x10001u ^ y * 0x2545f491u ^ seed) &
		       0xffffffu;
	default: /* sparse "text": two colours */
		return ((x / 3u + y / 5u * 3u + seed) % 7u == 0u) ? 0x102010u
								  : 0xe8e0c8u;
	}
	return r << 16 | g << 8 | b;
}

/* Colour of the key box after a press of Linux key `code`. */
static inline uint32_t xt_keybox(unsigned code)
{
	return (0x40u + code * 29u % 0xc0u) << 16 |
	       (0xffu - code % 0x80u) << 8 | (code * 7u & 0x7fu);
}

/* The US layout for what the guest echoes as text and the host types:
 * Linux key codes of ASCII characters (0: none). Upper-case letters use
 * the lower-case key with Shift. */
static inline unsigned xt_char_to_key(char c)
{
	static const char row1[] = "1234567890-="; /* KEY_1 = 2 */
	static const char row2[] = "qwertyuiop[]"; /* KEY_Q = 16 */
	static const char row3[] = "asdfghjkl;'";  /* KEY_A = 30 */
	static const char row4[] = "zxcvbnm,./";   /* KEY_Z = 44 */
	const char *rows[] = {row1, row2, row3, row4};
	const unsigned first[] = {2, 16, 30, 44};

	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c == ' ')
		return 57; /* KEY_SPACE */
	if (c == '\n')
		return 28; /* KEY_ENTER */
	for (unsigned r = 0; r < 4; r++)
		for (unsigned i = 0; rows[r][i]; i++)
			if (rows[r][i] == c)
				return first[r] + i;
	return 0;
}

/* The reverse: the character of key `code` (0: none). */
static inline char xt_key_to_char(unsigned code, int shift)
{
	for (int c = 0x20; c < 0x7f; c++) {
		if (c >= 'A' && c <= 'Z')
			continue;
		if (xt_char_to_key((char)c) == code) {
			if (shift && c >= 'a' && c <= 'z')
				return (char)(c - 'a' + 'A');
			return (char)c;
		}
	}
	return 0;
}

#endif
