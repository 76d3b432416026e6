/* A small RFB client over raw non-blocking TCP, shared by the fault and load
 * tools (vfbd-faultclient, vfbd-stress). It does what a well-behaved viewer
 * does (version 3.8, None or VNC authentication, raw encoding, the server's
 * pixel format) and nothing more, fast and with a deadline on every step,
 * so a tool can measure vfbd instead of itself.
 *
 * Only 127.0.0.0/8 addresses are accepted as targets or local addresses:
 * these tools inject faults and floods and must never leave the host.
 *
 * Everything is static inline because each tools/NAME.c is its own program;
 * the functions a program does not use cost nothing. */
#ifndef VFBD_TOOLS_RFB_TESTCLIENT_H
#define VFBD_TOOLS_RFB_TESTCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/rfb-proto.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

/* Results of the steps below; TC_OK is 0, failures are negative. */
enum tc_result {
	TC_OK = 0,
	TC_CLOSED = -1,	     /* the server closed (FIN or RST) */
	TC_TIMEOUT = -2,     /* the deadline passed */
	TC_REFUSED = -3,     /* zero security types, with a reason */
	TC_AUTH_FAILED = -4, /* SecurityResult failed, with a reason */
	TC_PROTOCOL = -5,    /* bytes no RFB 3.8 server sends */
	TC_SYSTEM = -6,	     /* a local system call failed */
};

struct tc_conn {
	int fd;
	int local_port;
	bool reset;		/* TC_CLOSED came as a reset, not a FIN */
	uint16_t width, height; /* from ServerInit */
	unsigned bpp;		/* bytes per pixel of the server's format */
	char reason[256];	/* the server's reason for TC_REFUSED etc. */
};

static inline const char *tc_result_name(int r)
{
	switch (r) {
	case TC_OK:
		return "ok";
	case TC_CLOSED:
		return "closed";
	case TC_TIMEOUT:
		return "timeout";
	case TC_REFUSED:
		return "refused";
	case TC_AUTH_FAILED:
		return "auth-failed";
	case TC_PROTOCOL:
		return "protocol-error";
	default:
		return "system-error";
	}
}

/* Parses a dotted IPv4 address and insists on the loopback net. */
static inline int tc_loopback_addr(const char *text, struct in_addr *out)
{
	if (inet_pton(AF_INET, text, out) != 1)
		return -EINVAL;
	if ((ntohl(out->s_addr) >> 24) != 127)
		return -EINVAL;
	return 0;
}

static inline int tc_local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* Remaining milliseconds until `deadline_ms` for poll(), at least 0. */
static inline int tc_poll_ms(uint64_t deadline_ms)
{
	uint64_t now = clock_now_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > 60000 ? 60000 : (int)(deadline_ms - now);
}

/* Opens a non-blocking TCP connection to host:port, optionally from
 * `bind_ip` and with a receive buffer of `rcvbuf` bytes (set before the
 * SYN so that the advertised window really is that small; 0 = default).
 * Returns TC_OK with c->fd open, or a failure with c->fd = -1. */
static inline int tc_connect(struct tc_conn *c, const char *host, int port,
			     const char *bind_ip, int rcvbuf,
			     uint64_t deadline_ms)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct pollfd pfd;
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (tc_loopback_addr(host, &to.sin_addr) < 0 || port <= 0 ||
	    port > 65535)
		return TC_SYSTEM;
	to.sin_port = htons((uint16_t)port);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return TC_SYSTEM;
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind_ip) {
		struct sockaddr_in from = {.sin_family = AF_INET};

		if (tc_loopback_addr(bind_ip, &from.sin_addr) < 0 ||
		    bind(c->fd, (struct sockaddr *)&from, sizeof(from)) < 0)
			goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd = (struct pollfd){.fd = c->fd, .events = POLLOUT};
		if (poll(&pfd, 1, tc_poll_ms(deadline_ms)) <= 0) {
			close(c->fd);
			c->fd = -1;
			return TC_TIMEOUT;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err)
			goto fail;
	}
	c->local_port = tc_local_port(c->fd);
	return TC_OK;
