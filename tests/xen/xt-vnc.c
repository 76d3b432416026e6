/* xt-vnc: the host's VNC client in the Xen end-to-end test (tests/xen/),
 * built with libvncclient by tests/xen/build-env (not by the Makefile).
 *
 *   xt-vnc HOST:PORT [--connect-timeout SEC] [--max-time SEC]
 *          [--encodings "tight zrle ..."]
 *
 * It connects, retrying until --connect-timeout (default 120 s): QEMU's
 * forward accepts a connection and drops it again while nothing listens
 * in dom0. Then it keeps ONE connection and runs commands from stdin, one
 * a line, answering each with one line that starts with "ok" or "fail":
 *
 *   expect SEED W H SEC  wait until the screen is W x H and every pixel
 *                        is pattern.h's image for SEED
 *   type TEXT            key presses and releases for TEXT (US layout;
 *                        upper case with Shift, as a viewer sends it)
 *   enter                Return
 *   rtt CHAR SEC         press CHAR, wait until the guest's key box shows
 *                        that key's colour, release; the round trip in ms
 *   save FILE            the screen as binary PPM
 *   info                 size, updates and resizes so far
 *   quit
 *
 * Lines it prints on its own: "connected port=P attempts=N ms=M wall=W"
 * and "closed ms=M wall=W" when the server ends the connection (then it
 * exits 3). ms counts from the start, wall is the epoch in ms. The whole
 * run ends after --max-time (default 600 s), whatever it is blocked in.
 * --encodings is libvncclient's list (default: all it decodes, the
 * server picks); JPEG is never requested, so every pixel must be exact. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rfb/rfbclient.h>

#include "pattern.h"

static long t_start;
static char last_err[256];
static unsigned long updates, resizes;
static int cur_w, cur_h;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_alarm(int sig)
{
	static const char msg[] = "fail max-time reached\n";
	ssize_t n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);

	(void)sig;
	(void)n;
	_exit(4);
}

static void quiet_log(const char *format, ...)
{
	(void)format;
}

static void keep_err(const char *format, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, format);
	vsnprintf(last_err, sizeof(last_err), format, ap);
	va_end(ap);
	n = strlen(last_err);
	while (n > 0 && (last_err[n - 1] == '\n' || last_err[n - 1] == '\r'))
		last_err[--n] = '\0';
}

static rfbBool alloc_fb(rfbClient *cl)
{
	size_t n = (size_t)cl->width * (size_t)cl->height * 4;

	free(cl->frameBuffer);
	cl->frameBuffer = calloc(1, n ? n : 4);
	if (cur_w || cur_h)
		resizes++;
	cur_w = cl->width;
	cur_h = cl->height;
	return cl->frameBuffer != NULL;
}

static void finished(rfbClient *cl)
{
	(void)cl;
	updates++;
}

static uint32_t rgb_at(rfbClient *cl, int x, int y)
{
	const uint8_t *p = cl->frameBuffer + ((size_t)y * cl->width + x) * 4;
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	return (v >> cl->format.redShift & 0xffu) << 16 |
	       (v >> cl->format.greenShift & 0xffu) << 8 |
	       (v >> cl->format.blueShift & 0xffu);
}

static void closed(void)
{
	printf("closed ms=%ld wall=%lld\n", mono_ms() - t_start, wall_ms());
	exit(3);
}

/* Handles what the server sent within `wait_ms`; exits when it closed. */
static void pump(rfbClient *cl, int wait_ms)
{
	int n;

	/* A message that came with the previous one sits in libvncclient's
	 * buffer, where WaitForMessage does not look. */
	if (cl->buffered > 0)
		n = 1;
	else
		n = WaitForMessage(cl, (unsigned)wait_ms * 1000u);
	if (n < 0 || (n > 0 && !HandleRFBServerMessage(cl)))
		closed();
}

static const char *encodings;

static rfbClient *connect_once(const char *host, int port)
{
	rfbClient *cl = rfbGetClient(8, 3, 4);

	if (!cl)
		return NULL;
	free(cl->serverHost);
	cl->serverHost = strdup(host);
	cl->serverPort = port;
	cl->MallocFrameBuffer = alloc_fb;
	cl->FinishedFrameBufferUpdate = finished;
	cl->canHandleNewFBSize = TRUE;
	/* Pixel-exact: never ask for JPEG. */
	cl->appData.enableJPEG = FALSE;
	if (encodings)
		cl->appData.encodingsString = encodings;
	cur_w = cur_h = 0;
	/* rfbInitClient frees the client when it fails. */
	if (!rfbInitClient(cl, NULL, NULL))
		return NULL;
	return cl;
}

