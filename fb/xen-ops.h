/* The one table through which vfbd talks to Xen.
 *
 * Every hypervisor service the PV backends use (xenstore, event channels,
 * foreign memory, grants, domain information) is a function here. The
 * real table (fb/xen-ops-real.c) forwards to Debian's libxen 4.17; the
 * simulated one (fb/xen-ops-sim.c) keeps the same semantics on top of
 * files and sockets a test or tools/xenguest-sim shares with vfbd. The
 * backend code above this table is the same in both cases.
 *
 * Only Xen source and sink files include this header (make check-layers).
 * Conventions follow libxen: xenstore calls return NULL/false and set
 * errno; the others return -1 and set errno unless documented otherwise.
 */
#ifndef VFBD_FB_XEN_OPS_H
#define VFBD_FB_XEN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

/* What vfbd needs to know about a domain. */
struct xen_dominfo {
	bool dying, shutdown, hvm;
	uint8_t uuid[16]; /* the domain handle: domids are reused */
};

struct xen_ops {
	const char *name; /* "xen" or "sim" */

	/* Opens every handle. Returns the implementation's state, or NULL
	 * with a sentence in `why` saying what was tried. */
	void *(*open)(char *why, size_t why_len);
	/* Closes the handles; mappings and bound ports are released by the
	 * caller first. */
	void (*close)(void *impl);
	/* Confines memory and event-channel handles to `domid` where the
	 * platform allows it (best effort; 0 or -1). */
	int (*restrict_to)(void *impl, uint32_t domid);

	/* xenstore, with libxenstore's semantics (results are malloc'd and
	 * freed with one free()). */
	int (*xs_fileno)(void *impl);
	bool (*xs_watch)(void *impl, const char *path, const char *token);
	bool (*xs_unwatch)(void *impl, const char *path, const char *token);
	char **(*xs_check_watch)(void *impl);
	void *(*xs_read)(void *impl, xs_transaction_t t, const char *path,
			 unsigned *len);
	bool (*xs_write)(void *impl, xs_transaction_t t, const char *path,
			 const void *data, unsigned len);
	bool (*xs_mkdir)(void *impl, xs_transaction_t t, const char *path);
	bool (*xs_rm)(void *impl, xs_transaction_t t, const char *path);
	char **(*xs_directory)(void *impl, xs_transaction_t t, const char *path,
			       unsigned *num);
	bool (*xs_set_permissions)(void *impl, xs_transaction_t t,
				   const char *path,
				   struct xs_permissions *perms, unsigned num);
	xs_transaction_t (*xs_transaction_start)(void *impl);
	bool (*xs_transaction_end)(void *impl, xs_transaction_t t, bool abort);

	/* Event channels. `pending` returns a port (masked until `unmask`)
	 * or -1 with errno EAGAIN when nothing is pending. */
	int (*evtchn_fd)(void *impl);
	int (*evtchn_bind)(void *impl, uint32_t domid, uint32_t remote_port);
	int (*evtchn_unbind)(void *impl, uint32_t port);
	int (*evtchn_notify)(void *impl, uint32_t port);
	int (*evtchn_pending)(void *impl);
	int (*evtchn_unmask)(void *impl, uint32_t port);

	/* Foreign memory: maps `n` guest frames contiguously. With `err`
	 * the call may partly succeed: check every err[i] (an errno). */
	void *(*fmem_map)(void *impl, uint32_t domid, int prot, size_t n,
			  const uint64_t *gfns, int *err);
	int (*fmem_unmap)(void *impl, void *addr, size_t n);

	/* Grants: maps one page the guest granted us. NULL if the
	 * implementation has no grant device. */
	void *(*gnt_map)(void *impl, uint32_t domid, uint32_t gref, int prot);
	int (*gnt_unmap)(void *impl, void *addr, size_t n);

	/* 0 and `out` filled, -ENOENT when no such domain exists, or another
	 * -errno. */
	int (*domain_info)(void *impl, uint32_t domid, struct xen_dominfo *out);
};

/* The libxen 4.17 table: always compiled and linked. */
extern const struct xen_ops xen_ops_real;

/* The simulation: selected when VFBD_XEN_SIM names a simulation
 * directory (see fb/xen-ops-sim.h). */
extern const struct xen_ops xen_ops_sim;

/* The table to use in this process: the simulation when VFBD_XEN_SIM is
 * set, otherwise the real one. */
const struct xen_ops *xen_ops_select(void);

#endif