fail:
	close(c->fd);
	c->fd = -1;
	return TC_SYSTEM;
}

/* Writes all of buf before the deadline. */
static inline int tc_write(struct tc_conn *c, const void *buf, size_t len,
			   uint64_t deadline_ms)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			c->reset = errno == ECONNRESET;
			return TC_CLOSED;
		}
		if (poll(&pfd, 1, tc_poll_ms(deadline_ms)) == 0)
			return TC_TIMEOUT;
	}
	return TC_OK;
}

/* Reads exactly len bytes before the deadline; buf NULL discards them. */
static inline int tc_read(struct tc_conn *c, void *buf, size_t len,
			  uint64_t deadline_ms)
{
	uint8_t scratch[65536];
	uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		size_t want = len;
		ssize_t n;

		if (!p && want > sizeof(scratch))
			want = sizeof(scratch);
		n = recv(c->fd, p ? p : scratch, want, 0);
		if (n > 0) {
			if (p)
				p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return TC_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			c->reset = errno == ECONNRESET;
			return TC_CLOSED;
		}
		if (poll(&pfd, 1, tc_poll_ms(deadline_ms)) == 0)
			return TC_TIMEOUT;
	}
	return TC_OK;
}

/* Reads a u32 length and that many bytes of reason text into c->reason. */
static inline int tc_read_reason(struct tc_conn *c, uint64_t deadline_ms)
{
	uint8_t b[4];
	uint32_t len, keep;
	int rc;

	c->reason[0] = '\0';
	rc = tc_read(c, b, 4, deadline_ms);
	if (rc < 0)
		return rc;
	len = get_be32(b);
	if (len > 65536)
		return TC_PROTOCOL;
	keep = len < sizeof(c->reason) - 1 ? len : sizeof(c->reason) - 1;
	rc = tc_read(c, c->reason, keep, deadline_ms);
	if (rc < 0)
		return rc;
	c->reason[keep] = '\0';
	return tc_read(c, NULL, len - keep, deadline_ms);
}

/* The RFB 3.8 handshake up to and including ServerInit. `password` NULL
 * (or empty) picks security type None; otherwise VNC authentication. */
static inline int tc_handshake(struct tc_conn *c, const char *password,
			       bool shared, uint64_t deadline_ms)
{
	static const char version[] = "RFB 003.008\n";
	uint8_t b[64], types[255], n, want, init[24];
	bool offered = false;
	int rc;

	want = password && password[0] ? RFB_SEC_VNC_AUTH : RFB_SEC_NONE;
	rc = tc_read(c, b, RFB_VERSION_LEN, deadline_ms);
	if (rc < 0)
		return rc;
	if (memcmp(b, "RFB 003.", 8) != 0)
		return TC_PROTOCOL;
	rc = tc_write(c, version, RFB_VERSION_LEN, deadline_ms);
	if (rc < 0)
		return rc;
	rc = tc_read(c, &n, 1, deadline_ms);
	if (rc < 0)
		return rc;
	if (n == 0) {
		rc = tc_read_reason(c, deadline_ms);
		return rc < 0 ? rc : TC_REFUSED;
	}
	rc = tc_read(c, types, n, deadline_ms);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n; i++)
		offered |= types[i] == want;
	if (!offered)
		return TC_PROTOCOL;
	rc = tc_write(c, &want, 1, deadline_ms);
	if (rc < 0)
		return rc;
	if (want == RFB_SEC_VNC_AUTH) {
		char key[9] = {0};

		rc = tc_read(c, b, RFB_VNC_CHALLENGE_LEN, deadline_ms);
		if (rc < 0)
			return rc;
		strncpy(key, password, sizeof(key) - 1);
		rfbEncryptBytes(b, key);
		rc = tc_write(c, b, RFB_VNC_CHALLENGE_LEN, deadline_ms);
		if (rc < 0)
			return rc;
	}
	rc = tc_read(c, b, 4, deadline_ms);
	if (rc < 0)
		return rc;
	if (get_be32(b) != 0) {
		rc = tc_read_reason(c, deadline_ms);
		return rc == TC_OK || rc == TC_CLOSED ? TC_AUTH_FAILED : rc;
	}
	b[0] = shared ? 1 : 0;
	rc = tc_write(c, b, 1, deadline_ms);
	if (rc < 0)
		return rc;
	/* ServerInit: width, height, 16-byte pixel format, name. */
	rc = tc_read(c, init, 24, deadline_ms);
	if (rc < 0)
		return rc;
	c->width = get_be16(init);
	c->height = get_be16(init + 2);
	c->bpp = init[4] / 8u;
	if (c->bpp != 1 && c->bpp != 2 && c->bpp != 4)
		return TC_PROTOCOL;
	rc = tc_read(c, NULL, get_be32(init + 20), deadline_ms);
	if (rc < 0)
		return rc;
	/* Raw only: the tools count pixels, they do not decode. */
	memset(b, 0, 8);
	b[0] = RFB_C2S_SET_ENCODINGS;
	put_be16(b + 2, 1);
	put_be32(b + 4, RFB_ENC_RAW);
	return tc_write(c, b, 8, deadline_ms);
}

