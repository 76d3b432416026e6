/* vfbd-encbench: what one encoding costs on a VNC server, measured from a
 * real client (libvncclient) while a producer changes the picture.
 *
 *   vfbd-encbench --server 127.0.0.1:PORT --encoding NAME [--compress N]
 *                 [--quality N] [--seconds T] [--warmup S] [--pid PID]
 *                 [--verify SHM] [--no-copyrect]
 *
 * NAME is raw, hextile, zlib, zrle, trle or tight. The client asks, in a
 * SetEncodings of its own so every server sees the same request, for
 * CopyRect (first, as noVNC does; not with --no-copyrect), that encoding,
 * the compression level (-256 + N) and the JPEG quality level (-32 + N)
 * when given, then LastRect and DesktopSize.
 * Its pixel format is 32 bpp depth 24 with red at bit 16, blue at bit 0:
 * the layout of the shm file (XRGB8888), so no server has to convert
 * pixels and the comparison is about encoding.
 * libvncclient sends the next incremental update request as soon as an
 * update has been read, so requests keep flowing at the rate the client
 * decodes.
 *
 * After --warmup seconds (default 1), the window runs from the end of one
 * update to the end of the first update at least --seconds (default 5)
 * later, so it holds whole updates only. Over that window it counts:
 * - updates: FramebufferUpdate messages with at least one pixel rect
 *   (empty ones are counted apart, their bytes are kept);
 * - bytes: what the client's RFB parser consumed from the socket, i.e.
 *   TCP_INFO tcpi_bytes_received minus the bytes still in the socket's
 *   receive queue (FIONREAD) minus those in libvncclient's read buffer.
 *   This is every byte the server sent in those updates: message and
 *   rect headers included, TCP/IP framing excluded;
 * - server CPU: the CPU-time clock of process PID (clock_getcpuclockid:
 *   user + system time of all its threads, nanosecond resolution);
 * - pixels: the area of the rects received.
 * One line of key=value pairs goes to standard output. Exit status 0, or
 * 1 when the server could not be reached or sent no update in 10 s.
 *
 * --verify SHM compares, at the end, the picture the client decoded with
 * the shm file the server reads (design/shm.md), ignoring the X byte. It
 * is meant for a file whose producer has stopped, so both hold the same
 * frame; it adds verify_wrong (pixels that differ) and verify_max_diff
 * (the largest difference of one colour channel: 0 for a lossless
 * encoding, small for JPEG) to the line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

enum phase { PH_WARMUP, PH_MEASURE, PH_DONE };

/* Counters at one instant. */
struct snap {
	uint64_t t_ns;
	uint64_t bytes;	 /* consumed by the RFB parser */
	uint64_t cpu_ns; /* server CPU time; 0 without --pid */
	uint64_t client_cpu_ns;
};

struct bench {
	rfbClient *cl;
	clockid_t server_clock;
	bool have_server_clock;
	enum phase phase;
	uint64_t warm_end_ns, measure_ns, measure_end_ns;
	struct snap s0, s1;
	/* Counted inside the window. */
	uint64_t updates, empty, rects, pixels;
	/* Rects of the update being read. */
	uint64_t cur_rects, cur_pixels;
	uint64_t total_updates;
};

static struct bench bench;

static const struct {
	const char *name;
	int32_t number;
} encodings[] = {
	{"raw", rfbEncodingRaw},   {"hextile", rfbEncodingHextile},
	{"zlib", rfbEncodingZlib}, {"zrle", rfbEncodingZRLE},
	{"trle", rfbEncodingTRLE}, {"tight", rfbEncodingTight},
};

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Bytes the client's parser has consumed so far; 0 if unknown. */
static uint64_t consumed_bytes(rfbClient *cl)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int inq = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(cl->sock, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    ioctl(cl->sock, FIONREAD, &inq) < 0)
		return 0;
	return ti.tcpi_bytes_received - (uint64_t)inq - (uint64_t)cl->buffered;
}

