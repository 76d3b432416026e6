/* Internals shared by the two halves of the simulation: xensim-store.c
 * (the xenstore daemon: tree, permissions, watches, transactions, the
 * wire protocol) and xensim.c (the hypervisor, the guest's frontends, the
 * thread and the test's API). Tests use xensim.h only. */
#ifndef VFBD_TESTS_XENSIM_INT_H
#define VFBD_TESTS_XENSIM_INT_H

/* errno.h first: xs_wire.h defines its error table only with EINVAL. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <xen/io/xs_wire.h>

#include "tests/lib/xensim.h"

#define PAGE	   XEN_SIM_PAGE_SIZE
#define PERM_READ  1u
#define PERM_WRITE 2u
#define MAX_CONNS  16

/* ------------------------------------------------------------------ */
/* xenstore tree                                                       */

struct perm {
	unsigned id;
	unsigned perm; /* PERM_READ | PERM_WRITE */
};

struct node {
	char *name;
	char *value;
	unsigned vlen;
	struct perm *perms;
	unsigned nperms;
	uint64_t gen;
	struct node *children, *next;
};

enum op_type { OP_WRITE, OP_MKDIR, OP_RM, OP_PERMS };

struct tx_op {
	enum op_type type;
	char *path;
	char *value;
	unsigned vlen;
	struct perm *perms;
	unsigned nperms;
	struct tx_op *next;
};

struct tx_access {
	char *path;
	uint64_t gen;
	struct tx_access *next;
};

struct conn;

struct tx {
	uint32_t id;
	struct conn *conn;
	struct node *root; /* a copy taken at start, with our own changes */
	struct tx_op *ops, **ops_tail;
	struct tx_access *accessed;
	struct tx *next;
};

struct watch {
	struct conn *conn;
	char *path, *token;
	struct watch *next;
};

struct conn {
	int fd;
	bool dead; /* closed at the next safe point */
	uint8_t in[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1];
	size_t in_len;
};

struct history {
	char *path;
	char *values;
	struct history *next;
};

/* Watch events waiting until the current request is answered. */
struct pending_event {
	char *path;
	struct pending_event *next;
};

/* ------------------------------------------------------------------ */
/* guest                                                               */

struct sim_fb {
	bool booted;
	struct xensim_fb_config cfg;
	uint32_t line_length, mem_length;
	uint64_t page_gfn;
	struct xenfb_page *page;
	uint64_t *frames;
	size_t nframes;
	uint64_t dirs[256];
	unsigned ndirs;
	uint8_t *map;
	size_t map_len;
	unsigned port;
	int state;
	bool request_update, feature_resize;
	bool have_pending;
	int64_t px0, py0, px1, py1;
	unsigned periods;
	uint32_t last_period;
	bool resetting;
};

struct sim_kbd {
	bool booted;
	struct xensim_kbd_config cfg;
	uint64_t page_gfn;
	struct xenkbd_page *page;
	unsigned gref;
	unsigned port;
	int state;
	bool consume;
	uint32_t width, height;
	bool abs;
	union xenkbd_in_event *events;
	size_t n_events, cap_events;
	unsigned bad;
};

struct xensim {
	char dir[64];
	unsigned domid;
	pthread_mutex_t lock;
	pthread_t thread;
	int stop_fd, epfd, listen_fd, fe_sock;
	struct sockaddr_un be_addr;
	struct xen_sim_ctl *ctl;
	int memfd;
	uint8_t *mem;
	unsigned npages;
	uint8_t *page_used;
	uint64_t rng;

	struct node *root;
	uint64_t gen;
	struct conn *conns[MAX_CONNS];
	struct watch *watches;
	struct tx *txs;
	uint32_t next_tx;
	struct history *histories;
	struct pending_event *pending, **pending_tail;

	struct sim_fb fb;
	struct sim_kbd kbd;
	bool reacting;
};

/* Allocation failures end the test process: it has nothing better to do. */
static inline void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		abort();
	return p;
}

static inline char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

/* ---- xensim-store.c; the caller holds the simulation's lock ---- */

struct node *xsim_node_new(const char *name, const struct node *parent);
void xsim_node_free(struct node *n);
/* The node at `path`; with `deepest`, also the deepest existing node on
 * the way there. */
struct node *xsim_lookup(struct node *root, const char *path,
			 struct node **deepest);
/* PERM_READ | PERM_WRITE that domain `dom` has on `n`. */
unsigned xsim_perm_of(const struct node *n, unsigned dom);
/* Operations on a tree, permission-checked for `dom`; 0 or -errno. */
int xsim_do_write(struct xensim *s, struct node *root, unsigned dom,
		  const char *path, const char *value, unsigned vlen);
int xsim_do_mkdir(struct xensim *s, struct node *root, unsigned dom,
		  const char *path);
int xsim_do_rm(struct xensim *s, struct node *root, unsigned dom,
	       const char *path);
int xsim_do_set_perms(struct xensim *s, struct node *root, unsigned dom,
		      const char *path, const struct perm *perms,
		      unsigned nperms);
/* The same on the live tree: recorded in the history, watched. */
int xsim_global_write(struct xensim *s, unsigned dom, const char *path,
		      const char *value, unsigned vlen);
int xsim_global_rm(struct xensim *s, unsigned dom, const char *path);
/* Queues watch events for a change at `path` (or a special "@..."). */
void xsim_fire(struct xensim *s, const char *path);
/* Sends the queued watch events. */
void xsim_flush_events(struct xensim *s);
/* A xenstore client connection: read and answer requests; close the
 * ones marked dead. */
void xsim_conn_readable(struct xensim *s, struct conn *c);
void xsim_conn_close(struct xensim *s, struct conn *c);
void xsim_reap_conns(struct xensim *s);

/* ---- xensim.c ---- */

/* Lets the guest's drivers react to what changed in xenstore. */
void xsim_guest_react(struct xensim *s);

#endif