/* Sends a FramebufferUpdateRequest for the whole framebuffer. */
static inline int tc_request(struct tc_conn *c, bool incremental,
			     uint64_t deadline_ms)
{
	uint8_t m[10];

	m[0] = RFB_C2S_UPDATE_REQUEST;
	m[1] = incremental ? 1 : 0;
	put_be16(m + 2, 0);
	put_be16(m + 4, 0);
	put_be16(m + 6, c->width);
	put_be16(m + 8, c->height);
	return tc_write(c, m, sizeof(m), deadline_ms);
}

static inline int tc_pointer(struct tc_conn *c, uint16_t x, uint16_t y,
			     uint8_t buttons, uint64_t deadline_ms)
{
	uint8_t m[6];

	m[0] = RFB_C2S_POINTER_EVENT;
	m[1] = buttons;
	put_be16(m + 2, x);
	put_be16(m + 4, y);
	return tc_write(c, m, sizeof(m), deadline_ms);
}

/* Reads server messages until one FramebufferUpdate is complete; Bell and
 * ServerCutText in front of it are skipped. *area gets the pixels its
 * rects cover (a full frame covers width x height). */
static inline int tc_read_update(struct tc_conn *c, uint64_t *area,
				 uint64_t deadline_ms)
{
	uint8_t h[12];
	int rc;

	*area = 0;
	for (;;) {
		rc = tc_read(c, h, 1, deadline_ms);
		if (rc < 0)
			return rc;
		if (h[0] == RFB_S2C_FRAMEBUFFER_UPDATE)
			break;
		if (h[0] == RFB_S2C_BELL)
			continue;
		if (h[0] != RFB_S2C_SERVER_CUT_TEXT)
			return TC_PROTOCOL;
		rc = tc_read(c, h, 7, deadline_ms);
		if (rc < 0)
			return rc;
		rc = tc_read(c, NULL, get_be32(h + 3), deadline_ms);
		if (rc < 0)
			return rc;
	}
	rc = tc_read(c, h, 3, deadline_ms);
	if (rc < 0)
		return rc;
	for (unsigned n = get_be16(h + 1); n > 0; n--) {
		uint32_t w, hh;
		int32_t enc;

		rc = tc_read(c, h, 12, deadline_ms);
		if (rc < 0)
			return rc;
		w = get_be16(h + 4);
		hh = get_be16(h + 6);
		enc = get_be32s(h + 8);
		if (enc == RFB_ENC_DESKTOP_SIZE) {
			c->width = (uint16_t)w;
			c->height = (uint16_t)hh;
			continue;
		}
		if (enc != RFB_ENC_RAW)
			return TC_PROTOCOL;
		rc = tc_read(c, NULL, (size_t)w * hh * c->bpp, deadline_ms);
		if (rc < 0)
			return rc;
		*area += (uint64_t)w * hh;
	}
	return TC_OK;
}

/* Closes the socket: orderly (FIN) or abortively (RST, SO_LINGER 0). */
static inline void tc_close(struct tc_conn *c, bool abortive)
{
	if (c->fd < 0)
		return;
	if (abortive) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
}

#endif
