/* ref-vncserver: a LibVNCServer reference server for the encoding
 * benchmark (tools/bench/encodings.sh). It serves the same shm file as
 * `vfbd --source shm:PATH` (design/shm.md), so vfbd can be compared with
 * a widely used server in the same run.
 *
 *   ref-vncserver --shm PATH [--port N] [--rate HZ] [--no-hints]
 *
 * It listens on 127.0.0.1 only (port 0 lets the kernel pick) and logs
 * `listening addr=127.0.0.1:PORT` like vfbd. The shm file is polled at
 * --rate (default 60 Hz, vfbd's fast refresh) with the seqlock of shm.md,
 * and, as vfbd does, only while a client is connected.
 * What changed is found the way a careful LibVNCServer integrator would:
 * when the frame is the next one after the last frame read and it carries
 * valid damage hints, the hinted rects are copied and marked; otherwise
 * every 64x64 tile is compared with the copy LibVNCServer serves from,
 * and only the tiles that differ are copied and marked. Updates are sent
 * as soon as they are marked (deferUpdateTime 0); LibVNCServer's own
 * defaults stand otherwise. Single-threaded: rfbProcessEvents runs
 * between polls.
 *
 * When a client leaves, one line says which encoding it was served with
 * (`client-gone encoding=N quality=Q bytes=B`), so the benchmark can tell
 * a real encoding from a fallback. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

#define TILE 64u

struct shm_map {
	const uint8_t *map;
	size_t len;
	uint32_t width, height, stride, header_bytes;
};

struct ref {
	struct shm_map shm;
	rfbScreenInfoPtr screen;
	uint64_t last_seq; /* the last even `frame` read; 0 = none */
	bool hints;
	bool force_compare;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Maps PATH read-only and validates its header. 0 or -errno, with a
 * message on stderr. */
static int shm_map_open(struct shm_map *m, const char *path)
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
		fprintf(stderr, "ref-vncserver: %s: %s\n", path, why);
		munmap(p, (size_t)st.st_size);
		return -EINVAL;
	}
	m->map = p;
	m->len = (size_t)st.st_size;
	m->width = h.width;
	m->height = h.height;
	m->stride = h.stride;
	m->header_bytes = h.header_bytes;
	return 0;
}

static uint64_t load_seq(const struct shm_map *m)
{
	return le64toh(
		__atomic_load_n((const uint64_t *)(m->map + FB_SHM_OFF_FRAME),
				__ATOMIC_ACQUIRE));
}

static const uint8_t *shm_row(const struct shm_map *m, uint32_t x, uint32_t y)
{
	return m->map + m->header_bytes + (size_t)y * m->stride + (size_t)x * 4;
}

static uint8_t *fb_row(const struct ref *r, uint32_t x, uint32_t y)
{
	return (uint8_t *)r->screen->frameBuffer +
	       ((size_t)y * r->shm.width + x) * 4;
}

/* Copies rect (x, y, w, h) from the file into the served framebuffer.
 * The X byte is cleared so the served picture never depends on it. */
static void copy_rect(struct ref *r, uint32_t x, uint32_t y, uint32_t w,
		      uint32_t h)
{
	for (uint32_t j = y; j < y + h; j++) {
		uint8_t *d = fb_row(r, x, j);

		memcpy(d, shm_row(&r->shm, x, j), (size_t)w * 4);
		for (uint32_t i = 0; i < w; i++)
			d[4 * i + 3] = 0;
	}
}

/* Rows of a tile are compared ignoring nothing: the producer keeps X at
 * 0, and a difference only in X costs one spurious tile at worst. */
static bool tile_differs(struct ref *r, uint32_t x, uint32_t y, uint32_t w,
			 uint32_t h)
{
	for (uint32_t j = y; j < y + h; j++)
		if (memcmp(fb_row(r, x, j), shm_row(&r->shm, x, j),
			   (size_t)w * 4))
			return true;
	return false;
}

static void compare_all(struct ref *r)
{
	uint32_t W = r->shm.width, H = r->shm.height;

	for (uint32_t y = 0; y < H; y += TILE) {
		uint32_t h = H - y < TILE ? H - y : TILE;

		for (uint32_t x = 0; x < W; x += TILE) {
			uint32_t w = W - x < TILE ? W - x : TILE;

			if (!tile_differs(r, x, y, w, h))
				continue;
			copy_rect(r, x, y, w, h);
			rfbMarkRectAsModified(r->screen, (int)x, (int)y,
					      (int)(x + w), (int)(y + h));
		}
	}
}

/* Copies and marks the hinted rects of this frame. false when the hints
 * are absent or unusable (then the caller compares everything). */
static bool apply_hints(struct ref *r)
{
	const uint8_t *d = r->shm.map + FB_SHM_OFF_DAMAGE;
	uint32_t n = get_le32(r->shm.map + FB_SHM_OFF_DAMAGE_COUNT);

	if (n == 0 || n > FB_DAMAGE_MAX_RECTS)
		return false;
	for (uint32_t i = 0; i < n; i++, d += 8) {
		uint32_t x = get_le16(d), y = get_le16(d + 2);
		uint32_t w = get_le16(d + 4), h = get_le16(d + 6);

		if (x >= r->shm.width || y >= r->shm.height)
			continue;
		if (w > r->shm.width - x)
			w = r->shm.width - x;
		if (h > r->shm.height - y)
			h = r->shm.height - y;
		if (w == 0 || h == 0)
			continue;
		copy_rect(r, x, y, w, h);
		rfbMarkRectAsModified(r->screen, (int)x, (int)y, (int)(x + w),
				      (int)(y + h));
	}
	return true;
}

