#include "vfbd/session.h"
#include "vfbd/session-int.h"
#include "fb/region.h"
#include "fb/shadow.h"
#include "input/keymap.h"
#include "net/listener.h"
#include "net/rfb-peer.h"
#include "vfbd/auth-throttle.h"
#include "vfbd/base/clock.h"
#include "vfbd/base/log.h"
#include "vfbd/offload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUSEKEEPING_MS 250u
/* Most raw bytes one update may carry; the rest stays pending for the
 * next one, so a huge frame never sits whole in the queue. */
#define FRAME_BUDGET_BYTES (8u << 20)
/* Updates bigger than this are encoded on libuv's thread pool from a
 * snapshot, so the loop keeps serving input, accepts and timers. */
#define OFFLOAD_BYTES (256u << 10)
/* Connections that have not authenticated yet, at most. */
#define PREAUTH_MAX	 32u
#define PREAUTH_READ_MAX 1024u

static void count_close(struct session *s, const char *reason)
{
	for (size_t i = 0; i < sizeof(s->closes) / sizeof(s->closes[0]); i++) {
		if (!s->closes[i].reason)
			s->closes[i].reason = reason;
		if (strcmp(s->closes[i].reason, reason) == 0) {
			s->closes[i].count++;
			return;
		}
	}
}

static void refresh(struct session *s, bool from_timer);
static void schedule_refresh(struct session *s);

static struct fb_view shadow_view(const struct session *s)
{
	return (struct fb_view){
		.data = (const uint8_t *)s->shadow.pixels,
		.width = s->shadow.width,
		.height = s->shadow.height,
		.stride = (size_t)s->shadow.width * 4,
	};
}

/* Splits rects so none carries more than the frame budget, keeping cuts
 * on tile rows so leftovers stay exact tiles. Returns how many rects fit
 * the budget; the rest (from `*out_total` on) is left for later. */
static size_t take_budget(struct fb_rect *rects, size_t n, size_t cap,
			  unsigned bpp, size_t *out_total)
{
	uint64_t used = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t row_bytes = (uint64_t)rects[i].w * bpp;
		uint64_t bytes = row_bytes * rects[i].h;

		if (k >= UINT16_MAX)
			break;
		if (used + bytes > FRAME_BUDGET_BYTES) {
			uint64_t rows = (FRAME_BUDGET_BYTES - used) / row_bytes;

			rows -= rows % FB_TILE_H;
			if (rows == 0 && k > 0)
				break;
			if (rows == 0)
				rows = FB_TILE_H;
			if (rows < rects[i].h && n < cap) {
				/* Keep the lower part as a new pending rect. */
				rects[n] = rects[i];
				rects[n].y += (uint32_t)rows;
				rects[n].h -= (uint32_t)rows;
				rects[i].h = (uint32_t)rows;
				n++;
				bytes = row_bytes * rows;
			}
		}
		/* Move the chosen rect to the front part of the array. */
		if (i != k) {
			struct fb_rect t = rects[k];

			rects[k] = rects[i];
			rects[i] = t;
		}
		k++;
		used += bytes;
		if (used >= FRAME_BUDGET_BYTES)
			break;
	}
	*out_total = n;
	return k;
}

static void try_send(struct client *c);

static void offload_done(void *ctx, int rc)
{
	struct client *c = ctx;

	c->work = NULL;
	if (rc < 0 && rc != -ENOMEM)
		rfb_peer_close(c->peer, "io-error", true);
	else
		try_send(c);
}

