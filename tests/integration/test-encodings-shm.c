/* Every encoding vfbd has, in every test pixel format, on the shm
 * workloads that tools/fbfeed draws, decoded by libvncclient; and
 * hostile encoding lists and levels.
 *
 * The cross product: each of raw, copyrect+raw, rre, hextile, zlib,
 * trle, zrle, tight (lossless) and tight+jpeg (quality 9) watches every
 * fbfeed workload in rgb888-32le, and the window and console workloads
 * in every other format of vnc_formats[]. The clients of one format are
 * connected to one vfbd at the same time (shared); each must show the
 * file's first frame, then fbfeed draws a short burst, and within
 * CONVERGE_MS of its end every client must show the file's last frame
 * pixel for pixel (read back from the file here). Only tight+jpeg in
 * the two formats libvncclient decodes JPEG into is lossy, within the
 * bounds stated at JPEG_MAX_ERR; in the 16 and 8 bpp formats vfbd has
 * to stay lossless although the client sent a quality level. What
 * libvncclient 0.9.14 cannot decode is skipped with the reason printed;
 * its known quirks are expected as test-encodings.c and test-tight.c
 * describe them (CPIXEL padding, Tight TPIXEL byte order). The console
 * also scrolls fast to a lone CopyRect client, whose last frame must be
 * exact too.
 *
 * Hostile encoding lists and levels, each against one vfbd with a
 * bystander client that must keep getting exact updates:
 *   - every pseudo-encoding -1..-512 and every number 0..300 in one
 *     SetEncodings, in both orders (raw or ZRLE chosen), read by a raw
 *     client that decodes raw, zlib and CopyRect itself;
 *   - duplicates; an encoding list of unknown numbers only (raw);
 *   - compression levels just outside -256..-247 and quality levels
 *     outside -32..-23, which must be ignored (measured in zlib bytes,
 *     and in Tight staying lossless, with a JPEG control);
 *   - a quality level from 8 and 16 bpp Tight clients (lossless);
 *   - pixel format and encodings changed before every update request,
 *     50 rounds on each of two connections;
 *   - malformed pixel formats: a logged protocol error and a close.
 *
 * fbfeed is found as $FBFEED, or tools/fbfeed next to $VFBD. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <turbojpeg.h>
#include <zlib.h>

#include "fb/src-shm.h"
#include "tests/lib/rawclient.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

/* How long every client may take to show the last frame once fbfeed has
 * ended, and how long it must then keep showing it. */
#define CONVERGE_MS 2000
#define SETTLE_MS   250

/* fbfeed's burst: 15 frames at 60 fps. */
#define FEED_FRAMES "15"
#define FEED_RATE   "60"

/* Tight JPEG at quality level 9 (libjpeg quality 95, no chroma
 * subsampling), per channel against the file's last frame. Measured with
 * libjpeg-turbo 2.1 on both ends, five runs of every workload: max 20 to
 * 23 (the window's noisy texture, the video's 255-to-0 wrap edges; it
 * moves with the chunk boundaries, which depend on which updates the
 * burst caused), mean over the whole frame at most 1.21 (video, where
 * every chunk goes JPEG), |mean signed error| of each channel at most
 * 0.03. The bounds: max 32 (about 10 above the worst seen), mean 2.0,
 * bias 0.5. A region left from an earlier frame breaks them: the window
 * and the typed cells differ from the desktop under them by 58 levels
 * or more, a stale video frame by 254 at its wrap columns and by a mean
 * of 4; a wrong colour conversion (e.g. limited-range YCbCr) shows as a
 * bias. */
#define JPEG_MAX_ERR  32u
#define JPEG_MEAN_ERR 2.0
#define JPEG_BIAS     0.5

#define MAX_TC 12

/* ---- encodings and how libvncclient 0.9.14 decodes them ---- */

struct enc {
	const char *name;
	const char *lvc; /* libvncclient's encodingsString */
	int32_t number;	 /* what vfbd must choose */
	bool copyrect;
	bool quality; /* Tight with JPEG quality level 9 */
};

static const struct enc encs[] = {
	{"raw", "raw", 0, false, false},
	{"copyrect+raw", "copyrect raw", 0, true, false},
	{"rre", "rre", 2, false, false},
	{"hextile", "hextile", 5, false, false},
	{"zlib", "zlib", 6, false, false},
	{"trle", "trle", 15, false, false},
	{"zrle", "zrle", 16, false, false},
	{"tight", "tight", 7, false, false},
	{"tight+jpeg", "tight", 7, false, true},
};
#define N_ENCS (sizeof(encs) / sizeof(encs[0]))

enum mode {
	M_EXACT,    /* every byte of every pixel */
	M_CHANNELS, /* the colour bits only (CPIXEL padding is junk) */
	M_SWAPPED,  /* Tight TPIXEL in libvncclient's host order */
	M_JPEG,	    /* within the JPEG bounds */
	M_SKIP,	    /* libvncclient cannot decode it */
};

static bool host_little_endian(void)
{
	const union {
		uint32_t u;
		uint8_t b[4];
	} one = {1};

	return one.b[0] == 1;
}

static bool libvncclient_older_than(int major, int minor, int patch)
{
	int v[3] = {atoi(LIBVNCSERVER_VERSION_MAJOR),
		    atoi(LIBVNCSERVER_VERSION_MINOR),
		    atoi(LIBVNCSERVER_VERSION_PATCHLEVEL)};
	int w[3] = {major, minor, patch};

	for (int i = 0; i < 3; i++)
		if (v[i] != w[i])
			return v[i] < w[i];
	return false;
}

/* Tight's TPIXEL is three bytes R, G, B in these formats (vfbd's rule in
 * net/enc-tight.c), and only there may vfbd use JPEG. */
static bool tpix24(const struct vnc_format *f)
{
	return f->bpp == 32 && f->depth == 24 && f->red_max == 255 &&
	       f->green_max == 255 && f->blue_max == 255;
}

/* libvncclient before 0.9.15 stores pixels built from a 3-byte TPIXEL in
 * host byte order (fixed upstream by de7e92b2). */
static bool client_swaps_tpixel24(const struct vnc_format *f)
{
	return libvncclient_older_than(0, 9, 15) && tpix24(f) &&
	       (f->big_endian != 0) == host_little_endian();
}

/* Before 0.9.15 libvncclient hands libjpeg an output layout picked from
 * the shifts that is right only for little-endian RGB and BGR. */
static bool client_jpeg_ok(const struct vnc_format *f)
{
	if (!tpix24(f))
		return false;
	if (!libvncclient_older_than(0, 9, 15))
		return true;
	return !client_swaps_tpixel24(f) && f->green_shift == 8 &&
	       ((f->red_shift == 16 && f->blue_shift == 0) ||
		(f->red_shift == 0 && f->blue_shift == 16));
}

/* libvncclient 0.9.14 builds a pixel from a 3-byte CPIXEL (ZRLE, TRLE)
 * with shifts that assume host byte order: a big-endian 32 bpp format
 * with its colours in the low three bytes comes out garbled on a
 * little-endian host. */
static bool client_garbles_cpixel(const struct vnc_format *f)
{
	uint32_t mask = (uint32_t)f->red_max << f->red_shift |
			(uint32_t)f->green_max << f->green_shift |
			(uint32_t)f->blue_max << f->blue_shift;

	return f->bpp == 32 && f->big_endian && host_little_endian() &&
	       f->depth <= 24 && mask <= 0xffffffu && (mask & 0xff) != 0;
}

