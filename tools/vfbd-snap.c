/* vfbd-snap: takes one snapshot of a VNC server's screen with libvncclient
 * and writes it as a binary PPM (P6).
 *
 *   vfbd-snap HOST:PORT OUT.ppm [--password-file FILE] [--timeout SEC]
 *
 * HOST:PORT may also be [IPV6]:PORT or unix:PATH. The client offers every
 * encoding libvncclient decodes and lets the server choose, asks for the
 * whole screen and waits until every pixel has arrived, asking again if a
 * server answers a full request with less. Exit status: 0 with the file
 * written, 1 on usage errors, 2 when no snapshot could be taken (a
 * message on stderr says why). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include "net/rfb-auth.h"

#define SNAP_DEFAULT_TIMEOUT 10u
#define SNAP_MAX_TIMEOUT     3600u

struct snap {
	const char *addr;
	/* The client's frameBuffer, which libvncclient never frees: kept
	 * here too because a failed rfbInitClient frees the client. */
	uint8_t *fb;
	bool have_password;
	char password[RFB_AUTH_PASSWORD_MAX + 1];
	/* One byte per pixel, set once a rectangle has covered it; reset
	 * whenever the framebuffer is (re)allocated. */
	uint8_t *covered;
	size_t uncovered;
	int updates;
};

static int snap_tag;
static char timeout_msg[160];

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfbd-snap HOST:PORT OUT.ppm [--password-file FILE] "
		"[--timeout SEC]\n"
		"Connect to a VNC server, wait for one full frame and write it "
		"to OUT.ppm\n(binary PPM). HOST:PORT may be [IPV6]:PORT or "
		"unix:PATH. The password file\nis a vncpasswd file or text "
		"whose first line is the password. The whole\nsnapshot must "
		"finish within --timeout seconds (default %u).\n",
		SNAP_DEFAULT_TIMEOUT);
}

/* libvncclient says why a handshake failed (authentication refused, the
 * server's reason string) only through its chatty info log, so the last
 * line is kept for the error message instead of being printed. */
static char last_log[256];

__attribute__((format(printf, 1, 2))) static void keep_log(const char *format,
							   ...)
{
	va_list ap;
	size_t n;

	va_start(ap, format);
	vsnprintf(last_log, sizeof(last_log), format, ap);
	va_end(ap);
	n = strlen(last_log);
	while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == '\r'))
		last_log[--n] = '\0';
}

/* libvncclient's errors, without its timestamps, marked as ours. */
__attribute__((format(printf, 1, 2))) static void error_log(const char *format,
							    ...)
{
	va_list ap;

	fputs("vfbd-snap: libvncclient: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
}

/* The last word on a stuck server or handshake: whatever libvncclient is
 * blocked in, the process ends with a message. Only async-signal-safe
 * calls here. */
static void on_alarm(int sig)
{
	ssize_t n = write(STDERR_FILENO, timeout_msg, strlen(timeout_msg));

	(void)n;
	_exit(2);
}

static struct snap *snap_of(rfbClient *cl)
{
	return rfbClientGetClientData(cl, &snap_tag);
}

static char *get_password(rfbClient *cl)
{
	struct snap *s = snap_of(cl);

	if (!s->have_password) {
		fprintf(stderr,
			"vfbd-snap: %s asks for a password; use "
			"--password-file\n",
			s->addr);
		return NULL;
	}
	/* libvncclient frees what this returns. */
	return strdup(s->password);
}

static rfbBool alloc_framebuffer(rfbClient *cl)
{
	struct snap *s = snap_of(cl);
	size_t pixels = (size_t)cl->width * (size_t)cl->height;

	free(cl->frameBuffer);
	free(s->covered);
	cl->frameBuffer = malloc(pixels ? pixels * 4 : 1);
	s->fb = cl->frameBuffer;
	s->covered = calloc(pixels ? pixels : 1, 1);
	s->uncovered = pixels;
	if (!cl->frameBuffer || !s->covered) {
		fprintf(stderr, "vfbd-snap: out of memory for %dx%d\n",
			cl->width, cl->height);
		return FALSE;
	}
	return TRUE;
}

static void got_rect(rfbClient *cl, int x, int y, int w, int h)
{
	struct snap *s = snap_of(cl);

	/* A server may send rectangles outside the frame; libvncclient
	 * rejects most of them, and the rest count for nothing here. */
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x >= cl->width ||
	    y >= cl->height)
		return;
	if (w > cl->width - x)
		w = cl->width - x;
	if (h > cl->height - y)
		h = cl->height - y;
	for (int row = y; row < y + h; row++) {
		uint8_t *c = s->covered + (size_t)row * cl->width + x;

		for (int i = 0; i < w; i++) {
			s->uncovered -= !c[i];
			c[i] = 1;
		}
	}
}