static void try_send(struct client *c)
{
	struct session *s = c->s;
	struct conn *conn = rfb_peer_conn(c->peer);
	struct fb_view view = shadow_view(s);
	size_t n, total, k;
	uint64_t bytes = 0;

	if (!c->ready || !(c->update_wanted || c->continuous) || c->work ||
	    conn_is_closing(conn) || conn_queued(conn) > 0)
		return;
	/* The first compare after nobody watched is still to come. */
	if (s->shadow_stale && s->lease.held)
		return;
	if (fb_region_empty(&c->pending) && !c->reply_owed &&
	    !rfb_peer_has_pending(c->peer))
		return;
	n = fb_region_rects(&c->pending, s->rects, s->rects_cap / 2);
	k = take_budget(s->rects, n, s->rects_cap,
			rfb_peer_bytes_per_pixel(c->peer), &total);
	fb_region_clear(&c->pending);
	for (size_t i = k; i < total; i++)
		fb_region_add_rect(&c->pending, s->rects[i]);
	c->update_wanted = false;
	c->reply_owed = false;
	for (size_t i = 0; i < k; i++)
		bytes += (uint64_t)s->rects[i].w * s->rects[i].h *
			 rfb_peer_bytes_per_pixel(c->peer);
	if (bytes >= OFFLOAD_BYTES &&
	    offload_start(s->loop, c->peer, &s->shadow, s->rects, k,
			  &c->snapshot, &s->lease, offload_done, c,
			  &c->work) == 0)
		return;
	if (rfb_peer_send_update(c->peer, &view, s->rects, k) < 0)
		rfb_peer_close(c->peer, "io-error", true);
}

void session_send_all(struct session *s)
{
	for (struct client *c = s->clients; c; c = c->next)
		try_send(c);
}

static void refresh(struct session *s, bool from_timer)
{
	struct fb_damage hint;
	long changed = 0;

	memset(&hint, 0, sizeof(hint));
	switch (s->src->ops->poll(s->src, &hint)) {
	case FB_POLL_DAMAGE:
		/* With nobody watching, remember to compare everything when
		 * someone comes instead of keeping the shadow current. */
		if (s->n_ready == 0) {
			s->shadow_stale = true;
			s->stale_row = 0;
			break;
		}
		/* A catch-up under way compares the bands still to come. */
		if (s->shadow_stale && !s->catching_up)
			hint.all = true;
		changed = session_sync_or_defer(s, &hint);
		break;
	case FB_POLL_RESIZED:
		hint.all = true;
		changed = session_sync_or_defer(s, &hint);
		break;
	case FB_POLL_FINISHED:
		log_info("source-finished", "source=%s", s->cfg->source);
		if (s->on_finished)
			s->on_finished(s->finished_ctx);
		return;
	case FB_POLL_GONE:
		/* The source logs why (source-gone reason=...); clients keep
		 * the last frame. */
		break;
	case FB_POLL_RETRY:
		s->refresh_ms = REFRESH_FAST_MS;
		break;
	case FB_POLL_IDLE:
		break;
	}
	if (changed > 0)
		s->refresh_ms = REFRESH_FAST_MS;
	else if (!from_timer)
		; /* a look on request says nothing about the pace */
	else if (s->refresh_ms < REFRESH_SLOW_MS)
		s->refresh_ms = s->refresh_ms * 2 > REFRESH_SLOW_MS
					? REFRESH_SLOW_MS
					: s->refresh_ms * 2;
	session_send_all(s);
}

static bool anyone_waiting(const struct session *s)
{
	for (const struct client *c = s->clients; c; c = c->next)
		if (c->ready && (c->update_wanted || c->continuous))
			return true;
	return false;
}

static void on_refresh_timer(uv_timer_t *t)
{
	struct session *s = t->data;

	refresh(s, true);
	schedule_refresh(s);
}

/* Polls only while some client waits for an update: no client, or none
 * asking, means no wakeups at all. */
static void tell_interest(struct session *s, bool wanted)
{
	if (!s->src->ops->set_interest ||
	    (s->interest_sent && s->interest_wanted == wanted &&
	     s->interest_period == s->refresh_ms))
		return;
	s->interest_sent = true;
	s->interest_wanted = wanted;
	s->interest_period = s->refresh_ms;
	s->src->ops->set_interest(s->src, wanted, s->refresh_ms);
}

static void schedule_refresh(struct session *s)
{
	bool wanted = !s->shutting_down && anyone_waiting(s);

	tell_interest(s, wanted);
	if (!wanted) {
		uv_timer_stop(&s->refresh_timer);
		return;
	}
	uv_timer_start(&s->refresh_timer, on_refresh_timer, s->refresh_ms, 0);
}

