/* A simulated Xen host and guest for tests: the other end of vfbd's
 * simulated Xen table (fb/xen-ops-sim.h).
 *
 * xensim_new creates a simulation directory and starts one thread that
 * serves xenstore over the real wire protocol (xen/io/xs_wire.h: vfbd's
 * real libxenstore connects to it through XENSTORED_PATH), receives the
 * backend's event-channel notifications and runs the guest's frontend
 * drivers. The frontends follow the real protocol with the structs of
 * xen/io/fbif.h and kbdif.h: a Linux-like and a mini-os-like framebuffer
 * and a Linux-like keyboard. The test drives the guest (boot, draw,
 * resize, reboot, misbehave) through the functions below, from its own
 * thread; every call takes the simulation's lock.
 *
 * Start vfbd with VFBD_XEN_SIM=xensim_dir(sim) in its environment
 * (xensim_export sets it in ours, which spawn.c passes on).
 */
#ifndef VFBD_TESTS_XENSIM_H
#define VFBD_TESTS_XENSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/fbif.h>
#include <xen/io/kbdif.h>

#include "fb/xen-ops-sim.h"

struct xensim;

/* A host with one guest, domain `domid`, with `mem_pages` frames of
 * memory, and /local/domain/DOMID laid out as libxl does. NULL on
 * failure. */
struct xensim *xensim_new(unsigned domid, unsigned mem_pages);
/* Stops the thread and removes the directory. */
void xensim_free(struct xensim *s);
const char *xensim_dir(const struct xensim *s);
/* setenv("VFBD_XEN_SIM", dir). */
void xensim_export(struct xensim *s);
unsigned xensim_domid(const struct xensim *s);

/* ---- xenstore, as dom0 (`dom` 0) or as the guest ---- */

/* The value (malloc'd) or NULL. */
char *xensim_read(struct xensim *s, const char *path);
int xensim_write(struct xensim *s, unsigned dom, const char *path,
		 const char *value);
int xensim_rm(struct xensim *s, unsigned dom, const char *path);
bool xensim_exists(struct xensim *s, const char *path);
/* Permissions as "n5,r0" (owner first). 0 or -ENOENT. */
int xensim_perms(struct xensim *s, const char *path, char *out, size_t len);
/* Number of wire watches registered on `path`. */
unsigned xensim_watch_count(struct xensim *s, const char *path);
/* Every value written to `path` so far, comma-separated ("1,2,4"). */
void xensim_history(struct xensim *s, const char *path, char *out, size_t len);
/* Waits until `path` reads `value`; false after `timeout_ms`. */
bool xensim_wait_value(struct xensim *s, const char *path, const char *value,
		       int timeout_ms);

/* ---- the toolstack ---- */

/* Creates a device pair the way libxl does (kind "vfb", "vkbd" or
 * "vinput"; fe_kind "vfb" or "vkbd"), with extra backend keys. */
void xensim_libxl_device(struct xensim *s, const char *kind,
			 const char *fe_kind, unsigned devid,
			 const char *const *be_keys);
/* `xl destroy`: the domain disappears, /local/domain/DOMID goes,
 * @releaseDomain fires. */
void xensim_destroy_domain(struct xensim *s);
/* The domid is reused by another domain (new UUID): @releaseDomain fires
 * but the domain still exists. */
void xensim_reuse_domid(struct xensim *s);

/* What the backend holds (mappings, ports, notifications). */
struct xen_sim_counters xensim_counters(struct xensim *s);

/* ---- the guest's framebuffer ---- */

enum xensim_profile {
	XENSIM_LINUX,  /* Initialised, then Connected on InitWait */
	XENSIM_MINIOS, /* Initialised in the key transaction, Connected
			* once the backend is */
};

struct xensim_fb_config {
	enum xensim_profile profile;
	uint32_t width, height, depth;
	uint32_t line_length; /* 0: width * depth / 8 */
	uint32_t mem_length;  /* 0: line_length * height */
	const char *protocol; /* NULL: "x86_64-abi"; "": no key */
	bool abi32;	      /* lay pd[] out as a 32-bit guest */
	bool no_feature_update;
	/* A misbehaving guest: runs once the pages are laid out, before
	 * the keys are written (change the page, the directory...). */
	void (*tamper)(struct xensim *s, struct xenfb_page *page, void *arg);
	void *tamper_arg;
	/* Values written instead of the real page-ref / event-channel. */
	const char *page_ref, *event_channel;
};

