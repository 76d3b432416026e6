/* Keeping the shadow current with the source: compares inside the
 * source's hints (fb/shadow.c), looks for moves and offers them to the
 * clients that can take them as CopyRects, follows resizes, and catches
 * up a shadow nobody kept current band by band while workers fault its
 * pages in. Workers that read the shadow hold a lease; damage that comes
 * meanwhile waits for them. */
#include "fb/memguard.h"
#include "vfbd/base/log.h"
#include "vfbd/session-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int session_resize_rects(struct session *s)
{
	size_t cap = (size_t)s->changed.cols * s->changed.rows * 2 + 16;
	struct fb_rect *r = realloc(s->rects, cap * sizeof(*r));

	if (!r)
		return -ENOMEM;
	s->rects = r;
	s->rects_cap = cap;
	return 0;
}

static int follow_resize(struct session *s, uint32_t width, uint32_t height)
{
	struct fb_shadow shadow;

	if (fb_shadow_init(&shadow, width, height) < 0)
		return -ENOMEM;
	if (fb_region_reset(&s->changed, width, height) < 0 ||
	    session_resize_rects(s) < 0) {
		fb_shadow_fini(&shadow);
		return -ENOMEM;
	}
	fb_shadow_fini(&s->shadow);
	s->shadow = shadow;
	log_info("source-resized", "width=%u height=%u", width, height);
	for (struct client *c = s->clients; c; c = c->next) {
		int rc;

		if (fb_region_reset(&c->pending, width, height) < 0) {
			rfb_peer_close(c->peer, "io-error", true);
			continue;
		}
		fb_region_add_all(&c->pending);
		if (!c->ready)
			continue;
		rc = rfb_peer_send_resize(c->peer, width, height);
		if (rc == -ENOTSUP) {
			log_warn("client-cannot-resize",
				 "id=%u reason=\"client did not announce "
				 "DesktopSize\"",
				 c->id);
			rfb_peer_close(c->peer, "io-error", false);
		}
	}
	return 0;
}

struct sync_args {
	struct session *s;
	const struct fb_view *live;
	const struct fb_damage *hint;
	long changed;
	struct fb_move move;
	bool want_move; /* some client takes CopyRect: look for moves */
};

static void run_sync(void *arg)
{
	struct sync_args *a = arg;

	a->changed =
		fb_shadow_sync(&a->s->shadow, a->live, a->hint, &a->s->changed,
			       a->want_move ? &a->move : NULL);
}

/* A move found in the shadow becomes a CopyRect for a client whose
 * pixels at the source are current: nothing pending there. */
static bool offer_move(struct client *c, const struct fb_move *m)
{
	struct fb_rect src = m->dst;

	src.x = (uint32_t)((int64_t)src.x + m->dx);
	src.y = (uint32_t)((int64_t)src.y + m->dy);
	if (fb_region_touches(&c->pending, src) ||
	    rfb_peer_queue_copy(c->peer, m->dst, src.x, src.y) < 0)
		return false;
	c->s->copies_sent++;
	return true;
}

/* Brings the shadow up to date with the source; returns changed tiles. */
static long sync_shadow(struct session *s, const struct fb_damage *hint)
{
	/* Not a compound literal in the block below: that one would die
	 * with the block while `hint` still points at it. */
	static const struct fb_damage all = {.all = true};
	struct fb_view live;
	struct fb_move a_move = {{0, 0, 0, 0}, 0, 0};
	long n;

	if (s->src->ops->view(s->src, &live) < 0)
		return 0;
	if (live.width != s->shadow.width || live.height != s->shadow.height) {
		if (follow_resize(s, live.width, live.height) < 0)
			return 0;
		hint = &all;
	}
	{
		struct sync_args a = {
			s, &live, hint, 0, {{0, 0, 0, 0}, 0, 0}, false};

		/* A client with everything pending cannot use a CopyRect. */
		for (struct client *c = s->clients; c; c = c->next)
			a.want_move |=
				c->ready && rfb_peer_takes_copyrect(c->peer) &&
				c->pending.count < (size_t)c->pending.cols *
							   c->pending.rows;

		/* Live memory may be truncated under us (shm): a SIGBUS
		 * then ends this compare, not the daemon. */
		if (fb_memguard_run(run_sync, &a) < 0) {
			log_warn("source-read-fault",
				 "reason=\"memory vanished during compare\"");
			a.move.dst.w = 0;
		}
		n = a.changed;
		a_move = a.move;
		if (a_move.dst.w)
			s->moves_found++;
	}
	if (n <= 0)
		return 0;
	s->frames_changed++;
	for (struct client *c = s->clients; c; c = c->next) {
		bool copied =
			a_move.dst.w && c->ready && offer_move(c, &a_move);

		fb_region_merge(&c->pending, &s->changed);
		/* After the CopyRect the client's pixels inside dst are the
		 * new ones, whatever was pending there before. */
		if (copied)
			fb_region_subtract(&c->pending, a_move.dst);
	}
	fb_region_clear(&s->changed);
	return n;
}

