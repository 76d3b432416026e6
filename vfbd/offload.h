/* Encoding a big update off the loop: a worker copies the rects out of
 * the shadow into a snapshot (reused between updates of one client),
 * then encodes the peer's update job from it on libuv's thread pool, and
 * the result is sent from the loop thread. The loop thread never touches
 * the frame-sized buffers itself, so neither the copy nor the page faults
 * of a fresh buffer stall it.
 *
 * While a worker reads (or prefaults) the shadow, the session holds a
 * lease: it must not write, resize or free the shadow until the lease is
 * released, which happens as soon as the copy is taken, long before the
 * encoding ends. */
#ifndef VFBD_OFFLOAD_H
#define VFBD_OFFLOAD_H

#include <uv.h>

#include "fb/shadow.h"
#include "net/rfb-peer.h"

/* The session's lease on its shadow. `held` counts workers that use the
 * shadow; `released` runs on the loop thread each time it drops back to
 * zero (never inside offload_start or offload_prefault). */
struct offload_lease {
	unsigned held;
	void (*released)(void *ctx);
	void *ctx;
};

/* One client's reusable snapshot buffer. */
struct offload_cache {
	uint32_t *pixels;
	size_t bytes;
};

struct offload;

/* Runs on the loop thread once the update was sent (rc 0) or failed
 * (rc < 0), unless the offload was detached. */
typedef void offload_done_cb(void *ctx, int rc);

/* Starts encoding `rects` of `shadow` for `peer`, holding `lease` until
 * a worker has copied them. Returns 0 with `*out` the running offload (or
 * NULL when the update was sent right away because no worker could take
 * it), or -ENOMEM when nothing was started (the caller may encode inline;
 * the peer may be closing). `rects` is copied. */
int offload_start(uv_loop_t *loop, struct rfb_peer *peer,
		  const struct fb_shadow *shadow, const struct fb_rect *rects,
		  size_t n, struct offload_cache *cache,
		  struct offload_lease *lease, offload_done_cb *done, void *ctx,
		  struct offload **out);

/* Faults in the pages of rows [y0, y1) of `shadow` and of the source's
 * `live` pixels (the same geometry) on a worker, holding `lease` until
 * done, so that a compare of those rows after nobody kept the shadow
 * current does not take thousands of page faults on the loop. Live
 * memory is only named to madvise(2), which fails rather than faults
 * when it has vanished meanwhile. 0, or -errno when nothing was started
 * (the lease is then not held for it). */
int offload_prefault(uv_loop_t *loop, const struct fb_shadow *shadow,
		     const struct fb_view *live, uint32_t y0, uint32_t y1,
		     struct offload_lease *lease);

/* The client is gone: its callback will not run, and the snapshot is
 * freed with the offload. The lease is still released when the copy is
 * done. */
void offload_detach(struct offload *o);

void offload_cache_fini(struct offload_cache *cache);

#endif
