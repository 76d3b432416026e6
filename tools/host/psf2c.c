/* psf2c: converts a PC Screen Font (PSF1 or PSF2) with 8x16 glyphs, read
 * from stdin, into the C source that fb/font.c uses (see fb/font-data.h).
 *
 *   gzip -dc font.psf.gz | psf2c > font-data.c
 *
 * This is a build-time host tool: it includes nothing from the project, so
 * it builds before anything else does. The font file is input like any
 * other, so every length and offset is checked before it is used. */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSF1_MAGIC0	 0x36
#define PSF1_MAGIC1	 0x04
#define PSF1_HEADER_SIZE 4
#define PSF1_MODE512	 0x01
#define PSF1_MODEHASTAB	 0x02
#define PSF1_MODEHASSEQ	 0x04
#define PSF1_STARTSEQ	 0xfffe
#define PSF1_SEPARATOR	 0xffff

#define PSF2_MAGIC	       0x864ab572u
#define PSF2_HEADER_SIZE       32
#define PSF2_HAS_UNICODE_TABLE 0x01
#define PSF2_STARTSEQ	       0xfe
#define PSF2_SEPARATOR	       0xff

#define GLYPH_WIDTH  8
#define GLYPH_HEIGHT 16
#define GLYPH_BYTES  16

/* Real console fonts are a few kilobytes; the caps keep a hostile or
 * corrupt file from making us allocate without bound, and keep glyph
 * indices within the uint16_t of the generated table. */
#define MAX_INPUT     (16u << 20)
#define MAX_GLYPHS    65536u
#define MAX_CODEPOINT 0x10ffffu

struct psf2c_font {
	const uint8_t *glyphs; /* nglyphs * GLYPH_BYTES, inside the input */
	uint32_t nglyphs;
};

struct psf2c_entry {
	uint32_t codepoint;
	uint32_t glyph;
	uint32_t order; /* position in the file: the first mapping wins */
};

struct psf2c_map {
	struct psf2c_entry *v;
	size_t n, cap;
};

