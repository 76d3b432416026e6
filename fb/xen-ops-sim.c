/* The Xen function table on the simulated hypervisor in $VFBD_XEN_SIM
 * (layout in fb/xen-ops-sim.h). xenstore is the real libxenstore talking
 * to the simulation's daemon; event channels, foreign memory, grants and
 * domain information follow the real calls' semantics on shared files. */
#include "fb/xen-ops-sim.h"
#include "fb/xen-ops.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct sim_map {
	struct sim_map *next;
	void *addr;
	size_t n;
	bool rw;
};

struct sim_xen {
	char dir[PATH_MAX - 32];
	struct xs_handle *xs;
	int memfd;
	struct xen_sim_ctl *ctl;
	int be_sock;
	struct sockaddr_un be_addr, fe_addr;
	struct sim_map *maps;
};

static uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static uint32_t xchg32(uint32_t *p, uint32_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static void add32(uint32_t *p, int32_t v)
{
	__atomic_add_fetch(p, (uint32_t)v, __ATOMIC_SEQ_CST);
}

static int unix_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir,
			     name) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static void sim_close(void *impl)
{
	struct sim_xen *x = impl;

	if (!x)
		return;
	while (x->maps) {
		struct sim_map *m = x->maps;

		x->maps = m->next;
		munmap(m->addr, m->n * XEN_SIM_PAGE_SIZE);
		free(m);
	}
	if (x->xs)
		xs_close(x->xs);
	if (x->be_sock >= 0) {
		close(x->be_sock);
		unlink(x->be_addr.sun_path);
	}
	if (x->ctl)
		munmap(x->ctl, sizeof(*x->ctl));
	if (x->memfd >= 0)
		close(x->memfd);
	free(x);
}

