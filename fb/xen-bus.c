#include "fb/xen-bus.h"
#include "vfbd/base/clock.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

/* Watch events handled per dispatch; the rest wait for the next one (the
 * watch pipe stays readable). A guest rewriting its keys in a loop costs
 * one evaluation per batch, not one per write. */
#define WATCH_BATCH 256
/* Event-channel deliveries handled per dispatch. */
#define EVTCHN_BATCH 64
/* A port is unmasked at most this often: a guest notifying in a loop
 * gets its ring read every THROTTLE_MS instead of spinning dom0 (XSA-332
 * lesson). Honest guests notify far less often. */
#define THROTTLE_MS 2
/* Handshake steps one evaluation may take (Closing, Closed, Initialising,
 * InitWait, Connected and a spare). */
#define EVAL_STEPS 8
#define TX_RETRIES 8
#define STAGE_MAX  16

#define TOKEN_DEVICE  "vfbd-dev"
#define TOKEN_RELEASE "vfbd-release"
#define RELEASE_PATH  "@releaseDomain"

enum { FE_GONE = -1 };

struct staged {
	char key[40];
	char value[96];
};

struct xen_dev {
	struct xen_dev *next;
	struct xen_host *host;
	const struct xen_dev_ops *ops;
	void *ctx;
	char name[48];
	char be_path[128], fe_path[128];
	int state;	/* what we last wrote to be/state */
	int port;	/* bound local port, or -1 */
	bool connected; /* connect() succeeded and state=Connected written */
	bool fe_connected;
	bool rewrote; /* the one extra Connected write happened */
	bool gone;    /* backend directory removed: nothing more to do */
	bool broken;
	bool deferred; /* a delivery waits for the throttle timer */
	uint64_t last_unmask_ms;
	char broken_reason[160];
	struct staged stage[STAGE_MAX];
	unsigned n_stage;
};

struct xen_host {
	const struct xen_ops *ops;
	void *impl;
	uint32_t domid;
	uint8_t uuid[16];
	int epfd, xs_fd, evtchn_fd, timer_fd;
	bool timer_armed;
	struct xen_dev *devs;
	void (*tick)(void *ctx);
	void (*teardown)(void *ctx);
	void *hook_ctx;
	bool finished;
	bool lost;
};

static void stage_clear(struct xen_dev *d)
{
	d->n_stage = 0;
}

