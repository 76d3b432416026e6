/* The simulated Xen host and guest (see xensim.h): the hypervisor
 * (guest memory, grants, event channels, domains, all in the shared
 * simulation directory of fb/xen-ops-sim.h), the guest's framebuffer and
 * keyboard frontends written from the public protocol headers, the thread
 * that runs them, and the test's API. The xenstore daemon is in
 * xensim-store.c. */
#include "tests/lib/xensim-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/input-event-codes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* hypervisor: memory, ports, grants                                   */

static uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void st(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static uint64_t rnd(struct xensim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* A free frame, picked at random so a guest's frames are scattered as
 * they are in a real guest. 0 when memory is full (frame 0 is never
 * handed out). */
static uint64_t alloc_frame(struct xensim *s)
{
	for (unsigned tries = 0; tries < 4 * s->npages; tries++) {
		uint64_t g = 1 + rnd(s) % (s->npages - 1);

		if (!s->page_used[g]) {
			s->page_used[g] = 1;
			memset(s->mem + g * PAGE, 0, PAGE);
			return g;
		}
	}
	for (uint64_t g = 1; g < s->npages; g++) {
		if (!s->page_used[g]) {
			s->page_used[g] = 1;
			memset(s->mem + g * PAGE, 0, PAGE);
			return g;
		}
	}
	return 0;
}

static unsigned alloc_port(struct xensim *s)
{
	for (unsigned p = 1; p < XEN_SIM_MAX_PORTS; p++) {
		struct xen_sim_port *e = &s->ctl->ports[p];

		if (ld(&e->state) == XEN_SIM_PORT_FREE) {
			memset(e, 0, sizeof(*e));
			st(&e->domid, s->domid);
			st(&e->remote, 0);
			st(&e->state, XEN_SIM_PORT_UNBOUND);
			return p;
		}
	}
	return 0;
}

static void free_port(struct xensim *s, unsigned p)
{
	if (p)
		st(&s->ctl->ports[p].state, XEN_SIM_PORT_FREE);
}

static void guest_notify(struct xensim *s, unsigned port)
{
	struct xen_sim_port *e;
	uint32_t bp;

	if (!port)
		return;
	e = &s->ctl->ports[port];
	if (ld(&e->state) != XEN_SIM_PORT_BOUND)
		return;
	st(&e->be_pending, 1);
	if (ld(&e->be_masked) ||
	    __atomic_exchange_n(&e->be_queued, 1, __ATOMIC_SEQ_CST))
		return;
	bp = port + XEN_SIM_BE_PORT_BASE;
	(void)sendto(s->fe_sock, &bp, sizeof(bp), MSG_DONTWAIT,
		     (struct sockaddr *)&s->be_addr, sizeof(s->be_addr));
}

/* ------------------------------------------------------------------ */
/* the guest's framebuffer frontend                                    */

static char *fe_path(struct xensim *s, const char *kind, const char *key,
		     char *buf, size_t len)
{
	snprintf(buf, len, "/local/domain/%u/device/%s/0%s%s", s->domid, kind,
		 key ? "/" : "", key ? key : "");
	return buf;
}

/* The backend directory the frontend's `backend` key names. */
static bool be_dir(struct xensim *s, const char *kind, char *buf, size_t len)
{
	char p[128];
	struct node *n = xsim_lookup(
		s->root, fe_path(s, kind, "backend", p, sizeof(p)), NULL);

	if (!n || n->vlen == 0 || n->vlen >= len)
		return false;
	memcpy(buf, n->value, n->vlen);
	buf[n->vlen] = '\0';
	return true;
}

static int read_be_int(struct xensim *s, const char *kind, const char *key,
		       int dflt)
{
	char dir[128], p[192];
	struct node *n;

	if (!be_dir(s, kind, dir, sizeof(dir)))
		return dflt;
	snprintf(p, sizeof(p), "%s/%s", dir, key);
	n = xsim_lookup(s->root, p, NULL);
	if (!n || xsim_perm_of(n, s->domid) == 0 || n->vlen == 0)
		return dflt;
	return atoi(n->value);
}

static void guest_write(struct xensim *s, const char *kind, const char *key,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void guest_write(struct xensim *s, const char *kind, const char *key,
			const char *fmt, ...)
{
	char p[128], v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (xsim_global_write(s, s->domid, fe_path(s, kind, key, p, sizeof(p)),
			      v, (unsigned)strlen(v)) < 0)
		fprintf(stderr, "xensim: guest cannot write %s\n", p);
}

static void fb_set_state(struct xensim *s, int state)
{
	s->fb.state = state;
	guest_write(s, "vfb", "state", "%d", state);
}

static void fb_flush_pending(struct xensim *s)
{
	struct sim_fb *f = &s->fb;
	struct xenfb_page *pg = f->page;
	uint32_t prod, cons;
	union xenfb_out_event *ev;

	if (!f->have_pending)
		return;
	prod = pg->out_prod;
	cons = __atomic_load_n(&pg->out_cons, __ATOMIC_ACQUIRE);
	if (prod - cons >= XENFB_OUT_RING_LEN)
		return;
	ev = &XENFB_OUT_RING_REF(pg, prod);
	memset(ev, 0, sizeof(*ev));
	ev->update.type = XENFB_TYPE_UPDATE;
	ev->update.x = (int32_t)f->px0;
	ev->update.y = (int32_t)f->py0;
	ev->update.width = (int32_t)(f->px1 - f->px0);
	ev->update.height = (int32_t)(f->py1 - f->py0);
	__atomic_store_n(&pg->out_prod, prod + 1, __ATOMIC_RELEASE);
	f->have_pending = false;
	guest_notify(s, f->port);
}

/* The backend notified the framebuffer port. */
static void fb_on_event(struct xensim *s)
{
	struct sim_fb *f = &s->fb;
	struct xenfb_page *pg = f->page;
	uint32_t prod, cons;

	if (!f->booted)
		return;
	prod = __atomic_load_n(&pg->in_prod, __ATOMIC_ACQUIRE);
	cons = pg->in_cons;
	for (; cons != prod && prod - cons <= XENFB_IN_RING_LEN; cons++) {
		union xenfb_in_event ev = XENFB_IN_RING_REF(pg, cons);

		if (ev.type == XENFB_TYPE_REFRESH_PERIOD) {
			f->periods++;
			f->last_period = ev.refresh_period.period;
		}
	}
	__atomic_store_n(&pg->in_cons, prod, __ATOMIC_RELEASE);
	fb_flush_pending(s);
}

static void fb_react(struct xensim *s)
{
	struct sim_fb *f = &s->fb;
	int be = read_be_int(s, "vfb", "state", -1);

	if (!f->booted || f->resetting)
		return;
	switch (be) {
	case XenbusStateInitWait:
		if (f->cfg.profile == XENSIM_LINUX &&
		    f->state == XenbusStateInitialised)
			fb_set_state(s, XenbusStateConnected);
		break;
	case XenbusStateConnected:
		if (f->cfg.profile == XENSIM_MINIOS &&
		    f->state == XenbusStateInitialised)
			fb_set_state(s, XenbusStateConnected);
		f->request_update =
			read_be_int(s, "vfb", "request-update", 0) == 1;
		f->feature_resize =
			read_be_int(s, "vfb", "feature-resize", 0) == 1;
		break;
	case XenbusStateClosing:
		/* Linux: the backend gave up on us; close our end. */
		if (f->state == XenbusStateConnected ||
		    f->state == XenbusStateInitialised)
			fb_set_state(s, XenbusStateClosed);
		break;
	default:
		break;
	}
}

static void fb_unmap(struct xensim *s)
{
	struct sim_fb *f = &s->fb;

	if (f->map)
		munmap(f->map, f->map_len);
	f->map = NULL;
	for (size_t i = 0; i < f->nframes; i++)
		s->page_used[f->frames[i]] = 0;
	for (unsigned i = 0; i < f->ndirs; i++)
		s->page_used[f->dirs[i]] = 0;
	if (f->page_gfn)
		s->page_used[f->page_gfn] = 0;
	free(f->frames);
	f->frames = NULL;
	f->nframes = 0;
	f->ndirs = 0;
	f->page_gfn = 0;
	free_port(s, f->port);
	f->port = 0;
}

static int fb_boot_locked(struct xensim *s, const struct xensim_fb_config *c)
{
	struct sim_fb *f = &s->fb;
	uint32_t bpp = c->depth / 8 ? c->depth / 8 : 1;
	unsigned esz = c->abi32 ? 4 : 8;
	size_t per_dir = PAGE / esz;
	uint8_t *pg;
	char proto[32];

	f->cfg = *c;
	f->line_length = c->line_length ? c->line_length : c->width * bpp;
	f->mem_length =
		c->mem_length ? c->mem_length : f->line_length * c->height;
	f->nframes = (f->mem_length + PAGE - 1) / PAGE;
	f->ndirs = (unsigned)((f->nframes + per_dir - 1) / per_dir);
	if (f->ndirs > 256 || f->nframes + f->ndirs + 1 >= s->npages)
		return -ENOMEM;
	f->page_gfn = alloc_frame(s);
	f->page = (struct xenfb_page *)(s->mem + f->page_gfn * PAGE);
	f->frames = xmalloc(sizeof(*f->frames) * (f->nframes ? f->nframes : 1));
	for (size_t i = 0; i < f->nframes; i++)
		f->frames[i] = alloc_frame(s);
	for (unsigned d = 0; d < f->ndirs; d++) {
		uint8_t *dir;

		f->dirs[d] = alloc_frame(s);
		dir = s->mem + f->dirs[d] * PAGE;
		for (size_t i = 0; i < per_dir && d * per_dir + i < f->nframes;
		     i++) {
			uint64_t g = f->frames[d * per_dir + i];

			if (esz == 8) {
				memcpy(dir + 8 * i, &g, 8);
			} else {
				uint32_t g32 = (uint32_t)g;

				memcpy(dir + 4 * i, &g32, 4);
			}
		}
	}
	pg = (uint8_t *)f->page;
	f->page->width = (int32_t)c->width;
	f->page->height = (int32_t)c->height;
	f->page->line_length = f->line_length;
	f->page->mem_length = f->mem_length;
	f->page->depth = (uint8_t)c->depth;
	for (unsigned d = 0; d < f->ndirs; d++) {
		if (esz == 8) {
			memcpy(pg + 40 + 8 * d, &f->dirs[d], 8);
		} else {
			uint32_t g32 = (uint32_t)f->dirs[d];

			memcpy(pg + 36 + 4 * d, &g32, 4);
		}
	}
	/* The guest's own contiguous view of its scattered frames. */
	f->map_len = f->nframes * PAGE;
	f->map = mmap(NULL, f->map_len ? f->map_len : PAGE, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nframes; i++)
		if (mmap(f->map + i * PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, s->memfd,
			 (off_t)(f->frames[i] * PAGE)) == MAP_FAILED)
			return -ENOMEM;
	f->port = alloc_port(s);
	f->booted = true;
	f->have_pending = false;
	f->request_update = f->feature_resize = false;
	f->periods = 0;
	if (c->tamper)
		c->tamper(s, f->page, c->tamper_arg);
	/* One batch, as the frontend's transaction. */
	if (c->page_ref)
		guest_write(s, "vfb", "page-ref", "%s", c->page_ref);
	else
		guest_write(s, "vfb", "page-ref", "%llu",
			    (unsigned long long)f->page_gfn);
	if (c->event_channel)
		guest_write(s, "vfb", "event-channel", "%s", c->event_channel);
	else
		guest_write(s, "vfb", "event-channel", "%u", f->port);
	snprintf(proto, sizeof(proto), "%s",
		 c->protocol ? c->protocol : "x86_64-abi");
	if (proto[0]) {
		guest_write(s, "vfb", "protocol", "%s", proto);
	} else {
		char p[128];

		xsim_global_rm(s, s->domid,
			       fe_path(s, "vfb", "protocol", p, sizeof(p)));
	}
	guest_write(s, "vfb", "feature-update", "%d",
		    c->no_feature_update ? 0 : 1);
	fb_set_state(s, XenbusStateInitialised);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the guest's keyboard frontend                                       */

static void kbd_set_state(struct xensim *s, int state)
{
	s->kbd.state = state;
	guest_write(s, "vkbd", "state", "%d", state);
}

static bool zero(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return false;
	return true;
}

/* Checks an event the way a careful frontend would. */
static bool kbd_event_ok(const struct sim_kbd *k,
			 const union xenkbd_in_event *ev)
{
	const uint8_t *b = (const uint8_t *)ev;

	switch (ev->type) {
	case XENKBD_TYPE_MOTION:
		return zero(b, 1, 4) && zero(b, 16, 40);
	case XENKBD_TYPE_KEY:
		return zero(b, 2, 4) && zero(b, 8, 40) &&
		       ev->key.pressed <= 1 && ev->key.keycode > 0 &&
		       ev->key.keycode < KEY_MAX;
	case XENKBD_TYPE_POS:
		return zero(b, 1, 4) && zero(b, 16, 40) && ev->pos.abs_x >= 0 &&
		       ev->pos.abs_y >= 0 &&
		       (uint32_t)ev->pos.abs_x <= k->width &&
		       (uint32_t)ev->pos.abs_y <= k->height;
	default:
		return false;
	}
}

static void kbd_on_event(struct xensim *s)
{
	struct sim_kbd *k = &s->kbd;
	struct xenkbd_page *pg = k->page;
	uint32_t prod, cons;

	if (!k->booted || !k->consume)
		return;
	prod = __atomic_load_n(&pg->in_prod, __ATOMIC_ACQUIRE);
	cons = pg->in_cons;
	if (prod - cons > XENKBD_IN_RING_LEN) {
		k->bad++;
		return;
	}
	for (; cons != prod; cons++) {
		union xenkbd_in_event ev = XENKBD_IN_RING_REF(pg, cons);

		if (!kbd_event_ok(k, &ev))
			k->bad++;
		if (k->n_events == k->cap_events) {
			k->cap_events = k->cap_events ? 2 * k->cap_events : 256;
			k->events = realloc(k->events,
					    k->cap_events * sizeof(*k->events));
			if (!k->events)
				abort();
		}
		k->events[k->n_events++] = ev;
	}
	__atomic_store_n(&pg->in_cons, prod, __ATOMIC_RELEASE);
	guest_notify(s, k->port);
}

static void kbd_react(struct xensim *s)
{
	struct sim_kbd *k = &s->kbd;
	int be = read_be_int(s, "vkbd", "state", -1);

	if (!k->booted)
		return;
	if (be == XenbusStateInitWait && k->state == XenbusStateInitialised)
		kbd_set_state(s, XenbusStateConnected);
	if (be == XenbusStateClosing && k->state == XenbusStateConnected)
		kbd_set_state(s, XenbusStateClosed);
}

static int kbd_boot_locked(struct xensim *s, const struct xensim_kbd_config *c)
{
	struct sim_kbd *k = &s->kbd;
	bool feat_abs =
		read_be_int(s, "vkbd", XENKBD_FIELD_FEAT_ABS_POINTER, 0) == 1;

	k->cfg = *c;
	/* Read at probe, as Linux does: later changes are not seen. */
	k->width = (uint32_t)read_be_int(s, "vkbd", XENKBD_FIELD_WIDTH, 800);
	k->height = (uint32_t)read_be_int(s, "vkbd", XENKBD_FIELD_HEIGHT, 600);
	k->abs = c->request_abs && feat_abs;
	if (k->abs)
		guest_write(s, "vkbd", XENKBD_FIELD_REQ_ABS_POINTER, "1");
	k->page_gfn = alloc_frame(s);
	k->page = (struct xenkbd_page *)(s->mem + k->page_gfn * PAGE);
	k->gref = 7;
	s->ctl->grants[k->gref].gfn = k->page_gfn;
	st(&s->ctl->grants[k->gref].domid, s->domid);
	st(&s->ctl->grants[k->gref].flags, XEN_SIM_GRANT_USED);
	k->port = alloc_port(s);
	k->consume = true;
	k->booted = true;
	if (!c->page_ref_only)
		guest_write(s, "vkbd", XENKBD_FIELD_RING_GREF, "%u", k->gref);
	guest_write(s, "vkbd", XENKBD_FIELD_RING_REF, "%llu",
		    (unsigned long long)k->page_gfn);
	guest_write(s, "vkbd", XENKBD_FIELD_EVT_CHANNEL, "%u", k->port);
	kbd_set_state(s, XenbusStateInitialised);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the thread                                                          */

void xsim_guest_react(struct xensim *s)
{
	/* Reactions write xenstore, which may call us again. */
	if (s->reacting)
		return;
	s->reacting = true;
	for (int i = 0; i < 4; i++) {
		int fs = s->fb.state, ks = s->kbd.state;

		fb_react(s);
		kbd_react(s);
		if (fs == s->fb.state && ks == s->kbd.state)
			break;
	}
	s->reacting = false;
	xsim_flush_events(s);
}

static void fe_sock_readable(struct xensim *s)
{
	uint32_t port;

	while (recv(s->fe_sock, &port, sizeof(port), MSG_DONTWAIT) ==
	       sizeof(port)) {
		struct xen_sim_port *e;

		if (port == 0 || port >= XEN_SIM_MAX_PORTS)
			continue;
		e = &s->ctl->ports[port];
		st(&e->fe_queued, 0);
		st(&e->fe_pending, 0);
		if (port == s->fb.port)
			fb_on_event(s);
		if (port == s->kbd.port)
			kbd_on_event(s);
	}
}

static void accept_conn(struct xensim *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	unsigned i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && s->conns[i]; i++)
		;
	if (i == MAX_CONNS) {
		close(fd);
		return;
	}
	c = xmalloc(sizeof(*c));
	c->fd = fd;
	s->conns[i] = c;
	ev.data.ptr = c;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void *sim_thread(void *arg)
{
	struct xensim *s = arg;

	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(s->epfd, evs, 16, 100);

		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &s->stop_fd) {
				pthread_mutex_unlock(&s->lock);
				return NULL;
			}
			if (p == &s->listen_fd)
				accept_conn(s);
			else if (p == &s->fe_sock)
				fe_sock_readable(s);
			else
				xsim_conn_readable(s, p);
		}
		/* Notifications may also have been lost to an unbound
		 * socket; a periodic look keeps the guest moving. */
		fe_sock_readable(s);
		xsim_flush_events(s);
		xsim_reap_conns(s);
		pthread_mutex_unlock(&s->lock);
	}
}

static void add_fd(struct xensim *s, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void mkdir_perm(struct xensim *s, const char *path, unsigned owner,
		       unsigned reader, unsigned rperm)
{
	struct perm p[2] = {{owner, 0}, {reader, rperm}};

	xsim_do_mkdir(s, s->root, 0, path);
	xsim_do_set_perms(s, s->root, 0, path, p, 2);
}

static void make_domain(struct xensim *s)
{
	char p[96];
	struct xen_sim_domain *d = &s->ctl->domains[0];

	st(&d->domid, s->domid);
	for (int i = 0; i < 16; i++)
		d->uuid[i] = (uint8_t)rnd(s);
	st(&d->flags, XEN_SIM_DOM_EXISTS);
	snprintf(p, sizeof(p), "/local/domain/%u", s->domid);
	mkdir_perm(s, p, 0, s->domid, PERM_READ);
	snprintf(p, sizeof(p), "/local/domain/%u/name", s->domid);
	xsim_do_write(s, s->root, 0, p, "simguest", 8);
	snprintf(p, sizeof(p), "/local/domain/%u/device", s->domid);
	mkdir_perm(s, p, 0, s->domid, PERM_READ);
	snprintf(p, sizeof(p), "/local/domain/%u/console", s->domid);
	mkdir_perm(s, p, s->domid, 0, PERM_READ);
}

struct xensim *xensim_new(unsigned domid, unsigned mem_pages)
{
	struct xensim *s = xmalloc(sizeof(*s));
	struct sockaddr_un a;
	char path[128];
	int fd;

	s->domid = domid;
	s->npages = mem_pages;
	s->rng = 0x9e3779b97f4a7c15ull ^ domid;
	s->stop_fd = s->epfd = s->listen_fd = s->fe_sock = s->memfd = -1;
	s->pending_tail = &s->pending;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->dir, sizeof(s->dir), "/tmp/xensim-XXXXXX");
	if (!mkdtemp(s->dir))
		goto fail;
	snprintf(path, sizeof(path), "%s/ctl", s->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct xen_sim_ctl)) < 0)
		goto fail;
	s->ctl = mmap(NULL, sizeof(*s->ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
		      fd, 0);
	close(fd);
	if (s->ctl == MAP_FAILED)
		goto fail;
	memcpy(s->ctl->magic, XEN_SIM_MAGIC, 8);
	s->ctl->npages = mem_pages;
	snprintf(path, sizeof(path), "%s/mem", s->dir);
	s->memfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->memfd < 0 || ftruncate(s->memfd, (off_t)mem_pages * PAGE) < 0)
		goto fail;
	s->mem = mmap(NULL, (size_t)mem_pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, s->memfd, 0);
	if (s->mem == MAP_FAILED)
		goto fail;
	s->page_used = xmalloc(mem_pages);
	s->page_used[0] = 1;

	s->root = xsim_node_new("", NULL);
	make_domain(s);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/xenstored.sock", s->dir);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->listen_fd, 8) < 0)
		goto fail;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/evtchn-fe.sock", s->dir);
	s->fe_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fe_sock < 0 ||
	    bind(s->fe_sock, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	memset(&s->be_addr, 0, sizeof(s->be_addr));
	s->be_addr.sun_family = AF_UNIX;
	snprintf(s->be_addr.sun_path, sizeof(s->be_addr.sun_path),
		 "%s/evtchn-be.sock", s->dir);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->stop_fd < 0 || s->epfd < 0)
		goto fail;
	add_fd(s, s->stop_fd, &s->stop_fd);
	add_fd(s, s->listen_fd, &s->listen_fd);
	add_fd(s, s->fe_sock, &s->fe_sock);
	if (pthread_create(&s->thread, NULL, sim_thread, s) != 0)
		goto fail;
	return s;
fail:
	perror("xensim_new");
	return NULL;
}