static enum mode mode_for(const struct enc *e, const struct vnc_format *f,
			  const char **why)
{
	*why = NULL;
	if ((e->number == 15 || e->number == 16) && f->bpp == 32) {
		if (client_garbles_cpixel(f)) {
			*why = "libvncclient 0.9.14 decodes 3-byte CPIXELs "
			       "in host order";
			return M_SKIP;
		}
		return M_CHANNELS;
	}
	if (e->number != 7)
		return M_EXACT;
	if (e->quality && tpix24(f)) {
		if (!client_jpeg_ok(f)) {
			*why = "vfbd may use JPEG here, and libvncclient "
			       "0.9.14 decodes JPEG right only into "
			       "little-endian RGB/BGR";
			return M_SKIP;
		}
		return M_JPEG;
	}
	return client_swaps_tpixel24(f) ? M_SWAPPED : M_EXACT;
}

/* ---- state; the teardown cleans up after a failed assert ---- */

struct frame {
	uint32_t w, h;
	uint32_t *px; /* XRGB8888, stride w */
};

struct jpeg_err {
	unsigned max;	/* largest channel error */
	double mean;	/* mean channel error over the frame */
	double bias[3]; /* mean signed error of R, G, B */
	long lossy;	/* pixels not exact */
};

/* A libvncclient test client and what it must show. */
struct tc {
	struct vnc_client v;
	const struct enc *e;
	const struct vnc_format *f;
	enum mode mode;
	int id; /* vfbd's connection id */
	int copyrects;
	GotCopyRectProc copy_default;
	uint8_t *want; /* the target frame in the client's bytes */
	size_t want_len;
	uint8_t mask[4]; /* bytes of a pixel that count */
	struct jpeg_err je;
};

static struct {
	char dir[64];
	char fbfeed[PATH_MAX];
	char feed_log[PATH_MAX + 16];
} g;

static struct {
	struct vfbd_proc p;
	bool running;
	pid_t feed;
	struct tc tc[MAX_TC];
	unsigned n_tc;
	struct tc by; /* the bystander of the hostile tests */
	struct frame fr;
	char path[PATH_MAX];
	unsigned seed;
	int copyrects; /* CopyRects the copyrect+raw clients got */
} cur;

/* Figures for the final summary. */
static struct {
	unsigned cases, skipped;
	unsigned jpeg_max;
	double jpeg_mean, jpeg_bias;
	long jpeg_lossy;
	char jpeg_worst[64];
} sum;

static int tc_tag;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- frames read back from the file ---- */

static void frame_free(struct frame *f)
{
	free(f->px);
	memset(f, 0, sizeof(*f));
}

/* The complete frame in the file at `path` (fbfeed has stopped). */
static void frame_read(const char *path, struct frame *f)
{
	uint8_t hdr[FB_SHM_HEADER_FIXED], *row;
	struct fb_shm_header h;
	struct stat st;
	char why[200];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	frame_free(f);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	if (fb_shm_check_header(hdr, sizeof(hdr), (uint64_t)st.st_size, &h, why,
				sizeof(why)) < 0)
		fail_msg("fbfeed wrote a bad file: %s", why);
	assert_int_equal(get_le64(hdr + FB_SHM_OFF_FRAME) % 2, 0);
	f->w = h.width;
	f->h = h.height;
	f->px = malloc((size_t)h.width * h.height * 4);
	row = malloc((size_t)h.width * 4);
	assert_non_null(f->px);
	assert_non_null(row);
	for (uint32_t y = 0; y < h.height; y++) {
		assert_int_equal(
			pread(fd, row, (size_t)h.width * 4,
			      (off_t)h.header_bytes + (off_t)y * h.stride),
			(ssize_t)h.width * 4);
		for (uint32_t x = 0; x < h.width; x++)
			f->px[(size_t)y * h.width + x] =
				get_le32(row + 4 * x) & 0xffffffu;
	}
	free(row);
	close(fd);
}

/* ---- clients ---- */

static void count_copy(rfbClient *cl, int sx, int sy, int w, int h, int dx,
		       int dy)
{
	struct tc *c = rfbClientGetClientData(cl, &tc_tag);

	c->copyrects++;
	c->copy_default(cl, sx, sy, w, h, dx, dy);
}

/* The last client-encodings line vfbd logged for connection `id`: its
 * chosen encoding (-1000 when there is none); *lines counts them. */
static int logged_choice(int id, int *lines)
{
	char line[1024], want[48];
	int chosen = -1000;
	FILE *f = fopen(cur.p.log_path, "r");

	*lines = 0;
	if (!f)
		return chosen;
	snprintf(want, sizeof(want), "client-encodings id=%d ", id);
	while (fgets(line, sizeof(line), f)) {
		const char *k;

		if (!strstr(line, want))
			continue;
		++*lines;
		k = strstr(line, "chosen=");
		if (k)
			chosen = atoi(k + 7);
	}
	fclose(f);
	return chosen;
}

static void tc_close(struct tc *c)
{
	/* libvncclient before 0.9.15 never frees its JPEG decoder. */
	if (c->v.cl && c->v.cl->tjhnd) {
		tjDestroy(c->v.cl->tjhnd);
		c->v.cl->tjhnd = NULL;
	}
	vnc_close(&c->v);
	free(c->want);
	memset(c, 0, sizeof(*c));
}

/* Sends SetEncodings with exactly `list`. */
static void send_encodings(struct tc *c, const int32_t *list, size_t n)
{
	uint8_t *m = malloc(4 + 4 * n);

	assert_non_null(m);
	m[0] = 2;
	m[1] = 0;
	put_be16(m + 2, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		put_be32(m + 4 + 4 * i, (uint32_t)list[i]);
	assert_true(
		WriteToRFBServer(c->v.cl, (char *)m, (unsigned)(4 + 4 * n)));
	free(m);
}

/* Handles the messages of every open client for `ms`; each connection
 * must survive. */
static void pump_set(struct tc **cs, unsigned n, int ms)
{
	uint64_t deadline = clock_now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd pfd[MAX_TC + 1];
		bool buffered = false;
		uint64_t now = clock_now_ms();
		int rc;

		for (unsigned i = 0; i < n; i++) {
			pfd[i].fd = cs[i]->v.cl->sock;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			buffered |= cs[i]->v.cl->buffered > 0;
		}
		if (now >= deadline && !buffered)
			return;
		rc = poll(pfd, n,
			  buffered ? 0
				   : (int)(deadline - now > 20
						   ? 20
						   : deadline - now));
		assert_true(rc >= 0 || errno == EINTR);
		for (unsigned i = 0; i < n; i++) {
			struct tc *c = cs[i];

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !c->v.cl->buffered)
				continue;
			if (!HandleRFBServerMessage(c->v.cl))
				fail_msg("%s %s: the client lost its "
					 "connection (vfbd %s)",
					 c->e->name, c->f->name,
					 vfbd_alive(&cur.p) ? "runs"
							    : "is dead");
		}
		if (clock_now_ms() >= deadline)
			return;
	}
}

static void pump_one(struct tc *c, int ms)
{
	struct tc *cs[1] = {c};

	pump_set(cs, 1, ms);
}

/* Waits for one more update on a single client. */
static void wait_frame(struct tc *c)
{
	int before = c->v.frames;

	for (int waited = 0; c->v.frames == before; waited += 20) {
		if (waited >= 5000)
			fail_msg("%s %s: no update within 5 s", c->e->name,
				 c->f->name);
		pump_one(c, 20);
	}
}

/* Connects a client for encoding `e` in format `f`. Tight clients first
 * drain the update libvncclient's defaults asked for (JPEG quality 5),
 * then send an exact list: Tight, compression 6, quality 9 when `e` asks
 * for it, LastRect, DesktopSize; and ask for a full update. */