/* Damage that comes while workers use the shadow waits for them. */
static void defer_damage(struct session *s, const struct fb_damage *hint)
{
	struct fb_damage *d = &s->deferred;

	if (hint->all || hint->n > FB_DAMAGE_MAX_RECTS ||
	    d->n + hint->n > FB_DAMAGE_MAX_RECTS) {
		d->all = true;
		return;
	}
	memcpy(d->rects + d->n, hint->rects, hint->n * sizeof(hint->rects[0]));
	d->n += hint->n;
}

/* Brings the shadow up to date now, or once the lease is released. */
long session_sync_or_defer(struct session *s, const struct fb_damage *hint)
{
	if (s->lease.held) {
		defer_damage(s, hint);
		return 0;
	}
	if (hint->all)
		s->shadow_stale = false;
	return sync_shadow(s, hint);
}

/* The end of the band of a stale shadow that starts at stale_row. */
static uint32_t band_end(const struct session *s)
{
	uint32_t rows = CATCH_UP_BYTES / (s->shadow.width * 4);

	rows = rows < FB_TILE_H ? FB_TILE_H : rows - rows % FB_TILE_H;
	return s->shadow.height - s->stale_row > rows ? s->stale_row + rows
						      : s->shadow.height;
}

/* Has a worker fault in the next band of a stale shadow; false when
 * none could (no worker, or the source has a new geometry). */
bool session_catch_up_start(struct session *s)
{
	struct fb_view live;

	if (s->src->ops->view(s->src, &live) < 0 ||
	    offload_prefault(s->loop, &s->shadow, &live, s->stale_row,
			     band_end(s), &s->lease) < 0)
		return false;
	s->catching_up = true;
	return true;
}

/* Compares the band a worker has just faulted in. */
static void catch_up_band(struct session *s)
{
	uint32_t width = s->shadow.width, height = s->shadow.height;
	uint32_t y1 = band_end(s);
	struct fb_damage band = {.n = 1};

	band.rects[0] =
		(struct fb_rect){0, s->stale_row, width, y1 - s->stale_row};
	s->stale_row = y1;
	if (sync_shadow(s, &band) > 0)
		s->refresh_ms = REFRESH_FAST_MS;
	/* A new geometry was compared whole. */
	if (s->stale_row >= s->shadow.height || s->shadow.width != width ||
	    s->shadow.height != height) {
		s->shadow_stale = false;
		s->stale_row = 0;
	}
}

/* The last worker is done with the shadow: a stale one is caught up by
 * one more band, and once it is current, what waited is compared and
 * the clients held back get their updates. */
void session_lease_released(void *ctx)
{
	struct session *s = ctx;
	struct fb_damage hint = s->deferred;
	bool band = s->catching_up;

	if (s->shutting_down)
		return;
	s->catching_up = false;
	if (!band && !s->shadow_stale && !hint.all && hint.n == 0)
		return;
	if (s->n_ready == 0) {
		/* Nobody watches any more: it stays stale. */
		s->shadow_stale = true;
		s->stale_row = 0;
		memset(&s->deferred, 0, sizeof(s->deferred));
		return;
	}
	if (band)
		catch_up_band(s);
	if (s->shadow_stale && session_catch_up_start(s))
		return;
	memset(&s->deferred, 0, sizeof(s->deferred));
	if (s->shadow_stale) {
		/* No worker for the rest: all of it now. */
		hint.all = true;
		s->shadow_stale = false;
		s->stale_row = 0;
	}
	if ((hint.all || hint.n > 0) && sync_shadow(s, &hint) > 0)
		s->refresh_ms = REFRESH_FAST_MS;
	session_send_all(s);
}