static void *sim_open(char *why, size_t why_len)
{
	const char *dir = getenv("VFBD_XEN_SIM");
	char path[PATH_MAX];
	struct sim_xen *x;
	struct stat st;
	void *ctl;
	int fd;

	if (!dir || strlen(dir) >= sizeof(x->dir)) {
		snprintf(why, why_len, "VFBD_XEN_SIM must name a directory");
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	x->memfd = -1;
	x->be_sock = -1;
	snprintf(x->dir, sizeof(x->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/ctl", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (size_t)st.st_size < sizeof(struct xen_sim_ctl)) {
		snprintf(why, why_len, "simulated Xen: cannot use %s (%s)",
			 path, fd < 0 ? strerror(errno) : "too short");
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	ctl = mmap(NULL, sizeof(*x->ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	close(fd);
	if (ctl == MAP_FAILED) {
		snprintf(why, why_len, "simulated Xen: mmap %s: %s", path,
			 strerror(errno));
		goto fail;
	}
	x->ctl = ctl;
	if (memcmp(x->ctl->magic, XEN_SIM_MAGIC, 8) != 0) {
		snprintf(why, why_len, "simulated Xen: %s has no %s magic",
			 path, XEN_SIM_MAGIC);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/mem", dir);
	x->memfd = open(path, O_RDWR | O_CLOEXEC);
	if (x->memfd < 0) {
		snprintf(why, why_len, "simulated Xen: %s: %s", path,
			 strerror(errno));
		goto fail;
	}
	if (unix_addr(&x->be_addr, dir, "evtchn-be.sock") < 0 ||
	    unix_addr(&x->fe_addr, dir, "evtchn-fe.sock") < 0) {
		snprintf(why, why_len,
			 "simulated Xen: directory name too long");
		goto fail;
	}
	/* Blocking, like /dev/xen/evtchn: a caller that reads with nothing
	 * pending waits, so the backend must make it non-blocking itself. */
	x->be_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(x->be_addr.sun_path);
	if (x->be_sock < 0 || bind(x->be_sock, (struct sockaddr *)&x->be_addr,
				   sizeof(x->be_addr)) < 0) {
		snprintf(why, why_len, "simulated Xen: %s: %s",
			 x->be_addr.sun_path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/xenstored.sock", dir);
	/* The real library, pointed at the simulation's daemon. */
	setenv("XENSTORED_PATH", path, 1);
	x->xs = xs_open(0);
	if (!x->xs) {
		snprintf(why, why_len,
			 "simulated Xen: cannot connect to %s (%s)", path,
			 strerror(errno));
		goto fail;
	}
	log_warn("xen-simulated",
		 "dir=%s reason=\"VFBD_XEN_SIM is set: "
		 "no real hypervisor is used\"",
		 dir);
	return x;
fail:
	sim_close(x);
	return NULL;
}

static int sim_restrict_to(void *impl, uint32_t domid)
{
	return 0;
}

static int sim_xs_fileno(void *impl)
{
	return xs_fileno(((struct sim_xen *)impl)->xs);
}

static bool sim_xs_watch(void *impl, const char *path, const char *token)
{
	return xs_watch(((struct sim_xen *)impl)->xs, path, token);
}

static bool sim_xs_unwatch(void *impl, const char *path, const char *token)
{
	return xs_unwatch(((struct sim_xen *)impl)->xs, path, token);
}

static char **sim_xs_check_watch(void *impl)
{
	return xs_check_watch(((struct sim_xen *)impl)->xs);
}

static void *sim_xs_read(void *impl, xs_transaction_t t, const char *path,
			 unsigned *len)
{
	return xs_read(((struct sim_xen *)impl)->xs, t, path, len);
}

static bool sim_xs_write(void *impl, xs_transaction_t t, const char *path,
			 const void *data, unsigned len)
{
	return xs_write(((struct sim_xen *)impl)->xs, t, path, data, len);
}

static bool sim_xs_mkdir(void *impl, xs_transaction_t t, const char *path)
{
	return xs_mkdir(((struct sim_xen *)impl)->xs, t, path);
}

static bool sim_xs_rm(void *impl, xs_transaction_t t, const char *path)
{
	return xs_rm(((struct sim_xen *)impl)->xs, t, path);
}

static char **sim_xs_directory(void *impl, xs_transaction_t t, const char *path,
			       unsigned *num)
{
	return xs_directory(((struct sim_xen *)impl)->xs, t, path, num);
}

static bool sim_xs_set_permissions(void *impl, xs_transaction_t t,
				   const char *path,
				   struct xs_permissions *perms, unsigned num)
{
	return xs_set_permissions(((struct sim_xen *)impl)->xs, t, path, perms,
				  num);
}

static xs_transaction_t sim_xs_transaction_start(void *impl)
{
	return xs_transaction_start(((struct sim_xen *)impl)->xs);
}

static bool sim_xs_transaction_end(void *impl, xs_transaction_t t, bool abort)
{
	return xs_transaction_end(((struct sim_xen *)impl)->xs, t, abort);
}

static int sim_evtchn_fd(void *impl)
{
	return ((struct sim_xen *)impl)->be_sock;
}

/* The shared entry behind backend port `port`, or NULL. */
static struct xen_sim_port *be_port(struct sim_xen *x, uint32_t port)
{
	if (port < XEN_SIM_BE_PORT_BASE + 1 ||
	    port >= XEN_SIM_BE_PORT_BASE + XEN_SIM_MAX_PORTS)
		return NULL;
	return &x->ctl->ports[port - XEN_SIM_BE_PORT_BASE];
}

static int sim_evtchn_bind(void *impl, uint32_t domid, uint32_t remote_port)
{
	struct sim_xen *x = impl;
	struct xen_sim_port *p;
	uint32_t expect = XEN_SIM_PORT_UNBOUND;

	if (remote_port == 0 || remote_port >= XEN_SIM_MAX_PORTS) {
		errno = EINVAL;
		return -1;
	}
	p = &x->ctl->ports[remote_port];
	if (load32(&p->state) == XEN_SIM_PORT_BOUND &&
	    kill((pid_t)load32(&p->be_pid), 0) < 0 && errno == ESRCH) {
		uint32_t bound = XEN_SIM_PORT_BOUND;

		if (__atomic_compare_exchange_n(
			    &p->state, &bound, XEN_SIM_PORT_UNBOUND, false,
			    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			add32(&x->ctl->be.ports_bound, -1);
	}
	if (load32(&p->domid) != domid || load32(&p->remote) != 0 ||
	    !__atomic_compare_exchange_n(&p->state, &expect, XEN_SIM_PORT_BOUND,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		errno = EINVAL;
		return -1;
	}
	store32(&p->be_pid, (uint32_t)getpid());
	store32(&p->be_masked, 0);
	store32(&p->be_queued, 0);
	store32(&p->be_pending, 0);
	add32(&x->ctl->be.ports_bound, 1);
	return (int)(remote_port + XEN_SIM_BE_PORT_BASE);
}

static int sim_evtchn_unbind(void *impl, uint32_t port)
{
	struct sim_xen *x = impl;
	struct xen_sim_port *p = be_port(x, port);
	uint32_t expect = XEN_SIM_PORT_BOUND;

	if (!p || !__atomic_compare_exchange_n(
			  &p->state, &expect, XEN_SIM_PORT_UNBOUND, false,
			  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		errno = EINVAL;
		return -1;
	}
	add32(&x->ctl->be.ports_bound, -1);
	return 0;
}

static void send_port(int sock, const struct sockaddr_un *to, uint32_t port)
{
	/* A peer that is not listening (yet) loses the notification, as a
	 * guest without its handler would. */
	(void)sendto(sock, &port, sizeof(port), MSG_DONTWAIT,
		     (const struct sockaddr *)to, sizeof(*to));
}

static int sim_evtchn_notify(void *impl, uint32_t port)
{
	struct sim_xen *x = impl;
	struct xen_sim_port *p = be_port(x, port);

	if (!p || load32(&p->state) != XEN_SIM_PORT_BOUND) {
		errno = EINVAL;
		return -1;
	}
	add32(&x->ctl->be.notifies, 1);
	store32(&p->fe_pending, 1);
	if (!xchg32(&p->fe_queued, 1))
		send_port(x->be_sock, &x->fe_addr, port - XEN_SIM_BE_PORT_BASE);
	return 0;
}

static int sim_evtchn_pending(void *impl)
{
	struct sim_xen *x = impl;
	struct xen_sim_port *p;
	uint32_t port;

	for (;;) {
		ssize_t n = recv(x->be_sock, &port, sizeof(port), 0);

		if (n < 0)
			return -1; /* errno EAGAIN when empty */
		if (n != sizeof(port) || !(p = be_port(x, port)))
			continue;
		/* Delivered ports stay masked until unmasked, as the Linux
		 * evtchn device leaves them. */
		store32(&p->be_masked, 1);
		store32(&p->be_queued, 0);
		store32(&p->be_pending, 0);
		return (int)port;
	}
}

static int sim_evtchn_unmask(void *impl, uint32_t port)
{
	struct sim_xen *x = impl;
	struct xen_sim_port *p = be_port(x, port);

	if (!p) {
		errno = EINVAL;
		return -1;
	}
	store32(&p->be_masked, 0);
	if (load32(&p->be_pending) && !xchg32(&p->be_queued, 1))
		send_port(x->be_sock, &x->be_addr, port);
	return 0;
}

static bool domain_exists(struct sim_xen *x, uint32_t domid)
{
	for (unsigned i = 0; i < XEN_SIM_MAX_DOMAINS; i++) {
		const struct xen_sim_domain *d = &x->ctl->domains[i];

		if ((load32(&d->flags) & XEN_SIM_DOM_EXISTS) &&
		    load32(&d->domid) == domid)
			return true;
	}
	return false;
}

static void count_map(struct sim_xen *x, size_t n, bool rw, int sign)
{
	struct xen_sim_counters *c = &x->ctl->be;
	uint32_t live;

	add32(&c->maps_live, sign);
	add32(&c->pages_live, sign * (int32_t)n);
	if (rw)
		add32(&c->pages_live_rw, sign * (int32_t)n);
	live = load32(&c->pages_live);
	if (sign > 0) {
		add32(&c->map_calls, 1);
		if (rw)
			add32(&c->rw_map_calls, 1);
		if (live > load32(&c->pages_max))
			store32(&c->pages_max, live);
	}
}

static int remember_map(struct sim_xen *x, void *addr, size_t n, bool rw)
{
	struct sim_map *m = malloc(sizeof(*m));

	if (!m)
		return -1;
	*m = (struct sim_map){x->maps, addr, n, rw};
	x->maps = m;
	count_map(x, n, rw, 1);
	return 0;
}

static void *sim_fmem_map(void *impl, uint32_t domid, int prot, size_t n,
			  const uint64_t *gfns, int *err)
{
	struct sim_xen *x = impl;
	uint32_t npages = load32(&x->ctl->npages);
	uint8_t *base;
	int first_err = 0;

	if (n == 0 || n > SIZE_MAX / XEN_SIM_PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	if (!domain_exists(x, domid)) {
		errno = ESRCH;
		return NULL;
	}
	base = mmap(NULL, n * XEN_SIM_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t run = 1;
		int e = 0;

		if (gfns[i] >= npages) {
			e = EINVAL;
		} else {
			/* Consecutive frames go in one mmap call. */
			while (i + run < n && gfns[i + run] == gfns[i] + run &&
			       gfns[i + run] < npages)
				run++;
			if (mmap(base + i * XEN_SIM_PAGE_SIZE,
				 run * XEN_SIM_PAGE_SIZE, prot,
				 MAP_SHARED | MAP_FIXED, x->memfd,
				 (off_t)(gfns[i] * XEN_SIM_PAGE_SIZE)) ==
			    MAP_FAILED)
				e = errno;
		}
		for (size_t k = i; k < i + run; k++)
			if (err)
				err[k] = -e;
		if (e && !first_err)
			first_err = e;
		i += run;
	}
	if (first_err && !err) {
		munmap(base, n * XEN_SIM_PAGE_SIZE);
		errno = first_err;
		return NULL;
	}
	if (remember_map(x, base, n, prot & PROT_WRITE) < 0) {
		munmap(base, n * XEN_SIM_PAGE_SIZE);
		errno = ENOMEM;
		return NULL;
	}
	return base;
}

static int sim_unmap(struct sim_xen *x, void *addr, size_t n)
{
	for (struct sim_map **pp = &x->maps; *pp; pp = &(*pp)->next) {
		struct sim_map *m = *pp;

		if (m->addr != addr || m->n != n)
			continue;
		*pp = m->next;
		munmap(addr, n * XEN_SIM_PAGE_SIZE);
		count_map(x, n, m->rw, -1);
		free(m);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int sim_fmem_unmap(void *impl, void *addr, size_t n)
{
	return sim_unmap(impl, addr, n);
}

static void *sim_gnt_map(void *impl, uint32_t domid, uint32_t gref, int prot)
{
	struct sim_xen *x = impl;
	struct xen_sim_grant *g;
	uint32_t flags;
	uint64_t gfn;
	void *p;

	if (gref >= XEN_SIM_MAX_GRANTS) {
		errno = EINVAL;
		return NULL;
	}
	g = &x->ctl->grants[gref];
	flags = load32(&g->flags);
	gfn = __atomic_load_n(&g->gfn, __ATOMIC_SEQ_CST);
	if (!(flags & XEN_SIM_GRANT_USED) || load32(&g->domid) != domid ||
	    gfn >= load32(&x->ctl->npages)) {
		errno = EINVAL;
		return NULL;
	}
	if ((flags & XEN_SIM_GRANT_READONLY) && (prot & PROT_WRITE)) {
		errno = EPERM;
		return NULL;
	}
	p = mmap(NULL, XEN_SIM_PAGE_SIZE, prot, MAP_SHARED, x->memfd,
		 (off_t)(gfn * XEN_SIM_PAGE_SIZE));
	if (p == MAP_FAILED)
		return NULL;
	if (remember_map(x, p, 1, prot & PROT_WRITE) < 0) {
		munmap(p, XEN_SIM_PAGE_SIZE);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

static int sim_gnt_unmap(void *impl, void *addr, size_t n)
{
	return sim_unmap(impl, addr, n);
}

static int sim_domain_info(void *impl, uint32_t domid, struct xen_dominfo *out)
{
	struct sim_xen *x = impl;

	for (unsigned i = 0; i < XEN_SIM_MAX_DOMAINS; i++) {
		const struct xen_sim_domain *d = &x->ctl->domains[i];
		uint32_t flags = load32(&d->flags);

		if (!(flags & XEN_SIM_DOM_EXISTS) || load32(&d->domid) != domid)
			continue;
		out->dying = flags & XEN_SIM_DOM_DYING;
		out->shutdown = flags & XEN_SIM_DOM_SHUTDOWN;
		out->hvm = flags & XEN_SIM_DOM_HVM;
		memcpy(out->uuid, d->uuid, sizeof(out->uuid));
		return 0;
	}
	return -ENOENT;
}

const struct xen_ops xen_ops_sim = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.restrict_to = sim_restrict_to,
	.xs_fileno = sim_xs_fileno,
	.xs_watch = sim_xs_watch,
	.xs_unwatch = sim_xs_unwatch,
	.xs_check_watch = sim_xs_check_watch,
	.xs_read = sim_xs_read,
	.xs_write = sim_xs_write,
	.xs_mkdir = sim_xs_mkdir,
	.xs_rm = sim_xs_rm,
	.xs_directory = sim_xs_directory,
	.xs_set_permissions = sim_xs_set_permissions,
	.xs_transaction_start = sim_xs_transaction_start,
	.xs_transaction_end = sim_xs_transaction_end,
	.evtchn_fd = sim_evtchn_fd,
	.evtchn_bind = sim_evtchn_bind,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_unmask = sim_evtchn_unmask,
	.fmem_map = sim_fmem_map,
	.fmem_unmap = sim_fmem_unmap,
	.gnt_map = sim_gnt_map,
	.gnt_unmap = sim_gnt_unmap,
	.domain_info = sim_domain_info,
};