static void rm_dir(const char *dir)
{
	static const char *const files[] = {"ctl", "mem", "xenstored.sock",
					    "evtchn-fe.sock", "evtchn-be.sock"};
	char p[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

void xensim_free(struct xensim *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	for (unsigned i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i]) {
			struct conn *c = s->conns[i];

			xsim_conn_close(s, c);
			free(c);
		}
	}
	fb_unmap(s);
	xsim_node_free(s->root);
	while (s->histories) {
		struct history *h = s->histories;

		s->histories = h->next;
		free(h->path);
		free(h->values);
		free(h);
	}
	while (s->pending) {
		struct pending_event *e = s->pending;

		s->pending = e->next;
		free(e->path);
		free(e);
	}
	free(s->kbd.events);
	free(s->page_used);
	munmap(s->mem, (size_t)s->npages * PAGE);
	munmap(s->ctl, sizeof(*s->ctl));
	close(s->memfd);
	close(s->listen_fd);
	close(s->fe_sock);
	close(s->stop_fd);
	close(s->epfd);
	rm_dir(s->dir);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *xensim_dir(const struct xensim *s)
{
	return s->dir;
}

void xensim_export(struct xensim *s)
{
	setenv("VFBD_XEN_SIM", s->dir, 1);
}

unsigned xensim_domid(const struct xensim *s)
{
	return s->domid;
}

/* ------------------------------------------------------------------ */
/* the test's API                                                      */

static void lock(struct xensim *s)
{
	pthread_mutex_lock(&s->lock);
}

/* Runs the guest's reactions and sends queued watch events, then lets
 * the thread go on. */
static void unlock(struct xensim *s)
{
	xsim_guest_react(s);
	xsim_flush_events(s);
	pthread_mutex_unlock(&s->lock);
}

char *xensim_read(struct xensim *s, const char *path)
{
	struct node *n;
	char *v = NULL;

	lock(s);
	n = xsim_lookup(s->root, path, NULL);
	if (n) {
		v = xmalloc(n->vlen + 1);
		memcpy(v, n->value, n->vlen);
	}
	unlock(s);
	return v;
}

int xensim_write(struct xensim *s, unsigned dom, const char *path,
		 const char *value)
{
	int rc;

	lock(s);
	rc = xsim_global_write(s, dom, path, value, (unsigned)strlen(value));
	unlock(s);
	return rc;
}

int xensim_rm(struct xensim *s, unsigned dom, const char *path)
{
	int rc;

	lock(s);
	rc = xsim_global_rm(s, dom, path);
	unlock(s);
	return rc;
}

bool xensim_exists(struct xensim *s, const char *path)
{
	bool yes;

	lock(s);
	yes = xsim_lookup(s->root, path, NULL) != NULL;
	unlock(s);
	return yes;
}

int xensim_perms(struct xensim *s, const char *path, char *out, size_t len)
{
	struct node *n;
	size_t off = 0;

	lock(s);
	n = xsim_lookup(s->root, path, NULL);
	if (n) {
		out[0] = '\0';
		for (unsigned i = 0; i < n->nperms && off < len; i++) {
			unsigned p = n->perms[i].perm;

			off += (size_t)snprintf(out + off, len - off, "%s%c%u",
						i ? "," : "",
						p == 3	 ? 'b'
						: p == 1 ? 'r'
						: p == 2 ? 'w'
							 : 'n',
						n->perms[i].id);
		}
	}
	unlock(s);
	return n ? 0 : -ENOENT;
}

unsigned xensim_watch_count(struct xensim *s, const char *path)
{
	unsigned n = 0;

	lock(s);
	for (struct watch *w = s->watches; w; w = w->next)
		if (strcmp(w->path, path) == 0)
			n++;
	unlock(s);
	return n;
}

void xensim_history(struct xensim *s, const char *path, char *out, size_t len)
{
	lock(s);
	out[0] = '\0';
	for (struct history *h = s->histories; h; h = h->next)
		if (strcmp(h->path, path) == 0)
			snprintf(out, len, "%s", h->values);
	unlock(s);
}

bool xensim_wait_value(struct xensim *s, const char *path, const char *value,
		       int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	do {
		char *v = xensim_read(s, path);
		bool same = v && strcmp(v, value) == 0;

		free(v);
		if (same)
			return true;
		sleep_ms(5);
	} while (now_ms() < end);
	return false;
}

void xensim_libxl_device(struct xensim *s, const char *kind,
			 const char *fe_kind, unsigned devid,
			 const char *const *be_keys)
{
	char fe[128], be[128], p[192], v[160];
	struct perm fep[2] = {{s->domid, 0}, {0, PERM_READ}};
	struct perm bep[2] = {{0, 0}, {s->domid, PERM_READ}};

	lock(s);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", s->domid,
		 fe_kind, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u", kind,
		 s->domid, devid);
	xsim_do_mkdir(s, s->root, 0, fe);
	xsim_do_set_perms(s, s->root, 0, fe, fep, 2);
	xsim_do_mkdir(s, s->root, 0, be);
	xsim_do_set_perms(s, s->root, 0, be, bep, 2);
	snprintf(p, sizeof(p), "%s/backend", fe);
	xsim_global_write(s, 0, p, be, (unsigned)strlen(be));
	snprintf(p, sizeof(p), "%s/backend-id", fe);
	xsim_global_write(s, 0, p, "0", 1);
	snprintf(p, sizeof(p), "%s/state", fe);
	xsim_global_write(s, 0, p, "1", 1);
	snprintf(p, sizeof(p), "%s/frontend", be);
	xsim_global_write(s, 0, p, fe, (unsigned)strlen(fe));
	snprintf(p, sizeof(p), "%s/frontend-id", be);
	snprintf(v, sizeof(v), "%u", s->domid);
	xsim_global_write(s, 0, p, v, (unsigned)strlen(v));
	snprintf(p, sizeof(p), "%s/online", be);
	xsim_global_write(s, 0, p, "1", 1);
	snprintf(p, sizeof(p), "%s/state", be);
	xsim_global_write(s, 0, p, "1", 1);
	for (size_t i = 0; be_keys && be_keys[i]; i += 2) {
		snprintf(p, sizeof(p), "%s/%s", be, be_keys[i]);
		xsim_global_write(s, 0, p, be_keys[i + 1],
				  (unsigned)strlen(be_keys[i + 1]));
	}
	unlock(s);
}