/* Counts the pixels that differ from the image; the first one in *fx,
 * *fy. */
static size_t diff(rfbClient *cl, unsigned seed, int *fx, int *fy)
{
	size_t bad = 0;

	for (int y = 0; y < cl->height; y++)
		for (int x = 0; x < cl->width; x++)
			if (rgb_at(cl, x, y) !=
			    xt_pixel((unsigned)x, (unsigned)y,
				     (unsigned)cl->width, (unsigned)cl->height,
				     seed)) {
				if (!bad++) {
					*fx = x;
					*fy = y;
				}
			}
	return bad;
}

static void cmd_expect(rfbClient *cl, unsigned seed, int w, int h,
		       unsigned secs)
{
	long t0 = mono_ms(), deadline = t0 + (long)secs * 1000L;
	long last_ask = t0;
	unsigned long seen = (unsigned long)-1;
	size_t bad = 0;
	int fx = 0, fy = 0;

	for (;;) {
		if (updates != seen) {
			seen = updates;
			if (cl->width == w && cl->height == h) {
				bad = diff(cl, seed, &fx, &fy);
				if (bad == 0) {
					printf("ok expect ms=%ld wall=%lld "
					       "updates=%lu resizes=%lu\n",
					       mono_ms() - t0, wall_ms(),
					       updates, resizes);
					return;
				}
			}
		}
		if (mono_ms() >= deadline)
			break;
		/* Nothing new for a while: ask for the whole screen, in case
		 * an update was lost on the way. */
		if (mono_ms() - last_ask > 2000) {
			SendFramebufferUpdateRequest(cl, 0, 0, cl->width,
						     cl->height, FALSE);
			last_ask = mono_ms();
		}
		pump(cl, 100);
	}
	if (cl->width != w || cl->height != h)
		printf("fail expect screen is %dx%d, not %dx%d, after %u s "
		       "(updates=%lu resizes=%lu)\n",
		       cl->width, cl->height, w, h, secs, updates, resizes);
	else
		printf("fail expect %zu of %d pixels differ after %u s, first "
		       "at (%d,%d): got %06x want %06x (updates=%lu)\n",
		       bad, w * h, secs, fx, fy, rgb_at(cl, fx, fy),
		       xt_pixel((unsigned)fx, (unsigned)fy, (unsigned)w,
				(unsigned)h, seed),
		       updates);
}

static int send_key(rfbClient *cl, uint32_t keysym, int down)
{
	return SendKeyEvent(cl, keysym, down ? TRUE : FALSE) ? 0 : -1;
}

static void cmd_type(rfbClient *cl, const char *text)
{
	for (const char *p = text; *p; p++) {
		int upper = *p >= 'A' && *p <= 'Z';
		int rc = 0;

		if (upper)
			rc |= send_key(cl, XK_Shift_L, 1);
		rc |= send_key(cl, (uint32_t)(unsigned char)*p, 1);
		rc |= send_key(cl, (uint32_t)(unsigned char)*p, 0);
		if (upper)
			rc |= send_key(cl, XK_Shift_L, 0);
		if (rc) {
			printf("fail type cannot send\n");
			return;
		}
		pump(cl, 20);
	}
	printf("ok type\n");
}

static int keybox_is(rfbClient *cl, uint32_t rgb)
{
	if (cl->width < (int)(XT_KEYBOX_X + XT_KEYBOX_SIZE) ||
	    cl->height < (int)(XT_KEYBOX_Y + XT_KEYBOX_SIZE))
		return 0;
	for (unsigned y = XT_KEYBOX_Y; y < XT_KEYBOX_Y + XT_KEYBOX_SIZE; y++)
		for (unsigned x = XT_KEYBOX_X; x < XT_KEYBOX_X + XT_KEYBOX_SIZE;
		     x++)
			if (rgb_at(cl, (int)x, (int)y) != rgb)
				return 0;
	return 1;
}

static void cmd_rtt(rfbClient *cl, char c, unsigned secs)
{
	unsigned code = xt_char_to_key(c);
	uint32_t want = xt_keybox(code);
	long t0, deadline;

	if (!code || (c >= 'A' && c <= 'Z')) {
		printf("fail rtt no key for '%c'\n", c);
		return;
	}
	if (keybox_is(cl, want)) {
		printf("fail rtt the key box already shows key %u\n", code);
		return;
	}
	t0 = mono_ms();
	deadline = t0 + (long)secs * 1000L;
	if (send_key(cl, (uint32_t)(unsigned char)c, 1) < 0) {
		printf("fail rtt cannot send\n");
		return;
	}
	while (!keybox_is(cl, want)) {
		if (mono_ms() >= deadline) {
			send_key(cl, (uint32_t)(unsigned char)c, 0);
			printf("fail rtt key %u not echoed within %u s\n", code,
			       secs);
			return;
		}
		pump(cl, 20);
	}
	printf("ok rtt ms=%ld key=%u\n", mono_ms() - t0, code);
	send_key(cl, (uint32_t)(unsigned char)c, 0);
}

