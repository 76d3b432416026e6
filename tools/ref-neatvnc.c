/* ref-neatvnc: a Neat VNC reference server for the encoding benchmark
 * (tools/bench/encodings.sh), the twin of ref-vncserver.
 *
 *   ref-neatvnc --shm PATH [--port N] [--rate HZ] [--no-hints]
 *
 * Neat VNC (Debian libneatvnc-dev 0.5.4, with libaml-dev and pixman)
 * is not linked into every tool, so the Makefile's generic rule builds
 * only a stub from this file; encodings.sh builds the real server with
 *
 *   cc -DVFBD_WITH_NEATVNC ... tools/ref-neatvnc.c \
 *      $(pkg-config --cflags --libs pixman-1 aml) -lneatvnc
 *
 * (neatvnc.pc requires libdrm.pc, which Debian's libneatvnc-dev does not
 * pull in, so pkg-config is not asked about neatvnc itself.)
 *
 * It listens on 127.0.0.1 only and logs `listening addr=127.0.0.1:PORT`.
 * The shm file (design/shm.md) is polled every 1000/HZ ms (default 16 ms,
 * vfbd's fast refresh) on an aml ticker with the seqlock, and, as vfbd
 * does, only while a client is connected. Changes are
 * found as in ref-vncserver: the damage hints when the frame follows the
 * last one read, else a compare of every 64x64 tile with a private copy.
 * Neat VNC encodes from buffers it holds until it is done with them, so
 * a few nvnc_fb buffers rotate; each remembers what changed since it was
 * last filled and only that is copied into it before it is fed with the
 * new damage. Neat VNC itself then refines that damage by hashing 32x32
 * tiles (its damage refinery, always on) and encodes on its worker
 * threads. Its "Choosing ENCODING encoding" log line tells which
 * encoding a client got: 0.5.4 serves only raw, tight and zrle, and
 * sends JPEG only for quality levels 9 (libjpeg quality 66) and 0 (33). */
#include <stdio.h>

#ifndef VFBD_WITH_NEATVNC

int main(void)
{
	fprintf(stderr, "ref-neatvnc: built without Neat VNC; "
			"tools/bench/encodings.sh builds the real one\n");
	return 77;
}

#else

#include <aml.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <neatvnc.h>
#include <netinet/in.h>
#include <pixman.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"

#define TILE		64u
#define MAX_BUFS	6
/* DRM_FORMAT_XRGB8888, fourcc 'XR24': the shm file's layout. */
#define FOURCC_XRGB8888 0x34325258u

struct ref;

struct refbuf {
	struct ref *ref;
	struct nvnc_fb *fb;
	bool held;		      /* fed to Neat VNC and not yet released */
	struct pixman_region16 stale; /* differs from the shadow here */
};

struct ref {
	const uint8_t *map;
	size_t len;
	uint32_t width, height, stride, header_bytes;
	uint8_t *shadow; /* the last frame read, tightly packed */
	uint64_t last_seq;
	bool hints, force_compare;
	struct pixman_region16 pending; /* changed, not yet fed */
	struct refbuf bufs[MAX_BUFS];
	unsigned nbufs;
	unsigned clients;
	struct aml *aml;
	struct nvnc *server;
	struct nvnc_display *display;
};

static int shm_open_map(struct ref *r, const char *path)
{
	struct fb_shm_header h;
	struct stat st;
	char why[160];
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)FB_SHM_HEADER_FIXED) {
		close(fd);
		return -EAGAIN;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	if (fb_shm_check_header(p, FB_SHM_HEADER_FIXED, (uint64_t)st.st_size,
				&h, why, sizeof(why)) < 0) {
		fprintf(stderr, "ref-neatvnc: %s: %s\n", path, why);
		munmap(p, (size_t)st.st_size);
		return -EINVAL;
	}
	r->map = p;
	r->len = (size_t)st.st_size;
	r->width = h.width;
	r->height = h.height;
	r->stride = h.stride;
	r->header_bytes = h.header_bytes;
	return 0;
}

static uint64_t load_seq(const struct ref *r)
{
	return le64toh(
		__atomic_load_n((const uint64_t *)(r->map + FB_SHM_OFF_FRAME),
				__ATOMIC_ACQUIRE));
}

static const uint8_t *shm_px(const struct ref *r, uint32_t x, uint32_t y)
{
	return r->map + r->header_bytes + (size_t)y * r->stride + (size_t)x * 4;
}

static uint8_t *shadow_px(const struct ref *r, uint32_t x, uint32_t y)
{
	return r->shadow + ((size_t)y * r->width + x) * 4;
}

