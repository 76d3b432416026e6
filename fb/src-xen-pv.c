#include "fb/src-xen-pv.h"
#include "fb/font.h"
#include "fb/memguard.h"
#include "fb/xen-vfb.h"
#include "vfbd/base/clock.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A guest's bad or unknown events are logged at most this often. */
#define EVENT_LOG_INTERVAL_MS 5000u
#define PLACEHOLDER_BG	      0x00202428u
#define PLACEHOLDER_FG	      0x00d0d0d0u
#define PLACEHOLDER_DIM	      0x00808890u

struct xen_pv_src {
	struct fb_source base;
	struct xen_host *host;
	struct xen_dev *dev;
	struct xen_vfb_limits lim;
	unsigned devid;

	/* The connection (valid while `live`). */
	void *page; /* shared page, read-write: we move out_cons, in_prod */
	const uint8_t *fb;
	size_t nframes;
	uint64_t fb_len;
	bool feature_update;
	uint32_t out_cons, in_prod;
	struct xen_vfb_geom geom;
	bool live;
	uint32_t *conv; /* XRGB8888 copy for depths other than 32 */

	/* Produced by events, reported by poll. */
	struct fb_damage damage;
	bool damage_all;
	bool resize_seen;
	struct xen_vfb_geom resize_geom;
	bool verify_pending; /* hinted damage: compare everything once idle */

	/* The screen shown without a live guest. */
	uint32_t *ph;
	uint32_t ph_w, ph_h;
	char ph_reason[160];

	uint32_t reported_w, reported_h;
	bool finished, lost;

	bool interest;
	uint32_t period_wanted, period_sent;
	bool period_dirty;

	uint64_t bad_events, last_event_log_ms;
};

static struct xen_pv_src *to_src(struct fb_source *s)
{
	return (struct xen_pv_src *)s;
}

static void draw_text(struct xen_pv_src *m, uint32_t y, uint32_t scale,
		      const char *text, uint32_t fg)
{
	size_t len = strlen(text);
	uint64_t tw = (uint64_t)len * FB_FONT_WIDTH * scale;
	uint32_t x0;

	if (y + FB_FONT_HEIGHT * scale > m->ph_h)
		return;
	x0 = tw < m->ph_w ? (uint32_t)((m->ph_w - tw) / 2) : 0;
	for (size_t i = 0; i < len; i++) {
		const uint8_t *g = fb_font_glyph((unsigned char)text[i]);
		uint64_t cx = x0 + (uint64_t)i * FB_FONT_WIDTH * scale;

		for (uint32_t gy = 0; gy < FB_FONT_HEIGHT * scale; gy++) {
			uint32_t *row = m->ph + (size_t)(y + gy) * m->ph_w;
			uint8_t bits = g[gy / scale];

			for (uint32_t gx = 0; gx < FB_FONT_WIDTH * scale;
			     gx++) {
				uint64_t px = cx + gx;

				if (px >= m->ph_w)
					break;
				if (bits & (0x80 >> (gx / scale)))
					row[px] = fg;
			}
		}
	}
}

/* (Re)draws the placeholder at the current size with `reason`. */
static void placeholder(struct xen_pv_src *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void placeholder(struct xen_pv_src *m, const char *fmt, ...)
{
	uint32_t w = m->reported_w, h = m->reported_h;
	char line[224];
	uint32_t scale, y;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->ph_reason, sizeof(m->ph_reason), fmt, ap);
	va_end(ap);
	if (!m->ph || m->ph_w != w || m->ph_h != h) {
		uint32_t *p = realloc(m->ph, (size_t)w * h * sizeof(*p));

		if (!p)
			return; /* keep the old one; view() copes */
		m->ph = p;
		m->ph_w = w;
		m->ph_h = h;
	}
	for (size_t i = 0; i < (size_t)w * h; i++)
		m->ph[i] = PLACEHOLDER_BG;
	scale = w >= 640 && h >= 200 ? 2 : 1;
	y = h / 2 > 2 * FB_FONT_HEIGHT * scale
		    ? h / 2 - 2 * FB_FONT_HEIGHT * scale
		    : 0;
	draw_text(m, y, scale, "guest framebuffer unavailable", PLACEHOLDER_FG);
	y += FB_FONT_HEIGHT * scale * 2;
	snprintf(line, sizeof(line), "domain %u, vfb %u: %s",
		 xen_host_domid(m->host), m->devid, m->ph_reason);
	draw_text(m, y, 1, line, PLACEHOLDER_DIM);
	m->damage_all = true;
}

