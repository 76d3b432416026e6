#include "tests/lib/rawclient.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int raw_local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

int raw_connect_from(struct raw_client *rc, int port, const char *src_ip)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int one = 1;

	memset(rc, 0, sizeof(*rc));
	rc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc->fd < 0)
		return -1;
	if (src_ip) {
		struct sockaddr_in l = {.sin_family = AF_INET};

		if (inet_pton(AF_INET, src_ip, &l.sin_addr) != 1 ||
		    bind(rc->fd, (struct sockaddr *)&l, sizeof(l)) < 0) {
			close(rc->fd);
			rc->fd = -1;
			return -1;
		}
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(rc->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(rc->fd);
		rc->fd = -1;
		return -1;
	}
	setsockopt(rc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc->local_port = raw_local_port(rc->fd);
	return 0;
}

int raw_connect(struct raw_client *rc, int port)
{
	return raw_connect_from(rc, port, NULL);
}

int raw_open(struct raw_client *rc, int port)
{
	if (raw_connect(rc, port) < 0)
		return -1;
	if (raw_read(rc, rc->server_version, 12, 5000) != RAW_OK)
		return -1;
	rc->server_version[12] = '\0';
	return 0;
}

int raw_send(struct raw_client *rc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(rc->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int raw_send_bytewise(struct raw_client *rc, const void *buf, size_t len,
		      unsigned gap_us)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		struct timespec ts = {0, (long)gap_us * 1000L};
		int rc_ = raw_send(rc, p + i, 1);

		if (rc_ < 0)
			return rc_;
		if (gap_us)
			nanosleep(&ts, NULL);
	}
	return 0;
}

/* One recv() with a deadline: > 0 bytes, or a raw_result. */
static ssize_t recv_some(struct raw_client *rc, void *buf, size_t len,
			 long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = rc->fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return RAW_TIMEOUT;
		n = recv(rc->fd, buf, len, 0);
		if (n > 0)
			return n;
		if (n == 0)
			return RAW_EOF;
		if (errno == EINTR || errno == EAGAIN)
			continue;
		return RAW_RESET;
	}
}

enum raw_result raw_read(struct raw_client *rc, void *buf, size_t len,
			 int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv_some(rc, p, len, deadline);

		if (n < 0)
			return (enum raw_result)n;
		p += n;
		len -= (size_t)n;
	}
	return RAW_OK;
}

enum raw_result raw_skip(struct raw_client *rc, size_t len, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	uint8_t scratch[65536];

	while (len > 0) {
		size_t want = len < sizeof(scratch) ? len : sizeof(scratch);
		ssize_t n = recv_some(rc, scratch, want, deadline);

		if (n < 0)
			return (enum raw_result)n;
		len -= (size_t)n;
	}
	return RAW_OK;
}

enum raw_result raw_wait_closed(struct raw_client *rc, int timeout_ms,
				size_t *received)
{
	long deadline = now_ms() + timeout_ms;
	uint8_t scratch[65536];

	if (received)
		*received = 0;
	for (;;) {
		ssize_t n = recv_some(rc, scratch, sizeof(scratch), deadline);

		if (n < 0)
			return (enum raw_result)n;
		if (received)
			*received += (size_t)n;
	}
}

bool raw_quiet_for(struct raw_client *rc, int ms)
{
	uint8_t b;

	return recv_some(rc, &b, 1, now_ms() + ms) == RAW_TIMEOUT;
}

/* The security part of the handshake, after the version was sent. */
static int raw_security(struct raw_client *rc, int minor, const char *password)
{
	uint8_t b[4], want = password ? 2 : 1;
	bool offered = false;

	if (minor == 3) {
		if (raw_read(rc, b, 4, 5000) != RAW_OK || get32(b) != want)
			return -1;
	} else {
		uint8_t types[255];

		if (raw_read(rc, b, 1, 5000) != RAW_OK || b[0] == 0 ||
		    raw_read(rc, types, b[0], 5000) != RAW_OK)
			return -1;
		for (unsigned i = 0; i < b[0]; i++)
			offered |= types[i] == want;
		if (!offered || raw_send(rc, &want, 1) < 0)
			return -1;
	}
	if (want == 2) {
		uint8_t resp[16];

		if (raw_read(rc, rc->challenge, 16, 5000) != RAW_OK)
			return -1;
		memcpy(resp, rc->challenge, 16);
		rfbEncryptBytes(resp, (char *)password);
		if (raw_send(rc, resp, 16) < 0)
			return -1;
	}
	/* 3.3 and 3.7 send no SecurityResult for None. */
	if (want == 2 || minor == 8) {
		if (raw_read(rc, b, 4, 5000) != RAW_OK || get32(b) != 0)
			return -1;
	}
	return 0;
}

int raw_read_server_init(struct raw_client *rc)
{
	uint8_t init[24];
	uint32_t name_len;

	if (raw_read(rc, init, sizeof(init), 5000) != RAW_OK)
		return -1;
	rc->width = get16(init);
	rc->height = get16(init + 2);
	name_len = get32(init + 20);
	if (name_len > 4096 || raw_skip(rc, name_len, 5000) != RAW_OK)
		return -1;
	return 0;
}