void xensim_destroy_domain(struct xensim *s)
{
	char p[64];

	lock(s);
	s->fb.booted = false;
	s->kbd.booted = false;
	st(&s->ctl->domains[0].flags, 0);
	snprintf(p, sizeof(p), "/local/domain/%u", s->domid);
	xsim_global_rm(s, 0, p);
	xsim_fire(s, "@releaseDomain");
	unlock(s);
}

void xensim_reuse_domid(struct xensim *s)
{
	char p[64];

	lock(s);
	s->fb.booted = false;
	s->kbd.booted = false;
	snprintf(p, sizeof(p), "/local/domain/%u", s->domid);
	xsim_global_rm(s, 0, p);
	xsim_fire(s, "@releaseDomain");
	/* The same domid, another domain. */
	for (int i = 0; i < 16; i++)
		s->ctl->domains[0].uuid[i] = (uint8_t)rnd(s);
	make_domain(s);
	xsim_fire(s, "@introduceDomain");
	unlock(s);
}

struct xen_sim_counters xensim_counters(struct xensim *s)
{
	struct xen_sim_counters c;

	lock(s);
	c = s->ctl->be;
	unlock(s);
	return c;
}

int xensim_fb_boot(struct xensim *s, const struct xensim_fb_config *c)
{
	int rc;

	lock(s);
	rc = fb_boot_locked(s, c);
	unlock(s);
	return rc;
}