/* Geometry view() shows now. */
static void current_size(const struct xen_pv_src *m, uint32_t *w, uint32_t *h)
{
	if (m->live) {
		*w = m->geom.width;
		*h = m->geom.height;
	} else {
		*w = m->reported_w;
		*h = m->reported_h;
	}
}

static void log_bad_event(struct xen_pv_src *m, const char *what)
{
	uint64_t now = clock_now_ms();

	m->bad_events++;
	if (now - m->last_event_log_ms < EVENT_LOG_INTERVAL_MS)
		return;
	m->last_event_log_ms = now;
	log_warn("xen-vfb-event-ignored",
		 "domid=%u dev=vfb/%u reason=\"%s\" "
		 "ignored_total=%llu",
		 xen_host_domid(m->host), m->devid, what,
		 (unsigned long long)m->bad_events);
}

static void add_damage(struct xen_pv_src *m, struct fb_rect r)
{
	struct fb_damage *d = &m->damage;

	if (m->damage_all)
		return;
	if (d->n < FB_DAMAGE_MAX_RECTS) {
		d->rects[d->n++] = r;
		return;
	}
	/* Out of slots: grow the last one into the bounding box. */
	{
		struct fb_rect *b = &d->rects[FB_DAMAGE_MAX_RECTS - 1];
		uint32_t x0 = r.x < b->x ? r.x : b->x;
		uint32_t y0 = r.y < b->y ? r.y : b->y;
		uint32_t x1 = r.x + r.w > b->x + b->w ? r.x + r.w : b->x + b->w;
		uint32_t y1 = r.y + r.h > b->y + b->h ? r.y + r.h : b->y + b->h;

		*b = (struct fb_rect){x0, y0, x1 - x0, y1 - y0};
	}
}

/* One out event, already copied out of the ring. */
static void on_out_event(void *ctx, const union xenfb_out_event *ev)
{
	struct xen_pv_src *m = ctx;
	char why[160];
	struct fb_rect r;

	switch (ev->type) {
	case XENFB_TYPE_UPDATE:
		/* After a RESIZE in this batch the picture is compared whole
		 * anyway. */
		if (!m->resize_seen &&
		    xen_vfb_clip_update(&ev->update, &m->geom, &r))
			add_damage(m, r);
		break;
	case XENFB_TYPE_RESIZE:
		if (xen_vfb_check_resize(&ev->resize, m->fb_len, &m->lim,
					 &m->resize_geom, why,
					 sizeof(why)) < 0) {
			char what[200];

			snprintf(what, sizeof(what), "bad resize: %s", why);
			log_bad_event(m, what);
			break;
		}
		/* Only the last of a storm matters. */
		m->resize_seen = true;
		break;
	default:
		log_bad_event(m, "unknown event type");
		break;
	}
}

struct consume_args {
	struct xen_pv_src *m;
	int n;
};

static void run_consume(void *arg)
{
	struct consume_args *a = arg;

	a->n = xen_vfb_consume(a->m->page, &a->m->out_cons, on_out_event, a->m);
}

struct convert_args {
	struct xen_pv_src *m;
	const struct fb_rect *rects;
	unsigned n;
};

static void run_convert(void *arg)
{
	struct convert_args *a = arg;

	for (unsigned i = 0; i < a->n; i++)
		xen_vfb_convert(a->m->fb, &a->m->geom, a->m->conv, a->rects[i]);
}

/* Refreshes the private copy inside `rects`; false if guest memory
 * faulted. */
