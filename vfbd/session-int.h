/* The session's insides, shared by the files that make it up:
 * session.c (clients, policy, pacing, status) and session-sync.c
 * (keeping the shadow current with the source). Nothing outside vfbd's
 * session includes this. */
#ifndef VFBD_SESSION_INT_H
#define VFBD_SESSION_INT_H

#include "fb/region.h"
#include "fb/shadow.h"
#include "input/keymap.h"
#include "net/rfb-peer.h"
#include "vfbd/auth-throttle.h"
#include "vfbd/offload.h"
#include "vfbd/session.h"

/* Refresh interval for sources without an fd: fast while pixels change,
 * backing off to the slow end while they do not. */
#define REFRESH_FAST_MS 16u
#define REFRESH_SLOW_MS 250u
/* A shadow nobody kept current is compared in bands of about this many
 * bytes, one per loop iteration, each faulted in by a worker first. */
#define CATCH_UP_BYTES (1u << 20)

struct client {
	struct client *next, *prev;
	struct offload *work; /* an update being encoded off the loop */
	struct offload_cache snapshot;
	struct session *s;
	struct rfb_peer *peer;
	unsigned id;
	bool ready;
	bool update_wanted;
	bool reply_owed; /* a full update request must be answered */
	bool continuous; /* EnableContinuousUpdates: no requests needed */
	/* What this client holds down, released when it goes (in shared
	 * mode another client's keys stay held). */
	uint64_t keys_held[(KEY_CNT + 63) / 64];
	uint8_t buttons_held;
	struct fb_region pending;
	uint64_t connected_ms, last_input_ms;
};

struct session {
	uv_loop_t *loop;
	const struct vfbd_config *cfg;
	struct fb_source *src;
	struct input_sink *sink;
	struct fb_shadow shadow;
	struct fb_region changed;
	struct rfb_peer_config peer_cfg;
	struct client *clients;
	unsigned n_ready, n_preauth;
	unsigned next_id;
	uv_timer_t refresh_timer;
	uv_timer_t housekeeping_timer;
	uv_poll_t source_poll; /* the source's fd, when it has one */
	/* The loop's longest busy stretch between two waits (a stall). */
	uv_prepare_t loop_probe;
	uint64_t probe_last_ns, probe_last_idle_ns, loop_max_busy_ns;
	/* The same in CPU time of the loop thread: what the loop itself
	 * spent, without the time a busy machine did not run it. */
	uint64_t probe_last_cpu_ns, loop_max_cpu_ns;
	bool source_polled;
	bool shadow_stale; /* nobody watched: it may be behind the source */
	/* Workers use the shadow under this lease; damage that comes
	 * meanwhile waits in `deferred` (see sync_or_defer). A stale shadow
	 * is caught up band by band from `stale_row` on (catching_up: a
	 * worker is faulting in the next band). */
	struct offload_lease lease;
	struct fb_damage deferred;
	uint32_t stale_row;
	bool catching_up;
	bool interest_sent, interest_wanted;
	unsigned interest_period;
	void (*on_finished)(void *ctx);
	void *finished_ctx;
	unsigned refresh_ms;
	bool shutting_down;
	struct fb_rect *rects;
	size_t rects_cap;
	struct auth_throttle throttle;
	/* The VNC password, from the config or later from libxl's QMP
	 * (vfbd-dm); with password_required and none set, nobody gets in. */
	char password[RFB_AUTH_PASSWORD_MAX + 1];
	bool password_required;
	uint64_t moves_found, copies_sent; /* scroll detection at work */
	uint64_t frames_changed;	   /* shadow syncs that found changes */
	/* Close reasons seen so far, for the status report. */
	struct {
		const char *reason;
		uint64_t count;
	} closes[24];
};

/* Sizes the rect scratch for the shadow's geometry; 0 or -ENOMEM. */
int session_resize_rects(struct session *s);

/* Brings the shadow up to date with the source inside `hint` now, or,
 * while workers hold the shadow, once they let go. Returns the tiles
 * found changed now. */
long session_sync_or_defer(struct session *s, const struct fb_damage *hint);

/* Starts catching a stale shadow up: a worker faults in the next band,
 * and session_lease_released compares it. False when no worker could
 * (the caller compares it whole). */
bool session_catch_up_start(struct session *s);

/* The lease's callback: the last worker let go of the shadow. */
void session_lease_released(void *ctx);

/* Sends what each client waits for, as far as pacing allows. */
void session_send_all(struct session *s);

#endif
