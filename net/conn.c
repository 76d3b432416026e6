#include "net/conn.h"
#include "net/sockopt.h"
#include "vfbd/base/clock.h"
#include "vfbd/base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_READ_INITIAL 4096u
#define CONN_WRITE_BATCH  64u
#define CONN_WRITE_SLICE  (256u << 10)

struct chunk {
	struct chunk *next;
	uint8_t *data;
	size_t len;
	size_t off; /* bytes already written */
};

struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} sock;
	uv_timer_t stall_timer;
	uv_write_t write_req;
	bool is_tcp;
	bool closing;
	bool write_in_flight;
	bool silent;   /* failed during accept: the caller never saw it */
	bool flushing; /* closing once the queue drains */
	const char *flush_reason;
	int handles_open;
	const char *close_reason;
	unsigned id;
	const struct conn_ops *ops;
	void *user;
	struct conn_settings settings;
	char peer[64];
	char peer_host[56];

	uint8_t *rbuf;
	size_t rlen, rcap;
	uint64_t partial_since_ms; /* an incomplete message began; 0: none */

	/* Send queue: chunks not yet handed to libuv, and those in flight. */
	/* The queue; its first `inflight` bytes are handed to libuv. */
	struct chunk *head, *tail;
	size_t inflight;
	size_t queued;
	uint64_t bytes_out;
	uint64_t last_progress_ms;
	uint64_t last_acked;
};

static void start_write(struct conn *c);

void *conn_user(const struct conn *c)
{
	return c->user;
}

unsigned conn_id(const struct conn *c)
{
	return c->id;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

const char *conn_peer_host(const struct conn *c)
{
	return c->peer_host;
}

size_t conn_queued(const struct conn *c)
{
	return c->queued;
}

uint64_t conn_bytes_out(const struct conn *c)
{
	return c->bytes_out;
}

bool conn_is_closing(const struct conn *c)
{
	return c->closing || c->flushing;
}

/* Whether output is waiting: in vfbd's queue, or taken by the kernel and
 * not yet acknowledged by the peer. A backlog the kernel swallowed whole
 * (up to its send buffer, megabytes on a fast path) leaves the queue
 * empty while the peer reads nothing, so the queue alone is not enough.
 * `*acked` gets the peer's acknowledged byte count when known. */
static bool output_pending(const struct conn *c, uint64_t *acked)
{
	int fd;

	*acked = c->last_acked;
	if (!c->is_tcp || uv_fileno(&c->sock.handle, (uv_os_fd_t *)&fd) != 0 ||
	    sockopt_tcp_acked(fd, acked) != 0)
		return c->queued > 0;
	return c->queued > 0 || *acked < c->bytes_out;
}

uint64_t conn_stall_age_ms(const struct conn *c)
{
	uint64_t acked;

	if (!output_pending(c, &acked))
		return 0;
	return clock_now_ms() - c->last_progress_ms;
}

void conn_set_read_max(struct conn *c, size_t read_max)
{
	c->settings.read_max = read_max;
}

void conn_set_message_timeout(struct conn *c, unsigned ms)
{
	c->settings.message_timeout_ms = ms;
}

static void free_chunks(struct chunk *ch)
{
	while (ch) {
		struct chunk *next = ch->next;

		free(ch->data);
		free(ch);
		ch = next;
	}
}

static void conn_free(struct conn *c)
{
	free_chunks(c->head);
	free(c->rbuf);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles_open > 0)
		return;
	if (!c->silent)
		c->ops->on_close(c, c->close_reason);
	conn_free(c);
}

void conn_close(struct conn *c, const char *reason, bool abortive)
{
	int fd;

	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	uv_read_stop(&c->sock.stream);
	if (abortive && c->is_tcp &&
	    uv_fileno(&c->sock.handle, (uv_os_fd_t *)&fd) == 0)
		sockopt_abortive(fd);
	uv_close((uv_handle_t *)&c->stall_timer, on_handle_closed);
	uv_close(&c->sock.handle, on_handle_closed);
}

/* Maps a socket error to the contract's close reasons. ETIMEDOUT comes
 * from the keepalive probes when nothing was outstanding, and from
 * TCP_USER_TIMEOUT when data was waiting for an acknowledgement. */