static void cmd_save(rfbClient *cl, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		printf("fail save %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "P6\n%d %d\n255\n", cl->width, cl->height);
	for (int y = 0; y < cl->height; y++)
		for (int x = 0; x < cl->width; x++) {
			uint32_t v = rgb_at(cl, x, y);

			fputc((int)(v >> 16 & 0xff), f);
			fputc((int)(v >> 8 & 0xff), f);
			fputc((int)(v & 0xff), f);
		}
	if (fclose(f) != 0)
		printf("fail save %s: %s\n", path, strerror(errno));
	else
		printf("ok save\n");
}

/* One command line; returns 0 after quit. */
static int command(rfbClient *cl, char *line)
{
	unsigned seed, secs;
	int w, h;
	char c;

	if (sscanf(line, "expect %u %d %d %u", &seed, &w, &h, &secs) == 4)
		cmd_expect(cl, seed, w, h, secs);
	else if (strncmp(line, "type ", 5) == 0)
		cmd_type(cl, line + 5);
	else if (strcmp(line, "enter") == 0)
		printf(send_key(cl, XK_Return, 1) || send_key(cl, XK_Return, 0)
			       ? "fail enter\n"
			       : "ok enter\n");
	else if (sscanf(line, "rtt %c %u", &c, &secs) == 2)
		cmd_rtt(cl, c, secs);
	else if (strncmp(line, "save ", 5) == 0)
		cmd_save(cl, line + 5);
	else if (strcmp(line, "info") == 0)
		printf("ok info size=%dx%d updates=%lu resizes=%lu\n",
		       cl->width, cl->height, updates, resizes);
	else if (strcmp(line, "quit") == 0)
		return 0;
	else
		printf("fail unknown command \"%s\"\n", line);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned connect_secs = 120, max_secs = 600;
	const char *addr = NULL;
	char host[256], *colon, buf[1024];
	size_t len = 0;
	struct sockaddr_in local;
	socklen_t sl = sizeof(local);
	rfbClient *cl = NULL;
	long deadline;
	int port, attempts = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--connect-timeout") == 0 && i + 1 < argc)
			connect_secs = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--encodings") == 0 && i + 1 < argc)
			encodings = argv[++i];
		else if (strcmp(argv[i], "--max-time") == 0 && i + 1 < argc)
			max_secs = (unsigned)atoi(argv[++i]);
		else if (!addr && argv[i][0] != '-')
			addr = argv[i];
		else
			addr = NULL, i = argc;
	}
	colon = addr ? strrchr(addr, ':') : NULL;
	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host) ||
	    (port = atoi(colon + 1)) <= 0 || connect_secs == 0 ||
	    max_secs == 0) {
		fprintf(stderr, "usage: xt-vnc HOST:PORT [--connect-timeout "
				"SEC] [--max-time SEC] [--encodings LIST]\n");
		return 1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(max_secs);
	rfbClientLog = quiet_log;
	rfbClientErr = keep_err;
	t_start = mono_ms();
	deadline = t_start + (long)connect_secs * 1000L;
	while (!cl) {
		attempts++;
		cl = connect_once(host, port);
		if (cl)
			break;
		if (mono_ms() >= deadline) {
			printf("fail connect %s: no RFB server within %u s "
			       "(%d attempts; last error: %s)\n",
			       addr, connect_secs, attempts,
			       last_err[0] ? last_err : "none");
			return 2;
		}
		usleep(300000);
	}
	if (getsockname(cl->sock, (struct sockaddr *)&local, &sl) < 0)
		local.sin_port = 0;
	printf("connected port=%u attempts=%d ms=%ld wall=%lld\n",
	       ntohs(local.sin_port), attempts, mono_ms() - t_start, wall_ms());

	for (;;) {
		struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
				      {.fd = cl->sock, .events = POLLIN}};
		char *nl;
		ssize_t n;

		if (cl->buffered > 0) {
			pump(cl, 0);
			continue;
		}
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents)
			pump(cl, 0);
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(0, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0; /* stdin closed: same as quit */
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!command(cl, buf))
				return 0;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
}