static bool fb_connected(struct xensim *s)
{
	bool yes;

	lock(s);
	yes = s->fb.booted && s->fb.state == XenbusStateConnected &&
	      read_be_int(s, "vfb", "state", -1) == XenbusStateConnected &&
	      (s->fb.cfg.no_feature_update || s->fb.request_update);
	unlock(s);
	return yes;
}

bool xensim_fb_wait_connected(struct xensim *s, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	do {
		if (fb_connected(s))
			return true;
		sleep_ms(5);
	} while (now_ms() < end);
	return false;
}

uint8_t *xensim_fb_mem(struct xensim *s)
{
	return s->fb.map;
}

struct xenfb_page *xensim_fb_page(struct xensim *s)
{
	return s->fb.page;
}

bool xensim_fb_request_update(struct xensim *s)
{
	bool v;

	lock(s);
	v = s->fb.request_update;
	unlock(s);
	return v;
}

void xensim_fb_update(struct xensim *s, int32_t x, int32_t y, int32_t w,
		      int32_t h)
{
	struct sim_fb *f = &s->fb;

	lock(s);
	if (f->booted && f->request_update) {
		int64_t x1 = (int64_t)x + w, y1 = (int64_t)y + h;

		if (f->have_pending) {
			f->px0 = x < f->px0 ? x : f->px0;
			f->py0 = y < f->py0 ? y : f->py0;
			f->px1 = x1 > f->px1 ? x1 : f->px1;
			f->py1 = y1 > f->py1 ? y1 : f->py1;
		} else {
			f->px0 = x;
			f->py0 = y;
			f->px1 = x1;
			f->py1 = y1;
			f->have_pending = true;
		}
		fb_flush_pending(s);
	}
	unlock(s);
}