static void take_snap(struct bench *b, struct snap *s)
{
	struct timespec ts;

	s->t_ns = clock_now_ns();
	s->bytes = consumed_bytes(b->cl);
	s->cpu_ns = 0;
	if (b->have_server_clock && clock_gettime(b->server_clock, &ts) == 0)
		s->cpu_ns = ts_ns(&ts);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	s->client_cpu_ns = ts_ns(&ts);
}

static void start_window(struct bench *b)
{
	take_snap(b, &b->s0);
	b->measure_end_ns = b->s0.t_ns + b->measure_ns;
	b->updates = b->empty = b->rects = b->pixels = 0;
	b->phase = PH_MEASURE;
}

static void on_rect(rfbClient *cl, int x, int y, int w, int h)
{
	bench.cur_rects++;
	bench.cur_pixels += (uint64_t)w * (uint64_t)h;
}

/* Called once a whole FramebufferUpdate has been read and decoded. */
static void on_update_done(rfbClient *cl)
{
	struct bench *b = &bench;
	uint64_t now = clock_now_ns();

	b->total_updates++;
	if (b->phase == PH_MEASURE) {
		if (b->cur_rects) {
			b->updates++;
			b->rects += b->cur_rects;
			b->pixels += b->cur_pixels;
		} else {
			b->empty++;
		}
		if (now >= b->measure_end_ns) {
			take_snap(b, &b->s1);
			b->phase = PH_DONE;
		}
	} else if (b->phase == PH_WARMUP && now >= b->warm_end_ns) {
		start_window(b);
	}
	b->cur_rects = b->cur_pixels = 0;
}

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* Compares the client's picture with the shm file at PATH. 0, or -1 with
 * a message when the file cannot be read or its geometry differs. */
static int verify(rfbClient *cl, const char *path, uint64_t *wrong,
		  unsigned *max_diff)
{
	struct fb_shm_header h;
	struct stat st;
	char why[160];
	uint8_t *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0 || fstat(fd, &st) < 0 ||
	    st.st_size < (off_t)FB_SHM_HEADER_FIXED) {
		fprintf(stderr, "vfbd-encbench: cannot read %s\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	if (fb_shm_check_header(m, FB_SHM_HEADER_FIXED, (uint64_t)st.st_size,
				&h, why, sizeof(why)) < 0) {
		fprintf(stderr, "vfbd-encbench: %s: %s\n", path, why);
	} else if ((int)h.width != cl->width || (int)h.height != cl->height) {
		fprintf(stderr,
			"vfbd-encbench: %s is %ux%u, the client %dx%d\n", path,
			h.width, h.height, cl->width, cl->height);
	} else {
		*wrong = 0;
		*max_diff = 0;
		for (uint32_t y = 0; y < h.height; y++) {
			const uint8_t *a =
				m + h.header_bytes + (size_t)y * h.stride;
			const uint8_t *b =
				cl->frameBuffer + (size_t)y * h.width * 4;

			for (uint32_t x = 0; x < h.width; x++) {
				unsigned d = 0;

				for (int c = 0; c < 3; c++) {
					int e = a[4 * x + c] - b[4 * x + c];
					unsigned ae =
						(unsigned)(e < 0 ? -e : e);

					d = ae > d ? ae : d;
				}
				*wrong += d != 0;
				*max_diff = d > *max_diff ? d : *max_diff;
			}
		}
		rc = 0;
	}
	munmap(m, (size_t)st.st_size);
	return rc;
}