static void tc_open(struct tc *c, const struct enc *e,
		    const struct vnc_format *f, enum mode mode)
{
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->f = f;
	c->mode = mode;
	if (vnc_connect(&c->v, cur.p.port, f, NULL, e->lvc) < 0)
		fail_msg("%s %s: cannot connect", e->name, f->name);
	rfbClientSetClientData(c->v.cl, &tc_tag, c);
	c->copy_default = c->v.cl->GotCopyRect;
	assert_non_null(c->copy_default);
	c->v.cl->GotCopyRect = count_copy;
	c->id = raw_log_id(&cur.p, raw_local_port(c->v.cl->sock), 3000);
	assert_true(c->id > 0);
	if (e->number == 7) {
		int32_t list[5] = {7, -256 + 6, -224, -223, -32 + 9};

		wait_frame(c);
		send_encodings(c, list, e->quality ? 5 : 4);
	}
	vnc_request(&c->v, false);
}

/* The frame `fr` as the client's bytes, and which bits count. */
static void tc_target(struct tc *c, const struct frame *fr)
{
	const rfbPixelFormat *pf = &c->v.cl->format;
	unsigned bytes = pf->bitsPerPixel / 8u;
	size_t n = (size_t)fr->w * fr->h;

	free(c->want);
	c->want_len = n * bytes;
	c->want = malloc(c->want_len);
	assert_non_null(c->want);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = c->want + i * bytes;

		vnc_expected_bytes(pf, fr->px[i], p);
		if (c->mode == M_SWAPPED)
			for (unsigned k = 0; k < bytes / 2; k++) {
				uint8_t t = p[k];

				p[k] = p[bytes - 1 - k];
				p[bytes - 1 - k] = t;
			}
	}
	memset(c->mask, 0xff, sizeof(c->mask));
	if (c->mode == M_CHANNELS) {
		uint32_t m = (uint32_t)pf->redMax << pf->redShift |
			     (uint32_t)pf->greenMax << pf->greenShift |
			     (uint32_t)pf->blueMax << pf->blueShift;

		for (unsigned i = 0; i < bytes; i++)
			c->mask[i] =
				(uint8_t)(m >>
					  (8 * (pf->bigEndian ? bytes - 1 - i
							      : i)));
	}
}

/* A channel of a 32 bpp pixel of the client. */
static unsigned channel(const rfbPixelFormat *pf, const uint8_t *b, int shift)
{
	uint32_t v = pf->bigEndian ? get_be32(b) : get_le32(b);

	return v >> shift & 0xff;
}

static void jpeg_measure(struct tc *c, const struct frame *fr)
{
	const rfbPixelFormat *pf = &c->v.cl->format;
	struct jpeg_err *r = &c->je;
	uint64_t sum_abs = 0;
	int64_t sum_signed[3] = {0};
	size_t n = (size_t)fr->w * fr->h;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = c->v.cl->frameBuffer + i * 4;
		uint32_t want = fr->px[i];
		int d[3] = {
			(int)channel(pf, b, pf->redShift) -
				(int)(want >> 16 & 0xff),
			(int)channel(pf, b, pf->greenShift) -
				(int)(want >> 8 & 0xff),
			(int)channel(pf, b, pf->blueShift) - (int)(want & 0xff),
		};
		bool lossy = false;

		for (int k = 0; k < 3; k++) {
			unsigned a = (unsigned)abs(d[k]);

			sum_abs += a;
			sum_signed[k] += d[k];
			r->max = a > r->max ? a : r->max;
			lossy |= a != 0;
		}
		r->lossy += lossy;
	}
	r->mean = (double)sum_abs / (3.0 * (double)n);
	for (int k = 0; k < 3; k++)
		r->bias[k] = (double)sum_signed[k] / (double)n;
}

static bool jpeg_within(const struct jpeg_err *r)
{
	for (int k = 0; k < 3; k++)
		if (r->bias[k] > JPEG_BIAS || r->bias[k] < -JPEG_BIAS)
			return false;
	return r->max <= JPEG_MAX_ERR && r->mean <= JPEG_MEAN_ERR;
}

/* Pixels that differ from the target (the first at *fx, *fy); for a JPEG
 * client 0 when within the bounds. */
static long tc_bad(struct tc *c, const struct frame *fr, uint32_t *fx,
		   uint32_t *fy)
{
	const rfbClient *cl = c->v.cl;
	unsigned bytes = cl->format.bitsPerPixel / 8u;
	size_t n = (size_t)fr->w * fr->h;
	long bad = 0;

	*fx = *fy = 0;
	if ((uint32_t)cl->width != fr->w || (uint32_t)cl->height != fr->h)
		return (long)n;
	if (c->mode == M_JPEG) {
		jpeg_measure(c, fr);
		return jpeg_within(&c->je) ? 0 : c->je.lossy ? c->je.lossy : 1;
	}
	if (c->mode != M_CHANNELS &&
	    memcmp(cl->frameBuffer, c->want, c->want_len) == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *got = cl->frameBuffer + i * bytes;
		const uint8_t *want = c->want + i * bytes;
		bool differ = false;

		for (unsigned k = 0; k < bytes; k++)
			differ |= ((got[k] ^ want[k]) & c->mask[k]) != 0;
		if (differ) {
			if (bad == 0) {
				*fx = (uint32_t)(i % fr->w);
				*fy = (uint32_t)(i / fr->w);
			}
			bad++;
		}
	}
	return bad;
}

/* Pumps until every client shows `fr` (exactly, or within the JPEG
 * bounds) and still does `settle_ms` later. */
static void converge_set(struct tc **cs, unsigned n, const struct frame *fr,
			 int ms, int settle_ms, const char *what)
{
	uint64_t deadline = clock_now_ms() + (uint64_t)ms;
	uint32_t fx = 0, fy = 0;
	long bad = 0;
	unsigned i = 0;

	for (unsigned k = 0; k < n; k++)
		tc_target(cs[k], fr);
	for (;;) {
		for (i = 0; i < n; i++) {
			bad = tc_bad(cs[i], fr, &fx, &fy);
			if (bad)
				break;
		}
		if (i == n) {
			pump_set(cs, n, settle_ms);
			for (i = 0; i < n; i++) {
				bad = tc_bad(cs[i], fr, &fx, &fy);
				if (bad)
					break;
			}
			if (i == n)
				return;
		}
		if (clock_now_ms() >= deadline)
			break;
		pump_set(cs, n, 20);
	}
	if (cs[i]->mode == M_JPEG)
		fail_msg("%s %s, %s: JPEG error max %u mean %.3f bias %.2f "
			 "%.2f %.2f (bounds %u, %.2f, %.2f) after %d ms",
			 cs[i]->e->name, cs[i]->f->name, what, cs[i]->je.max,
			 cs[i]->je.mean, cs[i]->je.bias[0], cs[i]->je.bias[1],
			 cs[i]->je.bias[2], JPEG_MAX_ERR, JPEG_MEAN_ERR,
			 JPEG_BIAS, ms);
	fail_msg("%s %s, %s: %ld pixels differ after %d ms, first at %u,%u "
		 "(client %dx%d, file %ux%u)",
		 cs[i]->e->name, cs[i]->f->name, what, bad, ms, fx, fy,
		 cs[i]->v.cl->width, cs[i]->v.cl->height, fr->w, fr->h);
}

static void converge_one(struct tc *c, const struct frame *fr, const char *what)
{
	struct tc *cs[1] = {c};

	converge_set(cs, 1, fr, CONVERGE_MS, SETTLE_MS, what);
}

/* ---- vfbd and fbfeed ---- */