_Noreturn static void die(const char *msg)
{
	fprintf(stderr, "psf2c: %s\n", msg);
	exit(1);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint8_t *read_all(FILE *f, size_t *len)
{
	size_t cap = 8192, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		die("out of memory");
	for (;;) {
		size_t got;

		if (n == cap) {
			uint8_t *nbuf;

			if (cap >= MAX_INPUT)
				die("input larger than 16 MiB: not a console "
				    "font");
			cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				die("out of memory");
			buf = nbuf;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die("cannot read standard input");
	*len = n;
	return buf;
}

/* Surrogates are not characters; a font that maps them is broken there,
 * and skipping the entry keeps the rest of it usable. */
static int is_scalar(uint32_t cp)
{
	return cp <= MAX_CODEPOINT && (cp < 0xd800 || cp > 0xdfff);
}

static void map_add(struct psf2c_map *m, uint32_t codepoint, uint32_t glyph)
{
	if (!is_scalar(codepoint))
		return;
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct psf2c_entry *nv;

		/* Each entry costs the input at least one byte, so the
		 * input cap bounds this too; the check is belt and braces. */
		if (ncap > SIZE_MAX / sizeof(*nv))
			die("out of memory");
		nv = realloc(m->v, ncap * sizeof(*nv));
		if (!nv)
			die("out of memory");
		m->v = nv;
		m->cap = ncap;
	}
	m->v[m->n].codepoint = codepoint;
	m->v[m->n].glyph = glyph;
	m->v[m->n].order = (uint32_t)m->n;
	m->n++;
}

/* PSF1 table: per glyph, u16 code points, then optional sequences each
 * introduced by 0xFFFE, then 0xFFFF. A sequence (a base character plus
 * combining marks) cannot be looked up by one code point, so sequences are
 * skipped. */
static void parse_psf1_table(const uint8_t *buf, size_t len, size_t pos,
			     uint32_t nglyphs, struct psf2c_map *m)
{
	for (uint32_t g = 0; g < nglyphs; g++) {
		int in_seq = 0;

		for (;;) {
			uint16_t u;

			if (len - pos < 2)
				die("PSF1 unicode table is truncated");
			u = get_le16(buf + pos);
			pos += 2;
			if (u == PSF1_SEPARATOR)
				break;
			if (u == PSF1_STARTSEQ)
				in_seq = 1;
			else if (!in_seq)
				map_add(m, u, g);
		}
	}
}

static void parse_psf1(const uint8_t *buf, size_t len, struct psf2c_font *font,
		       struct psf2c_map *m)
{
	uint8_t mode = buf[2], charsize = buf[3];
	uint32_t nglyphs = mode & PSF1_MODE512 ? 512 : 256;
	size_t end;

	/* PSF1 glyphs are always 8 pixels wide, charsize rows high. */
	if (charsize != GLYPH_HEIGHT) {
		fprintf(stderr, "psf2c: PSF1 glyphs are 8x%u, need 8x16\n",
			(unsigned)charsize);
		exit(1);
	}
	end = PSF1_HEADER_SIZE + (size_t)nglyphs * GLYPH_BYTES;
	if (len < end)
		die("PSF1 glyph data is truncated");
	font->glyphs = buf + PSF1_HEADER_SIZE;
	font->nglyphs = nglyphs;
	if (mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ))
		parse_psf1_table(buf, len, end, nglyphs, m);
}

/* Decodes one UTF-8 scalar at buf[*pos] (strictly: no overlong forms, no
 * surrogates, nothing past U+10FFFF) and advances *pos. */
static uint32_t utf8_decode(const uint8_t *buf, size_t len, size_t *pos)
{
	static const char *const bad = "PSF2 unicode table has bad UTF-8";
	size_t p = *pos, n;
	uint32_t cp, min;
	uint8_t b = buf[p];

	if (b < 0x80) {
		*pos = p + 1;
		return b;
	} else if ((b & 0xe0) == 0xc0) {
		n = 1;
		cp = b & 0x1f;
		min = 0x80;
	} else if ((b & 0xf0) == 0xe0) {
		n = 2;
		cp = b & 0x0f;
		min = 0x800;
	} else if ((b & 0xf8) == 0xf0) {
		n = 3;
		cp = b & 0x07;
		min = 0x10000;
	} else {
		die(bad);
	}
	if (len - p - 1 < n)
		die("PSF2 unicode table is truncated");
	for (size_t i = 1; i <= n; i++) {
		if ((buf[p + i] & 0xc0) != 0x80)
			die(bad);
		cp = cp << 6 | (buf[p + i] & 0x3f);
	}
	if (cp < min || !is_scalar(cp))
		die(bad);
	*pos = p + 1 + n;
	return cp;
}

/* PSF2 table: per glyph, UTF-8 characters, then optional sequences each
 * introduced by 0xFE, then 0xFF. 0xFE and 0xFF never occur in UTF-8, so
 * the separators are unambiguous. Sequences are skipped as for PSF1. */
static void parse_psf2_table(const uint8_t *buf, size_t len, size_t pos,
			     uint32_t nglyphs, struct psf2c_map *m)
{
	for (uint32_t g = 0; g < nglyphs; g++) {
		int in_seq = 0;

		for (;;) {
			uint32_t cp;

			if (pos >= len)
				die("PSF2 unicode table is truncated");
			if (buf[pos] == PSF2_SEPARATOR) {
				pos++;
				break;
			}
			if (buf[pos] == PSF2_STARTSEQ) {
				pos++;
				in_seq = 1;
				continue;
			}
			cp = utf8_decode(buf, len, &pos);
			if (!in_seq)
				map_add(m, cp, g);
		}
	}
}

static void parse_psf2(const uint8_t *buf, size_t len, struct psf2c_font *font,
		       struct psf2c_map *m)
{
	uint32_t version, headersize, flags, nglyphs, charsize, height, width;
	uint64_t end;

	if (len < PSF2_HEADER_SIZE)
		die("PSF2 header is truncated");
	version = get_le32(buf + 4);
	headersize = get_le32(buf + 8);
	flags = get_le32(buf + 12);
	nglyphs = get_le32(buf + 16);
	charsize = get_le32(buf + 20);
	height = get_le32(buf + 24);
	width = get_le32(buf + 28);

	if (version != 0)
		die("unknown PSF2 version");
	if (headersize < PSF2_HEADER_SIZE || headersize > len)
		die("PSF2 header size is out of range");
	if (width != GLYPH_WIDTH || height != GLYPH_HEIGHT) {
		fprintf(stderr,
			"psf2c: PSF2 glyphs are %" PRIu32 "x%" PRIu32
			", need 8x16\n",
			width, height);
		exit(1);
	}
	/* Rows are padded to whole bytes: 8 pixels wide is one byte. */
	if (charsize != GLYPH_BYTES)
		die("PSF2 glyph size does not match 8x16");
	if (nglyphs == 0 || nglyphs > MAX_GLYPHS)
		die("PSF2 glyph count is out of range");
	end = (uint64_t)headersize + (uint64_t)nglyphs * charsize;
	if (end > len)
		die("PSF2 glyph data is truncated");
	font->glyphs = buf + headersize;
	font->nglyphs = nglyphs;
	if (flags & PSF2_HAS_UNICODE_TABLE)
		parse_psf2_table(buf, len, (size_t)end, nglyphs, m);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct psf2c_entry *x = a, *y = b;

	if (x->codepoint != y->codepoint)
		return x->codepoint < y->codepoint ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts by code point and keeps the first glyph the file gave each one,
 * so font.c can binary-search on unique keys. */
static void map_finish(struct psf2c_map *m)
{
	size_t out = 0;

	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	for (size_t i = 1; i < m->n; i++) {
		if (m->v[i].codepoint != m->v[out].codepoint)
			m->v[++out] = m->v[i];
	}
	m->n = out + 1;
}

static void emit(const struct psf2c_font *font, const struct psf2c_map *m)
{
	printf("/* Generated by tools/host/psf2c from a PSF console font. "
	       "Do not edit. */\n"
	       "#include \"fb/font-data.h\"\n\n"
	       "_Static_assert(FB_FONT_WIDTH == %d && FB_FONT_HEIGHT == %d,\n"
	       "\t       \"psf2c emits 8x16 glyphs\");\n\n",
	       GLYPH_WIDTH, GLYPH_HEIGHT);

	printf("const unsigned int fb_font_nglyphs = %" PRIu32 ";\n\n",
	       font->nglyphs);
	printf("const uint8_t fb_font_glyphs[%" PRIu32
	       "][FB_FONT_HEIGHT] = {\n",
	       font->nglyphs);
	for (uint32_t g = 0; g < font->nglyphs; g++) {
		const uint8_t *p = font->glyphs + (size_t)g * GLYPH_BYTES;

		printf("\t{");
		for (int r = 0; r < GLYPH_BYTES; r++)
			printf("%s0x%02x", r ? ", " : "", p[r]);
		printf("},\n");
	}
	printf("};\n\n");

	printf("const unsigned int fb_font_nmap = %zu;\n\n", m->n);
	printf("const struct fb_font_map fb_font_map[%zu] = {\n", m->n);
	for (size_t i = 0; i < m->n; i++)
		printf("\t{0x%04" PRIx32 ", %" PRIu32 "},\n", m->v[i].codepoint,
		       m->v[i].glyph);
	printf("};\n");
}

int main(int argc, char **argv)
{
	struct psf2c_font font = {0};
	struct psf2c_map map = {0};
	uint8_t *buf;
	size_t len;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: psf2c < font.psf > font-data.c\n");
		return 2;
	}
	buf = read_all(stdin, &len);
	if (len >= 4 && get_le32(buf) == PSF2_MAGIC)
		parse_psf2(buf, len, &font, &map);
	else if (len >= PSF1_HEADER_SIZE && buf[0] == PSF1_MAGIC0 &&
		 buf[1] == PSF1_MAGIC1)
		parse_psf1(buf, len, &font, &map);
	else
		die("not a PSF1 or PSF2 font (bad magic)");

	/* Without a usable table, assume glyph i shows code point i: right
	 * for ASCII in every console font, and the lookup never comes up
	 * empty (the generated array must not be empty either). */
	if (map.n == 0) {
		for (uint32_t g = 0; g < font.nglyphs; g++)
			map_add(&map, g, g);
	}
	map_finish(&map);

	emit(&font, &map);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write standard output");
	free(map.v);
	free(buf);
	return 0;
}