static bool convert(struct xen_pv_src *m, const struct fb_rect *rects,
		    unsigned n)
{
	struct convert_args a = {m, rects, n};

	if (!m->conv)
		return true;
	if (fb_memguard_run(run_convert, &a) < 0) {
		xen_dev_broken(m->dev, "guest memory faulted while read");
		return false;
	}
	return true;
}

static bool convert_all(struct xen_pv_src *m)
{
	struct fb_rect all = {0, 0, m->geom.width, m->geom.height};

	return convert(m, &all, 1);
}

/* Makes `g` the picture; reallocates the private copy when needed. */
static int apply_geom(struct xen_pv_src *m, const struct xen_vfb_geom *g)
{
	free(m->conv);
	m->conv = NULL;
	if (g->depth != 32) {
		m->conv =
			calloc((size_t)g->width * g->height, sizeof(uint32_t));
		if (!m->conv)
			return -ENOMEM;
	}
	m->geom = *g;
	m->damage_all = true;
	return 0;
}

static void send_period(struct xen_pv_src *m)
{
	if (!m->live || !m->feature_update || !m->period_dirty)
		return;
	if (xen_vfb_send_refresh(m->page, &m->in_prod, m->period_wanted) < 0)
		return; /* ring full: retried at the next poll */
	m->period_dirty = false;
	m->period_sent = m->period_wanted;
	xen_dev_notify(m->dev);
}

static void drop_connection(struct xen_pv_src *m)
{
	xen_dev_unmap_frames(m->dev, m->fb, m->nframes);
	xen_dev_unmap_page(m->dev, m->page, false);
	free(m->conv);
	m->conv = NULL;
	m->fb = NULL;
	m->page = NULL;
	m->nframes = 0;
	if (m->live) {
		/* Keep the last size: clients need no resize just for the
		 * message. */
		m->reported_w = m->geom.width;
		m->reported_h = m->geom.height;
	}
	m->live = false;
	m->resize_seen = false;
	m->damage.n = 0;
}

static int vfb_publish(struct xen_dev *d)
{
	xen_dev_stage(d, "feature-resize", "1");
	return 0;
}

/* Maps the framebuffer through the page directory: directory pages and
 * frames read-only, every frame number copied out first. */
static int map_fb(struct xen_pv_src *m, enum xen_vfb_abi abi,
		  const struct xen_vfb_layout *lay)
{
	uint64_t pd[XEN_VFB_PD_SLOTS_32];
	uint64_t *gfns = malloc(lay->nframes * sizeof(*gfns));
	const void *dirs;
	char why[160];

	if (!gfns) {
		xen_dev_broken(m->dev, "out of memory for %zu frames",
			       lay->nframes);
		return -ENOMEM;
	}
	xen_vfb_read_pd(m->page, abi, lay->ndirs, pd);
	dirs = xen_dev_map_frames(m->dev, lay->ndirs, pd, why, sizeof(why));
	if (!dirs) {
		xen_dev_broken(m->dev, "page directory: %s", why);
		free(gfns);
		return -EINVAL;
	}
	xen_vfb_read_dirs(dirs, abi, lay->nframes, gfns);
	xen_dev_unmap_frames(m->dev, dirs, lay->ndirs);
	m->fb = xen_dev_map_frames(m->dev, lay->nframes, gfns, why,
				   sizeof(why));
	free(gfns);
	if (!m->fb) {
		xen_dev_broken(m->dev, "framebuffer: %s", why);
		return -EINVAL;
	}
	m->nframes = lay->nframes;
	return 0;
}

struct header_args {
	void *page;
	struct xen_vfb_header h;
	const char *proto;
	enum xen_vfb_abi abi;
	int proto_rc;
};

static void run_read_header(void *arg)
{
	struct header_args *a = arg;

	xen_vfb_read_header(a->page, &a->h);
	a->proto_rc = xen_vfb_parse_protocol(a->proto, a->page, &a->abi);
}