void xen_dev_stage(struct xen_dev *d, const char *key, const char *fmt, ...)
{
	struct staged *s;
	va_list ap;

	if (d->n_stage == STAGE_MAX) {
		log_error("xen-stage-full", "dev=%s key=%s", d->name, key);
		return;
	}
	s = &d->stage[d->n_stage++];
	snprintf(s->key, sizeof(s->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(s->value, sizeof(s->value), fmt, ap);
	va_end(ap);
}

void *xen_dev_ctx(const struct xen_dev *d)
{
	return d->ctx;
}

struct xen_host *xen_dev_host(const struct xen_dev *d)
{
	return d->host;
}

const char *xen_dev_name(const struct xen_dev *d)
{
	return d->name;
}

bool xen_dev_connected(const struct xen_dev *d)
{
	return d->connected;
}

const char *xen_dev_broken_reason(const struct xen_dev *d)
{
	return d->broken_reason[0] ? d->broken_reason : NULL;
}

uint32_t xen_host_domid(const struct xen_host *h)
{
	return h->domid;
}

const struct xen_ops *xen_host_ops(const struct xen_host *h)
{
	return h->ops;
}

void *xen_host_impl(const struct xen_host *h)
{
	return h->impl;
}

int xen_host_fd(const struct xen_host *h)
{
	return h->epfd;
}

void xen_host_set_hooks(struct xen_host *h, void (*tick)(void *ctx),
			void (*teardown)(void *ctx), void *ctx)
{
	h->tick = tick;
	h->teardown = teardown;
	h->hook_ctx = ctx;
}

static char *read_path(struct xen_host *h, xs_transaction_t t, const char *path)
{
	unsigned len = 0;
	char *v = h->ops->xs_read(h->impl, t, path, &len);

	if (!v && errno != ENOENT && errno != EACCES)
		log_debug("xen-xs-read-failed", "path=%s errno=%d", path,
			  errno);
	return v;
}

char *xen_dev_read(struct xen_dev *d, bool fe, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fe ? d->fe_path : d->be_path,
		 key);
	return read_path(d->host, XBT_NULL, path);
}

/* Strict decimal: what a frontend writes with "%u"; nothing else. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 20)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int xen_dev_read_uint(struct xen_dev *d, bool fe, const char *key, uint64_t max,
		      uint64_t *out)
{
	char *v = xen_dev_read(d, fe, key);
	int rc;

	if (!v)
		return -ENOENT;
	rc = parse_uint(v, max, out);
	free(v);
	return rc;
}

int xen_dev_read_flag(struct xen_dev *d, bool fe, const char *key, bool dflt,
		      bool *out)
{
	uint64_t v;
	int rc = xen_dev_read_uint(d, fe, key, 1, &v);

	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc < 0)
		return rc;
	*out = v == 1;
	return 0;
}

void xen_dev_broken(struct xen_dev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->broken_reason, sizeof(d->broken_reason), fmt, ap);
	va_end(ap);
	for (char *p = d->broken_reason; *p; p++)
		if (*p == '"')
			*p = '\'';
	if (!d->broken)
		log_warn("xen-device-broken", "domid=%u dev=%s reason=\"%s\"",
			 d->host->domid, d->name, d->broken_reason);
	d->broken = true;
}

void xen_dev_notify(struct xen_dev *d)
{
	if (d->port >= 0)
		d->host->ops->evtchn_notify(d->host->impl, (uint32_t)d->port);
}

void *xen_dev_map_frame(struct xen_dev *d, uint64_t gfn, int prot, char *why,
			size_t why_len)
{
	struct xen_host *h = d->host;
	int err = 0;
	void *p = h->ops->fmem_map(h->impl, h->domid, prot, 1, &gfn, &err);

	if (p && err) {
		h->ops->fmem_unmap(h->impl, p, 1);
		errno = err < 0 ? -err : err;
		p = NULL;
	}
	if (!p)
		snprintf(why, why_len, "cannot map frame %llu: %s",
			 (unsigned long long)gfn, strerror(errno));
	return p;
}

void *xen_dev_map_grant(struct xen_dev *d, uint32_t gref, int prot, char *why,
			size_t why_len)
{
	struct xen_host *h = d->host;
	void *p = h->ops->gnt_map(h->impl, h->domid, gref, prot);

	if (!p)
		snprintf(why, why_len, "cannot map grant %u: %s", gref,
			 strerror(errno));
	return p;
}

void xen_dev_unmap_page(struct xen_dev *d, void *page, bool grant)
{
	struct xen_host *h = d->host;

	if (!page)
		return;
	if (grant)
		h->ops->gnt_unmap(h->impl, page, 1);
	else
		h->ops->fmem_unmap(h->impl, page, 1);
}

const void *xen_dev_map_frames(struct xen_dev *d, size_t n,
			       const uint64_t *gfns, char *why, size_t why_len)
{
	struct xen_host *h = d->host;
	int *err = calloc(n ? n : 1, sizeof(*err));
	void *p;

	if (!err) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	p = h->ops->fmem_map(h->impl, h->domid, PROT_READ, n, gfns, err);
	if (!p) {
		snprintf(why, why_len, "cannot map %zu frames: %s", n,
			 strerror(errno));
		free(err);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (err[i] == 0)
			continue;
		snprintf(why, why_len, "cannot map frame %llu (entry %zu): %s",
			 (unsigned long long)gfns[i], i,
			 strerror(err[i] < 0 ? -err[i] : err[i]));
		h->ops->fmem_unmap(h->impl, p, n);
		free(err);
		return NULL;
	}
	free(err);
	return p;
}

void xen_dev_unmap_frames(struct xen_dev *d, const void *p, size_t n)
{
	if (p)
		d->host->ops->fmem_unmap(d->host->impl, (void *)p, n);
}

/* Writes the staged keys and be/state in one transaction, retried when
 * xenstore reports a conflict. A vanished backend directory is never
 * recreated: the device is gone then. 0 or -errno. */
static int commit(struct xen_dev *d, int state)
{
	struct xen_host *h = d->host;
	char path[256], val[16];
	int rc = -EAGAIN;

	for (int i = 0; i < TX_RETRIES; i++) {
		xs_transaction_t t = h->ops->xs_transaction_start(h->impl);
		char *cur;
		bool ok = true;

		if (t == XBT_NULL) {
			rc = -errno;
			break;
		}
		snprintf(path, sizeof(path), "%s/state", d->be_path);
		cur = read_path(h, t, path);
		if (!cur) {
			h->ops->xs_transaction_end(h->impl, t, true);
			d->gone = true;
			rc = -ENOENT;
			break;
		}
		free(cur);
		for (unsigned k = 0; k < d->n_stage && ok; k++) {
			snprintf(path, sizeof(path), "%s/%s", d->be_path,
				 d->stage[k].key);
			ok = h->ops->xs_write(
				h->impl, t, path, d->stage[k].value,
				(unsigned)strlen(d->stage[k].value));
		}
		snprintf(path, sizeof(path), "%s/state", d->be_path);
		snprintf(val, sizeof(val), "%d", state);
		if (ok)
			ok = h->ops->xs_write(h->impl, t, path, val,
					      (unsigned)strlen(val));
		if (!ok) {
			rc = -errno;
			h->ops->xs_transaction_end(h->impl, t, true);
			break;
		}
		if (h->ops->xs_transaction_end(h->impl, t, false)) {
			rc = 0;
			break;
		}
		rc = -errno;
		if (errno != EAGAIN)
			break;
	}
	if (rc == 0) {
		log_debug("xen-backend-state", "domid=%u dev=%s state=%d",
			  h->domid, d->name, state);
		d->state = state;
	} else if (rc != -ENOENT) {
		log_warn("xen-xs-commit-failed",
			 "domid=%u dev=%s state=%d "
			 "errno=%d",
			 h->domid, d->name, state, -rc);
	}
	stage_clear(d);
	return rc;
}

/* The frontend's state: 0..8, FE_GONE when its directory is gone, and
 * XenbusStateUnknown for anything that is not a number in range. */
static int read_fe_state(struct xen_dev *d)
{
	uint64_t v;
	int rc = xen_dev_read_uint(d, true, "state", XenbusStateReconfigured,
				   &v);
	char *dir;

	if (rc == 0)
		return (int)v;
	if (rc == -ENOENT) {
		dir = read_path(d->host, XBT_NULL, d->fe_path);
		if (!dir)
			return FE_GONE;
		free(dir);
	}
	return XenbusStateUnknown;
}

static void teardown(struct xen_dev *d)
{
	struct xen_host *h = d->host;

	if (d->connected && d->ops->disconnect)
		d->ops->disconnect(d);
	if (d->port >= 0)
		h->ops->evtchn_unbind(h->impl, (uint32_t)d->port);
	d->port = -1;
	d->connected = false;
	d->fe_connected = false;
	d->rewrote = false;
	d->deferred = false;
}

static int do_connect(struct xen_dev *d)
{
	struct xen_host *h = d->host;
	uint64_t rport;
	int port, rc;

	stage_clear(d);
	rc = xen_dev_read_uint(d, true, "event-channel", UINT32_MAX, &rport);
	if (rc < 0) {
		xen_dev_broken(d, "event-channel is %s",
			       rc == -ENOENT ? "missing" : "not a number");
		return rc;
	}
	port = h->ops->evtchn_bind(h->impl, h->domid, (uint32_t)rport);
	if (port < 0) {
		xen_dev_broken(d, "cannot bind event channel %llu: %s",
			       (unsigned long long)rport, strerror(errno));
		return -EINVAL;
	}
	d->port = port;
	d->last_unmask_ms = 0;
	/* connected must be true for disconnect() to run on failure. */
	d->connected = true;
	rc = d->ops->connect ? d->ops->connect(d) : 0;
	if (rc < 0 || d->broken) {
		if (!d->broken)
			xen_dev_broken(d, "connect failed: %s", strerror(-rc));
		teardown(d);
		return rc < 0 ? rc : -EINVAL;
	}
	rc = commit(d, XenbusStateConnected);
	if (rc < 0) {
		teardown(d);
		return rc;
	}
	log_info("xen-device-connected", "domid=%u dev=%s port=%d", h->domid,
		 d->name, port);
	return 0;
}

static bool closing_state(int fe)
{
	return fe == XenbusStateClosing || fe == XenbusStateClosed ||
	       fe == FE_GONE;
}

/* Moves the handshake on as far as the frontend's state allows. */
static void evaluate(struct xen_dev *d)
{
	uint64_t online;

	for (int step = 0; step < EVAL_STEPS && !d->gone; step++) {
		int fe = read_fe_state(d);

		switch (d->state) {
		case XenbusStateInitialising:
			if (xen_dev_read_uint(d, false, "online", 1, &online) <
				    0 ||
			    online != 1)
				return;
			stage_clear(d);
			if (d->ops->publish && d->ops->publish(d) < 0)
				return;
			xen_dev_stage(d, "hotplug-status", "connected");
			if (commit(d, XenbusStateInitWait) < 0)
				return;
			continue;
		case XenbusStateInitWait:
			if (fe == XenbusStateInitialised ||
			    fe == XenbusStateConnected) {
				if (do_connect(d) < 0 &&
				    commit(d, XenbusStateClosing) < 0)
					return;
				continue;
			}
			if (closing_state(fe)) {
				if (commit(d, XenbusStateClosing) < 0)
					return;
				continue;
			}
			return;
		case XenbusStateConnected:
			if (d->broken || closing_state(fe) ||
			    fe == XenbusStateInitialising ||
			    (fe == XenbusStateInitialised && d->fe_connected)) {
				/* Initialised after Connected: the frontend
				 * re-initialised (new page, new port). */
				bool reinit = fe == XenbusStateInitialised &&
					      !d->broken;

				teardown(d);
				if (reinit) {
					log_info("xen-device-reinit",
						 "domid=%u dev=%s",
						 d->host->domid, d->name);
					d->state = XenbusStateInitWait;
					continue;
				}
				if (commit(d, XenbusStateClosing) < 0)
					return;
				continue;
			}
			if (fe == XenbusStateConnected && !d->fe_connected) {
				d->fe_connected = true;
				if (d->ops->connected)
					d->ops->connected(d);
				if (!d->rewrote) {
					/* Old frontends that missed InitWait
					 * read their keys only on a fresh
					 * Connected event. */
					d->rewrote = true;
					commit(d, XenbusStateConnected);
				}
			}
			return;
		case XenbusStateClosing:
			if (fe == XenbusStateClosed || fe == FE_GONE ||
			    fe == XenbusStateInitialising) {
				if (commit(d, XenbusStateClosed) < 0)
					return;
				continue;
			}
			return;
		case XenbusStateClosed:
			if (fe == XenbusStateInitialising) {
				/* The frontend reset: start over. */
				d->broken = false;
				d->broken_reason[0] = '\0';
				log_info("xen-device-reset", "domid=%u dev=%s",
					 d->host->domid, d->name);
				if (commit(d, XenbusStateInitialising) < 0)
					return;
				continue;
			}
			return;
		default:
			/* A state we never write (a stale value): start from
			 * the beginning. */
			d->state = XenbusStateInitialising;
			continue;
		}
	}
}

static void arm_timer(struct xen_host *h, uint64_t due_ms)
{
	uint64_t now = clock_now_ms();
	uint64_t in = due_ms > now ? due_ms - now : 1;
	struct itimerspec its = {
		.it_value = {(time_t)(in / 1000), (long)(in % 1000) * 1000000L},
	};

	if (h->timer_armed)
		return;
	timerfd_settime(h->timer_fd, 0, &its, NULL);
	h->timer_armed = true;
}

static void deliver(struct xen_dev *d)
{
	struct xen_host *h = d->host;

	d->deferred = false;
	d->last_unmask_ms = clock_now_ms();
	/* Unmask first: a notification during processing re-arms the fd
	 * instead of being lost. */
	h->ops->evtchn_unmask(h->impl, (uint32_t)d->port);
	if (d->connected && d->ops->event)
		d->ops->event(d);
	if (d->broken && d->connected)
		evaluate(d);
}

static struct xen_dev *dev_by_port(struct xen_host *h, int port)
{
	for (struct xen_dev *d = h->devs; d; d = d->next)
		if (d->port == port)
			return d;
	return NULL;
}

static void handle_events(struct xen_host *h)
{
	for (int i = 0; i < EVTCHN_BATCH; i++) {
		int port = h->ops->evtchn_pending(h->impl);
		struct xen_dev *d;

		if (port < 0)
			break;
		d = dev_by_port(h, port);
		if (!d) {
			/* Delivered after we unbound it. */
			h->ops->evtchn_unmask(h->impl, (uint32_t)port);
			continue;
		}
		if (clock_now_ms() - d->last_unmask_ms < THROTTLE_MS) {
			d->deferred = true;
			arm_timer(h, d->last_unmask_ms + THROTTLE_MS);
			continue;
		}
		deliver(d);
	}
}

static void handle_timer(struct xen_host *h)
{
	uint64_t expirations;

	if (read(h->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno == EAGAIN)
		return;
	h->timer_armed = false;
	for (struct xen_dev *d = h->devs; d; d = d->next)
		if (d->deferred && d->port >= 0)
			deliver(d);
}

static void check_domain(struct xen_host *h)
{
	struct xen_dominfo info;
	int rc = h->ops->domain_info(h->impl, h->domid, &info);

	if (rc == -ENOENT) {
		log_info("xen-domain-gone", "domid=%u reason=destroyed",
			 h->domid);
		h->finished = true;
	} else if (rc == 0 && memcmp(info.uuid, h->uuid, 16) != 0) {
		log_info("xen-domain-gone",
			 "domid=%u reason=\"domid reused by another domain\"",
			 h->domid);
		h->finished = true;
	} else if (rc == 0 && info.dying) {
		log_info("xen-domain-gone", "domid=%u reason=dying", h->domid);
		h->finished = true;
	}
}

static void handle_watches(struct xen_host *h)
{
	bool devices = false, release = false, fe_gone = false;
	char **w;

	for (int i = 0; i < WATCH_BATCH; i++) {
		w = h->ops->xs_check_watch(h->impl);
		if (!w) {
			if (errno != EAGAIN && errno != EINTR) {
				log_error("xen-xenstore-lost", "errno=%d",
					  errno);
				h->lost = true;
			}
			break;
		}
		if (strcmp(w[XS_WATCH_TOKEN], TOKEN_RELEASE) == 0)
			release = true;
		else
			devices = true;
		free(w);
	}
	if (release)
		check_domain(h);
	if (h->finished || !devices)
		return;
	for (struct xen_dev *d = h->devs; d; d = d->next) {
		char *fe;

		evaluate(d);
		/* A vanished frontend directory usually means the domain is
		 * going: look now rather than rely on @releaseDomain alone. */
		fe = read_path(h, XBT_NULL, d->fe_path);
		if (!fe)
			fe_gone = true;
		free(fe);
	}
	if (fe_gone)
		check_domain(h);
}

enum xen_host_status xen_host_dispatch(struct xen_host *h)
{
	if (!h->finished && !h->lost) {
		handle_watches(h);
		if (!h->finished && !h->lost) {
			handle_events(h);
			handle_timer(h);
		}
		if (h->tick)
			h->tick(h->hook_ctx);
	}
	if (h->finished)
		return XEN_HOST_FINISHED;
	return h->lost ? XEN_HOST_LOST : XEN_HOST_OK;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int xen_host_open(uint32_t domid, struct xen_host **out, char *why,
		  size_t why_len)
{
	struct xen_host *h = calloc(1, sizeof(*h));
	struct xen_dominfo info;
	int rc;

	if (!h) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	h->domid = domid;
	h->epfd = h->timer_fd = -1;
	h->ops = xen_ops_select();
	h->impl = h->ops->open(why, why_len);
	if (!h->impl) {
		free(h);
		return -ENODEV;
	}
	rc = h->ops->domain_info(h->impl, domid, &info);
	if (rc < 0) {
		snprintf(why, why_len,
			 rc == -ENOENT ? "domain %u does not exist"
				       : "cannot query domain %u: %s",
			 domid, strerror(-rc));
		goto fail;
	}
	memcpy(h->uuid, info.uuid, sizeof(h->uuid));
	h->xs_fd = h->ops->xs_fileno(h->impl);
	h->evtchn_fd = h->ops->evtchn_fd(h->impl);
	/* /dev/xen/evtchn blocks a read with nothing pending; the loop only
	 * sees our epoll fd, so make sure xenevtchn_pending never waits. */
	if (h->evtchn_fd >= 0) {
		int fl = fcntl(h->evtchn_fd, F_GETFL);

		if (fl < 0 ||
		    fcntl(h->evtchn_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			rc = -errno;
			snprintf(why, why_len,
				 "cannot make the event channel fd "
				 "non-blocking: %s",
				 strerror(errno));
			goto fail;
		}
	}
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->xs_fd < 0 || h->evtchn_fd < 0 || h->epfd < 0 ||
	    h->timer_fd < 0 || epoll_add(h->epfd, h->xs_fd) < 0 ||
	    epoll_add(h->epfd, h->evtchn_fd) < 0 ||
	    epoll_add(h->epfd, h->timer_fd) < 0) {
		rc = -errno;
		snprintf(why, why_len, "cannot watch the Xen fds: %s",
			 strerror(errno));
		goto fail;
	}
	if (!h->ops->xs_watch(h->impl, RELEASE_PATH, TOKEN_RELEASE)) {
		rc = -errno;
		snprintf(why, why_len, "cannot watch %s: %s", RELEASE_PATH,
			 strerror(errno));
		goto fail;
	}
	if (h->ops->restrict_to(h->impl, domid) < 0)
		log_debug("xen-restrict-failed", "domid=%u errno=%d", domid,
			  errno);
	log_info("xen-opened", "domid=%u hypervisor=%s hvm=%d", domid,
		 h->ops->name, info.hvm);
	*out = h;
	return 0;
fail:
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	h->ops->close(h->impl);
	free(h);
	return rc < 0 ? rc : -ENODEV;
}

struct xen_dev *xen_host_add_dev(struct xen_host *h, const char *kind,
				 const char *fe_kind, unsigned devid,
				 const struct xen_dev_ops *ops, void *ctx,
				 char *why, size_t why_len)
{
	struct xen_dev *d = calloc(1, sizeof(*d));
	uint64_t state;
	char *fe;

	if (!d) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	d->host = h;
	d->ops = ops;
	d->ctx = ctx;
	d->port = -1;
	snprintf(d->name, sizeof(d->name), "%s/%u", kind, devid);
	snprintf(d->be_path, sizeof(d->be_path),
		 "/local/domain/0/backend/%s/%u/%u", kind, h->domid, devid);
	snprintf(d->fe_path, sizeof(d->fe_path),
		 "/local/domain/%u/device/%s/%u", h->domid, fe_kind, devid);
	/* Our own backend directory names the frontend (the toolstack, or
	 * we, wrote it; the guest cannot). The guest-writable fe/backend is
	 * never followed. */
	fe = xen_dev_read(d, false, "frontend");
	if (!fe || strcmp(fe, d->fe_path) != 0) {
		snprintf(why, why_len, "%s: %s", d->be_path,
			 fe ? "its frontend key names another frontend"
			    : "no such backend directory");
		free(fe);
		free(d);
		return NULL;
	}
	free(fe);
	if (xen_dev_read_uint(d, false, "state", XenbusStateReconfigured,
			      &state) < 0)
		state = XenbusStateInitialising;
	if (state != XenbusStateInitialising)
		/* A backend that died left its state behind: run the
		 * handshake again from the start; a connected frontend is
		 * picked up where it is. */
		log_info("xen-backend-restart",
			 "domid=%u dev=%s old_state=%llu", h->domid, d->name,
			 (unsigned long long)state);
	d->state = XenbusStateInitialising;
	if (!h->ops->xs_watch(h->impl, d->be_path, TOKEN_DEVICE) ||
	    !h->ops->xs_watch(h->impl, d->fe_path, TOKEN_DEVICE)) {
		snprintf(why, why_len, "cannot watch %s: %s", d->name,
			 strerror(errno));
		h->ops->xs_unwatch(h->impl, d->be_path, TOKEN_DEVICE);
		free(d);
		return NULL;
	}
	d->next = h->devs;
	h->devs = d;
	return d;
}

void xen_host_free(struct xen_host *h)
{
	if (!h)
		return;
	while (h->devs) {
		struct xen_dev *d = h->devs;

		h->devs = d->next;
		teardown(d);
		h->ops->xs_unwatch(h->impl, d->fe_path, TOKEN_DEVICE);
		h->ops->xs_unwatch(h->impl, d->be_path, TOKEN_DEVICE);
		free(d);
	}
	if (h->teardown)
		h->teardown(h->hook_ctx);
	h->ops->xs_unwatch(h->impl, RELEASE_PATH, TOKEN_RELEASE);
	close(h->epfd);
	close(h->timer_fd);
	h->ops->close(h->impl);
	free(h);
}
