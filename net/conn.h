/* One client connection: the socket (TCP or unix), its options, a bounded
 * read buffer, a bounded send queue and the reason it closed.
 *
 * Ownership: the conn owns its libuv handle and frees itself after the
 * handle's close callback, right after ops->on_close has run. No callback
 * runs inside the call that started the work, except on_read, which runs
 * from libuv's read callback. */
#ifndef VFBD_NET_CONN_H
#define VFBD_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct conn;

struct conn_ops {
	/* Bytes arrived; data[0..len) are all unconsumed bytes. Returns how
	 * many were used. Stop (return) after closing the conn. */
	size_t (*on_read)(struct conn *c, const uint8_t *data, size_t len);
	/* Everything queued was accepted by the kernel. */
	void (*on_drain)(struct conn *c);
	/* The conn is closed for `reason` (a static string); runs once, from
	 * the loop, after conn_close. The conn is freed when it returns. */
	void (*on_close)(struct conn *c, const char *reason);
};

/* Per-socket liveness settings (see lifecycle.md). 0 disables one. */
struct conn_settings {
	unsigned keepalive_idle_s, keepalive_intvl_s, keepalive_cnt;
	unsigned user_timeout_ms;
	unsigned stall_timeout_ms;
	/* A message begun must be complete within this (slowloris after
	 * authentication); checked with the stall watchdog. */
	unsigned message_timeout_ms;
	size_t read_max;      /* bytes buffered before a message is whole */
	size_t send_hard_max; /* queued bytes above which the conn is cut */
};

/* Accepts one pending connection from `server` (a listening uv_tcp_t or
 * uv_pipe_t), applies `settings` and starts reading. Returns NULL (and
 * drops the pending connection) on failure. */
struct conn *conn_accept(uv_stream_t *server, unsigned id,
			 const struct conn_settings *settings,
			 const struct conn_ops *ops, void *user);

void *conn_user(const struct conn *c);
unsigned conn_id(const struct conn *c);
/* "127.0.0.1:50312", "[::1]:40000" or "unix". */
const char *conn_peer(const struct conn *c);
/* Peer address without port, for per-source throttling. */
const char *conn_peer_host(const struct conn *c);

/* Queues `len` bytes, taking ownership of `data` (freed with free(), also
 * on failure). Returns 0, or -ENOBUFS after closing the conn with
 * `write-stall` when the queue would exceed send_hard_max, or -EPIPE when
 * the conn is already closing. */
int conn_send(struct conn *c, uint8_t *data, size_t len);

/* Bytes queued and not yet accepted by the kernel. */
size_t conn_queued(const struct conn *c);
uint64_t conn_bytes_out(const struct conn *c);
/* Milliseconds since the queue last made progress (0 if empty). */
uint64_t conn_stall_age_ms(const struct conn *c);

/* Changes the read limit (e.g. small before authentication). */
void conn_set_read_max(struct conn *c, size_t read_max);

/* Changes the incomplete-message deadline (0: none). */
void conn_set_message_timeout(struct conn *c, unsigned ms);

/* Closes the conn for `reason`. Abortive closes (SO_LINGER 0) send an RST
 * and free kernel buffers at once; graceful ones flush nothing further.
 * Idempotent: the first reason wins. */
void conn_close(struct conn *c, const char *reason, bool abortive);

/* Stops reading and closes for `reason` once the queued bytes (e.g. a
 * failure message) have been written, or after `grace_ms` at most. */
void conn_close_after_flush(struct conn *c, const char *reason,
			    unsigned grace_ms);

/* After this, conn_send and further reads are ignored. */
bool conn_is_closing(const struct conn *c);

#endif