void xensim_fb_put_raw(struct xensim *s, const union xenfb_out_event *ev)
{
	struct sim_fb *f = &s->fb;

	lock(s);
	if (f->booted) {
		uint32_t prod = f->page->out_prod;

		XENFB_OUT_RING_REF(f->page, prod) = *ev;
		__atomic_store_n(&f->page->out_prod, prod + 1,
				 __ATOMIC_RELEASE);
		guest_notify(s, f->port);
	}
	unlock(s);
}

void xensim_fb_resize(struct xensim *s, int32_t w, int32_t h, int32_t stride,
		      int32_t depth, int32_t offset)
{
	union xenfb_out_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.resize.type = XENFB_TYPE_RESIZE;
	ev.resize.width = w;
	ev.resize.height = h;
	ev.resize.stride = stride;
	ev.resize.depth = depth;
	ev.resize.offset = offset;
	xensim_fb_put_raw(s, &ev);
}

void xensim_fb_notify(struct xensim *s)
{
	lock(s);
	guest_notify(s, s->fb.port);
	unlock(s);
}

unsigned xensim_fb_periods(struct xensim *s, uint32_t *last)
{
	unsigned n;

	lock(s);
	n = s->fb.periods;
	if (last)
		*last = s->fb.last_period;
	unlock(s);
	return n;
}