static void on_source_readable(uv_poll_t *h, int status, int events)
{
	struct session *s = h->data;

	if (s->shutting_down)
		return;
	refresh(s, false);
	schedule_refresh(s);
}

/* Runs once per loop iteration, just before the loop waits: the time
 * since the previous one minus the time spent waiting is how long the
 * loop was busy, i.e. how long an event could have waited. */
static void on_loop_probe(uv_prepare_t *h)
{
	struct session *s = h->data;
	uint64_t now = uv_hrtime();
	uint64_t idle = uv_metrics_idle_time(s->loop);

	struct timespec ts;
	uint64_t cpu;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	cpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (s->probe_last_ns) {
		uint64_t busy = (now - s->probe_last_ns) -
				(idle - s->probe_last_idle_ns);

		if (busy > s->loop_max_busy_ns)
			s->loop_max_busy_ns = busy;
		if (cpu - s->probe_last_cpu_ns > s->loop_max_cpu_ns)
			s->loop_max_cpu_ns = cpu - s->probe_last_cpu_ns;
	}
	s->probe_last_ns = now;
	s->probe_last_idle_ns = idle;
	s->probe_last_cpu_ns = cpu;
}

void session_reset_stats(struct session *s)
{
	s->loop_max_busy_ns = 0;
	s->loop_max_cpu_ns = 0;
}

void session_on_finished(struct session *s, void (*cb)(void *ctx), void *ctx)
{
	s->on_finished = cb;
	s->finished_ctx = ctx;
}

void session_kick(struct session *s)
{
	s->refresh_ms = REFRESH_FAST_MS;
	if (!s->shutting_down && anyone_waiting(s))
		uv_timer_start(&s->refresh_timer, on_refresh_timer, 0, 0);
}

static void on_housekeeping(uv_timer_t *t)
{
	struct session *s = t->data;
	uint64_t now = clock_now_ms();
	uint64_t handshake_ms = (uint64_t)s->cfg->handshake_timeout_s * 1000;
	uint64_t idle_ms = (uint64_t)s->cfg->idle_timeout_s * 1000;

	for (struct client *c = s->clients; c; c = c->next) {
		if (conn_is_closing(rfb_peer_conn(c->peer)))
			continue;
		if (!c->ready && now - c->connected_ms >= handshake_ms) {
			log_info("client-handshake-timeout", "id=%u", c->id);
			rfb_peer_close(c->peer, "handshake-timeout", true);
		} else if (c->ready && idle_ms &&
			   now - c->last_input_ms >= idle_ms) {
			rfb_peer_close(c->peer, "idle-timeout", true);
		}
	}
	/* Only deadlines need this timer: none pending, no wakeups. */
	if (s->n_preauth == 0 && !idle_ms)
		uv_timer_stop(&s->housekeeping_timer);
}

static void close_others(struct session *s, struct client *keep,
			 const char *reason)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c == keep || !c->ready)
			continue;
		log_info("client-replaced", "id=%u by=%u reason=%s", c->id,
			 keep->id, reason);
		rfb_peer_close(c->peer, reason, true);
	}
}

static int peer_on_init(struct rfb_peer *p, bool shared,
			struct rfb_server_init *init)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	struct conn *conn = rfb_peer_conn(p);

	log_info("client-authenticated", "id=%u peer=%s shared=%d", c->id,
		 conn_peer(conn), shared);
	if (s->password[0])
		auth_throttle_success(&s->throttle, conn_peer_host(conn));
	switch (s->cfg->share) {
	case SHARE_TAKEOVER:
		/* The rightful user gets the console back at once. */
		close_others(s, c, "takeover");
		break;
	case SHARE_SHARED:
		if (!shared) {
			close_others(s, c, "takeover");
		} else if (s->n_ready >= s->cfg->max_clients) {
			log_info("client-refused",
				 "id=%u reason=\"max-clients %u reached\"",
				 c->id, s->cfg->max_clients);
			rfb_peer_close(p, "refused-max-clients", true);
			return -1;
		}
		break;
	case SHARE_EXCLUSIVE:
		if (s->n_ready > 0) {
			log_info("client-refused",
				 "id=%u reason=\"another client holds the "
				 "console\"",
				 c->id);
			rfb_peer_close(p, "refused-exclusive", true);
			return -1;
		}
		break;
	}
	c->ready = true;
	s->n_preauth--;
	s->n_ready++;
	c->last_input_ms = clock_now_ms();
	fb_region_add_all(&c->pending);
	/* Nobody kept the shadow current. Compared whole, it would cost the
	 * loop thousands of page faults and a search for moves over the
	 * whole frame in one go; instead lease_released compares it band by
	 * band, each faulted in by a worker first, and try_send holds the
	 * updates until it is done. A new geometry (no band started) is
	 * needed now, for ServerInit. */
	if (s->shadow_stale && !s->catching_up && !session_catch_up_start(s)) {
		struct fb_damage all = {.all = true};

		session_sync_or_defer(s, &all);
	}
	init->width = s->shadow.width;
	init->height = s->shadow.height;
	init->name = s->src->name;
	return 0;
}