/* Sends the SetEncodings this benchmark is about. */
static bool send_encodings(rfbClient *cl, int32_t enc, int compress,
			   int quality, bool copyrect)
{
	uint8_t msg[4 + 6 * 4];
	uint16_t n = 0;

	msg[0] = rfbSetEncodings;
	msg[1] = 0;
	if (copyrect)
		put_be32(msg + 4 + 4 * n++, (uint32_t)rfbEncodingCopyRect);
	put_be32(msg + 4 + 4 * n++, (uint32_t)enc);
	if (compress >= 0)
		put_be32(msg + 4 + 4 * n++,
			 (uint32_t)(rfbEncodingCompressLevel0 + compress));
	if (quality >= 0)
		put_be32(msg + 4 + 4 * n++,
			 (uint32_t)(rfbEncodingQualityLevel0 + quality));
	put_be32(msg + 4 + 4 * n++, (uint32_t)rfbEncodingLastRect);
	put_be32(msg + 4 + 4 * n++, (uint32_t)rfbEncodingNewFBSize);
	put_be16(msg + 2, n);
	return WriteToRFBServer(cl, (char *)msg, 4u + 4u * n);
}

static int parse_level(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > 9) {
		fprintf(stderr, "vfbd-encbench: %s wants 0..9\n", what);
		exit(1);
	}
	return (int)v;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: vfbd-encbench --server HOST:PORT --encoding NAME\n"
		     "       [--compress 0-9] [--quality 0-9] [--seconds T]\n"
		     "       [--warmup S] [--pid SERVER_PID] [--verify SHM]\n"
		     "       [--no-copyrect]\n"
		     "NAME: raw hextile zlib zrle trle tight\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"encoding", required_argument, NULL, 'e'},
		{"compress", required_argument, NULL, 'c'},
		{"quality", required_argument, NULL, 'q'},
		{"seconds", required_argument, NULL, 'T'},
		{"warmup", required_argument, NULL, 'w'},
		{"pid", required_argument, NULL, 'p'},
		{"verify", required_argument, NULL, 'V'},
		{"no-copyrect", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench *b = &bench;
	const char *server = NULL, *enc_name = NULL, *verify_path = NULL;
	bool copyrect = true;
	char host[64];
	int32_t enc = -1;
	int compress = -1, quality = -1, port, c;
	long pid = 0;
	double seconds = 5, warmup = 1, el, n;
	uint64_t hard_end, first_deadline;
	rfbClient *cl;
	const char *colon;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'e':
			enc_name = optarg;
			break;
		case 'c':
			compress = parse_level(optarg, "--compress");
			break;
		case 'q':
			quality = parse_level(optarg, "--quality");
			break;
		case 'T':
			seconds = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'p':
			pid = atol(optarg);
			break;
		case 'V':
			verify_path = optarg;
			break;
		case 'C':
			copyrect = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	for (size_t i = 0;
	     enc_name && i < sizeof(encodings) / sizeof(*encodings); i++)
		if (strcmp(enc_name, encodings[i].name) == 0)
			enc = encodings[i].number;
	colon = server ? strrchr(server, ':') : NULL;
	if (optind != argc || !colon || enc < 0 ||
	    !(seconds > 0 && seconds <= 600) ||
	    !(warmup >= 0 && warmup <= 60) ||
	    (size_t)(colon - server) >= sizeof(host)) {
		usage(stderr);
		return 1;
	}
	memcpy(host, server, (size_t)(colon - server));
	host[colon - server] = '\0';
	port = atoi(colon + 1);
	/* Benchmarks stay on this machine. */
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) {
		fprintf(stderr, "vfbd-encbench: only 127.0.0.1 is allowed\n");
		return 1;
	}
	if (pid > 0) {
		if (clock_getcpuclockid((pid_t)pid, &b->server_clock) != 0) {
			fprintf(stderr,
				"vfbd-encbench: no CPU clock for pid %ld\n",
				pid);
			return 1;
		}
		b->have_server_clock = true;
	}

	rfbClientLog = quiet;
	cl = rfbGetClient(8, 3, 4);
	if (!cl)
		return 1;
	b->cl = cl;
	cl->format.redShift = 16;
	cl->format.greenShift = 8;
	cl->format.blueShift = 0;
	cl->appData.encodingsString = enc_name;
	cl->appData.compressLevel = compress;
	cl->appData.qualityLevel = quality;
	cl->appData.enableJPEG = quality >= 0;
	cl->GotFrameBufferUpdate = on_rect;
	cl->FinishedFrameBufferUpdate = on_update_done;
	free(cl->serverHost);
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = port;
	if (!rfbInitClient(cl, NULL, NULL)) {
		/* rfbInitClient frees the client on failure. */
		fprintf(stderr, "vfbd-encbench: cannot connect to %s\n",
			server);
		return 1;
	}
	if (!send_encodings(cl, enc, compress, quality, copyrect)) {
		fprintf(stderr, "vfbd-encbench: cannot send SetEncodings\n");
		goto fail;
	}

	b->measure_ns = (uint64_t)(seconds * 1e9);
	b->warm_end_ns = clock_now_ns() + (uint64_t)(warmup * 1e9);
	first_deadline = clock_now_ns() + 10000000000u;
	hard_end = b->warm_end_ns + b->measure_ns + 3000000000u;
	while (b->phase != PH_DONE) {
		uint64_t now = clock_now_ns();

		if (b->total_updates == 0 && now > first_deadline) {
			fprintf(stderr, "vfbd-encbench: no update in 10 s\n");
			goto fail;
		}
		/* Without updates (a static picture) the window starts and
		 * ends on time instead of on an update boundary. */
		if (b->phase == PH_WARMUP && b->total_updates &&
		    now > b->warm_end_ns + 500000000u)
			start_window(b);
		if (b->phase == PH_MEASURE &&
		    now > b->measure_end_ns + 1000000000u) {
			take_snap(b, &b->s1);
			break;
		}
		if (now > hard_end + 10000000000u)
			break;
		if (cl->buffered || WaitForMessage(cl, 20000) > 0) {
			if (!HandleRFBServerMessage(cl)) {
				fprintf(stderr,
					"vfbd-encbench: connection lost\n");
				goto fail;
			}
		}
	}
	if (b->phase == PH_WARMUP) {
		fprintf(stderr, "vfbd-encbench: window never started\n");
		goto fail;
	}

	el = (double)(b->s1.t_ns - b->s0.t_ns) / 1e9;
	n = b->updates ? (double)b->updates : 1;
	printf("encoding=%s copyrect=%d compress=%d quality=%d seconds=%.3f "
	       "updates=%llu "
	       "empty=%llu rects=%llu updates_per_s=%.2f bytes=%llu "
	       "bytes_per_update=%.0f pixels_per_update=%.0f kbytes_per_s=%.1f "
	       "cpu_ms=%.2f cpu_ms_per_update=%.4f cpu_pct=%.1f "
	       "client_cpu_ms_per_update=%.4f",
	       enc_name, copyrect, compress, quality, el,
	       (unsigned long long)b->updates, (unsigned long long)b->empty,
	       (unsigned long long)b->rects, (double)b->updates / el,
	       (unsigned long long)(b->s1.bytes - b->s0.bytes),
	       (double)(b->s1.bytes - b->s0.bytes) / n, (double)b->pixels / n,
	       (double)(b->s1.bytes - b->s0.bytes) / el / 1e3,
	       (double)(b->s1.cpu_ns - b->s0.cpu_ns) / 1e6,
	       (double)(b->s1.cpu_ns - b->s0.cpu_ns) / 1e6 / n,
	       100.0 * (double)(b->s1.cpu_ns - b->s0.cpu_ns) / 1e9 / el,
	       (double)(b->s1.client_cpu_ns - b->s0.client_cpu_ns) / 1e6 / n);
	if (verify_path) {
		uint64_t wrong;
		unsigned max_diff;

		if (verify(cl, verify_path, &wrong, &max_diff) == 0)
			printf(" verify_wrong=%llu verify_max_diff=%u",
			       (unsigned long long)wrong, max_diff);
	}
	printf("\n");
	if (!b->have_server_clock)
		fprintf(stderr, "vfbd-encbench: no --pid: CPU figures are 0\n");
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return 0;
fail:
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return 1;
}
