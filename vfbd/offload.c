#include "vfbd/offload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct offload {
	uv_work_t copy_req, encode_req;
	struct rfb_update_job *job;
	struct offload_lease *lease; /* held until the copy is taken */
	const uint32_t *shadow;	     /* read by the worker under the lease */
	struct fb_rect *rects;
	size_t n;
	struct fb_view view; /* of the snapshot */
	uint32_t *snapshot;
	struct offload_cache *cache; /* NULL once detached */
	offload_done_cb *done;
	void *ctx;
};

struct prefault {
	uv_work_t req;
	struct offload_lease *lease;
	uint8_t *pixels; /* the shadow's */
	size_t bytes;
	const uint8_t *live;
	size_t live_bytes;
};

static void lease_drop(struct offload_lease *lease)
{
	if (--lease->held == 0 && lease->released)
		lease->released(lease->ctx);
}

static void offload_free(struct offload *o)
{
	free(o->snapshot);
	free(o->rects);
	free(o);
}

/* Sends the encoded update, gives the snapshot back to the client and
 * tells it. Finishing frees the peer if its connection closed meanwhile. */
static void finish(struct offload *o)
{
	int rc = rfb_peer_finish_update(o->job);

	if (o->cache) {
		o->cache->pixels = o->snapshot;
		o->snapshot = NULL;
		o->done(o->ctx, rc);
	}
	offload_free(o);
}

static void copy_rects(struct offload *o)
{
	size_t width = o->view.width;

	for (size_t i = 0; i < o->n; i++) {
		const struct fb_rect *r = &o->rects[i];

		for (uint32_t y = r->y; y < r->y + r->h; y++)
			memcpy(o->snapshot + y * width + r->x,
			       o->shadow + y * width + r->x, (size_t)r->w * 4);
	}
}

static void copy_on_worker(uv_work_t *req)
{
	copy_rects(req->data);
}

static void encode_on_worker(uv_work_t *req)
{
	struct offload *o = req->data;

	rfb_update_job_encode(o->job, &o->view);
}

static void encode_done(uv_work_t *req, int status)
{
	finish(req->data);
}

/* The snapshot is taken: the shadow is free again, and the encoding
 * goes on from the snapshot. */
static void copy_done(uv_work_t *req, int status)
{
	struct offload *o = req->data;
	struct offload_lease *lease = o->lease;

	if (!o->cache) {
		/* Nobody wants the update any more. */
		rfb_peer_finish_update(o->job);
		offload_free(o);
	} else if (uv_queue_work(req->loop, &o->encode_req, encode_on_worker,
				 encode_done) < 0) {
		rfb_update_job_encode(o->job, &o->view);
		finish(o);
	}
	lease_drop(lease);
}

int offload_start(uv_loop_t *loop, struct rfb_peer *peer,
		  const struct fb_shadow *shadow, const struct fb_rect *rects,
		  size_t n, struct offload_cache *cache,
		  struct offload_lease *lease, offload_done_cb *done, void *ctx,
		  struct offload **out)
{
	size_t width = shadow->width;
	size_t bytes = width * shadow->height * 4;
	struct offload *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o)
		return -ENOMEM;
	o->rects = malloc((n ? n : 1) * sizeof(*rects));
	if (!o->rects)
		goto fail;
	memcpy(o->rects, rects, n * sizeof(*rects));
	o->n = n;
	/* Only allocated here: its pages are first touched by the worker's
	 * copy, and kept for the client's next updates. */
	if (!cache->pixels || cache->bytes != bytes) {
		free(cache->pixels);
		cache->pixels = malloc(bytes);
		cache->bytes = cache->pixels ? bytes : 0;
		if (!cache->pixels)
			goto fail;
	}
	o->snapshot = cache->pixels;
	cache->pixels = NULL; /* ours until done */
	o->shadow = shadow->pixels;
	o->view = (struct fb_view){(const uint8_t *)o->snapshot,
				   (uint32_t)width, shadow->height, width * 4};
	o->job = rfb_peer_prepare_update(peer, rects, n);
	if (!o->job) {
		cache->pixels = o->snapshot;
		o->snapshot = NULL;
		goto fail;
	}
	o->lease = lease;
	o->cache = cache;
	o->done = done;
	o->ctx = ctx;
	o->copy_req.data = o;
	o->encode_req.data = o;
	if (uv_queue_work(loop, &o->copy_req, copy_on_worker, copy_done) < 0) {
		/* No thread pool: encode here rather than not at all. */
		copy_rects(o);
		rfb_update_job_encode(o->job, &o->view);
		rfb_peer_finish_update(o->job);
		cache->pixels = o->snapshot;
		o->snapshot = NULL;
		offload_free(o);
		return 0;
	}
	lease->held++;
	*out = o;
	return 0;
fail:
	offload_free(o);
	return -ENOMEM;
}

/* The whole pages inside [p, p + bytes): 0 when there are none. */
static size_t inner_pages(const void *p, size_t bytes, uintptr_t *start)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t end = ((uintptr_t)p + bytes) & ~(page - 1);

	*start = ((uintptr_t)p + page - 1) & ~(page - 1);
	return end > *start ? end - *start : 0;
}

static void prefault_on_worker(uv_work_t *req)
{
	struct prefault *p = req->data;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start;
	size_t len = inner_pages(p->pixels, p->bytes, &start);

#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
	uintptr_t live_start;
	size_t live_len = inner_pages(p->live, p->live_bytes, &live_start);

	if (live_len)
		madvise((void *)live_start, live_len, MADV_POPULATE_READ);
	/* Faults the pages in without changing what they hold. */
	if (len && madvise((void *)start, len, MADV_POPULATE_WRITE) == 0)
		return;
#endif
	/* Kernels before 5.14: write a byte of each page back as it is,
	 * which is safe because under the lease nobody else writes. Live
	 * memory is left alone: touching it could raise SIGBUS here. */
	for (volatile uint8_t *b = (volatile uint8_t *)start;
	     (uintptr_t)b < start + len; b += page)
		*b = *b;
}

static void prefault_done(uv_work_t *req, int status)
{
	struct prefault *p = req->data;
	struct offload_lease *lease = p->lease;

	free(p);
	lease_drop(lease);
}

int offload_prefault(uv_loop_t *loop, const struct fb_shadow *shadow,
		     const struct fb_view *live, uint32_t y0, uint32_t y1,
		     struct offload_lease *lease)
{
	struct prefault *p;
	int rc;

	if (y1 > shadow->height)
		y1 = shadow->height;
	if (y0 >= y1 || live->width != shadow->width ||
	    live->height != shadow->height)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->lease = lease;
	p->pixels = (uint8_t *)(shadow->pixels + (size_t)y0 * shadow->width);
	p->bytes = (size_t)(y1 - y0) * shadow->width * 4;
	p->live = live->data + (size_t)y0 * live->stride;
	p->live_bytes =
		(size_t)(y1 - y0 - 1) * live->stride + (size_t)live->width * 4;
	p->req.data = p;
	rc = uv_queue_work(loop, &p->req, prefault_on_worker, prefault_done);
	if (rc < 0) {
		free(p);
		return rc;
	}
	lease->held++;
	return 0;
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