static void peer_on_auth_failed(struct rfb_peer *p)
{
	struct client *c = rfb_peer_user(p);
	const char *host = conn_peer_host(rfb_peer_conn(p));
	uint64_t block =
		auth_throttle_fail(&c->s->throttle, host, clock_now_ms());

	if (block)
		log_warn("auth-throttled", "host=%s blocked_ms=%llu", host,
			 (unsigned long long)block);
}

static const char *peer_admit(struct rfb_peer *p, const char **close_reason)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	const char *host = conn_peer_host(rfb_peer_conn(p));
	uint64_t blocked =
		auth_throttle_blocked_ms(&s->throttle, host, clock_now_ms());

	if (blocked) {
		log_info("client-refused",
			 "id=%u peer=%s reason=\"too many authentication "
			 "failures\" retry_ms=%llu",
			 c->id, conn_peer(rfb_peer_conn(p)),
			 (unsigned long long)blocked);
		*close_reason = "auth-failed";
		return "too many authentication failures from this address; "
		       "try again later";
	}
	if (s->password_required && !s->password[0]) {
		log_info("client-refused",
			 "id=%u peer=%s reason=\"no VNC password set yet\"",
			 c->id, conn_peer(rfb_peer_conn(p)));
		*close_reason = "auth-failed";
		return "no VNC password has been set for this console yet";
	}
	if (s->cfg->share == SHARE_EXCLUSIVE && s->n_ready > 0) {
		log_info("client-refused",
			 "id=%u peer=%s reason=\"exclusive: console in use\"",
			 c->id, conn_peer(rfb_peer_conn(p)));
		*close_reason = "refused-exclusive";
		return "the console is in use by another client "
		       "(vfbd --share exclusive)";
	}
	return NULL;
}

/* Routes a key to the sink, remembering what this client holds. */
static void client_key(struct client *c, uint16_t keycode, bool down)
{
	uint64_t bit = 1ull << (keycode % 64);

	if (keycode >= KEY_CNT)
		return;
	if (down)
		c->keys_held[keycode / 64] |= bit;
	else
		c->keys_held[keycode / 64] &= ~bit;
	input_sink_key(c->s->sink, keycode, down);
	session_kick(c->s);
}

static void release_client_input(struct client *c)
{
	struct input_sink *sink = c->s->sink;

	for (uint16_t k = 0; k < KEY_CNT; k++)
		if (c->keys_held[k / 64] & (1ull << (k % 64)))
			input_sink_key(sink, k, false);
	memset(c->keys_held, 0, sizeof(c->keys_held));
	if (c->buttons_held)
		input_sink_pointer(sink, sink->last_x, sink->last_y,
				   sink->buttons & (uint8_t)~c->buttons_held);
	c->buttons_held = 0;
}

static void peer_on_key(struct rfb_peer *p, uint32_t keysym, bool down)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	uint16_t keycode;

	c->last_input_ms = clock_now_ms();
	if (s->cfg->view_only || !s->sink)
		return;
	keycode = keymap_keysym_to_keycode(keysym);
	if (keycode == 0) {
		log_debug("key-unmapped", "id=%u keysym=0x%x", c->id, keysym);
		return;
	}
	client_key(c, keycode, down);
}

