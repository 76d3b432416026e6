/* libFuzzer target for the shm source (fb/src-shm.c, design/shm.md).
 *
 * Input: bytes 0-7 are the file size (u64, little-endian) given to
 * fb_shm_check_header, bytes 8.. are the header. Whatever the verdict,
 * the reason must be terminated and a refusal must say something; an
 * accepted header must describe a frame that fits in the file.
 *
 * When the header is accepted and the frame is small (at most 4 MiB with
 * its header), the same bytes become a real file: a memfd sized as the
 * header asks, opened with fb_shm_open through /proc/self/fd/N. The bytes
 * after the 176-byte header are then a producer's script, one operation
 * per byte followed by its operands (see run_script), playing a hostile
 * producer: frames odd and even, lying damage hints, pixels scribbled
 * without a frame change, the geometry fields overwritten, the file
 * truncated and grown back. After each operation the source is polled and
 * the shadow synced the way the session does it. At the end the file is
 * made whole and left alone: a few polls later the shadow must equal the
 * file, whatever the hints said. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fb/memguard.h"
#include "fb/region.h"
#include "fb/shadow.h"
#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/log.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#define FILE_MAX  (4u << 20)
#define STEPS_MAX 64

struct run {
	int fd;
	uint8_t *map; /* the producer's mapping, `need` bytes */
	size_t need;
	size_t size;	 /* the file's size now */
	size_t max_size; /* and the most it ever had */
	uint8_t hdr[FB_SHM_HEADER_FIXED];
	struct fb_shm_header h;
	struct fb_source *src;
	struct fb_shadow shadow;
	struct fb_region changed;
	bool have_shadow;
	const uint8_t *p, *end;		     /* the script */
	uint64_t written[2 * STEPS_MAX + 4]; /* every `frame` value stored */
	size_t n_written;
};

static uint32_t take(struct run *r, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n && r->p < r->end; i++)
		v |= (uint32_t)*r->p++ << (8 * i);
	return v;
}

/* The producer writes only where the file has bytes: beyond its end the
 * mapping would raise SIGBUS in the fuzzer itself. */
static bool writable(const struct run *r, size_t off, size_t len)
{
	return off + len <= r->size && off + len <= r->need;
}

static void set_frame(struct run *r, uint64_t v)
{
	if (!writable(r, FB_SHM_OFF_FRAME, 8))
		return;
	__atomic_store_n((uint64_t *)(r->map + FB_SHM_OFF_FRAME), v,
			 __ATOMIC_RELEASE);
	if (r->n_written < sizeof(r->written) / sizeof(r->written[0]))
		r->written[r->n_written++] = v;
}

/* An even `frame` never stored in this run: vfbd cannot take it for one
 * it has seen (a producer that steps back to an old value may hide its
 * changes, which is its own fault). */
static uint64_t fresh_frame(const struct run *r)
{
	uint64_t v = 2;

	for (size_t i = 0; i < r->n_written; i++)
		if (r->written[i] >= v && r->written[i] < UINT64_MAX - 1)
			v = (r->written[i] | 1) + 1;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < r->n_written; i++) {
			if (r->written[i] == v) {
				v += 2;
				again = true;
			}
		}
	}
	return v;
}

static uint64_t get_frame(const struct run *r)
{
	if (!writable(r, FB_SHM_OFF_FRAME, 8))
		return 0;
	return __atomic_load_n((uint64_t *)(r->map + FB_SHM_OFF_FRAME),
			       __ATOMIC_ACQUIRE);
}

static void resize_file(struct run *r, size_t size)
{
	CHECK(ftruncate(r->fd, (off_t)size) == 0);
	r->size = size;
	if (size > r->max_size)
		r->max_size = size;
}

/* Grows the file back and restores the header the run started with. The
 * file gets the most bytes it ever had: vfbd may have followed a
 * scribbled geometry that needs them, and it does not yet re-read the
 * header of a file that stays smaller than what it maps (a file
 * rewritten in place with a smaller geometry is not followed). */
static void make_whole(struct run *r)
{
	if (r->size < r->max_size)
		resize_file(r, r->max_size);
	memcpy(r->map, r->hdr, FB_SHM_HEADER_FIXED);
}

struct sync_args {
	struct run *r;
	const struct fb_view *live;
	const struct fb_damage *hint;
	long n;
};

