/* The session: the one place that knows the source, the shadow, the
 * clients and the input sink. It polls the source, syncs the shadow,
 * paces frames per client (one in flight, pending damage merged), applies
 * the share policy and routes input. */
#ifndef VFBD_SESSION_H
#define VFBD_SESSION_H

#include <uv.h>

#include "fb/fb.h"
#include "input/sink.h"
#include "vfbd/base/buf.h"
#include "vfbd/config.h"

struct session;

/* Takes ownership of `src`. `sink` (may be NULL: input dropped) must
 * outlive the session. NULL on out of memory. */
struct session *session_new(uv_loop_t *loop, const struct vfbd_config *cfg,
			    struct fb_source *src, struct input_sink *sink);

/* Accepts a pending connection from a listener. */
void session_accept(uv_stream_t *server, void *session);

/* Closes every client with reason `shutdown` and stops the timers; the
 * loop then runs out of work. */
void session_shutdown(struct session *s);

/* `cb` runs when the source ends for good (FB_POLL_FINISHED, e.g. the Xen
 * domain was destroyed); the daemon then shuts down with status 0. */
void session_on_finished(struct session *s, void (*cb)(void *ctx), void *ctx);

/* Frees what is left; call after the loop has finished. */
void session_free(struct session *s);

/* Appends one line of JSON describing the session: source, geometry,
 * clients (id, peer, state, queued bytes, frames and bytes sent, age of
 * the last send progress) and close reasons counted so far. */
void session_status_json(struct session *s, struct buf *out);

/* Sets the VNC password for connections from now on (up to 8 characters
 * count; "" means none). With `required`, connections are refused while
 * no password is set (vfbd-dm before libxl sends one). */
void session_set_password(struct session *s, const char *password,
			  bool required);

/* Starts the figures in the status report afresh (loop_max_stall_ms). */
void session_reset_stats(struct session *s);

/* Closes client `id` with reason `kicked`; 0 or -ENOENT. */
int session_kick_client(struct session *s, unsigned id);

/* Asks for a prompt refresh, e.g. after input changed the demo. */
void session_kick(struct session *s);

#endif