static const char *reason_for_error(struct conn *c, int err)
{
	if (err == UV_EOF || err == UV_ECONNRESET || err == UV_EPIPE)
		return "peer-closed";
	if (err == UV_ETIMEDOUT) {
		uint64_t acked = 0;
		int fd;

		if (c->queued > 0 || c->write_in_flight)
			return "user-timeout";
		if (uv_fileno(&c->sock.handle, (uv_os_fd_t *)&fd) == 0 &&
		    sockopt_tcp_acked(fd, &acked) == 0 &&
		    acked + 1 < c->bytes_out)
			return "user-timeout";
		return "keepalive";
	}
	return "io-error";
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct conn *c = h->data;
	size_t want;

	(void)suggested;
	out->base = NULL;
	out->len = 0;
	if (c->rlen >= c->settings.read_max)
		return; /* on_read sees UV_ENOBUFS */
	if (c->rcap - c->rlen < 1024 && c->rcap < c->settings.read_max) {
		uint8_t *p;

		want = c->rcap ? c->rcap * 2 : CONN_READ_INITIAL;
		if (want > c->settings.read_max)
			want = c->settings.read_max;
		p = realloc(c->rbuf, want);
		if (!p)
			return;
		c->rbuf = p;
		c->rcap = want;
	}
	want = c->rcap - c->rlen;
	if (c->rlen + want > c->settings.read_max)
		want = c->settings.read_max - c->rlen;
	out->base = (char *)c->rbuf + c->rlen;
	out->len = want;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	size_t used;

	(void)b;
	if (c->closing || c->flushing)
		return;
	if (n == UV_ENOBUFS) {
		log_warn("client-protocol-error",
			 "id=%u peer=%s reason=\"message larger than %zu "
			 "bytes\"",
			 c->id, c->peer, c->settings.read_max);
		conn_close(c, "protocol-error", true);
		return;
	}
	if (n < 0) {
		conn_close(c, reason_for_error(c, (int)n), n != UV_EOF);
		return;
	}
	if (n == 0)
		return;
	c->rlen += (size_t)n;
	used = c->ops->on_read(c, c->rbuf, c->rlen);
	if (c->closing)
		return;
	if (used > c->rlen)
		used = c->rlen;
	memmove(c->rbuf, c->rbuf + used, c->rlen - used);
	c->rlen -= used;
	if (c->rlen == 0)
		c->partial_since_ms = 0;
	else if (used > 0 || c->partial_since_ms == 0)
		c->partial_since_ms = clock_now_ms();
}

static void note_progress(struct conn *c)
{
	c->last_progress_ms = clock_now_ms();
}

/* Drops `n` written bytes from the front of the queue. */
static void consume(struct conn *c, size_t n)
{
	while (n && c->head) {
		struct chunk *ch = c->head;
		size_t left = ch->len - ch->off;

		if (n < left) {
			ch->off += n;
			return;
		}
		n -= left;
		c->head = ch->next;
		if (!c->head)
			c->tail = NULL;
		free(ch->data);
		free(ch);
	}
}

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	size_t n = c->inflight;

	c->inflight = 0;
	c->write_in_flight = false;
	if (status < 0) {
		/* uv_close cancels writes with UV_ECANCELED; nothing to do. */
		if (!c->closing)
			conn_close(c, reason_for_error(c, status), true);
		return;
	}
	consume(c, n);
	c->queued -= n;
	c->bytes_out += n;
	note_progress(c);
	if (c->closing)
		return;
	if (c->head) {
		start_write(c);
		return;
	}
	if (c->flushing) {
		conn_close(c, c->flush_reason, false);
		return;
	}
	c->ops->on_drain(c);
}

/* Hands at most CONN_WRITE_SLICE bytes to the kernel per loop iteration:
 * a big frame then goes out over several iterations (the write callback
 * runs on the next one) and input, accepts and timers are served in
 * between. */
static void start_write(struct conn *c)
{
	uv_buf_t bufs[CONN_WRITE_BATCH];
	unsigned n = 0;
	size_t total = 0;
	int rc;

	if (c->write_in_flight || !c->head)
		return;
	for (struct chunk *ch = c->head;
	     ch && n < CONN_WRITE_BATCH && total < CONN_WRITE_SLICE;
	     ch = ch->next) {
		size_t len = ch->len - ch->off;

		if (len > CONN_WRITE_SLICE - total)
			len = CONN_WRITE_SLICE - total;
		bufs[n++] =
			uv_buf_init((char *)ch->data + ch->off, (unsigned)len);
		total += len;
	}
	c->inflight = total;
	c->write_in_flight = true;
	c->write_req.data = c;
	rc = uv_write(&c->write_req, &c->sock.stream, bufs, n, on_written);
	if (rc < 0) {
		c->write_in_flight = false;
		c->inflight = 0;
		conn_close(c, reason_for_error(c, rc), true);
	}
}

int conn_send(struct conn *c, uint8_t *data, size_t len)
{
	struct chunk *ch;

	if (c->closing || c->flushing) {
		free(data);
		return -EPIPE;
	}
	if (len == 0) {
		free(data);
		return 0;
	}
	if (c->settings.send_hard_max &&
	    c->queued + len > c->settings.send_hard_max) {
		free(data);
		log_warn("client-output-cap",
			 "id=%u peer=%s queued=%zu adding=%zu cap=%zu", c->id,
			 c->peer, c->queued, len, c->settings.send_hard_max);
		conn_close(c, "write-stall", true);
		return -ENOBUFS;
	}
	ch = malloc(sizeof(*ch));
	if (!ch) {
		free(data);
		conn_close(c, "io-error", true);
		return -ENOMEM;
	}
	ch->next = NULL;
	ch->data = data;
	ch->len = len;
	ch->off = 0;
	if (c->queued == 0)
		note_progress(c);
	c->queued += len;
	if (c->tail)
		c->tail->next = ch;
	else
		c->head = ch;
	c->tail = ch;
	start_write(c);
	return 0;
}