void xensim_fb_set_state(struct xensim *s, int state)
{
	lock(s);
	fb_set_state(s, state);
	unlock(s);
}

static bool wait_be(struct xensim *s, const char *kind, int state,
		    int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	do {
		int be;

		lock(s);
		be = read_be_int(s, kind, "state", -1);
		unlock(s);
		if (be == state)
			return true;
		sleep_ms(5);
	} while (now_ms() < end);
	return false;
}

static int be_state(struct xensim *s, const char *kind)
{
	int be;

	lock(s);
	be = read_be_int(s, kind, "state", -1);
	unlock(s);
	return be;
}

int xensim_fb_reboot(struct xensim *s, const struct xensim_fb_config *c)
{
	int rc = 0, be;

	lock(s);
	s->fb.resetting = true;
	unlock(s);
	be = be_state(s, "vfb");
	if (be != XenbusStateClosing && be != XenbusStateClosed) {
		xensim_fb_set_state(s, XenbusStateClosing);
		if (!wait_be(s, "vfb", XenbusStateClosing, 5000))
			rc = -ETIMEDOUT;
	}
	if (rc == 0 && be_state(s, "vfb") != XenbusStateClosed) {
		xensim_fb_set_state(s, XenbusStateClosed);
		if (!wait_be(s, "vfb", XenbusStateClosed, 5000))
			rc = -ETIMEDOUT;
	}
	lock(s);
	/* The old kernel's memory is gone; the new one starts afresh. */
	s->fb.booted = false;
	fb_unmap(s);
	fb_set_state(s, XenbusStateInitialising);
	unlock(s);
	if (rc == 0 && !wait_be(s, "vfb", XenbusStateInitWait, 5000))
		rc = -ETIMEDOUT;
	lock(s);
	s->fb.resetting = false;
	if (rc == 0)
		rc = fb_boot_locked(s, c);
	unlock(s);
	return rc;
}