static int vfb_connect(struct xen_dev *d)
{
	struct xen_pv_src *m = xen_dev_ctx(d);
	struct header_args ha = {0};
	struct xen_vfb_layout lay;
	char why[160], *proto;
	uint64_t ref;
	bool upd;
	int rc;

	rc = xen_dev_read_uint(d, true, "page-ref", UINT64_MAX >> 12, &ref);
	if (rc < 0) {
		xen_dev_broken(d, "page-ref is %s",
			       rc == -ENOENT ? "missing"
					     : "not a frame number");
		return rc;
	}
	if (xen_dev_read_flag(d, true, "feature-update", false, &upd) < 0) {
		xen_dev_broken(d, "feature-update is not 0 or 1");
		return -EINVAL;
	}
	m->page = xen_dev_map_frame(d, ref, PROT_READ | PROT_WRITE, why,
				    sizeof(why));
	if (!m->page) {
		xen_dev_broken(d, "shared page: %s", why);
		return -EINVAL;
	}
	proto = xen_dev_read(d, true, "protocol");
	ha.page = m->page;
	ha.proto = proto;
	rc = fb_memguard_run(run_read_header, &ha);
	free(proto);
	if (rc < 0) {
		xen_dev_broken(d, "shared page faulted while read");
		goto fail;
	}
	if (ha.proto_rc < 0) {
		xen_dev_broken(d, "protocol is not x86_64-abi, x86_32-abi or "
				  "arm-abi");
		goto fail;
	}
	if (xen_vfb_check_header(&ha.h, ha.abi, &m->lim, &lay, why,
				 sizeof(why)) < 0) {
		xen_dev_broken(d, "%s", why);
		goto fail;
	}
	if (map_fb(m, ha.abi, &lay) < 0)
		goto fail;
	m->fb_len = lay.fb_len;
	m->feature_update = upd;
	/* Private indices from here on: the guest's later writes to
	 * out_cons or in_prod are never read again. */
	m->out_cons = ha.h.out_cons;
	m->in_prod = ha.h.in_prod;
	if (apply_geom(m, &lay.geom) < 0) {
		xen_dev_broken(d, "out of memory for %ux%u", lay.geom.width,
			       lay.geom.height);
		goto fail;
	}
	m->live = true;
	m->damage.n = 0;
	if (!convert_all(m))
		goto fail;
	if (upd)
		xen_dev_stage(d, "request-update", "1");
	m->period_dirty = true;
	send_period(m);
	log_info("xen-vfb-connected",
		 "domid=%u dev=vfb/%u width=%u height=%u depth=%u stride=%u "
		 "mem_length=%llu frames=%zu abi=%s feature_update=%d",
		 xen_host_domid(m->host), m->devid, lay.geom.width,
		 lay.geom.height, lay.geom.depth, lay.geom.stride,
		 (unsigned long long)lay.fb_len, lay.nframes,
		 ha.abi == XEN_VFB_ABI_64 ? "64" : "32", upd);
	return 0;
fail:
	drop_connection(m);
	return -EINVAL;
}

static void vfb_event(struct xen_dev *d)
{
	struct xen_pv_src *m = xen_dev_ctx(d);
	struct consume_args a = {m, 0};

	if (!m->live)
		return;
	if (fb_memguard_run(run_consume, &a) < 0) {
		xen_dev_broken(d, "shared page faulted while read");
		return;
	}
	if (a.n == -EPROTO) {
		xen_dev_broken(d,
			       "out ring indices out of range (more than %u "
			       "events pending)",
			       (unsigned)XENFB_OUT_RING_LEN);
		return;
	}
	if (m->resize_seen) {
		m->resize_seen = false;
		if (apply_geom(m, &m->resize_geom) < 0) {
			xen_dev_broken(d, "out of memory after a resize");
			return;
		}
		m->damage.n = 0;
		log_info("xen-vfb-resized",
			 "domid=%u dev=vfb/%u width=%u height=%u depth=%u "
			 "stride=%u offset=%llu",
			 xen_host_domid(m->host), m->devid, m->geom.width,
			 m->geom.height, m->geom.depth, m->geom.stride,
			 (unsigned long long)m->geom.offset);
		if (!convert_all(m))
			return;
	}
	/* The guest may be waiting for room in the ring (Linux flushes its
	 * merged damage only when notified). */
	if (a.n > 0)
		xen_dev_notify(d);
	send_period(m);
}