static void run_sync(void *arg)
{
	struct sync_args *a = arg;

	a->n = fb_shadow_sync(&a->r->shadow, a->live, a->hint, &a->r->changed,
			      NULL);
}

/* One refresh as the session does it; returns the poll result. */
static enum fb_poll refresh(struct run *r)
{
	struct fb_damage hint;
	struct fb_view live;
	enum fb_poll res;

	memset(&hint, 0, sizeof(hint));
	res = r->src->ops->poll(r->src, &hint);
	if (res != FB_POLL_DAMAGE && res != FB_POLL_RESIZED)
		return res;
	CHECK(hint.n <= FB_DAMAGE_MAX_RECTS);
	CHECK(r->src->ops->view(r->src, &live) == 0);
	CHECK(live.width >= 1 && live.width <= FB_MAX_DIM);
	CHECK(live.height >= 1 && live.height <= FB_MAX_DIM);
	CHECK(live.stride >= (size_t)live.width * 4);
	if (res == FB_POLL_RESIZED)
		hint.all = true;
	if (!r->have_shadow || live.width != r->shadow.width ||
	    live.height != r->shadow.height) {
		if (r->have_shadow) {
			fb_shadow_fini(&r->shadow);
			fb_region_fini(&r->changed);
		}
		CHECK(fb_shadow_init(&r->shadow, live.width, live.height) == 0);
		CHECK(fb_region_init(&r->changed, live.width, live.height) ==
		      0);
		r->have_shadow = true;
		hint.all = true;
	}
	{
		struct sync_args a = {r, &live, &hint, 0};

		/* Nothing truncates the file during a sync here, so a SIGBUS
		 * would be a bug in the source's size checks. */
		CHECK(fb_memguard_run(run_sync, &a) == 0);
		CHECK(a.n >= 0);
		CHECK((size_t)a.n == r->changed.count);
	}
	fb_region_clear(&r->changed);
	return res;
}

/* Producer operations, one per script byte (low 3 bits). */
static void run_script(struct run *r)
{
	size_t pixel_bytes = (size_t)r->h.stride * r->h.height;

	for (int step = 0; step < STEPS_MAX && r->p < r->end; step++) {
		uint8_t op = *r->p++;
		uint32_t a, b, n;

		switch (op & 7) {
		case 0: /* a complete frame step */
			set_frame(r, (get_frame(r) | 1) + 1);
			break;
		case 1: /* begin or end a frame */
			set_frame(r, get_frame(r) + 1);
			break;
		case 2: /* damage: a count, then up to 16 rects */
			n = take(r, 4);
			if (writable(r, FB_SHM_OFF_DAMAGE_COUNT, 4))
				put_le32(r->map + FB_SHM_OFF_DAMAGE_COUNT, n);
			for (unsigned i = 0; i < (op >> 3) % 17; i++) {
				a = take(r, 4);
				b = take(r, 4);
				if (!writable(r, FB_SHM_OFF_DAMAGE + 8 * i, 8))
					continue;
				put_le32(r->map + FB_SHM_OFF_DAMAGE + 8 * i, a);
				put_le32(r->map + FB_SHM_OFF_DAMAGE + 8 * i + 4,
					 b);
			}
			break;
		case 3: /* pixels, with or without a frame step */
			a = take(r, 4) % (uint32_t)pixel_bytes;
			n = take(r, 2) % 4096;
			b = take(r, 1);
			if (a + n > pixel_bytes)
				n = (uint32_t)pixel_bytes - a;
			if (writable(r, r->h.header_bytes + a, n))
				memset(r->map + r->h.header_bytes + a, (int)b,
				       n);
			break;
		case 4: /* truncate */
			resize_file(r, take(r, 4) % r->need);
			break;
		case 5: /* grow back (contents as they are) */
			resize_file(r, r->need + (op >> 3) * 4096u);
			if (op & 0x80)
				make_whole(r);
			break;
		case 6: /* any frame value */
			a = take(r, 4);
			b = take(r, 4);
			set_frame(r, (uint64_t)b << 32 | a);
			break;
		case 7: /* scribble over the geometry (never allowed) */
			a = 8 + take(r, 1) % 24;
			b = take(r, 1);
			if (writable(r, a, 1))
				r->map[a] = (uint8_t)b;
			break;
		}
		refresh(r);
	}
}