int xensim_kbd_boot(struct xensim *s, const struct xensim_kbd_config *c)
{
	int rc;

	lock(s);
	rc = kbd_boot_locked(s, c);
	unlock(s);
	return rc;
}

bool xensim_kbd_wait_connected(struct xensim *s, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	do {
		bool yes;

		lock(s);
		yes = s->kbd.booted && s->kbd.state == XenbusStateConnected &&
		      read_be_int(s, "vkbd", "state", -1) ==
			      XenbusStateConnected;
		unlock(s);
		if (yes)
			return true;
		sleep_ms(5);
	} while (now_ms() < end);
	return false;
}

size_t xensim_kbd_events(struct xensim *s, size_t from,
			 union xenkbd_in_event *out, size_t max)
{
	size_t n = 0;

	lock(s);
	for (size_t i = from; i < s->kbd.n_events && n < max; i++)
		out[n++] = s->kbd.events[i];
	unlock(s);
	return n;
}

size_t xensim_kbd_count(struct xensim *s)
{
	size_t n;

	lock(s);
	n = s->kbd.n_events;
	unlock(s);
	return n;
}

unsigned xensim_kbd_bad(struct xensim *s)
{
	unsigned n;

	lock(s);
	n = s->kbd.bad;
	unlock(s);
	return n;
}

