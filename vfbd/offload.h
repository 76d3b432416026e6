/* Encoding a big update off the loop: the rects are copied out of the
 * shadow into a snapshot (reused between updates of one client), the
 * peer's update job is encoded on libuv's thread pool, and the result is
 * sent from the loop thread. The shadow may change meanwhile without
 * tearing what is being encoded. */
#ifndef VFBD_OFFLOAD_H
#define VFBD_OFFLOAD_H

#include <uv.h>

#include "fb/shadow.h"
#include "net/rfb-peer.h"

/* One client's reusable snapshot buffer. */
struct offload_cache {
	uint32_t *pixels;
	size_t bytes;
};

struct offload;

/* Runs on the loop thread once the update was sent (rc 0) or failed
 * (rc < 0), unless the offload was detached. */
typedef void offload_done_cb(void *ctx, int rc);

/* Starts encoding `rects` of `shadow` for `peer`. Returns 0 with `*out`
 * the running offload (or NULL when the update was sent right away
 * because no worker could take it), or -ENOMEM when nothing was started
 * (the caller may encode inline; the peer may be closing). */
int offload_start(uv_loop_t *loop, struct rfb_peer *peer,
		  const struct fb_shadow *shadow, const struct fb_rect *rects,
		  size_t n, struct offload_cache *cache, offload_done_cb *done,
		  void *ctx, struct offload **out);

/* The client is gone: its callback will not run, and the snapshot is
 * freed with the offload. */
void offload_detach(struct offload *o);

void offload_cache_fini(struct offload_cache *cache);

#endif