static void peer_on_key_code(struct rfb_peer *p, uint32_t xt_scancode,
			     uint32_t keysym, bool down)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	uint16_t keycode;

	c->last_input_ms = clock_now_ms();
	if (s->cfg->view_only || !s->sink)
		return;
	/* The scancode names the physical key whatever the layout; fall
	 * back to the keysym for keys it does not know. */
	keycode = keymap_xt_to_keycode(xt_scancode);
	if (keycode == 0)
		keycode = keymap_keysym_to_keycode(keysym);
	if (keycode == 0) {
		log_debug("key-unmapped", "id=%u scancode=0x%x keysym=0x%x",
			  c->id, xt_scancode, keysym);
		return;
	}
	client_key(c, keycode, down);
}

static void peer_on_continuous(struct rfb_peer *p, bool enable)
{
	struct client *c = rfb_peer_user(p);

	c->continuous = enable;
	if (enable)
		try_send(c);
	schedule_refresh(c->s);
}

static void peer_on_pointer(struct rfb_peer *p, uint32_t x, uint32_t y,
			    uint8_t buttons)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;

	c->last_input_ms = clock_now_ms();
	if (s->cfg->view_only || !s->sink)
		return;
	c->buttons_held = buttons;
	input_sink_pointer(s->sink, x, y, buttons);
	session_kick(s);
}

static void peer_on_update_request(struct rfb_peer *p, bool incremental,
				   struct fb_rect r)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	bool polling = uv_is_active((uv_handle_t *)&s->refresh_timer);

	if (!incremental) {
		fb_region_add_rect(&c->pending, r);
		c->reply_owed = true;
	}
	c->update_wanted = true;
	/* Nobody was polling, so the shadow may be old: look now. */
	if (!polling)
		refresh(s, false);
	try_send(c);
	schedule_refresh(s);
}

static void peer_on_drain(struct rfb_peer *p)
{
	try_send(rfb_peer_user(p));
}

static void peer_on_close(struct rfb_peer *p, const char *reason)
{
	struct client *c = rfb_peer_user(p);
	struct session *s = c->s;
	struct conn *conn = rfb_peer_conn(p);

	log_info("client-closed",
		 "id=%u peer=%s reason=%s bytes_out=%llu duration_ms=%llu",
		 c->id, conn_peer(conn), reason,
		 (unsigned long long)conn_bytes_out(conn),
		 (unsigned long long)(clock_now_ms() - c->connected_ms));
	count_close(s, reason);
	if (c->work)
		offload_detach(c->work); /* the worker's result is dropped */
	offload_cache_fini(&c->snapshot);
	if (c->ready) {
		/* Nobody keeps the shadow current from now on (sources without
		 * an fd are not even polled): the next client catches it up in
		 * bands rather than in one big compare. */
		if (--s->n_ready == 0) {
			s->shadow_stale = true;
			s->stale_row = 0;
		}
		/* A key held by a client that vanished must not stay down. */
		if (s->sink)
			release_client_input(c);
	} else {
		s->n_preauth--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	fb_region_fini(&c->pending);
	free(c);
	schedule_refresh(s);
}

static const struct rfb_peer_ops session_peer_ops = {
	.admit = peer_admit,
	.on_init = peer_on_init,
	.on_auth_failed = peer_on_auth_failed,
	.on_key = peer_on_key,
	.on_key_code = peer_on_key_code,
	.on_continuous = peer_on_continuous,
	.on_pointer = peer_on_pointer,
	.on_update_request = peer_on_update_request,
	.on_drain = peer_on_drain,
	.on_close = peer_on_close,
};

/* Under a connect flood the oldest unauthenticated connection makes room,
 * so the newest (perhaps the rightful user) always gets its chance. */
static void make_preauth_room(struct session *s)
{
	struct client *oldest = NULL;

	if (s->n_preauth < PREAUTH_MAX)
		return;
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->ready || conn_is_closing(rfb_peer_conn(c->peer)))
			continue;
		if (!oldest || c->connected_ms <= oldest->connected_ms)
			oldest = c;
	}
	if (oldest) {
		log_info("client-preauth-evicted", "id=%u limit=%u", oldest->id,
			 PREAUTH_MAX);
		rfb_peer_close(oldest->peer, "handshake-timeout", true);
	}
}

