/* A backend host for one Xen domain: the handles of the Xen table, the
 * XenbusState handshake of each PV device vfbd serves (vfb, vkbd), event
 * delivery and the domain's liveness.
 *
 * The host gathers the xenstore watch fd, the event-channel fd and a
 * throttle timer in one epoll fd; whoever owns the host (the vfb source)
 * hands that fd to the loop and calls xen_host_dispatch when it is
 * readable. Device callbacks run only inside xen_host_dispatch and
 * xen_host_free, never inside the call that registered them.
 *
 * The handshake follows research/xen-backend.md §1.2: features before
 * InitWait, a frontend accepted at Initialised or Connected, request keys
 * and state=Connected in one transaction, Connected written once more for
 * old frontends, Closing before Closed, and Closed -> Initialising when a
 * frontend resets (kexec, kdump, an HVM reboot).
 */
#ifndef VFBD_FB_XEN_BUS_H
#define VFBD_FB_XEN_BUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fb/xen-ops.h"

struct xen_host;
struct xen_dev;

struct xen_dev_ops {
	/* Before InitWait: stage the backend keys the frontend reads at
	 * probe (xen_dev_stage). 0 or -errno. */
	int (*publish)(struct xen_dev *d);
	/* The frontend is Initialised or Connected and the event channel is
	 * bound: map the shared page, read the frontend's keys, stage the
	 * request keys. 0, or -errno after xen_dev_broken() said why. */
	int (*connect)(struct xen_dev *d);
	/* Both ends are Connected (the frontend may read our keys now). */
	void (*connected)(struct xen_dev *d);
	/* The event channel fired. */
	void (*event)(struct xen_dev *d);
	/* Undoes connect (unmaps); the port is unbound afterwards. */
	void (*disconnect)(struct xen_dev *d);
};

enum xen_host_status {
	XEN_HOST_OK,
	XEN_HOST_FINISHED, /* the domain is gone (destroyed, dying, reused) */
	XEN_HOST_LOST,	   /* the xenstore connection failed */
};

/* Opens the Xen table chosen by xen_ops_select() and checks that domain
 * `domid` exists (its UUID is remembered). 0, or -errno with `why`. */
int xen_host_open(uint32_t domid, struct xen_host **out, char *why,
		  size_t why_len);

/* Disconnects every device (without telling frontends: a restarted vfbd
 * picks them up again), runs the teardown hook, closes the handles. */
void xen_host_free(struct xen_host *h);

/* The epoll fd to watch for readability. */
int xen_host_fd(const struct xen_host *h);

/* Handles a bounded amount of pending work: xenstore watch events (each
 * device re-reads its frontend's state and moves the handshake on), event
 * channel deliveries, the liveness check. */
enum xen_host_status xen_host_dispatch(struct xen_host *h);

uint32_t xen_host_domid(const struct xen_host *h);
const struct xen_ops *xen_host_ops(const struct xen_host *h);
void *xen_host_impl(const struct xen_host *h);

/* Called at the end of every dispatch, and once from xen_host_free
 * before the handles close. */
void xen_host_set_hooks(struct xen_host *h, void (*tick)(void *ctx),
			void (*teardown)(void *ctx), void *ctx);

/* Serves backend `/local/domain/0/backend/KIND/DOMID/DEVID` for frontend
 * `/local/domain/DOMID/device/FE_KIND/DEVID`. The backend directory must
 * exist and its `frontend` key must name that frontend. NULL with `why`
 * otherwise. The device belongs to the host. */
struct xen_dev *xen_host_add_dev(struct xen_host *h, const char *kind,
				 const char *fe_kind, unsigned devid,
				 const struct xen_dev_ops *ops, void *ctx,
				 char *why, size_t why_len);

void *xen_dev_ctx(const struct xen_dev *d);
struct xen_host *xen_dev_host(const struct xen_dev *d);
const char *xen_dev_name(const struct xen_dev *d); /* "vfb/0" */
bool xen_dev_connected(const struct xen_dev *d);

/* Reads key `key` of the frontend (`fe`) or backend directory. The value
 * is malloc'd and NUL-terminated; NULL when absent. */
char *xen_dev_read(struct xen_dev *d, bool fe, const char *key);

/* Reads a strict decimal (digits only, no sign or spaces) not above
 * `max`. 0, -ENOENT when absent, -EINVAL otherwise. */
int xen_dev_read_uint(struct xen_dev *d, bool fe, const char *key, uint64_t max,
		      uint64_t *out);

/* Strict "0"/"1" flags; absent reads as `dflt`; anything else -EINVAL. */
int xen_dev_read_flag(struct xen_dev *d, bool fe, const char *key, bool dflt,
		      bool *out);

/* Stages a backend key written in the same transaction as the next state
 * change (so a frontend never sees the state before the keys). */
void xen_dev_stage(struct xen_dev *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Marks the device broken: logs `xen-device-broken dev=... reason=...`,
 * and (after the current callback) disconnects it and moves the backend to
 * Closing. Its frontend has to reset to use it again. */
void xen_dev_broken(struct xen_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Why the device was last marked broken, or NULL. */
const char *xen_dev_broken_reason(const struct xen_dev *d);

/* Notifies the frontend on the device's event channel. */
void xen_dev_notify(struct xen_dev *d);

/* Maps one frame of the guest (by frame number) or one page the guest
 * granted us; NULL with `why`. */
void *xen_dev_map_frame(struct xen_dev *d, uint64_t gfn, int prot, char *why,
			size_t why_len);
void *xen_dev_map_grant(struct xen_dev *d, uint32_t gref, int prot, char *why,
			size_t why_len);
void xen_dev_unmap_page(struct xen_dev *d, void *page, bool grant);

/* Maps `n` frames read-only, contiguously. Any frame that fails fails the
 * whole call (nothing stays mapped). NULL with `why`. */
const void *xen_dev_map_frames(struct xen_dev *d, size_t n,
			       const uint64_t *gfns, char *why, size_t why_len);
void xen_dev_unmap_frames(struct xen_dev *d, const void *p, size_t n);

#endif