static void vfb_disconnect(struct xen_dev *d)
{
	struct xen_pv_src *m = xen_dev_ctx(d);
	const char *broken = xen_dev_broken_reason(d);
	bool was_live = m->live;

	drop_connection(m);
	if (broken)
		placeholder(m, "broken: %s", broken);
	else if (was_live)
		placeholder(m, "the guest disconnected");
	log_info("xen-vfb-disconnected", "domid=%u dev=vfb/%u",
		 xen_host_domid(m->host), m->devid);
}

static const struct xen_dev_ops vfb_ops = {
	.publish = vfb_publish,
	.connect = vfb_connect,
	.event = vfb_event,
	.disconnect = vfb_disconnect,
};

static enum fb_poll xen_pv_poll(struct fb_source *src, struct fb_damage *hint)
{
	struct xen_pv_src *m = to_src(src);
	enum xen_host_status st;
	uint32_t w, h;

	if (m->finished)
		return FB_POLL_FINISHED;
	st = xen_host_dispatch(m->host);
	if (st == XEN_HOST_FINISHED) {
		m->finished = true;
		return FB_POLL_FINISHED;
	}
	if (st == XEN_HOST_LOST && !m->lost) {
		m->lost = true;
		if (m->live) {
			drop_connection(m);
			placeholder(m, "the xenstore connection was lost");
		}
		return FB_POLL_GONE;
	}
	/* A connect that failed before anything was shown leaves the
	 * reason for the screen. */
	if (!m->live && xen_dev_broken_reason(m->dev) &&
	    strncmp(m->ph_reason, "broken: ", 8) != 0)
		placeholder(m, "broken: %s", xen_dev_broken_reason(m->dev));
	send_period(m);
	current_size(m, &w, &h);
	if (w != m->reported_w || h != m->reported_h) {
		m->reported_w = w;
		m->reported_h = h;
		m->damage_all = false;
		m->damage.n = 0;
		if (!m->live)
			placeholder(m, "%s", m->ph_reason);
		m->damage_all = false;
		return FB_POLL_RESIZED;
	}
	if (m->damage_all) {
		m->damage_all = false;
		m->damage.n = 0;
		hint->all = true;
		return FB_POLL_DAMAGE;
	}
	if (m->live && m->damage.n > 0) {
		*hint = m->damage;
		m->damage.n = 0;
		if (!convert(m, hint->rects, hint->n))
			return FB_POLL_IDLE;
		m->verify_pending = true;
		return FB_POLL_DAMAGE;
	}
	/* Without update events, or once quiet after hinted ones, look at
	 * everything: hints are the guest's word, not the truth. */
	if (m->live && m->interest &&
	    (!m->feature_update || m->verify_pending)) {
		m->verify_pending = false;
		if (!convert_all(m))
			return FB_POLL_IDLE;
		hint->all = true;
		return FB_POLL_DAMAGE;
	}
	return FB_POLL_IDLE;
}

static int xen_pv_view(struct fb_source *src, struct fb_view *out)
{
	struct xen_pv_src *m = to_src(src);

	if (m->live && !m->conv) {
		out->data = m->fb + m->geom.offset;
		out->width = m->geom.width;
		out->height = m->geom.height;
		out->stride = m->geom.stride;
		return 0;
	}
	if (m->live) {
		out->data = (const uint8_t *)m->conv;
		out->width = m->geom.width;
		out->height = m->geom.height;
		out->stride = (size_t)m->geom.width * 4;
		return 0;
	}
	if (!m->ph)
		return -ENOMEM;
	out->data = (const uint8_t *)m->ph;
	out->width = m->ph_w;
	out->height = m->ph_h;
	out->stride = (size_t)m->ph_w * 4;
	return 0;
}