void xensim_kbd_set_consume(struct xensim *s, bool on)
{
	lock(s);
	s->kbd.consume = on;
	if (on)
		kbd_on_event(s);
	unlock(s);
}

struct xenkbd_page *xensim_kbd_page(struct xensim *s)
{
	return s->kbd.page;
}

uint8_t *xensim_fb_dir(struct xensim *s, unsigned i)
{
	return i < s->fb.ndirs ? s->mem + s->fb.dirs[i] * PAGE : NULL;
}

bool xensim_fb_put_wait(struct xensim *s, const union xenfb_out_event *ev)
{
	uint64_t end = now_ms() + 1000;

	for (;;) {
		struct sim_fb *f = &s->fb;
		bool done = false;

		lock(s);
		if (f->booted) {
			uint32_t prod = f->page->out_prod;
			uint32_t cons = __atomic_load_n(&f->page->out_cons,
							__ATOMIC_ACQUIRE);

			if (prod - cons < XENFB_OUT_RING_LEN) {
				XENFB_OUT_RING_REF(f->page, prod) = *ev;
				__atomic_store_n(&f->page->out_prod, prod + 1,
						 __ATOMIC_RELEASE);
				done = true;
			}
			guest_notify(s, f->port);
		}
		unlock(s);
		if (done)
			return true;
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
}

void xensim_fb_notify_many(struct xensim *s, unsigned n)
{
	lock(s);
	for (unsigned i = 0; i < n; i++)
		guest_notify(s, s->fb.port);
	unlock(s);
}

void xensim_locked(struct xensim *s, void (*fn)(struct xensim *s, void *arg),
		   void *arg)
{
	lock(s);
	fn(s, arg);
	unlock(s);
}

void xensim_forget_devices(struct xensim *s)
{
	lock(s);
	s->fb.booted = false;
	fb_unmap(s);
	if (s->kbd.booted) {
		s->kbd.booted = false;
		s->page_used[s->kbd.page_gfn] = 0;
		free_port(s, s->kbd.port);
		s->kbd.port = 0;
		st(&s->ctl->grants[s->kbd.gref].flags, 0);
	}
	s->fb.state = s->kbd.state = 0;
	unlock(s);
}
