/* The Xen function table on Debian's libxen 4.17: xenstore, event
 * channels, foreign memory, grants and domain information. */
#include "fb/xen-ops.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

#define PRIVCMD_PATH "/dev/xen/privcmd"

struct real_xen {
	struct xs_handle *xs;
	xenevtchn_handle *xce;
	xenforeignmemory_handle *fmem;
	xengnttab_handle *xgt; /* NULL without /dev/xen/gntdev */
	xc_interface *xch;
};

/* The libraries' own messages become vfbd log lines: warnings and errors
 * as such, the rest at debug level. */
__attribute__((format(printf, 5, 0))) static void
xtl_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
	     int errnoval, const char *context, const char *format, va_list al)
{
	char msg[256];
	enum log_level lv = level >= XTL_ERROR	? LOG_LEVEL_ERROR
			    : level >= XTL_WARN ? LOG_LEVEL_WARN
						: LOG_LEVEL_DEBUG;

	vsnprintf(msg, sizeof(msg), format, al);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\n')
			*p = '\'';
	log_event(lv, "xen-lib", "context=%s errno=%d msg=\"%s\"",
		  context ? context : "-", errnoval, msg);
}

static void xtl_progress_ignored(struct xentoollog_logger *logger,
				 const char *context, const char *doing_what,
				 int percent, unsigned long done,
				 unsigned long total)
{
}

static void xtl_destroy_nothing(struct xentoollog_logger *logger)
{
}

static xentoollog_logger vfbd_logger = {
	.vmessage = xtl_vmessage,
	.progress = xtl_progress_ignored,
	.destroy = xtl_destroy_nothing,
};

static void real_close(void *impl)
{
	struct real_xen *x = impl;

	if (!x)
		return;
	if (x->xch)
		xc_interface_close(x->xch);
	if (x->xgt)
		xengnttab_close(x->xgt);
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->xce)
		xenevtchn_close(x->xce);
	if (x->xs)
		xs_close(x->xs);
	free(x);
}

static void *real_open(char *why, size_t why_len)
{
	struct real_xen *x;

	/* Without privcmd nothing below can work; say so plainly rather
	 * than with whichever library fails first. */
	if (access(PRIVCMD_PATH, F_OK) < 0) {
		snprintf(why, why_len,
			 "cannot open Xen: no %s (not running in a Xen dom0)",
			 PRIVCMD_PATH);
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	x->xs = xs_open(0);
	if (!x->xs) {
		snprintf(why, why_len,
			 "cannot connect to xenstore (%s): is xenstored "
			 "running?",
			 strerror(errno));
		goto fail;
	}
	x->xce = xenevtchn_open(&vfbd_logger, 0);
	if (!x->xce) {
		snprintf(why, why_len,
			 "cannot open /dev/xen/evtchn (%s): is the xen-evtchn "
			 "module loaded?",
			 strerror(errno));
		goto fail;
	}
	x->fmem = xenforeignmemory_open(&vfbd_logger, 0);
	if (!x->fmem) {
		snprintf(why, why_len, "cannot open %s for mapping (%s)",
			 PRIVCMD_PATH, strerror(errno));
		goto fail;
	}
	x->xch = xc_interface_open(&vfbd_logger, &vfbd_logger, 0);
	if (!x->xch) {
		snprintf(why, why_len,
			 "cannot open the Xen control interface "
			 "(%s): are we root in dom0?",
			 strerror(errno));
		goto fail;
	}
	/* Grants only serve the keyboard's page-gref; page-ref still
	 * works without them. */
	x->xgt = xengnttab_open(&vfbd_logger, 0);
	if (!x->xgt)
		log_warn("xen-no-gntdev",
			 "reason=\"%s\" effect=\"keyboards are mapped by "
			 "page-ref only\"",
			 strerror(errno));
	return x;
fail:
	real_close(x);
	return NULL;
}

static int real_restrict_to(void *impl, uint32_t domid)
{
	struct real_xen *x = impl;
	int rc = 0;

	/* Not xentoolcore_restrict_all: that would also cut the xenstore
	 * connection, which a backend still needs. */
	if (xenforeignmemory_restrict(x->fmem, (domid_t)domid) < 0)
		rc = -1;
	if (xenevtchn_restrict(x->xce, (domid_t)domid) < 0)
		rc = -1;
	return rc;
}

static int real_xs_fileno(void *impl)
{
	return xs_fileno(((struct real_xen *)impl)->xs);
}

static bool real_xs_watch(void *impl, const char *path, const char *token)
{
	return xs_watch(((struct real_xen *)impl)->xs, path, token);
}

static bool real_xs_unwatch(void *impl, const char *path, const char *token)
{
	return xs_unwatch(((struct real_xen *)impl)->xs, path, token);
}

static char **real_xs_check_watch(void *impl)
{
	return xs_check_watch(((struct real_xen *)impl)->xs);
}

static void *real_xs_read(void *impl, xs_transaction_t t, const char *path,
			  unsigned *len)
{
	return xs_read(((struct real_xen *)impl)->xs, t, path, len);
}

static bool real_xs_write(void *impl, xs_transaction_t t, const char *path,
			  const void *data, unsigned len)
{
	return xs_write(((struct real_xen *)impl)->xs, t, path, data, len);
}

static bool real_xs_mkdir(void *impl, xs_transaction_t t, const char *path)
{
	return xs_mkdir(((struct real_xen *)impl)->xs, t, path);
}

static bool real_xs_rm(void *impl, xs_transaction_t t, const char *path)
{
	return xs_rm(((struct real_xen *)impl)->xs, t, path);
}

static char **real_xs_directory(void *impl, xs_transaction_t t,
				const char *path, unsigned *num)
{
	return xs_directory(((struct real_xen *)impl)->xs, t, path, num);
}

static bool real_xs_set_permissions(void *impl, xs_transaction_t t,
				    const char *path,
				    struct xs_permissions *perms, unsigned num)
{
	return xs_set_permissions(((struct real_xen *)impl)->xs, t, path, perms,
				  num);
}

static xs_transaction_t real_xs_transaction_start(void *impl)
{
	return xs_transaction_start(((struct real_xen *)impl)->xs);
}

static bool real_xs_transaction_end(void *impl, xs_transaction_t t, bool abort)
{
	return xs_transaction_end(((struct real_xen *)impl)->xs, t, abort);
}

static int real_evtchn_fd(void *impl)
{
	return xenevtchn_fd(((struct real_xen *)impl)->xce);
}

static int real_evtchn_bind(void *impl, uint32_t domid, uint32_t remote_port)
{
	return (int)xenevtchn_bind_interdomain(((struct real_xen *)impl)->xce,
					       domid, remote_port);
}

static int real_evtchn_unbind(void *impl, uint32_t port)
{
	return xenevtchn_unbind(((struct real_xen *)impl)->xce, port);
}

static int real_evtchn_notify(void *impl, uint32_t port)
{
	return xenevtchn_notify(((struct real_xen *)impl)->xce, port);
}

static int real_evtchn_pending(void *impl)
{
	return (int)xenevtchn_pending(((struct real_xen *)impl)->xce);
}

static int real_evtchn_unmask(void *impl, uint32_t port)
{
	return xenevtchn_unmask(((struct real_xen *)impl)->xce, port);
}

static void *real_fmem_map(void *impl, uint32_t domid, int prot, size_t n,
			   const uint64_t *gfns, int *err)
{
	struct real_xen *x = impl;
	xen_pfn_t *arr;
	void *p;

	_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t),
		       "x86_64 dom0: xen_pfn_t is 64 bits");
	arr = malloc(n * sizeof(*arr));
	if (!arr) {
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		arr[i] = (xen_pfn_t)gfns[i];
	p = xenforeignmemory_map(x->fmem, domid, prot, n, arr, err);
	free(arr);
	return p;
}

