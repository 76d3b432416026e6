/* The RFB protocol engine for one connected viewer: the handshake
 * (version, security, VNC auth, ClientInit/ServerInit), then the client's
 * messages turned into callbacks, and framebuffer updates written in the
 * client's pixel format. The peer owns its conn; the session owns the
 * policy (who may stay, what to send, when).
 *
 * Callbacks run from the loop while the peer is alive; on_close runs
 * exactly once, after which the peer is freed. */
#ifndef VFBD_NET_RFB_PEER_H
#define VFBD_NET_RFB_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fb/fb.h"
#include "net/conn.h"
#include "net/rfb-auth.h"

struct rfb_peer;

/* What ServerInit announces; filled by on_init. */
struct rfb_server_init {
	uint32_t width, height;
	const char *name;
};

struct rfb_peer_ops {
	/* The client sent its version: return NULL to go on, or a message to
	 * refuse it with (sent as an RFB failure reason; the peer then
	 * closes for `*close_reason`). */
	const char *(*admit)(struct rfb_peer *p, const char **close_reason);
	/* The client authenticated and sent ClientInit. Fill `init` and
	 * return 0 to proceed; return -1 after closing the peer to refuse. */
	int (*on_init)(struct rfb_peer *p, bool shared,
		       struct rfb_server_init *init);
	/* VNC authentication failed (the peer is closing). */
	void (*on_auth_failed)(struct rfb_peer *p);
	void (*on_key)(struct rfb_peer *p, uint32_t keysym, bool down);
	/* QEMU extended key event: an XT scancode (QEMU numbering: 0x80 set
	 * for E0-prefixed keys) with the keysym the client also knows. */
	void (*on_key_code)(struct rfb_peer *p, uint32_t xt_scancode,
			    uint32_t keysym, bool down);
	/* EnableContinuousUpdates: while enabled, send damage without
	 * waiting for requests (still one frame in flight). */
	void (*on_continuous)(struct rfb_peer *p, bool enable);
	/* Position clamped to the framebuffer. */
	void (*on_pointer)(struct rfb_peer *p, uint32_t x, uint32_t y,
			   uint8_t buttons);
	/* `r` is already clipped to the framebuffer (may be empty). */
	void (*on_update_request)(struct rfb_peer *p, bool incremental,
				  struct fb_rect r);
	/* The send queue drained: a good moment to send the next frame. */
	void (*on_drain)(struct rfb_peer *p);
	void (*on_close)(struct rfb_peer *p, const char *reason);
};

struct rfb_peer_config {
	/* NULL or "" offers security None; otherwise VNC auth only. */
	const char *password;
	uint32_t cut_text_max;
	/* Read buffer limit before ClientInit: handshake messages are tiny,
	 * so a pre-auth client can never make vfbd buffer much. */
	size_t preauth_read_max;
	struct conn_settings conn;
};

/* Accepts a pending connection from `server`, sends the version and starts
 * the handshake. NULL if the connection could not be accepted. */
struct rfb_peer *rfb_peer_accept(uv_stream_t *server, unsigned id,
				 const struct rfb_peer_config *cfg,
				 const struct rfb_peer_ops *ops, void *user);

void *rfb_peer_user(const struct rfb_peer *p);
unsigned rfb_peer_id(const struct rfb_peer *p);
struct conn *rfb_peer_conn(const struct rfb_peer *p);
bool rfb_peer_is_ready(const struct rfb_peer *p); /* past ServerInit */

/* Closes with a contract reason (see cli.md); idempotent. */
void rfb_peer_close(struct rfb_peer *p, const char *reason, bool abortive);

/* Refuses a client before ClientInit by sending an RFB failure reason
 * (when the protocol state allows one) and closing for `close_reason`. */
void rfb_peer_refuse(struct rfb_peer *p, const char *message,
		     const char *close_reason);

/* Sends one FramebufferUpdate with `n` Raw rects of `src` (the shadow),
 * which must have the geometry the client knows. 0 or -errno (the peer
 * is closed on failure). */
int rfb_peer_send_update(struct rfb_peer *p, const struct fb_view *src,
			 const struct fb_rect *rects, size_t n);

/* The same in three steps, so the middle one can run on a worker thread:
 * prepare (loop thread) copies what encoding needs and returns NULL when
 * the peer is closing or already has a job; encode (any thread, one at a
 * time) reads `src`, which must stay unchanged until it returns; finish
 * (loop thread) sends the update and frees the job, and frees the peer if
 * its connection closed meanwhile (on_close has already run then). */
struct rfb_update_job;
struct rfb_update_job *rfb_peer_prepare_update(struct rfb_peer *p,
					       const struct fb_rect *rects,
					       size_t n);
void rfb_update_job_encode(struct rfb_update_job *job,
			   const struct fb_view *src);
int rfb_peer_finish_update(struct rfb_update_job *job);

/* Tells the client the framebuffer is now width x height (DesktopSize).
 * Returns -ENOTSUP when the client did not announce DesktopSize. */
int rfb_peer_send_resize(struct rfb_peer *p, uint32_t width, uint32_t height);

/* True when the peer has pseudo-rects (acknowledgements, layout
 * replies) waiting for the next FramebufferUpdate: the session should
 * send one even without damage. */
bool rfb_peer_has_pending(const struct rfb_peer *p);

/* Queues a CopyRect (dst from the client's own pixels at src_x, src_y)
 * to open the next update. -ENOTSUP when the client did not list
 * CopyRect, -EBUSY when one is already waiting. */
int rfb_peer_queue_copy(struct rfb_peer *p, struct fb_rect dst, uint32_t src_x,
			uint32_t src_y);

/* True when the client listed CopyRect. */
bool rfb_peer_takes_copyrect(const struct rfb_peer *p);

/* FramebufferUpdates sent so far. */
uint64_t rfb_peer_frames_sent(const struct rfb_peer *p);

/* Bytes per pixel in the client's current format. */
unsigned rfb_peer_bytes_per_pixel(const struct rfb_peer *p);

#endif