static void finished_update(rfbClient *cl)
{
	snap_of(cl)->updates++;
}

/* Splits HOST:PORT, [HOST]:PORT or unix:PATH into what libvncclient
 * wants: a host (or socket path, which it recognises by stat) and a
 * port. Returns a malloc'd host or NULL. */
static char *parse_addr(const char *addr, int *port)
{
	const char *colon, *host = addr;
	size_t host_len;
	char *end;
	long p;

	if (strncmp(addr, "unix:", 5) == 0) {
		*port = 0;
		return addr[5] ? strdup(addr + 5) : NULL;
	}
	colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		return NULL;
	host_len = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (host_len < 3 || addr[host_len - 1] != ']')
			return NULL;
		host = addr + 1;
		host_len -= 2;
	} else if (memchr(addr, ':', host_len)) {
		/* A bare IPv6 address would be ambiguous. */
		return NULL;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
		return NULL;
	*port = (int)p;
	return strndup(host, host_len);
}

/* Writes the client's framebuffer (the 32-bit format set in main) as P6;
 * 0 or -errno. */
static int write_ppm(const rfbClient *cl, const char *path)
{
	const rfbPixelFormat *pf = &cl->format;
	size_t w = (size_t)cl->width;
	uint8_t *row;
	FILE *f;
	int err = 0;

	row = malloc(w ? w * 3 : 1);
	if (!row)
		return -ENOMEM;
	f = fopen(path, "wb");
	if (!f) {
		err = -errno;
		goto err_open;
	}
	errno = 0;
	if (fprintf(f, "P6\n%d %d\n255\n", cl->width, cl->height) < 0)
		goto err_write;
	for (int y = 0; y < cl->height; y++) {
		const uint8_t *p = cl->frameBuffer + (size_t)y * w * 4;

		for (size_t x = 0; x < w; x++, p += 4) {
			uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24;

			row[x * 3] = (uint8_t)(v >> pf->redShift);
			row[x * 3 + 1] = (uint8_t)(v >> pf->greenShift);
			row[x * 3 + 2] = (uint8_t)(v >> pf->blueShift);
		}
		if (fwrite(row, 3, w, f) != w)
			goto err_write;
	}
	if (fclose(f) != 0) {
		err = errno ? -errno : -EIO;
		remove(path);
	}
	free(row);
	return err;

err_write:
	err = errno ? -errno : -EIO;
	fclose(f);
	remove(path);
err_open:
	free(row);
	return err;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Handles server messages until every pixel has arrived; 0, or -1 with a
 * message printed. */
static int wait_full_frame(rfbClient *cl, struct snap *s, long deadline)
{
	int seen = 0;

	for (;;) {
		long left = deadline - now_ms();
		int n;

		if (left <= 0) {
			fprintf(stderr, "%s", timeout_msg);
			return -1;
		}
		/* WaitForMessage only looks at the socket: a message that
		 * arrived with the previous one already sits in libvncclient's
		 * buffer and would wait there for more bytes. */
		if (cl->buffered > 0)
			n = 1;
		else
			n = WaitForMessage(cl,
					   left > 100 ? 100000u
						      : (unsigned)left * 1000u);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(cl))) {
			fprintf(stderr,
				"vfbd-snap: %s: connection lost before a "
				"full frame arrived\n",
				s->addr);
			return -1;
		}
		if (s->updates == seen)
			continue;
		seen = s->updates;
		if (s->uncovered == 0 && cl->width > 0 && cl->height > 0)
			return 0;
		/* Part of the screen is still missing (the server split the
		 * answer, or the screen was resized meanwhile): ask for all of
		 * it again. */
		if (!SendFramebufferUpdateRequest(cl, 0, 0, cl->width,
						  cl->height, FALSE)) {
			fprintf(stderr,
				"vfbd-snap: %s: cannot send a request\n",
				s->addr);
			return -1;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"password-file", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct snap s = {0};
	const char *password_file = NULL, *out_path, *why;
	unsigned long timeout = SNAP_DEFAULT_TIMEOUT;
	struct sigaction sa = {0};
	rfbClient *cl;
	long deadline;
	char *end;
	int c, err, port, status = 2;

	while ((c = getopt_long(argc, argv, "p:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			password_file = optarg;
			break;
		case 't':
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || timeout == 0 ||
			    timeout > SNAP_MAX_TIMEOUT) {
				fprintf(stderr,
					"vfbd-snap: --timeout: expected 1 to "
					"%u seconds\n",
					SNAP_MAX_TIMEOUT);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	s.addr = argv[optind];
	out_path = argv[optind + 1];
	if (password_file) {
		if (rfb_auth_load_password_file(password_file, s.password,
						&why) < 0) {
			fprintf(stderr, "vfbd-snap: --password-file %s: %s\n",
				password_file, why);
			return 1;
		}
		s.have_password = true;
	}

	snprintf(timeout_msg, sizeof(timeout_msg),
		 "vfbd-snap: %s: no full frame within %lu s\n", s.addr,
		 timeout);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	deadline = now_ms() + (long)timeout * 1000;
	alarm((unsigned)timeout);

	/* Connection details go to stderr only when they explain a failure. */
	rfbClientLog = keep_log;
	rfbClientErr = error_log;
	cl = rfbGetClient(8, 3, 4);
	if (!cl) {
		fprintf(stderr, "vfbd-snap: out of memory\n");
		return 2;
	}
	free(cl->serverHost);
	cl->serverHost = parse_addr(s.addr, &port);
	if (!cl->serverHost) {
		fprintf(stderr,
			"vfbd-snap: %s: expected HOST:PORT, [IPV6]:PORT or "
			"unix:PATH\n",
			s.addr);
		rfbClientCleanup(cl);
		return 1;
	}
	cl->serverPort = port;
	/* 32 bits a pixel, each channel a byte at a known shift, whatever
	 * the server's own format. */
	cl->format.bitsPerPixel = 32;
	cl->format.depth = 24;
	cl->format.bigEndian = 0;
	cl->format.trueColour = 1;
	cl->format.redMax = cl->format.greenMax = cl->format.blueMax = 255;
	cl->format.redShift = 16;
	cl->format.greenShift = 8;
	cl->format.blueShift = 0;
	/* Reads need no timeout of their own: SIGALRM ends any wait. */
	cl->connectTimeout = (unsigned)timeout;
	cl->canHandleNewFBSize = TRUE;
	cl->GetPassword = get_password;
	cl->MallocFrameBuffer = alloc_framebuffer;
	cl->GotFrameBufferUpdate = got_rect;
	cl->FinishedFrameBufferUpdate = finished_update;
	rfbClientSetClientData(cl, &snap_tag, &s);

	/* rfbInitClient connects, shakes hands, sets the format and
	 * encodings and asks for the whole screen; on failure it has already
	 * freed the client. */
	if (!rfbInitClient(cl, NULL, NULL)) {
		fprintf(stderr,
			"vfbd-snap: %s: connection or handshake failed%s%s%s\n",
			s.addr, last_log[0] ? " (" : "", last_log,
			last_log[0] ? ")" : "");
		free(s.fb);
		free(s.covered);
		return 2;
	}
	if (wait_full_frame(cl, &s, deadline) < 0)
		goto out;
	alarm(0);

	err = write_ppm(cl, out_path);
	if (err < 0) {
		fprintf(stderr, "vfbd-snap: %s: %s\n", out_path,
			strerror(-err));
		goto out;
	}
	status = 0;
out:
	rfbClientCleanup(cl);
	free(s.fb);
	free(s.covered);
	return status;
}