void session_accept(uv_stream_t *server, void *session)
{
	struct session *s = session;
	struct client *c;

	if (s->shutting_down) {
		listener_drop_pending(server);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		listener_drop_pending(server);
		return;
	}
	if (fb_region_init(&c->pending, s->shadow.width, s->shadow.height) <
	    0) {
		free(c);
		listener_drop_pending(server);
		return;
	}
	make_preauth_room(s);
	c->s = s;
	c->id = ++s->next_id;
	c->connected_ms = clock_now_ms();
	c->peer = rfb_peer_accept(server, c->id, &s->peer_cfg,
				  &session_peer_ops, c);
	if (!c->peer) {
		fb_region_fini(&c->pending);
		free(c);
		/* Harmless if it was accepted already: then none is left. */
		listener_drop_pending(server);
		return;
	}
	s->n_preauth++;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	log_info("client-connected", "id=%u peer=%s", c->id,
		 conn_peer(rfb_peer_conn(c->peer)));
	if (!uv_is_active((uv_handle_t *)&s->housekeeping_timer))
		uv_timer_start(&s->housekeeping_timer, on_housekeeping,
			       HOUSEKEEPING_MS, HOUSEKEEPING_MS);
}

struct session *session_new(uv_loop_t *loop, const struct vfbd_config *cfg,
			    struct fb_source *src, struct input_sink *sink)
{
	struct session *s = calloc(1, sizeof(*s));
	struct fb_view v;

	if (!s)
		return NULL;
	s->loop = loop;
	s->cfg = cfg;
	s->src = src;
	s->sink = sink;
	s->refresh_ms = REFRESH_FAST_MS;
	s->lease.released = session_lease_released;
	s->lease.ctx = s;
	auth_throttle_init(&s->throttle);
	if (src->ops->view(src, &v) < 0 ||
	    fb_shadow_init(&s->shadow, v.width, v.height) < 0 ||
	    fb_region_init(&s->changed, v.width, v.height) < 0 ||
	    session_resize_rects(s) < 0) {
		fb_shadow_fini(&s->shadow);
		fb_region_fini(&s->changed);
		free(s->rects);
		free(s);
		return NULL;
	}
	memcpy(s->password, cfg->password, sizeof(s->password));
	s->peer_cfg.password = s->password;
	s->peer_cfg.cut_text_max = 256u << 10;
	s->peer_cfg.preauth_read_max = PREAUTH_READ_MAX;
	s->peer_cfg.conn = (struct conn_settings){
		.keepalive_idle_s = cfg->keepalive_idle,
		.keepalive_intvl_s = cfg->keepalive_intvl,
		.keepalive_cnt = cfg->keepalive_cnt,
		.user_timeout_ms = cfg->user_timeout_s * 1000u,
		.stall_timeout_ms = cfg->stall_timeout_s * 1000u,
		.message_timeout_ms = cfg->handshake_timeout_s * 1000u,
		/* Two full frames at 32 bpp plus slack: frames are paced one
		 * at a time, so reaching this means the client is stuck. */
		.send_hard_max = 2 * (size_t)FRAME_BUDGET_BYTES + (1u << 20),
	};
	uv_timer_init(loop, &s->refresh_timer);
	s->refresh_timer.data = s;
	uv_timer_init(loop, &s->housekeeping_timer);
	s->housekeeping_timer.data = s;
	/* Sources with an fd are watched even without clients: a guest's
	 * protocol traffic (and its death) must be handled at any time. */
	if (src->ops->fd(src) >= 0 &&
	    uv_poll_init(loop, &s->source_poll, src->ops->fd(src)) == 0) {
		s->source_poll.data = s;
		s->source_polled = true;
		uv_poll_start(&s->source_poll, UV_READABLE, on_source_readable);
	}
	uv_prepare_init(loop, &s->loop_probe);
	s->loop_probe.data = s;
	uv_prepare_start(&s->loop_probe, on_loop_probe);
	uv_unref((uv_handle_t *)&s->loop_probe);
	/* Before any client: the first connection compares everything. */
	s->shadow_stale = true;
	return s;
}