/* Allocates the shared page, page directory and framebuffer (frames
 * scattered through memory), allocates a port and writes the frontend
 * keys. 0 or -errno. */
int xensim_fb_boot(struct xensim *s, const struct xensim_fb_config *c);
/* Both ends Connected (and, for Linux, request-update read). */
bool xensim_fb_wait_connected(struct xensim *s, int timeout_ms);
/* The framebuffer as the guest sees it: mem_length bytes, contiguous. */
uint8_t *xensim_fb_mem(struct xensim *s);
/* The shared page itself, for tests that misbehave. */
struct xenfb_page *xensim_fb_page(struct xensim *s);
/* The guest's copy of request-update (what the backend asked for). */
bool xensim_fb_request_update(struct xensim *s);
/* Sends UPDATE like Linux: into the ring when there is room, else merged
 * into one pending box flushed when the backend notifies. */
void xensim_fb_update(struct xensim *s, int32_t x, int32_t y, int32_t w,
		      int32_t h);
/* Sends RESIZE (whatever the fields). Changes nothing else. */
void xensim_fb_resize(struct xensim *s, int32_t w, int32_t h, int32_t stride,
		      int32_t depth, int32_t offset);
/* Puts `ev` in the out ring as it is (no room check) and notifies. */
void xensim_fb_put_raw(struct xensim *s, const union xenfb_out_event *ev);
/* Notifies the backend on the framebuffer's port. */
void xensim_fb_notify(struct xensim *s);
/* Refresh-period events received: the count and the last period. */
unsigned xensim_fb_periods(struct xensim *s, uint32_t *last);
/* Reset as a Linux guest does after kexec: frontend Closing, Closed,
 * Initialising, waiting up to 5 s each for the backend to follow
 * (Closing, Closed, InitWait; steps the backend already took are
 * skipped); then boots again with `c` on new pages. 0 or -ETIMEDOUT. */
int xensim_fb_reboot(struct xensim *s, const struct xensim_fb_config *c);
/* Writes the frontend state (as the guest). */
void xensim_fb_set_state(struct xensim *s, int state);
/* The guest forgets its framebuffer and keyboard (its devices were
 * removed): pages and ports are freed, nothing is written. */
void xensim_forget_devices(struct xensim *s);
/* Directory page `i` of the framebuffer (for tamper hooks). */
uint8_t *xensim_fb_dir(struct xensim *s, unsigned i);
/* Like xensim_fb_put_raw, but waits (up to 1 s) for room in the ring. */
bool xensim_fb_put_wait(struct xensim *s, const union xenfb_out_event *ev);
/* Notifies the backend `n` times in a row. */
void xensim_fb_notify_many(struct xensim *s, unsigned n);
/* Runs `fn` with the simulation locked (the guest's driver stopped). */
void xensim_locked(struct xensim *s, void (*fn)(struct xensim *s, void *arg),
		   void *arg);

/* ---- the guest's keyboard ---- */

struct xensim_kbd_config {
	bool request_abs;
	bool page_ref_only; /* no page-gref (an old frontend) */
};

int xensim_kbd_boot(struct xensim *s, const struct xensim_kbd_config *c);
bool xensim_kbd_wait_connected(struct xensim *s, int timeout_ms);
/* Copies recorded events from index `from` on; returns how many. */
size_t xensim_kbd_events(struct xensim *s, size_t from,
			 union xenkbd_in_event *out, size_t max);
size_t xensim_kbd_count(struct xensim *s);
/* Events that broke the rules (reserved bytes set, keycode >= KEY_MAX,
 * position outside the advertised range, unknown type). */
unsigned xensim_kbd_bad(struct xensim *s);
/* Whether the guest consumes its ring (off: it fills up). */
void xensim_kbd_set_consume(struct xensim *s, bool on);
struct xenkbd_page *xensim_kbd_page(struct xensim *s);

#endif
