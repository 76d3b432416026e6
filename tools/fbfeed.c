/* fbfeed: a producer for vfbd's shm source (design/shm.md). It publishes
 * a framebuffer file at PATH and draws a workload into it, so tests and
 * benchmarks drive `vfbd --source shm:PATH` with realistic traffic.
 *
 *   fbfeed PATH --workload console|console-720|typing|window|video|idle
 *          [--rate FPS] [--frames N] [--no-hints]
 *          [--liar small|big|outside|mixed] [--seed S] [--resize WxH:N]
 *          [--pad BYTES] [--header-bytes N] [--hold]
 *
 * The file is built beside PATH under a temporary name, sized, given its
 * header and first frame, then renamed onto PATH, so a reader never sees
 * a half-made file. Every later frame follows the seqlock of shm.md:
 * `frame` becomes odd, pixels and damage are written, `frame` becomes
 * even with release ordering. Pictures depend only on the workload, the
 * seed and the frame number.
 *
 * --frames N stops after N frames (the first one included; for idle,
 * after N frame periods); without it fbfeed runs until SIGTERM or SIGINT.
 * --rate 0 draws as fast as it can. --hold publishes the first frame and
 * waits for SIGUSR1 before drawing the rest, so a test can connect first.
 * --resize WxH:N switches to a new file of that geometry after N frames.
 * --pad adds bytes to each row's stride (filled with garbage, never
 * pixels); --header-bytes sets the header size (a multiple of 4096).
 * Damage hints are exact unless --no-hints (damage_count 0) or --liar:
 * small covers only part of the change, big far more, outside lies
 * entirely outside the frame (some rects overflow 16-bit arithmetic), and
 * mixed cycles through those and invalid damage counts.
 *
 * The file stays at PATH when fbfeed ends: a consumer keeps showing the
 * last frame. One summary line goes to standard output on exit. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb/fb.h"
#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

enum workload {
	WL_CONSOLE,
	WL_CONSOLE_720,
	WL_TYPING,
	WL_WINDOW,
	WL_VIDEO,
	WL_IDLE,
};

static const struct {
	const char *name;
	uint32_t width, height;
} workloads[] = {
	[WL_CONSOLE] = {"console", 1024, 768},
	[WL_CONSOLE_720] = {"console-720", 720, 400},
	[WL_TYPING] = {"typing", 1920, 1080},
	[WL_WINDOW] = {"window", 1920, 1080},
	[WL_VIDEO] = {"video", 1280, 720},
	[WL_IDLE] = {"idle", 1920, 1080},
};

enum liar {
	LIAR_NONE,
	LIAR_SMALL,
	LIAR_BIG,
	LIAR_OUTSIDE,
	LIAR_MIXED,
	/* Only as steps of mixed: */
	LIAR_COUNT_17,
	LIAR_COUNT_HUGE,
};

static const char *const liar_names[] = {
	[LIAR_SMALL] = "small",
	[LIAR_BIG] = "big",
	[LIAR_OUTSIDE] = "outside",
	[LIAR_MIXED] = "mixed",
};

#define CELL_W	  8u
#define CELL_H	  16u
#define WINDOW_W  400u
#define WINDOW_H  300u
#define WINDOW_DX 8
#define WINDOW_DY 4
#define PAD_BYTE  0xa5u

/* One mapped file. */
struct shm_file {
	uint8_t *map;
	size_t len;
	uint32_t width, height, stride, header_bytes;
	uint64_t seq; /* the value of `frame` we last stored */
};

struct feed {
	const char *path;
	enum workload wl;
	enum liar liar;
	bool hints;
	uint64_t seed;
	uint32_t pad, header_bytes;
	struct shm_file f;
	uint64_t step; /* workload steps drawn into the current file */
	uint64_t frames;
	/* The window workload. */
	int32_t wx, wy, dx, dy;
	uint32_t ww, wh;
	struct fb_rect damage[FB_DAMAGE_MAX_RECTS];
	unsigned n_damage;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fbfeed PATH --workload NAME [--rate FPS] [--frames N]\n"
		"              [--no-hints] [--liar small|big|outside|mixed]\n"
		"              [--seed S] [--resize WxH:N] [--pad BYTES]\n"
		"              [--header-bytes N] [--hold]\n"
		"Publish a framebuffer at PATH for vfbd --source shm:PATH and "
		"draw a\nworkload into it: console (1024x768), console-720 "
		"(720x400), typing,\nwindow, idle (1920x1080), video "
		"(1280x720).\n");
}