void session_shutdown(struct session *s)
{
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	for (struct client *c = s->clients; c; c = c->next)
		rfb_peer_close(c->peer, "shutdown", false);
	uv_close((uv_handle_t *)&s->refresh_timer, NULL);
	uv_close((uv_handle_t *)&s->housekeeping_timer, NULL);
	if (s->source_polled)
		uv_close((uv_handle_t *)&s->source_poll, NULL);
	uv_close((uv_handle_t *)&s->loop_probe, NULL);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	fb_source_free(s->src);
	fb_shadow_fini(&s->shadow);
	fb_region_fini(&s->changed);
	free(s->rects);
	free(s);
}

int session_kick_client(struct session *s, unsigned id)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->id != id || conn_is_closing(rfb_peer_conn(c->peer)))
			continue;
		log_info("client-kicked", "id=%u", id);
		rfb_peer_close(c->peer, "kicked", true);
		return 0;
	}
	return -ENOENT;
}

/* Appends printf-style text; status lines are small, so a fixed piece
 * buffer is enough. */
__attribute__((format(printf, 2, 3))) static void put(struct buf *out,
						      const char *fmt, ...)
{
	char piece[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_append(out, piece,
			   (size_t)n < sizeof(piece) ? (size_t)n
						     : sizeof(piece) - 1);
}

void session_status_json(struct session *s, struct buf *out)
{
	uint64_t now = clock_now_ms();
	bool first = true;

	put(out,
	    "{\"source\":\"%s\",\"name\":\"%s\",\"width\":%u,"
	    "\"height\":%u,\"share\":\"%s\",\"clients\":[",
	    s->cfg->source, s->src->name, s->shadow.width, s->shadow.height,
	    share_policy_name(s->cfg->share));
	for (struct client *c = s->clients; c; c = c->next) {
		struct conn *conn = rfb_peer_conn(c->peer);
		const char *state = conn_is_closing(conn) ? "closing"
				    : c->ready		  ? "active"
							  : "handshake";

		put(out,
		    "%s{\"id\":%u,\"peer\":\"%s\",\"state\":\"%s\","
		    "\"queued_bytes\":%zu,\"frames_sent\":%llu,"
		    "\"bytes_sent\":%llu,\"stall_ms\":%llu,"
		    "\"age_ms\":%llu}",
		    first ? "" : ",", c->id, conn_peer(conn), state,
		    conn_queued(conn),
		    (unsigned long long)rfb_peer_frames_sent(c->peer),
		    (unsigned long long)conn_bytes_out(conn),
		    (unsigned long long)conn_stall_age_ms(conn),
		    (unsigned long long)(now - c->connected_ms));
		first = false;
	}
	put(out,
	    "],\"loop_max_stall_ms\":%.3f,\"loop_max_stall_cpu_ms\":%.3f,"
	    "\"frames_changed\":%llu,\"moves_found\":%llu,"
	    "\"copyrects_sent\":%llu,\"closed\":{",
	    (double)s->loop_max_busy_ns / 1e6, (double)s->loop_max_cpu_ns / 1e6,
	    (unsigned long long)s->frames_changed,
	    (unsigned long long)s->moves_found,
	    (unsigned long long)s->copies_sent);
	first = true;
	for (size_t i = 0; i < sizeof(s->closes) / sizeof(s->closes[0]) &&
			   s->closes[i].reason;
	     i++) {
		put(out, "%s\"%s\":%llu", first ? "" : ",", s->closes[i].reason,
		    (unsigned long long)s->closes[i].count);
		first = false;
	}
	put(out, "}}");
}

void session_set_password(struct session *s, const char *password,
			  bool required)
{
	memset(s->password, 0, sizeof(s->password));
	strncpy(s->password, password, RFB_AUTH_PASSWORD_MAX);
	s->password_required = required;
}