static int xen_pv_fd(struct fb_source *src)
{
	return xen_host_fd(to_src(src)->host);
}

static void xen_pv_set_interest(struct fb_source *src, bool wanted,
				unsigned period_ms)
{
	struct xen_pv_src *m = to_src(src);
	uint32_t period =
		wanted ? (period_ms ? period_ms : 1) : XENFB_NO_REFRESH;

	m->interest = wanted;
	if (period != m->period_wanted) {
		m->period_wanted = period;
		m->period_dirty = period != m->period_sent;
	}
	send_period(m);
}

static void xen_pv_free(struct fb_source *src)
{
	struct xen_pv_src *m = to_src(src);

	/* Disconnects the device (unmapping through vfb_disconnect). */
	xen_host_free(m->host);
	free(m->conv);
	free(m->ph);
	free(m);
}

static const struct fb_source_ops xen_pv_ops = {
	.poll = xen_pv_poll,
	.view = xen_pv_view,
	.fd = xen_pv_fd,
	.set_interest = xen_pv_set_interest,
	.free = xen_pv_free,
};

void fb_xen_pv_size(struct fb_source *src, uint32_t *width, uint32_t *height)
{
	struct fb_view v;

	if (xen_pv_view(src, &v) < 0) {
		*width = to_src(src)->reported_w;
		*height = to_src(src)->reported_h;
		return;
	}
	*width = v.width;
	*height = v.height;
}

bool fb_xen_pv_live(struct fb_source *src)
{
	return to_src(src)->live;
}

/* The domain's name, if it is plain printable text. */
static void domain_name(struct xen_host *h, char *out, size_t len)
{
	char path[64];
	unsigned n = 0;
	char *v;

	snprintf(path, sizeof(path), "/local/domain/%u/name",
		 xen_host_domid(h));
	v = xen_host_ops(h)->xs_read(xen_host_impl(h), XBT_NULL, path, &n);
	out[0] = '\0';
	if (!v)
		return;
	for (unsigned i = 0; i < n && i + 1 < len; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e) {
			out[0] = '\0';
			break;
		}
		out[i] = v[i];
		out[i + 1] = '\0';
	}
	free(v);
}

struct fb_source *fb_xen_pv_new(struct xen_host *host,
				const struct fb_xen_pv_opts *opts, char *why,
				size_t why_len)
{
	struct xen_pv_src *m = calloc(1, sizeof(*m));
	char name[48];

	if (!m) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (fb_memguard_init() < 0) {
		snprintf(why, why_len, "cannot install the SIGBUS guard");
		free(m);
		return NULL;
	}
	m->base.ops = &xen_pv_ops;
	m->host = host;
	m->devid = opts->devid;
	m->lim.fb_max = opts->fb_max;
	/* Our own copies (shadow, conversion) are bounded like the guest's
	 * memory, whatever its depth. */
	m->lim.pixel_max = opts->fb_max;
	m->reported_w = opts->width ? opts->width : FB_XEN_PV_DEFAULT_WIDTH;
	m->reported_h = opts->height ? opts->height : FB_XEN_PV_DEFAULT_HEIGHT;
	m->period_wanted = XENFB_NO_REFRESH;
	placeholder(m, "waiting for the guest to connect");
	m->damage_all = false;
	if (!m->ph) {
		snprintf(why, why_len, "out of memory");
		free(m);
		return NULL;
	}
	m->dev = xen_host_add_dev(host, "vfb", "vfb", opts->devid, &vfb_ops, m,
				  why, why_len);
	if (!m->dev) {
		free(m->ph);
		free(m);
		return NULL;
	}
	domain_name(host, name, sizeof(name));
	if (name[0])
		snprintf(m->base.name, sizeof(m->base.name),
			 "%s (xen domain %u)", name, xen_host_domid(host));
	else
		snprintf(m->base.name, sizeof(m->base.name), "xen domain %u",
			 xen_host_domid(host));
	return &m->base;
}