static void check_file(const uint8_t *hdr, size_t need,
		       const struct fb_shm_header *h, const uint8_t *script,
		       size_t script_len)
{
	struct run r = {.fd = -1, .need = need, .h = *h};
	char path[64], why[256];
	enum fb_poll res = FB_POLL_IDLE;
	struct fb_view live;
	void *map;

	memcpy(r.hdr, hdr, sizeof(r.hdr));
	r.p = script;
	r.end = script + script_len;
	r.fd = memfd_create("fuzz-shm", MFD_CLOEXEC);
	CHECK(r.fd >= 0);
	resize_file(&r, need);
	map = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	CHECK(map != MAP_FAILED);
	r.map = map;
	memcpy(r.map, hdr, FB_SHM_HEADER_FIXED);
	r.written[r.n_written++] = get_le64(hdr + FB_SHM_OFF_FRAME);
	for (size_t i = h->header_bytes; i < need; i++)
		r.map[i] = (uint8_t)(i * 31 >> 3);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r.fd);
	r.src = fb_shm_open(path, why, sizeof(why));
	if (!r.src)
		fprintf(stderr, "fb_shm_open: %s\n", why);
	CHECK(r.src);
	refresh(&r);
	run_script(&r);

	/* The producer is done: the file whole, the frame even. A few polls
	 * later (the new frame, the idle polls that make it quiet, the full
	 * compare, idle again) the shadow must be the file, lies or not. */
	make_whole(&r);
	set_frame(&r, fresh_frame(&r));
	for (int i = 0; i < 8; i++)
		res = refresh(&r);
	CHECK(res == FB_POLL_IDLE);
	CHECK(r.have_shadow);
	/* Not necessarily the first geometry: a scribbled header that was
	 * valid when the file grew back is followed like a new file. */
	CHECK(r.src->ops->view(r.src, &live) == 0);
	CHECK(live.width == r.shadow.width && live.height == r.shadow.height);
	for (uint32_t y = 0; y < live.height; y++)
		CHECK(memcmp(r.shadow.pixels + (size_t)y * live.width,
			     live.data + (size_t)y * live.stride,
			     (size_t)live.width * 4) == 0);

	fb_source_free(r.src);
	if (r.have_shadow) {
		fb_shadow_fini(&r.shadow);
		fb_region_fini(&r.changed);
	}
	munmap(r.map, need);
	close(r.fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_LEVEL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_shm_header h, h2;
	char why[256];
	uint64_t file_size, need;
	const uint8_t *hdr;
	size_t hdr_len;
	int rc;

	if (size < 8)
		return 0;
	file_size = get_le64(data);
	hdr = data + 8;
	hdr_len = size - 8;
	memset(why, 'x', sizeof(why));
	rc = fb_shm_check_header(hdr, hdr_len, file_size, &h, why, sizeof(why));
	if (rc != 0) {
		CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		CHECK(rc == -EINVAL);
		CHECK(why[0] != '\0');
		return 0;
	}
	CHECK(hdr_len >= FB_SHM_HEADER_FIXED);
	CHECK(memcmp(hdr, "VFBDSHM", 8) == 0);
	CHECK(get_le32(hdr + FB_SHM_OFF_VERSION) == 1);
	CHECK(h.format == FB_SHM_FORMAT_XRGB8888);
	CHECK(h.width >= 1 && h.width <= FB_MAX_DIM);
	CHECK(h.height >= 1 && h.height <= FB_MAX_DIM);
	CHECK((uint64_t)h.stride >= (uint64_t)h.width * 4);
	CHECK(h.header_bytes >= FB_SHM_HEADER_FIXED);
	CHECK(h.header_bytes % FB_SHM_HEADER_ALIGN == 0);
	need = (uint64_t)h.header_bytes + (uint64_t)h.stride * h.height;
	CHECK(need <= file_size);
	/* Only the fixed header counts: trailing bytes change nothing, and
	 * a bigger file is as good. */
	CHECK(fb_shm_check_header(hdr, FB_SHM_HEADER_FIXED, need, &h2, why,
				  sizeof(why)) == 0);
	CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
	CHECK(fb_shm_check_header(hdr, FB_SHM_HEADER_FIXED, need - 1, &h2, why,
				  sizeof(why)) == -EINVAL);

	if (need <= FILE_MAX)
		check_file(hdr, (size_t)need, &h, hdr + FB_SHM_HEADER_FIXED,
			   hdr_len - FB_SHM_HEADER_FIXED);
	return 0;
}