static void start_vfbd(const char *path)
{
	char spec[PATH_MAX + 8];
	const char *args[] = {
		"--source", spec,	   "--share", "shared", "--max-clients",
		"16",	    "--log-level", "debug",   NULL};

	snprintf(spec, sizeof(spec), "shm:%s", path);
	assert_int_equal(vfbd_start(&cur.p, args), 0);
	cur.running = true;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Starts fbfeed on `path` with `args`, waits until its file is at path
 * (a new inode: the old file may still be there). */
static void feed_start(const char *path, const char *const *args)
{
	const char *argv[24];
	ino_t old = inode_of(path);
	int n = 0;
	pid_t pid;

	argv[n++] = g.fbfeed;
	argv[n++] = path;
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(g.feed_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(g.fbfeed, (char *const *)argv);
		_exit(127);
	}
	cur.feed = pid;
	for (int waited = 0;; waited += 5) {
		ino_t now = inode_of(path);

		if (now != 0 && now != old)
			break;
		if (waited > 5000)
			fail_msg("fbfeed made no file at %s", path);
		sleep_ms(5);
	}
}

/* Waits for fbfeed to end, pumping the clients meanwhile. */
static void feed_wait(struct tc **cs, unsigned n)
{
	uint64_t deadline = clock_now_ms() + 20000;
	int status;

	while (clock_now_ms() < deadline) {
		if (waitpid(cur.feed, &status, WNOHANG) == cur.feed) {
			cur.feed = 0;
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			return;
		}
		if (n)
			pump_set(cs, n, 10);
		else
			sleep_ms(5);
	}
	fail_msg("fbfeed did not finish");
}

/* ---- the cross product ---- */

/* One fbfeed burst with one client per applicable encoding in format
 * `f`, on the vfbd already serving `path` (started here if need be). */
static void burst(const char *workload, const struct vnc_format *f,
		  unsigned seed)
{
	char seed_s[16];
	const char *args[] = {"--workload", workload,	 "--rate", FEED_RATE,
			      "--frames",   FEED_FRAMES, "--seed", seed_s,
			      "--hold",	    NULL};
	struct tc *cs[MAX_TC];
	struct frame first = {0};
	int before[MAX_TC] = {0};
	unsigned n = 0;
	int during = 0;
	bool idle = strcmp(workload, "idle") == 0;

	snprintf(seed_s, sizeof(seed_s), "%u", seed);
	/* A running vfbd follows the new file once clients come: their
	 * first frame must be its picture. */
	feed_start(cur.path, args);
	if (!cur.running)
		start_vfbd(cur.path);
	frame_read(cur.path, &cur.fr);

	for (unsigned ei = 0; ei < N_ENCS; ei++) {
		const char *why;
		enum mode m = mode_for(&encs[ei], f, &why);

		if (m == M_SKIP) {
			print_message("  skip %s %s: %s\n", encs[ei].name,
				      f->name, why);
			sum.skipped++;
			continue;
		}
		cs[n] = &cur.tc[n];
		tc_open(cs[n], &encs[ei], f, m);
		n++;
		cur.n_tc = n;
	}
	converge_set(cs, n, &cur.fr, CONVERGE_MS + 3000, SETTLE_MS,
		     "first frame");
	for (unsigned i = 0; i < n; i++) {
		int lines, chosen = logged_choice(cs[i]->id, &lines);

		if (chosen != cs[i]->e->number)
			fail_msg("%s %s: vfbd chose %d", cs[i]->e->name,
				 f->name, chosen);
		cs[i]->copyrects = 0;
	}

	for (unsigned i = 0; i < n; i++)
		before[i] = cs[i]->v.frames;
	kill(cur.feed, SIGUSR1);
	feed_wait(cs, n);
	for (unsigned i = 0; i < n; i++)
		during += cs[i]->v.frames - before[i];
	first = cur.fr;
	cur.fr = (struct frame){0};
	frame_read(cur.path, &cur.fr);
	/* The burst changed the picture (or, idle, did not). */
	assert_int_equal(
		memcmp(first.px, cur.fr.px, (size_t)first.w * first.h * 4) == 0,
		idle);
	frame_free(&first);
	converge_set(cs, n, &cur.fr, CONVERGE_MS, SETTLE_MS, "last frame");

	for (unsigned i = 0; i < n; i++) {
		struct tc *c = cs[i];

		if (c->mode == M_JPEG) {
			print_message("  %s %s: JPEG max %u mean %.3f bias "
				      "%+.2f %+.2f %+.2f, %ld px lossy\n",
				      c->e->name, f->name, c->je.max,
				      c->je.mean, c->je.bias[0], c->je.bias[1],
				      c->je.bias[2], c->je.lossy);
			if (c->je.max > sum.jpeg_max)
				sum.jpeg_max = c->je.max;
			if (c->je.mean > sum.jpeg_mean) {
				sum.jpeg_mean = c->je.mean;
				snprintf(sum.jpeg_worst, sizeof(sum.jpeg_worst),
					 "%s %s", workload, f->name);
			}
			for (int k = 0; k < 3; k++) {
				double b = c->je.bias[k] < 0 ? -c->je.bias[k]
							     : c->je.bias[k];

				if (b > sum.jpeg_bias)
					sum.jpeg_bias = b;
			}
			if (c->je.lossy > sum.jpeg_lossy)
				sum.jpeg_lossy = c->je.lossy;
			/* Video is all colours: JPEG must have been used,
			 * or the bounds were never tried. */
			if (strcmp(workload, "video") == 0)
				assert_true(c->je.lossy > 0);
		}
		/* A client that did not list CopyRect never gets one. */
		if (!c->e->copyrect)
			assert_int_equal(c->copyrects, 0);
		else
			cur.copyrects += c->copyrects;
		/* Nothing changes in the idle workload: nothing is sent. */
		if (idle)
			assert_int_equal(c->v.frames, before[i]);
	}
	print_message("  %s seed %u %s: %u clients, %d updates while fbfeed "
		      "ran\n",
		      workload, seed, f->name, n, during);
	sum.cases += n;
	for (unsigned i = 0; i < n; i++)
		tc_close(cs[i]);
	cur.n_tc = 0;
	assert_true(vfbd_alive(&cur.p));
}

static void workload_every_format(const char *workload, bool all_formats)
{
	snprintf(cur.path, sizeof(cur.path), "%s/%s", g.dir, workload);
	unlink(cur.path);
	for (unsigned fi = 0; fi < (all_formats ? vnc_format_count : 1); fi++)
		burst(workload, &vnc_formats[fi], fi + 1);
	print_message("  %s: %d CopyRects to the copyrect+raw clients\n",
		      workload, cur.copyrects);
	/* The console scrolls: CopyRect was tried. (Not every burst has
	 * one: vfbd offers a move only to a client with nothing pending at
	 * its source, which a client that falls behind rarely is.) */
	if (strcmp(workload, "console") == 0)
		assert_true(cur.copyrects > 0);
	cur.running = false;
	assert_int_equal(vfbd_stop(&cur.p), 0);
}

static void console_all_formats(void **state)
{
	workload_every_format("console", true);
}

static void console_720(void **state)
{
	workload_every_format("console-720", false);
}

static void typing(void **state)
{
	workload_every_format("typing", false);
}

static void window_all_formats(void **state)
{
	workload_every_format("window", true);
}

static void video(void **state)
{
	workload_every_format("video", false);
}

static void idle(void **state)
{
	workload_every_format("idle", false);
}

/* The console scrolling at 250 frames per second to one CopyRect client:
 * vfbd compares and looks for moves while fbfeed draws the next frame
 * (nothing stops an shm producer, or a guest, from writing), so a move
 * seen at one instant and the pixels the shadow takes a moment later
 * can disagree. Whatever vfbd sends, the client must end with the
 * file's last frame. Four bursts: a vfbd that sends such a move without
 * checking it against its shadow leaves stale rows in the CopyRect's
 * destination in about two bursts of three. */
static void copyrect_racing_the_producer(void **state)
{
	const struct enc *e = &encs[1];
	const struct vnc_format *f = &vnc_formats[0];
	int copies = 0;

	snprintf(cur.path, sizeof(cur.path), "%s/race", g.dir);
	unlink(cur.path);
	for (unsigned b = 0; b < 4; b++) {
		char seed_s[16];
		const char *args[] = {"--workload", "console", "--rate", "250",
				      "--frames",   "200",     "--seed", seed_s,
				      "--hold",	    NULL};
		struct tc *c = &cur.tc[0];
		char what[32];

		snprintf(seed_s, sizeof(seed_s), "%u", 40 + b);
		feed_start(cur.path, args);
		if (!cur.running)
			start_vfbd(cur.path);
		frame_read(cur.path, &cur.fr);
		tc_open(c, e, f, M_EXACT);
		converge_set(&c, 1, &cur.fr, CONVERGE_MS + 3000, SETTLE_MS,
			     "first frame");
		c->copyrects = 0;
		kill(cur.feed, SIGUSR1);
		feed_wait(&c, 1);
		frame_read(cur.path, &cur.fr);
		snprintf(what, sizeof(what), "burst %u, last frame", b);
		converge_one(c, &cur.fr, what);
		print_message("  burst %u: %d CopyRects\n", b, c->copyrects);
		copies += c->copyrects;
		tc_close(c);
		sum.cases++;
	}
	assert_true(copies > 0);
	cur.running = false;
	assert_int_equal(vfbd_stop(&cur.p), 0);
}

/* ---- a raw client that decodes raw, zlib and CopyRect itself ---- */

/* What one SetEncodings list brought. */
struct rdec {
	struct raw_client rc;
	int id;
	uint32_t w, h;
	uint32_t *fb; /* XRGB8888 as decoded (format rgb888-32le) */
	z_stream zlib, zrle;
	bool zlib_on, zrle_on;
	size_t bytes;	  /* message bytes of the last update */
	uint64_t covered; /* pixels in its rects */
	unsigned zrle_rects, ext_size, pointer_mode, key_ack, fences, eocu,
		copies;
};

static struct rdec rd;

static void rd_read(void *buf, size_t len)
{
	enum raw_result r = raw_read(&rd.rc, buf, len, 5000);

	if (r != RAW_OK)
		fail_msg("raw client: read of %zu bytes failed (%d); vfbd %s",
			 len, (int)r, vfbd_alive(&cur.p) ? "runs" : "is dead");
	rd.bytes += len;
}

static uint8_t *rd_take(size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	rd_read(b, len);
	return b;
}

static void rd_inflate(z_stream *zs, bool *on, uint8_t *in, size_t in_len,
		       uint8_t *out, size_t out_len, bool exact)
{
	int rc;

	if (!*on) {
		memset(zs, 0, sizeof(*zs));
		assert_int_equal(inflateInit(zs), Z_OK);
		*on = true;
	}
	zs->next_in = in;
	zs->avail_in = (uInt)in_len;
	do {
		zs->next_out = out;
		zs->avail_out = (uInt)out_len;
		rc = inflate(zs, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			fail_msg("raw client: inflate error %d", rc);
		if (exact) {
			assert_int_equal(zs->avail_out, 0);
			break;
		}
	} while (zs->avail_in > 0 && rc == Z_OK);
	assert_int_equal(zs->avail_in, 0);
}

static void rd_put(uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		   const uint8_t *p)
{
	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			rd.fb[(size_t)(y + j) * rd.w + x + i] =
				get_le32(p + 4 * ((size_t)j * w + i)) &
				0xffffffu;
}

static void rd_rect(const uint8_t *hdr)
{
	uint32_t x = get_be16(hdr), y = get_be16(hdr + 2);
	uint32_t w = get_be16(hdr + 4), h = get_be16(hdr + 6);
	int32_t enc = get_be32s(hdr + 8);
	size_t px_bytes = (size_t)w * h * 4;
	uint8_t b4[4], *data, *out;
	bool pixels = enc == 0 || enc == 1 || enc == 6 || enc == 16;

	if (pixels && (x + w > rd.w || y + h > rd.h))
		fail_msg("rect %ux%u+%u+%u (encoding %d) outside %ux%u", w, h,
			 x, y, enc, rd.w, rd.h);
	if (pixels)
		rd.covered += (uint64_t)w * h;
	switch (enc) {
	case 0:
		data = rd_take(px_bytes);
		rd_put(x, y, w, h, data);
		free(data);
		break;
	case 1: {
		uint32_t sx, sy, *tmp = malloc(px_bytes ? px_bytes : 1);

		assert_non_null(tmp);
		rd_read(b4, 4);
		sx = get_be16(b4);
		sy = get_be16(b4 + 2);
		if (sx + w > rd.w || sy + h > rd.h)
			fail_msg("CopyRect source outside the framebuffer");
		for (uint32_t j = 0; j < h; j++)
			memcpy(tmp + (size_t)j * w,
			       rd.fb + (size_t)(sy + j) * rd.w + sx, 4 * w);
		for (uint32_t j = 0; j < h; j++)
			memcpy(rd.fb + (size_t)(y + j) * rd.w + x,
			       tmp + (size_t)j * w, 4 * w);
		free(tmp);
		rd.copies++;
		break;
	}
	case 6:
	case 16:
		rd_read(b4, 4);
		data = rd_take(get_be32(b4));
		if (enc == 6) {
			out = malloc(px_bytes ? px_bytes : 1);
			assert_non_null(out);
			rd_inflate(&rd.zlib, &rd.zlib_on, data, get_be32(b4),
				   out, px_bytes, true);
			rd_put(x, y, w, h, out);
		} else {
			/* ZRLE is checked to inflate only. */
			out = malloc(65536);
			assert_non_null(out);
			rd_inflate(&rd.zrle, &rd.zrle_on, data, get_be32(b4),
				   out, 65536, false);
			rd.zrle_rects++;
		}
		free(out);
		free(data);
		break;
	case -223: /* DesktopSize */
		rd.w = w;
		rd.h = h;
		rd.fb = realloc(rd.fb, (size_t)w * h * 4);
		assert_non_null(rd.fb);
		break;
	case -308: /* ExtendedDesktopSize */
		rd_read(b4, 4);
		free(rd_take(16u * b4[0]));
		rd.ext_size++;
		break;
	case -257:
		rd.pointer_mode++;
		break;
	case -258:
		rd.key_ack++;
		break;
	default:
		fail_msg("raw client: unexpected rect encoding %d", enc);
	}
}

/* Reads messages up to and including one FramebufferUpdate. */
static void rd_update(void)
{
	uint8_t type, b[12];

	rd.bytes = 0;
	rd.covered = 0;
	for (;;) {
		rd_read(&type, 1);
		switch (type) {
		case 0:
			break;
		case 2: /* Bell */
			continue;
		case 3: /* ServerCutText */
			rd_read(b, 7);
			free(rd_take(get_be32(b + 3)));
			continue;
		case 150: /* EndOfContinuousUpdates */
			rd.eocu++;
			continue;
		case 248: /* Fence */
			rd_read(b, 8);
			free(rd_take(b[7]));
			rd.fences++;
			continue;
		default:
			fail_msg("raw client: unexpected message type %u",
				 type);
		}
		break;
	}
	rd_read(b, 3);
	for (unsigned i = 0, n = get_be16(b + 1); i < n; i++) {
		rd_read(b, 12);
		if (get_be32s(b + 8) == -224) /* LastRect */
			break;
		rd_rect(b);
	}
}

static void rd_close(void)
{
	if (rd.rc.fd > 0)
		raw_close(&rd.rc);
	if (rd.zlib_on)
		inflateEnd(&rd.zlib);
	if (rd.zrle_on)
		inflateEnd(&rd.zrle);
	free(rd.fb);
	memset(&rd, 0, sizeof(rd));
}

/* Connects, completes the handshake (shared) and sets rgb888-32le. */
static void rd_open(void)
{
	uint8_t m[20];

	rd_close();
	assert_int_equal(raw_open(&rd.rc, cur.p.port), 0);
	assert_int_equal(raw_handshake(&rd.rc, 8, NULL, true), 0);
	rd.id = raw_log_id(&cur.p, rd.rc.local_port, 3000);
	assert_true(rd.id > 0);
	rd.w = rd.rc.width;
	rd.h = rd.rc.height;
	rd.fb = calloc((size_t)rd.w * rd.h, 4);
	assert_non_null(rd.fb);
	raw_msg_pixfmt(m, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0);
	assert_int_equal(raw_send(&rd.rc, m, 20), 0);
}

static void rd_encodings(const int32_t *list, size_t n)
{
	uint8_t *m = malloc(4 + 4 * n);

	assert_non_null(m);
	m[0] = 2;
	m[1] = 0;
	put_be16(m + 2, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		put_be32(m + 4 + 4 * i, (uint32_t)list[i]);
	assert_int_equal(raw_send(&rd.rc, m, 4 + 4 * n), 0);
	free(m);
}

static void rd_request(bool incremental)
{
	uint8_t m[10];

	raw_msg_fbur(m, incremental, 0, 0, (uint16_t)rd.w, (uint16_t)rd.h);
	assert_int_equal(raw_send(&rd.rc, m, 10), 0);
}

static long rd_bad(const struct frame *fr)
{
	long bad = 0;

	if (rd.w != fr->w || rd.h != fr->h)
		return (long)fr->w * fr->h;
	for (size_t i = 0; i < (size_t)fr->w * fr->h; i++)
		bad += rd.fb[i] != fr->px[i];
	return bad;
}

/* ---- hostile lists: fixture ---- */

/* Replaces the file with a new picture (fbfeed's window workload, a new
 * seed) and checks that the bystander shows it exactly: vfbd alive, the
 * bystander served. Every hostile test ends with it. */
static void bystander_ok(void)
{
	char seed_s[16];
	const char *args[] = {"--workload", "window", "--rate", "0", "--frames",
			      "3",	    "--seed", seed_s,	NULL};
	struct tc *cs[1] = {&cur.by};

	assert_true(vfbd_alive(&cur.p));
	snprintf(seed_s, sizeof(seed_s), "%u", 100 + cur.seed++);
	feed_start(cur.path, args);
	feed_wait(cs, 1);
	frame_read(cur.path, &cur.fr);
	converge_set(cs, 1, &cur.fr, CONVERGE_MS, SETTLE_MS, "bystander");
}

static int hostile_setup(void **state)
{
	memset(&cur, 0, sizeof(cur));
	memset(&rd, 0, sizeof(rd));
	snprintf(cur.path, sizeof(cur.path), "%s/hostile", g.dir);
	unlink(cur.path);
	return 0;
}

/* Starts vfbd on a window frame and connects the bystander. */
static void hostile_start(void)
{
	char seed_s[16];
	const char *args[] = {"--workload", "window", "--rate", "0", "--frames",
			      "3",	    "--seed", seed_s,	NULL};

	snprintf(seed_s, sizeof(seed_s), "%u", 100 + cur.seed++);
	feed_start(cur.path, args);
	feed_wait(NULL, 0);
	start_vfbd(cur.path);
	frame_read(cur.path, &cur.fr);
	tc_open(&cur.by, &encs[0], &vnc_formats[0], M_EXACT);
	converge_one(&cur.by, &cur.fr, "bystander first frame");
}

/* Ends a hostile test: the bystander leaves and vfbd exits cleanly
 * (under ASan, what it finds at exit fails the test here). */
static void hostile_end(void)
{
	tc_close(&cur.by);
	cur.running = false;
	assert_int_equal(vfbd_stop(&cur.p), 0);
}

static int teardown(void **state)
{
	int status;

	for (unsigned i = 0; i < MAX_TC; i++)
		tc_close(&cur.tc[i]);
	tc_close(&cur.by);
	rd_close();
	if (cur.feed > 0) {
		kill(cur.feed, SIGKILL);
		waitpid(cur.feed, &status, 0);
		cur.feed = 0;
	}
	if (cur.running)
		vfbd_stop(&cur.p);
	cur.running = false;
	frame_free(&cur.fr);
	return 0;
}

static void assert_choice(int id, int want, const char *what)
{
	int lines, chosen = logged_choice(id, &lines);

	if (chosen != want)
		fail_msg("%s: vfbd chose %d, not %d", what, chosen, want);
}

/* ---- hostile lists: the tests ---- */

/* -1..-512 and 0..300 in one list. Ascending, raw (0) is the first
 * encoding vfbd has; the raw client decodes the full frame, then an
 * incremental update after the file changed. */
static void every_number_ascending(void **state)
{
	int32_t list[301 + 512];
	size_t n = 0;
	long bad;

	hostile_start();
	for (int32_t e = 0; e <= 300; e++)
		list[n++] = e;
	for (int32_t e = -1; e >= -512; e--)
		list[n++] = e;
	rd_open();
	rd_encodings(list, n);
	rd_request(false);
	rd_update();
	assert_choice(rd.id, 0, "ascending");
	print_message("  ascending: %zu bytes, %u layout, %u pointer-mode, "
		      "%u key-ack rects, %u fences, %u end-of-CU\n",
		      rd.bytes, rd.ext_size, rd.pointer_mode, rd.key_ack,
		      rd.fences, rd.eocu);
	assert_int_equal(rd_bad(&cur.fr), 0);
	/* vfbd announces the extensions it has when they are listed. */
	assert_true(rd.ext_size >= 1);
	assert_true(rd.key_ack >= 1);
	assert_true(rd.pointer_mode >= 1);

	/* Still served: the change reaches it exactly. */
	bystander_ok();
	for (int i = 0; (bad = rd_bad(&cur.fr)) != 0; i++) {
		if (i == 20)
			fail_msg("ascending: %ld pixels differ after 20 "
				 "incremental updates",
				 bad);
		rd_request(true);
		rd_update();
	}
	rd_close();
	sum.cases++;
	bystander_ok();
	hostile_end();
}

/* The same numbers, descending: the first vfbd has is ZRLE (16); its
 * rects must cover the frame and inflate from one stream. */
static void every_number_descending(void **state)
{
	int32_t list[301 + 512];
	size_t n = 0;

	hostile_start();
	for (int32_t e = 300; e >= 0; e--)
		list[n++] = e;
	for (int32_t e = -512; e <= -1; e++)
		list[n++] = e;
	rd_open();
	rd_encodings(list, n);
	rd_request(false);
	rd_update();
	assert_choice(rd.id, 16, "descending");
	assert_true(rd.zrle_rects > 0);
	assert_int_equal(rd.covered, (uint64_t)rd.w * rd.h);
	bystander_ok();
	rd_request(false);
	rd_update();
	assert_int_equal(rd.covered, (uint64_t)rd.w * rd.h);
	rd_close();
	sum.cases++;
	bystander_ok();
	hostile_end();
}

/* zlib, one full frame, with `list` as SetEncodings; decoded exactly.
 * Returns the bytes of the update. */
static size_t zlib_frame_bytes(const int32_t *list, size_t n)
{
	size_t bytes;

	rd_open();
	rd_encodings(list, n);
	rd_request(false);
	rd_update();
	bytes = rd.bytes;
	assert_choice(rd.id, 6, "zlib");
	assert_int_equal(rd_bad(&cur.fr), 0);
	rd_close();
	return bytes;
}

/* Compression levels outside -256..-247 are no levels: after level 0
 * zlib must still store (at least the raw size), after level 9 still
 * compress. -257 and -258 are QEMU's pseudo-encodings, not levels. */
static void compression_levels_out_of_range(void **state)
{
	static const int32_t stored[] = {6,    -256, -246, -245,
					 -241, -257, -258, -259,
					 -266, -300, -512, INT32_MIN};
	static const int32_t level9[] = {6,    -247, -246, -245,  -257,
					 -258, -259, -266, -1000, INT32_MIN};
	static const int32_t plain[] = {6, -246, -257, -300, INT32_MIN};
	size_t raw_size, b0, b9, bd;

	hostile_start();
	raw_size = (size_t)cur.fr.w * cur.fr.h * 4;
	b0 = zlib_frame_bytes(stored, sizeof(stored) / sizeof(stored[0]));
	b9 = zlib_frame_bytes(level9, sizeof(level9) / sizeof(level9[0]));
	bd = zlib_frame_bytes(plain, sizeof(plain) / sizeof(plain[0]));
	print_message("  zlib full frame (raw %zu bytes): level 0 + junk %zu, "
		      "level 9 + junk %zu, junk only %zu\n",
		      raw_size, b0, b9, bd);
	assert_true(b0 >= raw_size);
	assert_true(b9 * 4 < raw_size);
	assert_true(bd * 4 < raw_size);
	sum.cases += 3;
	bystander_ok();
	hostile_end();
}

/* A Tight client with a list and a full update, at format `f`. */
static void tight_list(struct tc *c, const int32_t *list, size_t n)
{
	send_encodings(c, list, n);
	vnc_request(&c->v, false);
	wait_frame(c);
}

/* Quality levels outside -32..-23 are ignored: Tight stays lossless. A
 * valid level in between shows that JPEG would be seen; the next list
 * without one must turn it off again. */
static void quality_levels_out_of_range(void **state)
{
	static const int32_t junk[] = {7,  -22, -21,  -33,  -34,      -20,
				       -1, -64, -250, -224, INT32_MIN};
	static const int32_t valid[] = {7, -23, -250, -224};
	struct tc *c = &cur.tc[0];
	uint32_t fx, fy;

	hostile_start();
	tc_open(c, &encs[7], &vnc_formats[0], M_EXACT);
	wait_frame(c);
	tight_list(c, junk, sizeof(junk) / sizeof(junk[0]));
	converge_one(c, &cur.fr, "quality junk");
	assert_choice(c->id, 7, "quality junk");

	/* The control: quality 9 does make this picture lossy. */
	tight_list(c, valid, sizeof(valid) / sizeof(valid[0]));
	pump_one(c, 100);
	c->mode = M_JPEG;
	converge_one(c, &cur.fr, "quality 9 control");
	print_message("  control, quality 9: %ld px lossy, max %u\n",
		      c->je.lossy, c->je.max);
	assert_true(c->je.lossy > 0);

	/* A new list without a level: lossless again. */
	c->mode = M_EXACT;
	tight_list(c, junk, sizeof(junk) / sizeof(junk[0]));
	converge_one(c, &cur.fr, "quality junk after quality 9");
	assert_int_equal(tc_bad(c, &cur.fr, &fx, &fy), 0);
	tc_close(c);
	sum.cases += 3;
	bystander_ok();
	hostile_end();
}

/* A quality level from clients whose TPIXEL is no RGB triple: vfbd must
 * not use JPEG (pixel-exact). */
static void quality_level_at_8_and_16_bpp(void **state)
{
	static const int32_t list[] = {7, -23, -247, -224};
	static const unsigned formats[] = {7, 8, 4, 6};

	hostile_start();
	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tc *c = &cur.tc[i];

		tc_open(c, &encs[7], &vnc_formats[formats[i]], M_EXACT);
		wait_frame(c);
		tight_list(c, list, sizeof(list) / sizeof(list[0]));
		converge_one(c, &cur.fr, "quality 9");
		assert_choice(c->id, 7, c->f->name);
		tc_close(c);
		sum.cases++;
	}
	bystander_ok();
	hostile_end();
}

/* Duplicates, in one connection: the first encoding vfbd has wins,
 * whatever repeats. */
static void duplicates(void **state)
{
	/* Each list ends with another encoding vfbd has. */
	static const int32_t hextile[] = {5,	5,    -223, 5,	  0,	0, 6, 5,
					  -224, -224, -250, -250, -223, 2, 2};
	static const int32_t copy_raw[] = {1, 1, 0, 1, 0, 0, -223, -223, 1, 5};
	static const int32_t trle[] = {15, 15, 15, 16, 16, -224, 15, -224, 0};
	static const int32_t tight[] = {7, 7, -250, -250, -224, -224,
					7, 8, 0,    7,	  2};
	static const struct {
		const int32_t *list;
		size_t n;
		unsigned enc;
	} steps[] = {
		{hextile, sizeof(hextile) / 4, 3},
		{copy_raw, sizeof(copy_raw) / 4, 1},
		{trle, sizeof(trle) / 4, 5},
		{tight, sizeof(tight) / 4, 7},
		{hextile, sizeof(hextile) / 4, 3},
	};
	struct tc *c = &cur.tc[0];
	const char *why;

	hostile_start();
	tc_open(c, &encs[0], &vnc_formats[0], M_EXACT);
	converge_one(c, &cur.fr, "first frame");
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct enc *e = &encs[steps[i].enc];

		c->e = e;
		c->mode = mode_for(e, c->f, &why);
		/* A cleared framebuffer: only this update can fill it. */
		memset(c->v.cl->frameBuffer, 0,
		       (size_t)c->v.cl->width * c->v.cl->height * 4);
		send_encodings(c, steps[i].list, steps[i].n);
		vnc_request(&c->v, false);
		wait_frame(c);
		converge_one(c, &cur.fr, e->name);
		assert_choice(c->id, e->number, e->name);
		sum.cases++;
	}
	tc_close(c);
	bystander_ok();
	hostile_end();
}

/* Only numbers vfbd has no encoding for (and an empty list): raw. */
static void unknown_encodings_only(void **state)
{
	static const int32_t unknown[] = {
		3,   4,	   8,	 9,    10,    11,	 12,
		13,  14,   17,	 18,   19,    20,	 21,
		22,  50,   255,	 300,  1000,  INT32_MAX, -2,
		-22, -100, -222, -600, -1000, -0x10000,	 INT32_MIN,
	};
	struct tc *c = &cur.tc[0];

	hostile_start();
	tc_open(c, &encs[3], &vnc_formats[4], M_EXACT);
	converge_one(c, &cur.fr, "first frame");
	assert_choice(c->id, 5, "hextile");
	c->e = &encs[0];
	memset(c->v.cl->frameBuffer, 0,
	       (size_t)c->v.cl->width * c->v.cl->height * 2);
	send_encodings(c, unknown, sizeof(unknown) / sizeof(unknown[0]));
	vnc_request(&c->v, false);
	wait_frame(c);
	converge_one(c, &cur.fr, "unknown only");
	assert_choice(c->id, 0, "unknown only");

	/* And an empty list, after hextile again. */
	c->e = &encs[3];
	send_encodings(c, (const int32_t[]){5}, 1);
	vnc_request(&c->v, false);
	wait_frame(c);
	assert_choice(c->id, 5, "hextile again");
	c->e = &encs[0];
	memset(c->v.cl->frameBuffer, 0,
	       (size_t)c->v.cl->width * c->v.cl->height * 2);
	send_encodings(c, NULL, 0);
	vnc_request(&c->v, false);
	wait_frame(c);
	converge_one(c, &cur.fr, "empty list");
	assert_choice(c->id, 0, "empty list");
	tc_close(c);
	sum.cases += 2;
	bystander_ok();
	hostile_end();
}

static void set_format(rfbClient *cl, const struct vnc_format *f)
{
	cl->format.bitsPerPixel = (uint8_t)f->bpp;
	cl->format.depth = (uint8_t)f->depth;
	cl->format.bigEndian = (uint8_t)f->big_endian;
	cl->format.trueColour = 1;
	cl->format.redMax = (uint16_t)f->red_max;
	cl->format.greenMax = (uint16_t)f->green_max;
	cl->format.blueMax = (uint16_t)f->blue_max;
	cl->format.redShift = (uint8_t)f->red_shift;
	cl->format.greenShift = (uint8_t)f->green_shift;
	cl->format.blueShift = (uint8_t)f->blue_shift;
}

/* 50 rounds on one connection: before every full update request, a new
 * pixel format, encoding and compression level, and a quality level
 * wherever vfbd must ignore it (no RGB TPIXEL); every update decoded
 * exactly into a cleared framebuffer. `zrle` picks ZRLE or Zlib for the
 * connection: libvncclient shares one inflate stream between the two,
 * so one connection never uses both. libvncclient keeps an incremental
 * request outstanding when it changes format (RFC 6143 asks clients not
 * to); the file does not change during the rounds, so no update in the
 * old format can be in flight, and one arriving late would break the
 * next round's decode. */
static void rounds(bool zrle)
{
	static const unsigned set_zlib[] = {0, 1, 2, 3, 4, 5, 7};
	static const unsigned set_zrle[] = {0, 1, 2, 3, 6, 5, 7};
	const unsigned *set = zrle ? set_zrle : set_zlib;
	struct tc *c = &cur.tc[0];
	int lines0, lines;

	tc_open(c, &encs[0], &vnc_formats[0], M_EXACT);
	converge_one(c, &cur.fr, "first frame");
	logged_choice(c->id, &lines0);
	for (unsigned r = 0; r < 50; r++) {
		const struct enc *e = &encs[set[r % 7]];
		const struct vnc_format *f = &vnc_formats[(r * 4) % 9];
		rfbClient *cl = c->v.cl;
		const char *why;
		char what[64];

		for (unsigned k = 1; mode_for(e, f, &why) == M_SKIP; k++)
			f = &vnc_formats[(r * 4 + k) % 9];
		c->e = e;
		c->f = f;
		c->mode = mode_for(e, f, &why);
		set_format(cl, f);
		cl->appData.encodingsString = e->lvc;
		cl->appData.compressLevel = (int)(r % 10);
		cl->appData.enableJPEG = !tpix24(f);
		cl->appData.qualityLevel = (int)(9 - r % 10);
		/* The new format's framebuffer, cleared. */
		assert_true(cl->MallocFrameBuffer(cl));
		assert_true(SetFormatAndEncodings(cl));
		vnc_request(&c->v, false);
		wait_frame(c);
		snprintf(what, sizeof(what), "round %u", r);
		converge_set(&c, 1, &cur.fr, CONVERGE_MS, 0, what);
		assert_int_equal(logged_choice(c->id, &lines), e->number);
		assert_int_equal(lines, lines0 + (int)r + 1);
		sum.cases++;
	}
	tc_close(c);
}

static void format_and_encodings_every_round(void **state)
{
	hostile_start();
	rounds(false);
	bystander_ok();
	rounds(true);
	bystander_ok();
	hostile_end();
}

/* Malformed pixel formats: a logged protocol error, the connection
 * closed; the bystander carries on. */
static void malformed_pixel_formats(void **state)
{
	static const struct {
		uint8_t bpp, depth, tc;
		uint16_t max;
		const char *why;
	} bad[] = {
		{24, 24, 1, 255, "bits-per-pixel"},
		{32, 24, 0, 255, "colour-map"},
		{16, 16, 1, 30, "not 2^n-1"},
		{8, 9, 1, 7, "exceeds"},
	};

	hostile_start();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[20];
		enum raw_result r;

		rd_open();
		rd_encodings((const int32_t[]){5, 16, 7}, 3);
		raw_msg_pixfmt(m, bad[i].bpp, bad[i].depth, 0, bad[i].tc,
			       bad[i].max, bad[i].max, bad[i].max, 0, 8, 16);
		assert_int_equal(raw_send(&rd.rc, m, 20), 0);
		r = raw_wait_closed(&rd.rc, 3000, NULL);
		assert_true(r == RAW_EOF || r == RAW_RESET);
		if (!raw_log_waitf(&cur.p, 3000, bad[i].why, NULL,
				   "client-protocol-error id=%d ", rd.id))
			fail_msg("no protocol error logged with \"%s\"",
				 bad[i].why);
		rd_close();
		sum.cases++;
		bystander_ok();
	}
	hostile_end();
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	const char *vfbd = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	const char *feed = getenv("FBFEED");
	const char *slash = strrchr(vfbd, '/');

	snprintf(g.dir, sizeof(g.dir), "/dev/shm/vfbd-test-es-XXXXXX");
	if (!mkdtemp(g.dir)) {
		snprintf(g.dir, sizeof(g.dir), "/tmp/vfbd-test-es-XXXXXX");
		if (!mkdtemp(g.dir))
			return -1;
	}
	if (feed)
		snprintf(g.fbfeed, sizeof(g.fbfeed), "%s", feed);
	else if (slash)
		snprintf(g.fbfeed, sizeof(g.fbfeed), "%.*s/tools/fbfeed",
			 (int)(slash - vfbd), vfbd);
	else
		snprintf(g.fbfeed, sizeof(g.fbfeed), "tools/fbfeed");
	snprintf(g.feed_log, sizeof(g.feed_log), "%s/fbfeed.log", g.dir);
	if (access(g.fbfeed, X_OK) != 0) {
		fprintf(stderr, "test-encodings-shm: no fbfeed at %s\n",
			g.fbfeed);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d = opendir(g.dir);

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g.dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(g.dir);
	print_message("%u cases checked, %u combinations skipped; JPEG q9: "
		      "max %u, worst mean %.3f (%s), worst |bias| %.2f, at "
		      "most %ld px lossy\n",
		      sum.cases, sum.skipped, sum.jpeg_max, sum.jpeg_mean,
		      sum.jpeg_worst, sum.jpeg_bias, sum.jpeg_lossy);
	return 0;
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, hostile_setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(console_all_formats),
		CASE(window_all_formats),
		CASE(console_720),
		CASE(typing),
		CASE(video),
		CASE(idle),
		CASE(copyrect_racing_the_producer),
		CASE(every_number_ascending),
		CASE(every_number_descending),
		CASE(compression_levels_out_of_range),
		CASE(quality_levels_out_of_range),
		CASE(quality_level_at_8_and_16_bpp),
		CASE(duplicates),
		CASE(unknown_encodings_only),
		CASE(format_and_encodings_every_round),
		CASE(malformed_pixel_formats),
	};

	vnc_quiet();
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("encodings-shm", tests, group_setup,
					   group_teardown);
}
