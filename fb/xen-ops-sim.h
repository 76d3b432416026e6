/* The simulated hypervisor vfbd uses when VFBD_XEN_SIM=DIR is set.
 *
 * There is no Xen on the machines that build and test vfbd, so tests (and
 * tools/xenguest-sim) play the hypervisor and the guest, and vfbd's Xen
 * table (fb/xen-ops-sim.c) maps that play onto the same calls the real
 * libraries make. Everything lives in DIR:
 *
 *   xenstored.sock  a xenstore daemon speaking the real wire protocol
 *                   (xen/io/xs_wire.h); vfbd reaches it through the real
 *                   libxenstore with XENSTORED_PATH pointing here
 *   mem             guest memory: frame N is bytes N*4096 .. N*4096+4095
 *   ctl             struct xen_sim_ctl below: domains, event-channel
 *                   ports, grants, and counters the tests assert on
 *   evtchn-be.sock  datagram socket; each datagram is a host-order
 *                   uint32 backend port with a notification pending
 *   evtchn-fe.sock  the same for the guest's ports
 *
 * Event channels keep Xen's semantics: the guest allocates an unbound
 * port for domain 0, the backend binds it and gets its own local port
 * number, notifications on a port coalesce while it is pending or masked,
 * and a port the backend takes from `pending` stays masked until it
 * unmasks it. Foreign mappings are MAP_SHARED views of `mem`, so the guest
 * can change memory while vfbd reads it, as a real guest can.
 *
 * Both sides update `ctl` with atomic operations only.
 */
#ifndef VFBD_FB_XEN_OPS_SIM_H
#define VFBD_FB_XEN_OPS_SIM_H

#include <stdint.h>

#define XEN_SIM_MAGIC	    "VFBDSIM1"
#define XEN_SIM_PAGE_SIZE   4096u
#define XEN_SIM_MAX_DOMAINS 8u
#define XEN_SIM_MAX_PORTS   64u
#define XEN_SIM_MAX_GRANTS  256u
/* Backend port numbers differ from the guest's, as they do on Xen, so
 * mixing the two up fails a test instead of passing by luck. */
#define XEN_SIM_BE_PORT_BASE 100u

#define XEN_SIM_DOM_EXISTS   1u
#define XEN_SIM_DOM_DYING    2u
#define XEN_SIM_DOM_SHUTDOWN 4u
#define XEN_SIM_DOM_HVM	     8u

struct xen_sim_domain {
	uint32_t domid;
	uint32_t flags; /* XEN_SIM_DOM_* */
	uint8_t uuid[16];
};

enum xen_sim_port_state {
	XEN_SIM_PORT_FREE,
	XEN_SIM_PORT_UNBOUND, /* allocated by the guest for `remote` */
	XEN_SIM_PORT_BOUND,   /* the backend bound it */
};

/* Guest port P is ports[P] (P >= 1); once bound the backend knows it as
 * P + XEN_SIM_BE_PORT_BASE. A port whose backend process died is unbound
 * again, as closing /dev/xen/evtchn does. */
struct xen_sim_port {
	uint32_t state;	 /* enum xen_sim_port_state */
	uint32_t domid;	 /* the guest that owns the port */
	uint32_t remote; /* the domain allowed to bind it (0) */
	uint32_t be_pid; /* the backend process that bound it */
	uint32_t be_pending, be_masked, be_queued;
	uint32_t fe_pending, fe_queued;
};

#define XEN_SIM_GRANT_USED     1u
#define XEN_SIM_GRANT_READONLY 2u

/* Grant reference R is grants[R]. */
struct xen_sim_grant {
	uint32_t flags;
	uint32_t domid; /* the granting guest */
	uint64_t gfn;
};

/* What the backend holds right now, for tests to assert on. */
struct xen_sim_counters {
	uint32_t maps_live;	/* mappings not yet unmapped */
	uint32_t pages_live;	/* pages in them */
	uint32_t pages_live_rw; /* of which writable */
	uint32_t pages_max;	/* most pages ever mapped at once */
	uint32_t ports_bound;	/* ports bound and not unbound */
	uint32_t notifies;	/* notifications sent by the backend */
	uint32_t map_calls;	/* foreign and grant map calls */
	uint32_t rw_map_calls;	/* of which asked for PROT_WRITE */
};

struct xen_sim_ctl {
	char magic[8];
	uint32_t npages; /* size of `mem` in frames */
	uint32_t pad;
	struct xen_sim_domain domains[XEN_SIM_MAX_DOMAINS];
	struct xen_sim_port ports[XEN_SIM_MAX_PORTS];
	struct xen_sim_grant grants[XEN_SIM_MAX_GRANTS];
	struct xen_sim_counters be;
};

#endif