/* The write-stall watchdog. Progress is the kernel taking bytes from the
 * queue or the peer acknowledging bytes the kernel holds. A peer that
 * keeps TCP alive with a zero window makes neither. With nothing waiting
 * the clock restarts, so an idle period never counts as a stall. */
static void on_stall_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t acked;
	bool pending;

	if (c->closing)
		return;
	if (c->settings.message_timeout_ms && c->partial_since_ms &&
	    clock_now_ms() - c->partial_since_ms >=
		    c->settings.message_timeout_ms) {
		log_warn("client-protocol-error",
			 "id=%u peer=%s reason=\"message incomplete for %u ms "
			 "(%zu bytes buffered)\"",
			 c->id, c->peer, c->settings.message_timeout_ms,
			 c->rlen);
		conn_close(c, "protocol-error", true);
		return;
	}
	pending = output_pending(c, &acked);
	if (acked != c->last_acked || !pending) {
		c->last_acked = acked;
		note_progress(c);
		return;
	}
	if (clock_now_ms() - c->last_progress_ms >=
	    c->settings.stall_timeout_ms) {
		log_info("client-stalled",
			 "id=%u peer=%s queued=%zu stalled_ms=%llu", c->id,
			 c->peer, c->queued,
			 (unsigned long long)(clock_now_ms() -
					      c->last_progress_ms));
		conn_close(c, "write-stall", true);
	}
}

static void on_flush_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	conn_close(c, c->flush_reason, true);
}

void conn_close_after_flush(struct conn *c, const char *reason,
			    unsigned grace_ms)
{
	if (c->closing || c->flushing)
		return;
	if (c->queued == 0) {
		conn_close(c, reason, false);
		return;
	}
	c->flushing = true;
	c->flush_reason = reason;
	uv_read_stop(&c->sock.stream);
	/* The stall watchdog's timer now bounds the flush instead. */
	uv_timer_stop(&c->stall_timer);
	uv_timer_start(&c->stall_timer, on_flush_timeout, grace_ms, 0);
}

static void describe_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (!c->is_tcp ||
	    uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&ss, &len)) {
		snprintf(c->peer, sizeof(c->peer), "unix");
		snprintf(c->peer_host, sizeof(c->peer_host), "unix");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		uv_ip4_name(a, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
	}
	snprintf(c->peer_host, sizeof(c->peer_host), "%s", host);
}

struct conn *conn_accept(uv_stream_t *server, unsigned id,
			 const struct conn_settings *settings,
			 const struct conn_ops *ops, void *user)
{
	struct conn *c = calloc(1, sizeof(*c));
	uv_loop_t *loop = server->loop;
	int rc, fd;

	if (!c)
		return NULL;
	c->id = id;
	c->ops = ops;
	c->user = user;
	c->settings = *settings;
	c->is_tcp = server->type == UV_TCP;
	if (c->is_tcp)
		rc = uv_tcp_init(loop, &c->sock.tcp);
	else
		rc = uv_pipe_init(loop, &c->sock.pipe, 0);
	if (rc < 0) {
		free(c);
		return NULL;
	}
	c->sock.handle.data = c;
	c->handles_open = 1;
	uv_timer_init(loop, &c->stall_timer);
	c->stall_timer.data = c;
	c->handles_open = 2;
	c->close_reason = "io-error";
	rc = uv_accept(server, &c->sock.stream);
	if (rc < 0)
		goto fail;
	describe_peer(c);
	if (c->is_tcp && uv_fileno(&c->sock.handle, (uv_os_fd_t *)&fd) == 0) {
		rc = sockopt_tcp_liveness(fd, settings->keepalive_idle_s,
					  settings->keepalive_intvl_s,
					  settings->keepalive_cnt,
					  settings->user_timeout_ms);
		if (rc < 0)
			log_warn("sockopt-failed", "id=%u error=\"%s\"", id,
				 strerror(-rc));
	}
	rc = uv_read_start(&c->sock.stream, on_alloc, on_read);
	if (rc < 0)
		goto fail;
	if (settings->stall_timeout_ms) {
		/* Checked often enough that a stall is cut within half a
		 * second of the deadline, whatever the timeout. */
		uint64_t period = settings->stall_timeout_ms / 4;

		if (period > 500)
			period = 500;
		if (period < 50)
			period = 50;
		uv_timer_start(&c->stall_timer, on_stall_timer, period, period);
	}
	note_progress(c);
	return c;
fail:
	/* Not yet known to the caller: close quietly with no callback. */
	c->closing = true;
	c->silent = true;
	uv_close((uv_handle_t *)&c->stall_timer, on_handle_closed);
	uv_close(&c->sock.handle, on_handle_closed);
	return NULL;
}