static void copy_in(struct ref *r, uint32_t x, uint32_t y, uint32_t w,
		    uint32_t h)
{
	for (uint32_t j = y; j < y + h; j++) {
		uint8_t *d = shadow_px(r, x, j);

		memcpy(d, shm_px(r, x, j), (size_t)w * 4);
		for (uint32_t i = 0; i < w; i++)
			d[4 * i + 3] = 0;
	}
}

static bool tile_differs(const struct ref *r, uint32_t x, uint32_t y,
			 uint32_t w, uint32_t h)
{
	for (uint32_t j = y; j < y + h; j++)
		if (memcmp(shadow_px(r, x, j), shm_px(r, x, j), (size_t)w * 4))
			return true;
	return false;
}

static void compare_all(struct ref *r, struct pixman_region16 *d)
{
	for (uint32_t y = 0; y < r->height; y += TILE) {
		uint32_t h = r->height - y < TILE ? r->height - y : TILE;

		for (uint32_t x = 0; x < r->width; x += TILE) {
			uint32_t w = r->width - x < TILE ? r->width - x : TILE;

			if (!tile_differs(r, x, y, w, h))
				continue;
			copy_in(r, x, y, w, h);
			pixman_region_union_rect(d, d, (int)x, (int)y, w, h);
		}
	}
}

static bool apply_hints(struct ref *r, struct pixman_region16 *d)
{
	const uint8_t *p = r->map + FB_SHM_OFF_DAMAGE;
	uint32_t n = get_le32(r->map + FB_SHM_OFF_DAMAGE_COUNT);

	if (n == 0 || n > FB_DAMAGE_MAX_RECTS)
		return false;
	for (uint32_t i = 0; i < n; i++, p += 8) {
		uint32_t x = get_le16(p), y = get_le16(p + 2);
		uint32_t w = get_le16(p + 4), h = get_le16(p + 6);

		if (x >= r->width || y >= r->height)
			continue;
		if (w > r->width - x)
			w = r->width - x;
		if (h > r->height - y)
			h = r->height - y;
		if (w == 0 || h == 0)
			continue;
		copy_in(r, x, y, w, h);
		pixman_region_union_rect(d, d, (int)x, (int)y, w, h);
	}
	return true;
}

static void on_release(struct nvnc_fb *fb, void *context)
{
	struct refbuf *b = context;

	b->held = false;
}

static struct refbuf *free_buffer(struct ref *r)
{
	struct refbuf *b;

	for (unsigned i = 0; i < r->nbufs; i++)
		if (!r->bufs[i].held)
			return &r->bufs[i];
	if (r->nbufs == MAX_BUFS)
		return NULL;
	b = &r->bufs[r->nbufs];
	b->fb = nvnc_fb_new((uint16_t)r->width, (uint16_t)r->height,
			    FOURCC_XRGB8888, (uint16_t)r->width);
	if (!b->fb)
		return NULL;
	b->ref = r;
	nvnc_fb_set_release_fn(b->fb, on_release, b);
	pixman_region_init_rect(&b->stale, 0, 0, r->width, r->height);
	r->nbufs++;
	return b;
}

/* Brings a free buffer up to date and hands it to Neat VNC with the
 * damage gathered since the last feed. */
static void feed(struct ref *r)
{
	struct refbuf *b;
	const pixman_box16_t *box;
	uint8_t *dst;
	int n;

	if (!pixman_region_not_empty(&r->pending))
		return;
	b = free_buffer(r);
	if (!b)
		return; /* all in flight: the damage waits for the next tick */
	dst = nvnc_fb_get_addr(b->fb);
	box = pixman_region_rectangles(&b->stale, &n);
	for (int i = 0; i < n; i++) {
		size_t w = (size_t)(box[i].x2 - box[i].x1) * 4;

		for (int y = box[i].y1; y < box[i].y2; y++) {
			size_t off =
				((size_t)y * r->width + (size_t)box[i].x1) * 4;

			memcpy(dst + off, r->shadow + off, w);
		}
	}
	pixman_region_clear(&b->stale);
	b->held = true;
	nvnc_display_feed_buffer(r->display, b->fb, &r->pending);
	pixman_region_clear(&r->pending);
}

static void poll_shm(struct ref *r)
{
	struct pixman_region16 d;
	uint64_t s1 = load_seq(r), s2;
	bool consecutive = r->last_seq != 0 && s1 == r->last_seq + 2;

	if (s1 & 1 || s1 == r->last_seq)
		return;
	pixman_region_init(&d);
	if (!r->hints || r->force_compare || !consecutive ||
	    !apply_hints(r, &d))
		compare_all(r, &d);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = load_seq(r);
	r->force_compare = s2 != s1;
	r->last_seq = s1;
	if (pixman_region_not_empty(&d)) {
		pixman_region_union(&r->pending, &r->pending, &d);
		for (unsigned i = 0; i < r->nbufs; i++)
			pixman_region_union(&r->bufs[i].stale,
					    &r->bufs[i].stale, &d);
	}
	pixman_region_fini(&d);
}