static int real_fmem_unmap(void *impl, void *addr, size_t n)
{
	return xenforeignmemory_unmap(((struct real_xen *)impl)->fmem, addr, n);
}

static void *real_gnt_map(void *impl, uint32_t domid, uint32_t gref, int prot)
{
	struct real_xen *x = impl;

	if (!x->xgt) {
		errno = ENODEV;
		return NULL;
	}
	return xengnttab_map_grant_ref(x->xgt, domid, gref, prot);
}

static int real_gnt_unmap(void *impl, void *addr, size_t n)
{
	struct real_xen *x = impl;

	return x->xgt ? xengnttab_unmap(x->xgt, addr, (uint32_t)n) : -1;
}

static int real_domain_info(void *impl, uint32_t domid, struct xen_dominfo *out)
{
	struct real_xen *x = impl;
	xc_domaininfo_t info;
	int n;

	memset(&info, 0, sizeof(info));
	n = xc_domain_getinfolist(x->xch, domid, 1, &info);
	if (n < 0)
		return -errno;
	/* getinfolist returns the first domain >= domid. */
	if (n == 0 || info.domain != domid)
		return -ENOENT;
	out->dying = info.flags & XEN_DOMINF_dying;
	out->shutdown = info.flags & XEN_DOMINF_shutdown;
	out->hvm = info.flags & XEN_DOMINF_hvm_guest;
	_Static_assert(sizeof(info.handle) == sizeof(out->uuid),
		       "xen_domain_handle_t is 16 bytes");
	memcpy(out->uuid, info.handle, sizeof(out->uuid));
	return 0;
}

const struct xen_ops xen_ops_real = {
	.name = "xen",
	.open = real_open,
	.close = real_close,
	.restrict_to = real_restrict_to,
	.xs_fileno = real_xs_fileno,
	.xs_watch = real_xs_watch,
	.xs_unwatch = real_xs_unwatch,
	.xs_check_watch = real_xs_check_watch,
	.xs_read = real_xs_read,
	.xs_write = real_xs_write,
	.xs_mkdir = real_xs_mkdir,
	.xs_rm = real_xs_rm,
	.xs_directory = real_xs_directory,
	.xs_set_permissions = real_xs_set_permissions,
	.xs_transaction_start = real_xs_transaction_start,
	.xs_transaction_end = real_xs_transaction_end,
	.evtchn_fd = real_evtchn_fd,
	.evtchn_bind = real_evtchn_bind,
	.evtchn_unbind = real_evtchn_unbind,
	.evtchn_notify = real_evtchn_notify,
	.evtchn_pending = real_evtchn_pending,
	.evtchn_unmask = real_evtchn_unmask,
	.fmem_map = real_fmem_map,
	.fmem_unmap = real_fmem_unmap,
	.gnt_map = real_gnt_map,
	.gnt_unmap = real_gnt_unmap,
	.domain_info = real_domain_info,
};

const struct xen_ops *xen_ops_select(void)
{
	const char *sim = getenv("VFBD_XEN_SIM");

	return sim && *sim ? &xen_ops_sim : &xen_ops_real;
}