/* A 64-bit mix (splitmix64's finaliser): pictures are a pure function of
 * the seed and coordinates, so any frame can be reproduced. */
static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ull ^
		     (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
		     (c + 0x2545f4914f6cdd1dull) * 0x94d049bb133111ebull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t *px_at(const struct shm_file *f, uint32_t x, uint32_t y)
{
	return f->map + f->header_bytes + (size_t)y * f->stride + (size_t)x * 4;
}

/* Pixels are XRGB8888 in little-endian order (B, G, R, X); X stays 0. */
static inline void put_px(uint8_t *p, uint32_t rgb)
{
	uint32_t le = htole32(rgb & 0xffffffu);

	memcpy(p, &le, 4);
}

/* The desktop behind everything: a soft gradient with fine structure, so
 * a pixel in the wrong place shows. */
static uint32_t desktop(uint32_t x, uint32_t y)
{
	uint32_t r = (x / 8 + y / 32) & 0x7f;
	uint32_t g = (y / 4) & 0x7f;
	uint32_t b = 0x60 + ((x ^ y) & 0x1f);

	return r << 16 | g << 8 | b;
}

static void fill_desktop(struct shm_file *f, uint32_t x0, uint32_t y0,
			 uint32_t w, uint32_t h)
{
	for (uint32_t y = y0; y < y0 + h; y++) {
		uint8_t *p = px_at(f, x0, y);

		for (uint32_t x = x0; x < x0 + w; x++, p += 4)
			put_px(p, desktop(x, y));
	}
}

static void fill(struct shm_file *f, uint32_t x0, uint32_t y0, uint32_t w,
		 uint32_t h, uint32_t rgb)
{
	for (uint32_t y = y0; y < y0 + h; y++) {
		uint8_t *p = px_at(f, x0, y);

		for (uint32_t x = 0; x < w; x++, p += 4)
			put_px(p, rgb);
	}
}

#define TEXT_BG 0x0c0c14u

/* One 8x16 character cell. `h` picks the glyph (a blank for some values),
 * its strokes and its colour. */
static void draw_cell(struct shm_file *f, uint32_t x0, uint32_t y0, uint64_t h,
		      bool blank, uint32_t bg)
{
	static const uint32_t palette[8] = {0xc0c0c0, 0xe0e0e0, 0x40c040,
					    0xc0c040, 0x4080e0, 0xc04040,
					    0x40c0c0, 0xc060c0};
	uint32_t fg = palette[h >> 61];

	for (uint32_t gy = 0; gy < CELL_H; gy++) {
		uint8_t *p = px_at(f, x0, y0 + gy);
		uint32_t bits = 0;

		/* Glyph rows 3..12, one or two columns of margin. */
		if (!blank && gy >= 3 && gy <= 12)
			bits = (uint32_t)(h >> ((gy * 5) % 53)) & 0x7eu;
		for (uint32_t gx = 0; gx < CELL_W; gx++, p += 4)
			put_px(p, bits & (0x80u >> gx) ? fg : bg);
	}
}

/* Text line `line` of the console, drawn as cell row starting at y0. */
static void draw_text_line(struct feed *fd, uint32_t y0, uint64_t line)
{
	uint32_t cols = fd->f.width / CELL_W;
	uint32_t len =
		(uint32_t)(mix3(fd->seed, line, UINT64_MAX) % (cols + 1));

	for (uint32_t c = 0; c < cols; c++) {
		uint64_t h = mix3(fd->seed, line, c);

		draw_cell(&fd->f, c * CELL_W, y0, h, c >= len || (h & 7) == 0,
			  TEXT_BG);
	}
	if (fd->f.width % CELL_W)
		fill(&fd->f, cols * CELL_W, y0, fd->f.width % CELL_W, CELL_H,
		     TEXT_BG);
}

static uint32_t window_texel(const struct feed *fd, uint32_t u, uint32_t v)
{
	if (u < 2 || v < 2 || u >= fd->ww - 2 || v >= fd->wh - 2)
		return 0xc8c8c8;
	if (v < 24)
		return 0x204080 + ((u / 4) & 0x3f);
	return ((u / 8 ^ v / 8) & 1 ? 0xe8e8e8 : 0xd0d8e0) ^
	       (uint32_t)(mix3(fd->seed, u, v) & 0x0f0f0f);
}

static void draw_window(struct feed *fd, uint32_t x0, uint32_t y0)
{
	for (uint32_t v = 0; v < fd->wh; v++) {
		uint8_t *p = px_at(&fd->f, x0, y0 + v);

		for (uint32_t u = 0; u < fd->ww; u++, p += 4)
			put_px(p, window_texel(fd, u, v));
	}
}

static void draw_video(struct feed *fd)
{
	uint32_t k = (uint32_t)fd->step;

	/* Blue advances by one every frame: every pixel changes. */
	for (uint32_t y = 0; y < fd->f.height; y++) {
		uint8_t *p = px_at(&fd->f, 0, y);

		for (uint32_t x = 0; x < fd->f.width; x++, p += 4) {
			uint32_t r = (x + 2 * k) & 0xff;
			uint32_t g = ((y + 3 * k) ^ (x >> 3)) & 0xff;
			uint32_t b = ((x ^ y) + k) & 0xff;

			put_px(p, r << 16 | g << 8 | b);
		}
	}
}

static void add_damage(struct feed *fd, uint32_t x, uint32_t y, uint32_t w,
		       uint32_t h)
{
	if (fd->n_damage < FB_DAMAGE_MAX_RECTS)
		fd->damage[fd->n_damage++] = (struct fb_rect){x, y, w, h};
}

/* The first picture of the current file (step 0). */
static void draw_first(struct feed *fd)
{
	struct shm_file *f = &fd->f;
	uint32_t rows = f->height / CELL_H;

	fd->step = 0;
	switch (fd->wl) {
	case WL_CONSOLE:
	case WL_CONSOLE_720:
		fill(f, 0, 0, f->width, f->height, TEXT_BG);
		for (uint32_t r = 0; r < rows; r++)
			draw_text_line(fd, r * CELL_H, r);
		break;
	case WL_TYPING:
		fill_desktop(f, 0, 0, f->width, f->height);
		break;
	case WL_WINDOW:
		fill_desktop(f, 0, 0, f->width, f->height);
		fd->ww = f->width < WINDOW_W ? f->width : WINDOW_W;
		fd->wh = f->height < WINDOW_H ? f->height : WINDOW_H;
		fd->wx = (int32_t)(fd->seed % (f->width - fd->ww + 1));
		fd->wy = (int32_t)(fd->seed / 7 % (f->height - fd->wh + 1));
		fd->dx = WINDOW_DX;
		fd->dy = WINDOW_DY;
		draw_window(fd, (uint32_t)fd->wx, (uint32_t)fd->wy);
		break;
	case WL_VIDEO:
		draw_video(fd);
		break;
	case WL_IDLE:
		fill_desktop(f, 0, 0, f->width, f->height);
		fd->ww = f->width < WINDOW_W ? f->width : WINDOW_W;
		fd->wh = f->height < WINDOW_H ? f->height : WINDOW_H;
		draw_window(fd, 0, 0);
		draw_window(fd, f->width - fd->ww, f->height - fd->wh);
		for (uint32_t r = 0; r < 4 && r < rows; r++)
			draw_text_line(fd, (rows / 2 + r - 2) * CELL_H, r);
		break;
	}
}

/* Bounces one coordinate: moves `pos` by `*d` within [0, span]. */
static int32_t bounce(int32_t pos, int32_t *d, int32_t span)
{
	if (span <= 0) {
		*d = 0;
		return 0;
	}
	if (pos + *d < 0 || pos + *d > span)
		*d = -*d;
	pos += *d;
	return pos < 0 ? 0 : pos > span ? span : pos;
}

/* Draws the next step of the workload and records the exact damage. */
static void draw_step(struct feed *fd)
{
	struct shm_file *f = &fd->f;
	uint32_t rows = f->height / CELL_H;

	fd->n_damage = 0;
	fd->step++;
	switch (fd->wl) {
	case WL_CONSOLE:
	case WL_CONSOLE_720:
		if (rows == 0)
			break;
		for (uint32_t y = 0; y + CELL_H < rows * CELL_H; y++)
			memcpy(px_at(f, 0, y), px_at(f, 0, y + CELL_H),
			       (size_t)f->width * 4);
		draw_text_line(fd, (rows - 1) * CELL_H, fd->step + rows - 1);
		add_damage(fd, 0, 0, f->width, rows * CELL_H);
		break;
	case WL_TYPING: {
		uint32_t cols = f->width / CELL_W;
		uint64_t i = fd->step - 1;
		uint32_t cx, cy;

		if (cols == 0 || rows == 0)
			break;
		cx = (uint32_t)(i % cols) * CELL_W;
		cy = (uint32_t)(i / cols % rows) * CELL_H;
		draw_cell(f, cx, cy, mix3(fd->seed, i, 0x7e), false, 0x101020);
		add_damage(fd, cx, cy, CELL_W, CELL_H);
		break;
	}
	case WL_WINDOW: {
		int32_t ox = fd->wx, oy = fd->wy;

		fd->wx = bounce(fd->wx, &fd->dx,
				(int32_t)f->width - (int32_t)fd->ww);
		fd->wy = bounce(fd->wy, &fd->dy,
				(int32_t)f->height - (int32_t)fd->wh);
		fill_desktop(f, (uint32_t)ox, (uint32_t)oy, fd->ww, fd->wh);
		draw_window(fd, (uint32_t)fd->wx, (uint32_t)fd->wy);
		add_damage(fd, (uint32_t)ox, (uint32_t)oy, fd->ww, fd->wh);
		add_damage(fd, (uint32_t)fd->wx, (uint32_t)fd->wy, fd->ww,
			   fd->wh);
		break;
	}
	case WL_VIDEO:
		draw_video(fd);
		add_damage(fd, 0, 0, f->width, f->height);
		break;
	case WL_IDLE:
		break;
	}
}

static uint64_t *seq_word(const struct shm_file *f)
{
	return (uint64_t *)(f->map + FB_SHM_OFF_FRAME);
}

static void store_seq(struct shm_file *f, uint64_t seq, int order)
{
	f->seq = seq;
	if (order == __ATOMIC_RELEASE)
		__atomic_store_n(seq_word(f), htole64(seq), __ATOMIC_RELEASE);
	else
		__atomic_store_n(seq_word(f), htole64(seq), __ATOMIC_RELAXED);
}

/* Makes `frame` odd. The fence keeps every pixel written after this from
 * becoming visible before the odd value. */
static void frame_begin(struct shm_file *f)
{
	store_seq(f, f->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void put_rect(uint8_t *p, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	put_le16(p, (uint16_t)x);
	put_le16(p + 2, (uint16_t)y);
	put_le16(p + 4, (uint16_t)w);
	put_le16(p + 6, (uint16_t)h);
}

/* Writes the damage of this frame (as hints, lies or nothing). */
static void write_damage(struct feed *fd, enum liar mode)
{
	uint8_t *d = fd->f.map + FB_SHM_OFF_DAMAGE;
	uint32_t w = fd->f.width, h = fd->f.height;
	const struct fb_rect *t = fd->damage;
	uint32_t n = 0;

	if (!fd->hints || fd->n_damage == 0) {
		put_le32(fd->f.map + FB_SHM_OFF_DAMAGE_COUNT, 0);
		return;
	}
	switch (mode) {
	case LIAR_NONE:
	case LIAR_MIXED:
	case LIAR_COUNT_17:
	case LIAR_COUNT_HUGE:
		for (; n < fd->n_damage; n++)
			put_rect(d + 8 * n, t[n].x, t[n].y, t[n].w, t[n].h);
		break;
	case LIAR_SMALL:
		/* A quarter of the first rect: most of the change is unseen. */
		put_rect(d, t[0].x, t[0].y, t[0].w > 3 ? t[0].w / 4 : 1,
			 t[0].h > 3 ? t[0].h / 4 : 1);
		n = 1;
		break;
	case LIAR_BIG:
		for (; n < fd->n_damage; n++)
			put_rect(d + 8 * n, t[n].x, t[n].y, t[n].w, t[n].h);
		put_rect(d + 8 * n++, 0, 0, w, h);
		put_rect(d + 8 * n++, 0, 0, 0xffff, 0xffff);
		put_rect(d + 8 * n++, w / 2, h / 2, 0xffff, 0xffff);
		break;
	case LIAR_OUTSIDE:
		put_rect(d + 8 * n++, w + 10, h + 10, 100, 100);
		put_rect(d + 8 * n++, 0xffff, 0xffff, 0xffff, 0xffff);
		put_rect(d + 8 * n++, 0xfde8, 0, 0x03e8, 10); /* x + w > 64K */
		put_rect(d + 8 * n++, 0, 0xfffa, 10, 0x64);
		put_rect(d + 8 * n++, w, 0, 0xffff, h);
		put_rect(d + 8 * n++, 0, h, w, 0xffff);
		break;
	}
	if (mode == LIAR_COUNT_17)
		n = 17;
	else if (mode == LIAR_COUNT_HUGE)
		n = UINT32_MAX;
	put_le32(fd->f.map + FB_SHM_OFF_DAMAGE_COUNT, n);
}

/* Which lie this frame tells. */
static enum liar frame_liar(const struct feed *fd)
{
	static const enum liar cycle[] = {LIAR_NONE,	 LIAR_SMALL,
					  LIAR_BIG,	 LIAR_OUTSIDE,
					  LIAR_COUNT_17, LIAR_COUNT_HUGE};

	if (fd->liar != LIAR_MIXED)
		return fd->liar;
	return cycle[fd->frames % (sizeof(cycle) / sizeof(cycle[0]))];
}

/* Ends the frame: damage while `frame` is still odd, then the even
 * value with release ordering, which publishes everything before it. */
static void frame_end(struct feed *fd)
{
	write_damage(fd, frame_liar(fd));
	store_seq(&fd->f, fd->f.seq + 1, __ATOMIC_RELEASE);
	fd->frames++;
}

static void unmap(struct shm_file *f)
{
	if (f->map)
		munmap(f->map, f->len);
	f->map = NULL;
}

/* Creates a file of the given geometry beside PATH, maps it, writes the
 * header and draws the workload's first frame; then renames it onto PATH.
 * On success the previous file (if any) is unmapped. 0 or -errno. */
static int publish(struct feed *fd, uint32_t width, uint32_t height)
{
	struct shm_file nf = {.width = width,
			      .height = height,
			      .header_bytes = fd->header_bytes};
	struct shm_file old = fd->f;
	char tmp[PATH_MAX];
	uint8_t *hdr;
	void *map;
	int fdesc, err;

	if (width == 0 || height == 0 || width > FB_MAX_DIM ||
	    height > FB_MAX_DIM)
		return -EINVAL;
	nf.stride = width * 4 + fd->pad;
	nf.len = (size_t)nf.header_bytes + (size_t)nf.stride * height;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", fd->path) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fdesc = mkstemp(tmp);
	if (fdesc < 0)
		return -errno;
	if (fchmod(fdesc, 0644) < 0 || ftruncate(fdesc, (off_t)nf.len) < 0) {
		err = -errno;
		goto fail;
	}
	map = mmap(NULL, nf.len, PROT_READ | PROT_WRITE, MAP_SHARED, fdesc, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	close(fdesc);
	fdesc = -1;
	nf.map = map;
	hdr = nf.map;
	memcpy(hdr + FB_SHM_OFF_MAGIC, FB_SHM_MAGIC, 8);
	put_le32(hdr + FB_SHM_OFF_VERSION, FB_SHM_VERSION);
	put_le32(hdr + FB_SHM_OFF_HEADER_BYTES, nf.header_bytes);
	put_le32(hdr + FB_SHM_OFF_WIDTH, width);
	put_le32(hdr + FB_SHM_OFF_HEIGHT, height);
	put_le32(hdr + FB_SHM_OFF_STRIDE, nf.stride);
	put_le32(hdr + FB_SHM_OFF_FORMAT, FB_SHM_FORMAT_XRGB8888);
	if (fd->pad) {
		/* Padding is not pixels: a consumer must never show it. */
		for (uint32_t y = 0; y < height; y++)
			memset(px_at(&nf, width, y), PAD_BYTE, fd->pad);
	}
	fd->f = nf;
	frame_begin(&fd->f);
	draw_first(fd);
	fd->n_damage = 0; /* a new file: the reader compares everything */
	frame_end(fd);
	if (rename(tmp, fd->path) < 0) {
		err = -errno;
		fd->f = old;
		unmap(&nf);
		unlink(tmp);
		return err;
	}
	unmap(&old);
	return 0;
fail:
	close(fdesc);
	unlink(tmp);
	return err;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_resize(const char *s, uint32_t *w, uint32_t *h,
			uint32_t *after)
{
	unsigned uw, uh, n;
	int used = 0;

	if (sscanf(s, "%5ux%5u:%9u%n", &uw, &uh, &n, &used) != 3 ||
	    s[used] != '\0' || uw == 0 || uh == 0 || uw > FB_MAX_DIM ||
	    uh > FB_MAX_DIM || n == 0)
		return -EINVAL;
	*w = uw;
	*h = uh;
	*after = n;
	return 0;
}

/* Sleeps until `deadline_ns` (CLOCK_MONOTONIC) unless a signal in `set`
 * arrives; returns that signal, or 0. */
static int sleep_until(const sigset_t *set, uint64_t deadline_ns)
{
	uint64_t now = clock_now_ns();
	uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
	struct timespec ts = {(time_t)(left / 1000000000u),
			      (long)(left % 1000000000u)};
	int sig = sigtimedwait(set, NULL, &ts);

	return sig > 0 ? sig : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"workload", required_argument, NULL, 'w'},
		{"rate", required_argument, NULL, 'r'},
		{"frames", required_argument, NULL, 'n'},
		{"no-hints", no_argument, NULL, 'H'},
		{"liar", required_argument, NULL, 'l'},
		{"seed", required_argument, NULL, 's'},
		{"resize", required_argument, NULL, 'R'},
		{"pad", required_argument, NULL, 'p'},
		{"header-bytes", required_argument, NULL, 'b'},
		{"hold", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct feed fd = {.hints = true, .seed = 1, .header_bytes = 4096};
	uint32_t max_frames = 0, resize_w = 0, resize_h = 0, resize_after = 0;
	bool have_workload = false, hold = false;
	double rate = 30;
	uint64_t period_ns, start_ns, next_ns, ticks = 1, elapsed_ns;
	sigset_t sigs;
	int c, rc, sig = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			have_workload = false;
			for (size_t i = 0;
			     i < sizeof(workloads) / sizeof(workloads[0]);
			     i++) {
				if (strcmp(optarg, workloads[i].name) == 0) {
					fd.wl = (enum workload)i;
					have_workload = true;
				}
			}
			if (!have_workload) {
				fprintf(stderr, "fbfeed: unknown workload %s\n",
					optarg);
				return 1;
			}
			break;
		case 'r':
			errno = 0;
			rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(rate >= 0) ||
			    rate > 100000) {
				fprintf(stderr,
					"fbfeed: --rate wants frames "
					"per second, 0 for unlimited\n");
				return 1;
			}
			break;
		case 'n':
			if (parse_u32(optarg, UINT32_MAX, &max_frames) < 0 ||
			    max_frames == 0) {
				fprintf(stderr, "fbfeed: --frames wants a "
						"count >= 1\n");
				return 1;
			}
			break;
		case 'H':
			fd.hints = false;
			break;
		case 'l':
			fd.liar = LIAR_NONE;
			for (int i = LIAR_SMALL; i <= LIAR_MIXED; i++)
				if (strcmp(optarg, liar_names[i]) == 0)
					fd.liar = (enum liar)i;
			if (fd.liar == LIAR_NONE) {
				fprintf(stderr, "fbfeed: --liar wants small, "
						"big, outside or mixed\n");
				return 1;
			}
			break;
		case 's':
			errno = 0;
			fd.seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "fbfeed: bad --seed\n");
				return 1;
			}
			break;
		case 'R':
			if (parse_resize(optarg, &resize_w, &resize_h,
					 &resize_after) < 0) {
				fprintf(stderr, "fbfeed: --resize wants WxH:N "
						"(new geometry after N "
						"frames)\n");
				return 1;
			}
			break;
		case 'p':
			if (parse_u32(optarg, 65536, &fd.pad) < 0 ||
			    fd.pad % 4) {
				fprintf(stderr, "fbfeed: --pad wants a "
						"multiple of 4 up to 65536\n");
				return 1;
			}
			break;
		case 'b':
			if (parse_u32(optarg, 1u << 20, &fd.header_bytes) < 0 ||
			    fd.header_bytes == 0 ||
			    fd.header_bytes % FB_SHM_HEADER_ALIGN) {
				fprintf(stderr, "fbfeed: --header-bytes wants "
						"a multiple of 4096\n");
				return 1;
			}
			break;
		case 'o':
			hold = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1 || !have_workload) {
		usage(stderr);
		return 1;
	}
	fd.path = argv[optind];

	/* Signals are taken synchronously between frames, so the file is
	 * never left with an odd `frame`. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	rc = publish(&fd, workloads[fd.wl].width, workloads[fd.wl].height);
	if (rc < 0) {
		fprintf(stderr, "fbfeed: cannot publish %s: %s\n", fd.path,
			strerror(-rc));
		return 1;
	}
	while (hold) {
		sig = sleep_until(&sigs, clock_now_ns() + 1000000000u);
		if (sig == SIGUSR1) {
			sig = 0;
			break;
		}
		if (sig)
			break;
	}
	period_ns = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
	start_ns = next_ns = clock_now_ns();
	while (!sig && (max_frames == 0 || ticks < max_frames)) {
		uint64_t now;

		next_ns += period_ns;
		sig = sleep_until(&sigs, next_ns);
		if (sig == SIGUSR1)
			sig = 0;
		if (sig)
			break;
		now = clock_now_ns();
		if (now > next_ns + 10 * period_ns)
			next_ns = now; /* far behind: do not burst */
		ticks++;
		if (resize_after && fd.frames == resize_after) {
			rc = publish(&fd, resize_w, resize_h);
			if (rc < 0) {
				fprintf(stderr, "fbfeed: cannot resize: %s\n",
					strerror(-rc));
				unmap(&fd.f);
				return 1;
			}
			continue;
		}
		if (fd.wl == WL_IDLE)
			continue;
		frame_begin(&fd.f);
		draw_step(&fd);
		frame_end(&fd);
	}
	elapsed_ns = clock_now_ns() - start_ns;
	printf("fbfeed: path=%s workload=%s frames=%llu seconds=%.3f "
	       "fps=%.1f size=%ux%u seq=%llu%s\n",
	       fd.path, workloads[fd.wl].name, (unsigned long long)fd.frames,
	       (double)elapsed_ns / 1e9,
	       elapsed_ns ? (double)(fd.frames - 1) * 1e9 / (double)elapsed_ns
			  : 0.0,
	       fd.f.width, fd.f.height, (unsigned long long)fd.f.seq,
	       sig ? " (signal)" : "");
	unmap(&fd.f);
	return 0;
}
