/* A tiny blocking RFB client over raw TCP for tests that must send what
 * no real client would: bad versions, security types that were not
 * offered, hostile lengths, one byte per write. Every read has a timeout,
 * and the end of the connection (FIN or RST) is reported as such, so a
 * test can tell "the server closed me" from "the server said nothing". */
#ifndef VFBD_TESTS_RAWCLIENT_H
#define VFBD_TESTS_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/spawn.h"

struct raw_client {
	int fd;
	int local_port;		 /* our end, as vfbd logs it in peer= */
	char server_version[13]; /* "RFB 003.008\n" once read */
	uint16_t width, height;	 /* from ServerInit, after raw_handshake */
	uint8_t challenge[16];	 /* the last VNC auth challenge read */
};

/* Results of the read helpers. */
enum raw_result {
	RAW_OK = 0,
	RAW_EOF = -1,	  /* orderly close (FIN) before all bytes came */
	RAW_RESET = -2,	  /* connection reset (RST) or other socket error */
	RAW_TIMEOUT = -3, /* nothing more within the timeout */
};

/* Connects to 127.0.0.1:port with TCP_NODELAY (so that separate writes
 * leave as separate segments). Does not read anything. Returns 0 or -1. */
int raw_connect(struct raw_client *rc, int port);

/* The same from a chosen local address (any of 127.0.0.0/8 works on
 * Linux without setup), to look like a different host. */
int raw_connect_from(struct raw_client *rc, int port, const char *src_ip);

/* raw_connect() plus reading the server's 12-byte ProtocolVersion into
 * rc->server_version. Returns 0, or -1 if it did not come within 5 s. */
int raw_open(struct raw_client *rc, int port);

/* Writes all of buf. Returns 0, or -errno (EPIPE, ECONNRESET) when the
 * server has already closed; never raises SIGPIPE. */
int raw_send(struct raw_client *rc, const void *buf, size_t len);

/* Writes buf one byte per send(), pausing `gap_us` between bytes so that
 * the server sees them in separate reads. */
int raw_send_bytewise(struct raw_client *rc, const void *buf, size_t len,
		      unsigned gap_us);

/* Reads exactly len bytes within timeout_ms (overall). */
enum raw_result raw_read(struct raw_client *rc, void *buf, size_t len,
			 int timeout_ms);

/* Reads and throws away exactly len bytes. */
enum raw_result raw_skip(struct raw_client *rc, size_t len, int timeout_ms);

/* Waits until the server closes the connection, discarding anything it
 * sends meanwhile; *received (may be NULL) counts those bytes. Returns
 * RAW_EOF or RAW_RESET when closed, RAW_TIMEOUT when still open. */
enum raw_result raw_wait_closed(struct raw_client *rc, int timeout_ms,
				size_t *received);

/* True when nothing arrives within `ms` and the connection is still open. */
bool raw_quiet_for(struct raw_client *rc, int ms);

/* Completes an RFB handshake as a well-behaved client would, for the
 * tests that need to be past it: sends "RFB 003.00<minor>\n" (minor 3, 7
 * or 8), picks security type 1 (None) or 2 (VNC auth with `password`),
 * sends ClientInit with `shared` and reads ServerInit (width, height,
 * pixel format, name). raw_open() must have been called. Returns 0, or -1
 * at the first unexpected byte. */
int raw_handshake(struct raw_client *rc, int minor, const char *password,
		  bool shared);

/* The same, sending `version` (12 bytes, e.g. "RFB 003.889\n") and then
 * speaking protocol 3.`minor` as the server should have understood it. */
int raw_handshake_as(struct raw_client *rc, const char *version, int minor,
		     const char *password, bool shared);

/* Reads ServerInit; fills width and height. Returns 0 or -1. */
int raw_read_server_init(struct raw_client *rc);

/* Reads one FramebufferUpdate of raw rects in a 32-bpp format and checks
 * that every rect lies inside width x height. Returns the number of rects,
 * or -1 on a bad or missing message. Bell and ServerCutText messages in
 * front of it are skipped. */
int raw_read_update(struct raw_client *rc, int timeout_ms);

/* Closes the socket: orderly (FIN), or abortively (RST via SO_LINGER 0). */
void raw_close(struct raw_client *rc);
void raw_abort(struct raw_client *rc);

/* Message builders (RFC 6143 section 7.5); each returns the length. */
size_t raw_msg_fbur(uint8_t out[10], bool incremental, uint16_t x, uint16_t y,
		    uint16_t w, uint16_t h);
size_t raw_msg_key(uint8_t out[8], bool down, uint32_t keysym);
size_t raw_msg_pointer(uint8_t out[6], uint8_t buttons, uint16_t x, uint16_t y);
size_t raw_msg_cut_header(uint8_t out[8], uint32_t len);
/* SetPixelFormat: bpp, depth, big-endian, true-colour, maxes, shifts. */
size_t raw_msg_pixfmt(uint8_t out[20], uint8_t bpp, uint8_t depth, uint8_t be,
		      uint8_t tc, uint16_t rmax, uint16_t gmax, uint16_t bmax,
		      uint8_t rsh, uint8_t gsh, uint8_t bsh);

/* The id vfbd gave the connection whose client end has port local_port
 * (the last "client-connected" line with a peer on that port), waiting
 * up to timeout_ms for the line. Returns the id or -1. */
int raw_log_id(struct vfbd_proc *p, int local_port, int timeout_ms);

/* The local port of a connected socket, or -1. */
int raw_local_port(int fd);

/* The number of open file descriptors of a process, or -1. */
int raw_fd_count(struct vfbd_proc *p);

/* A log line of vfbd: waits for a line that has every one of the given
 * substrings, the first being formatted with printf. Convenience around
 * vfbd_log_wait() for "id=7 " style needles. */
bool raw_log_waitf(struct vfbd_proc *p, int timeout_ms, const char *need2,
		   const char *need3, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