/* One poll of the file: reads a complete new frame if there is one. The
 * hints describe the change since the previous even frame only, so they
 * are used only when no frame was skipped since the last read. */
static void poll_shm(struct ref *r)
{
	uint64_t s1 = load_seq(&r->shm), s2;
	bool consecutive = r->last_seq != 0 && s1 == r->last_seq + 2;

	if (s1 & 1 || s1 == r->last_seq)
		return;
	if (!r->hints || r->force_compare || !consecutive || !apply_hints(r))
		compare_all(r);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = load_seq(&r->shm);
	/* A frame written while we copied: what we hold may be torn, so the
	 * next poll compares everything. */
	r->force_compare = s2 != s1;
	r->last_seq = s1;
}

static void quiet_log(const char *fmt, ...)
{
	(void)fmt;
}

static void on_client_gone(rfbClientPtr cl)
{
	fprintf(stderr,
		"ref-vncserver: client-gone encoding=%d quality=%d "
		"bytes=%d\n",
		cl->preferredEncoding, cl->tightQualityLevel,
		rfbStatGetSentBytes(cl));
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	cl->clientGoneHook = on_client_gone;
	return RFB_CLIENT_ACCEPT;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: ref-vncserver --shm PATH [--port N] [--rate HZ] "
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
	struct ref r = {.hints = true};
	const char *path = NULL;
	int port = 0, fake_argc = 1, c, rc = -ENOENT;
	double rate = 60;
	char *fake_argv[] = {argv[0], NULL};
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	uint64_t period_ns, next_ns, deadline;
	struct sigaction sig = {.sa_handler = on_signal};

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
			r.hints = false;
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
	/* The producer may still be publishing the file. */
	for (deadline = clock_now_ms() + 5000; clock_now_ms() < deadline;) {
		rc = shm_map_open(&r.shm, path);
		if (rc != -ENOENT && rc != -EAGAIN)
			break;
		usleep(10000);
	}
	if (rc < 0) {
		fprintf(stderr, "ref-vncserver: cannot use %s: %s\n", path,
			strerror(-rc));
		return 2;
	}
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	rfbLog = quiet_log;
	r.screen = rfbGetScreen(&fake_argc, fake_argv, (int)r.shm.width,
				(int)r.shm.height, 8, 3, 4);
	if (!r.screen)
		return 1;
	/* Serve XRGB8888 as it is in the file (B, G, R, X in memory). */
	r.screen->serverFormat.redShift = 16;
	r.screen->serverFormat.greenShift = 8;
	r.screen->serverFormat.blueShift = 0;
	r.screen->frameBuffer = calloc((size_t)r.shm.width * r.shm.height, 4);
	if (!r.screen->frameBuffer)
		return 1;
	/* No cursor: LibVNCServer would otherwise paint its default arrow
	 * into the picture of clients without cursor updates (vfbd draws
	 * none either). */
	r.screen->cursor = NULL;
	r.screen->desktopName = "ref-vncserver";
	/* LibVNCServer cannot listen on port 0, so the socket is made here
	 * and handed to it. */
	r.screen->port = 0;
	r.screen->ipv6port = 0;
	r.screen->listenInterface = htonl(INADDR_LOOPBACK);
	r.screen->httpPort = 0;
	r.screen->alwaysShared = TRUE;
	r.screen->deferUpdateTime = 0;
	r.screen->newClientHook = on_new_client;
	rfbInitServer(r.screen);
	r.screen->listenSock = rfbListenOnTCPPort(port, htonl(INADDR_LOOPBACK));
	if (r.screen->listenSock == RFB_INVALID_SOCKET ||
	    getsockname(r.screen->listenSock, (struct sockaddr *)&sa, &sl) <
		    0) {
		fprintf(stderr, "ref-vncserver: cannot listen on port %d\n",
			port);
		return 1;
	}
	FD_SET(r.screen->listenSock, &r.screen->allFds);
	if (r.screen->listenSock > r.screen->maxFd)
		r.screen->maxFd = r.screen->listenSock;
	fprintf(stderr, "ref-vncserver: listening addr=127.0.0.1:%u\n",
		(unsigned)ntohs(sa.sin_port));

	period_ns = (uint64_t)(1e9 / rate);
	next_ns = clock_now_ns();
	while (!stop && rfbIsActive(r.screen)) {
		uint64_t now = clock_now_ns();

		if (now >= next_ns) {
			/* Like vfbd, read the file only while someone
			 * watches: idle servers cost nothing in the
			 * benchmark while another one is measured. */
			if (r.screen->clientHead)
				poll_shm(&r);
			next_ns += period_ns;
			if (next_ns <= now)
				next_ns = now + period_ns;
			/* rfbProcessEvents waits for input before it sends
			 * updates: send what was just marked first. */
			rfbProcessEvents(r.screen, 0);
			continue;
		}
		rfbProcessEvents(r.screen, (long)((next_ns - now) / 1000));
	}
	rfbShutdownServer(r.screen, TRUE);
	free(r.screen->frameBuffer);
	rfbScreenCleanup(r.screen);
	munmap((void *)r.shm.map, r.shm.len);
	return 0;
}