int raw_handshake_as(struct raw_client *rc, const char *version, int minor,
		     const char *password, bool shared)
{
	uint8_t flag = shared ? 1 : 0;

	if (raw_send(rc, version, 12) < 0 ||
	    raw_security(rc, minor, password) < 0 || raw_send(rc, &flag, 1) < 0)
		return -1;
	return raw_read_server_init(rc);
}

int raw_handshake(struct raw_client *rc, int minor, const char *password,
		  bool shared)
{
	char version[32];

	snprintf(version, sizeof(version), "RFB 003.00%d\n", minor);
	return raw_handshake_as(rc, version, minor, password, shared);
}

int raw_read_update(struct raw_client *rc, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	uint8_t h[12];
	unsigned n;

	for (;;) {
		long left = deadline - now_ms();

		if (raw_read(rc, h, 1, left > 0 ? (int)left : 0) != RAW_OK)
			return -1;
		if (h[0] == 0)
			break;
		if (h[0] == 2) /* Bell */
			continue;
		if (h[0] != 3) /* ServerCutText; anything else is wrong */
			return -1;
		if (raw_read(rc, h, 7, 5000) != RAW_OK ||
		    raw_skip(rc, get32(h + 3), 5000) != RAW_OK)
			return -1;
	}
	if (raw_read(rc, h, 3, 5000) != RAW_OK)
		return -1;
	n = get16(h + 1);
	for (unsigned i = 0; i < n; i++) {
		uint16_t x, y, w, hh;
		int32_t enc;

		if (raw_read(rc, h, 12, 5000) != RAW_OK)
			return -1;
		x = get16(h);
		y = get16(h + 2);
		w = get16(h + 4);
		hh = get16(h + 6);
		enc = (int32_t)get32(h + 8);
		if (enc != 0 || (unsigned)x + w > rc->width ||
		    (unsigned)y + hh > rc->height)
			return -1;
		if (raw_skip(rc, (size_t)w * hh * 4, 10000) != RAW_OK)
			return -1;
	}
	return (int)n;
}

void raw_close(struct raw_client *rc)
{
	if (rc->fd >= 0)
		close(rc->fd);
	rc->fd = -1;
}

void raw_abort(struct raw_client *rc)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (rc->fd >= 0)
		setsockopt(rc->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	raw_close(rc);
}

size_t raw_msg_fbur(uint8_t out[10], bool incremental, uint16_t x, uint16_t y,
		    uint16_t w, uint16_t h)
{
	out[0] = 3;
	out[1] = incremental;
	put16(out + 2, x);
	put16(out + 4, y);
	put16(out + 6, w);
	put16(out + 8, h);
	return 10;
}

size_t raw_msg_key(uint8_t out[8], bool down, uint32_t keysym)
{
	out[0] = 4;
	out[1] = down;
	out[2] = out[3] = 0;
	put32(out + 4, keysym);
	return 8;
}

size_t raw_msg_pointer(uint8_t out[6], uint8_t buttons, uint16_t x, uint16_t y)
{
	out[0] = 5;
	out[1] = buttons;
	put16(out + 2, x);
	put16(out + 4, y);
	return 6;
}

size_t raw_msg_cut_header(uint8_t out[8], uint32_t len)
{
	out[0] = 6;
	out[1] = out[2] = out[3] = 0;
	put32(out + 4, len);
	return 8;
}

size_t raw_msg_pixfmt(uint8_t out[20], uint8_t bpp, uint8_t depth, uint8_t be,
		      uint8_t tc, uint16_t rmax, uint16_t gmax, uint16_t bmax,
		      uint8_t rsh, uint8_t gsh, uint8_t bsh)
{
	memset(out, 0, 20);
	out[4] = bpp;
	out[5] = depth;
	out[6] = be;
	out[7] = tc;
	put16(out + 8, rmax);
	put16(out + 10, gmax);
	put16(out + 12, bmax);
	out[14] = rsh;
	out[15] = gsh;
	out[16] = bsh;
	return 20;
}

int raw_log_id(struct vfbd_proc *p, int local_port, int timeout_ms)
{
	char want[64], line[1024];
	long deadline = now_ms() + timeout_ms;

	/* The connected line ends with the peer, so the newline anchors
	 * the port: :4000 must not match :40001. */
	snprintf(want, sizeof(want), ":%d\n", local_port);
	for (;;) {
		FILE *f = fopen(p->log_path, "r");
		int id = -1;

		if (f) {
			while (fgets(line, sizeof(line), f)) {
				char *at =
					strstr(line, " client-connected id=");

				if (at && strstr(line, " peer=") &&
				    strstr(line, want))
					id = atoi(at + strlen(" client-"
							      "connected id="));
			}
			fclose(f);
		}
		if (id >= 0)
			return id;
		if (now_ms() >= deadline)
			return -1;
		usleep(10000);
	}
}

int raw_fd_count(struct vfbd_proc *p)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

bool raw_log_waitf(struct vfbd_proc *p, int timeout_ms, const char *need2,
		   const char *need3, const char *fmt, ...)
{
	char first[256];
	const char *needles[4] = {first, need2, need3, NULL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(first, sizeof(first), fmt, ap);
	va_end(ap);
	return vfbd_log_wait(p, timeout_ms, needles);
}
