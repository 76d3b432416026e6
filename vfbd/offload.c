#include "vfbd/offload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct offload {
	uv_work_t req;
	struct rfb_update_job *job;
	struct fb_view view;
	uint32_t *snapshot;
	struct offload_cache *cache; /* NULL once detached */
	offload_done_cb *done;
	void *ctx;
};

static void encode_on_worker(uv_work_t *req)
{
	struct offload *o = req->data;

	rfb_update_job_encode(o->job, &o->view);
}

static void encode_done(uv_work_t *req, int status)
{
	struct offload *o = req->data;
	/* Finishing frees the peer if its connection closed meanwhile. */
	int rc = rfb_peer_finish_update(o->job);

	if (!o->cache) {
		free(o->snapshot);
		free(o);
		return;
	}
	o->cache->pixels = o->snapshot;
	o->done(o->ctx, rc);
	free(o);
}

int offload_start(uv_loop_t *loop, struct rfb_peer *peer,
		  const struct fb_shadow *shadow, const struct fb_rect *rects,
		  size_t n, struct offload_cache *cache, offload_done_cb *done,
		  void *ctx, struct offload **out)
{
	size_t width = shadow->width;
	size_t bytes = width * shadow->height * 4;
	struct offload *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o)
		return -ENOMEM;
	/* A fresh frame-sized buffer per update would cost the loop
	 * thousands of page faults each time: reuse the client's. */
	if (!cache->pixels || cache->bytes != bytes) {
		free(cache->pixels);
		cache->pixels = malloc(bytes);
		cache->bytes = cache->pixels ? bytes : 0;
		if (!cache->pixels)
			goto fail;
	}
	o->snapshot = cache->pixels;
	cache->pixels = NULL; /* ours until done */
	for (size_t i = 0; i < n; i++)
		for (uint32_t y = rects[i].y; y < rects[i].y + rects[i].h; y++)
			memcpy(o->snapshot + y * width + rects[i].x,
			       shadow->pixels + y * width + rects[i].x,
			       (size_t)rects[i].w * 4);
	o->view = (struct fb_view){(const uint8_t *)o->snapshot,
				   (uint32_t)width, shadow->height, width * 4};
	o->job = rfb_peer_prepare_update(peer, rects, n);
	if (!o->job)
		goto fail;
	o->cache = cache;
	o->done = done;
	o->ctx = ctx;
	o->req.data = o;
	if (uv_queue_work(loop, &o->req, encode_on_worker, encode_done) < 0) {
		/* No thread pool: encode here rather than not at all. */
		rfb_update_job_encode(o->job, &o->view);
		rfb_peer_finish_update(o->job);
		cache->pixels = o->snapshot;
		free(o);
		return 0;
	}
	*out = o;
	return 0;
fail:
	if (o->snapshot) {
		free(o->snapshot);
		cache->bytes = 0;
	}
	free(o);
	return -ENOMEM;
}

void offload_detach(struct offload *o)
{
	o->cache = NULL;
}

void offload_cache_fini(struct offload_cache *cache)
{
	free(cache->pixels);
	cache->pixels = NULL;
	cache->bytes = 0;
}