static struct ref ref = {.hints = true};

static void on_tick(void *obj)
{
	struct ref *r = aml_get_userdata(obj);

	if (!r->clients)
		return;
	poll_shm(r);
	feed(r);
}

static void on_client_gone(struct nvnc_client *client)
{
	ref.clients--;
}

static void on_new_client(struct nvnc_client *client)
{
	ref.clients++;
	nvnc_set_client_cleanup_fn(client, on_client_gone);
}

static void on_signal(void *obj)
{
	struct ref *r = aml_get_userdata(obj);

	aml_exit(r->aml);
}

static void on_log(const struct nvnc_log_data *meta, const char *message)
{
	fprintf(stderr, "ref-neatvnc: %s\n", message);
}

/* Neat VNC does not say which port it bound: find our listening socket. */
static int listening_port(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int acc = 0;
		socklen_t al = sizeof(acc);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 ||
		    !acc)
			continue;
		if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 &&
		    sa.sin_family == AF_INET)
			return ntohs(sa.sin_port);
	}
	return -1;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: ref-neatvnc --shm PATH [--port N] [--rate HZ] "
		     "[--no-hints]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"shm", required_argument, NULL, 's'},
		{"port", required_argument, NULL, 'p'},
		{"rate", required_argument, NULL, 'r'},
		{"no-hints", no_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int port = 0, c, rc = -ENOENT, bound;
	double rate = 60;
	struct aml_ticker *ticker;
	struct aml_signal *sigterm, *sigint;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'H':
			ref.hints = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!path || optind != argc || port < 0 || port > 65535 ||
	    !(rate >= 1 && rate <= 1000)) {
		usage(stderr);
		return 1;
	}
	for (int i = 0; i < 500; i++) {
		rc = shm_open_map(&ref, path);
		if (rc != -ENOENT && rc != -EAGAIN)
			break;
		usleep(10000);
	}
	if (rc < 0) {
		fprintf(stderr, "ref-neatvnc: cannot use %s: %s\n", path,
			strerror(-rc));
		return 2;
	}
	if (ref.width > UINT16_MAX || ref.height > UINT16_MAX)
		return 2;
	ref.shadow = calloc((size_t)ref.width * ref.height, 4);
	if (!ref.shadow)
		return 1;
	pixman_region_init_rect(&ref.pending, 0, 0, ref.width, ref.height);
	signal(SIGPIPE, SIG_IGN);

	nvnc_set_log_level(NVNC_LOG_INFO);
	nvnc_set_log_fn(on_log);
	ref.aml = aml_new();
	if (!ref.aml)
		return 1;
	aml_set_default(ref.aml);
	ref.server = nvnc_open("127.0.0.1", (uint16_t)port);
	if (!ref.server) {
		fprintf(stderr, "ref-neatvnc: cannot listen on port %d\n",
			port);
		return 1;
	}
	ref.display = nvnc_display_new(0, 0);
	if (!ref.display)
		return 1;
	nvnc_add_display(ref.server, ref.display);
	nvnc_set_name(ref.server, "ref-neatvnc");
	nvnc_set_new_client_fn(ref.server, on_new_client);
	bound = listening_port();
	fprintf(stderr, "ref-neatvnc: listening addr=127.0.0.1:%d\n", bound);

	poll_shm(&ref);
	feed(&ref);
	ticker = aml_ticker_new((uint32_t)(1000.0 / rate + 0.5), on_tick, &ref,
				NULL);
	sigterm = aml_signal_new(SIGTERM, on_signal, &ref, NULL);
	sigint = aml_signal_new(SIGINT, on_signal, &ref, NULL);
	if (!ticker || !sigterm || !sigint)
		return 1;
	aml_start(ref.aml, ticker);
	aml_start(ref.aml, sigterm);
	aml_start(ref.aml, sigint);
	aml_run(ref.aml);

	aml_stop(ref.aml, ticker);
	aml_unref(ticker);
	aml_stop(ref.aml, sigterm);
	aml_unref(sigterm);
	aml_stop(ref.aml, sigint);
	aml_unref(sigint);
	nvnc_remove_display(ref.server, ref.display);
	nvnc_display_unref(ref.display);
	nvnc_close(ref.server);
	for (unsigned i = 0; i < ref.nbufs; i++) {
		nvnc_fb_unref(ref.bufs[i].fb);
		pixman_region_fini(&ref.bufs[i].stale);
	}
	pixman_region_fini(&ref.pending);
	aml_unref(ref.aml);
	free(ref.shadow);
	munmap((void *)ref.map, ref.len);
	return 0;
}

#endif
