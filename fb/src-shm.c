#include "fb/src-shm.h"
#include "fb/memguard.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Header room beyond this is refused: no producer needs more. */
#define SHM_HEADER_MAX (1u << 20)
/* Even honest hints get a full compare now and then, so a producer whose
 * hints are subtly wrong is corrected while it keeps drawing. */
#define SHM_FULL_COMPARE_EVERY 32u
/* "Quiet" means this many polls in a row without a new frame: the
 * session polls at 16 ms and doubles the interval on each idle poll, so
 * that is about 110 ms; a producer drawing at 10 fps or more is never
 * taken for quiet between two frames (and one full compare per frame
 * would cost as much as a producer giving no hints). */
#define SHM_QUIET_POLLS 3u

struct shm_src {
	struct fb_source base;
	char path[PATH_MAX];
	int fd;
	const uint8_t *map;
	size_t map_len;
	dev_t dev;
	ino_t ino;
	struct fb_shm_header h;
	uint64_t last_frame;
	bool have_frame;
	bool verify_pending; /* hints were used: compare all once quiet */
	unsigned hinted_polls;
	unsigned idle_polls; /* in a row, since the last new frame */
	bool truncated, removed, replacement_bad;
	ino_t bad_ino; /* the replacement last refused */
	off_t bad_size;
	off_t trunc_size; /* size last seen while truncated */
};

int fb_shm_check_header(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
			struct fb_shm_header *out, char *why, size_t why_len)
{
	uint32_t version, w, h, stride, format, header_bytes;
	uint64_t need;

	if (hdr_len < FB_SHM_HEADER_FIXED || file_size < FB_SHM_HEADER_FIXED) {
		snprintf(why, why_len,
			 "file is %llu bytes, shorter than the "
			 "%u-byte header",
			 (unsigned long long)file_size, FB_SHM_HEADER_FIXED);
		return -EINVAL;
	}
	if (memcmp(hdr + FB_SHM_OFF_MAGIC, FB_SHM_MAGIC, 8) != 0) {
		snprintf(why, why_len, "bad magic (expected \"VFBDSHM\\0\")");
		return -EINVAL;
	}
	version = get_le32(hdr + FB_SHM_OFF_VERSION);
	header_bytes = get_le32(hdr + FB_SHM_OFF_HEADER_BYTES);
	w = get_le32(hdr + FB_SHM_OFF_WIDTH);
	h = get_le32(hdr + FB_SHM_OFF_HEIGHT);
	stride = get_le32(hdr + FB_SHM_OFF_STRIDE);
	format = get_le32(hdr + FB_SHM_OFF_FORMAT);
	if (version != FB_SHM_VERSION) {
		snprintf(why, why_len, "version %u not supported (expected 1)",
			 version);
		return -EINVAL;
	}
	if (header_bytes == 0 || header_bytes % FB_SHM_HEADER_ALIGN ||
	    header_bytes > SHM_HEADER_MAX) {
		snprintf(why, why_len,
			 "header_bytes %u is not a multiple of 4096 up to %u",
			 header_bytes, SHM_HEADER_MAX);
		return -EINVAL;
	}
	if (w == 0 || w > FB_MAX_DIM) {
		snprintf(why, why_len, "width %u out of range 1..%u", w,
			 FB_MAX_DIM);
		return -EINVAL;
	}
	if (h == 0 || h > FB_MAX_DIM) {
		snprintf(why, why_len, "height %u out of range 1..%u", h,
			 FB_MAX_DIM);
		return -EINVAL;
	}
	if ((uint64_t)stride < (uint64_t)w * 4 ||
	    (uint64_t)stride > (uint64_t)FB_MAX_DIM * 4 * 4) {
		snprintf(why, why_len, "stride %u invalid for width %u", stride,
			 w);
		return -EINVAL;
	}
	if (format != FB_SHM_FORMAT_XRGB8888) {
		snprintf(why, why_len, "format %u not supported (1 = XRGB8888)",
			 format);
		return -EINVAL;
	}
	need = (uint64_t)header_bytes + (uint64_t)stride * h;
	if (file_size < need) {
		snprintf(why, why_len, "file is %llu bytes, needs %llu",
			 (unsigned long long)file_size,
			 (unsigned long long)need);
		return -EINVAL;
	}
	out->header_bytes = header_bytes;
	out->width = w;
	out->height = h;
	out->stride = stride;
	out->format = format;
	return 0;
}

/* Opens, validates and maps `path` into `m` (only the mapping fields). */
static int map_file(struct shm_src *m, const char *path, char *why,
		    size_t why_len)
{
	uint8_t hdr[FB_SHM_HEADER_FIXED];
	struct stat st;
	ssize_t n;
	void *map;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (fb_shm_check_header(hdr, n > 0 ? (size_t)n : 0,
				(uint64_t)st.st_size, &m->h, why,
				why_len) < 0) {
		close(fd);
		return -EINVAL;
	}
	m->map_len = m->h.header_bytes + (size_t)m->h.stride * m->h.height;
	map = mmap(NULL, m->map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(why, why_len, "mmap: %s", strerror(errno));
		close(fd);
		return -errno;
	}
	m->fd = fd;
	m->map = map;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

static void unmap_file(struct shm_src *m)
{
	if (m->map)
		munmap((void *)m->map, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	m->map = NULL;
	m->fd = -1;
}

static void set_name(struct shm_src *m)
{
	snprintf(m->base.name, sizeof(m->base.name), "vfbd shm %ux%u",
		 m->h.width, m->h.height);
}

/* A new file at PATH (the producer resized or restarted): follow it if
 * it is valid, else keep serving the old mapping. */
static enum fb_poll follow_replacement(struct shm_src *m)
{
	struct shm_src next = {.fd = -1};
	char why[160];

	if (map_file(&next, m->path, why, sizeof(why)) < 0) {
		if (!m->replacement_bad)
			log_warn("source-invalid", "path=%s reason=\"%s\"",
				 m->path, why);
		m->replacement_bad = true;
		return FB_POLL_IDLE;
	}
	unmap_file(m);
	m->fd = next.fd;
	m->map = next.map;
	m->map_len = next.map_len;
	m->dev = next.dev;
	m->ino = next.ino;
	m->h = next.h;
	m->have_frame = false;
	m->truncated = m->removed = m->replacement_bad = false;
	m->trunc_size = -1;
	set_name(m);
	log_info("source-reopened", "path=%s width=%u height=%u", m->path,
		 m->h.width, m->h.height);
	return FB_POLL_RESIZED;
}

struct poll_args {
	struct shm_src *m;
	struct fb_damage *hint;
	enum fb_poll result;
};

static uint64_t read_frame(const struct shm_src *m)
{
	return __atomic_load_n((const uint64_t *)(m->map + FB_SHM_OFF_FRAME),
			       __ATOMIC_ACQUIRE);
}

/* Reads the sequence and hints; runs under the SIGBUS guard. */
static void poll_mapped(void *arg)
{
	struct poll_args *a = arg;
	struct shm_src *m = a->m;
	struct fb_damage *hint = a->hint;
	uint64_t f1 = read_frame(m), f2;
	uint32_t count;
	bool use_hints;

	if (f1 & 1) {
		a->result = FB_POLL_RETRY; /* the producer is mid-frame */
		return;
	}
	if (m->have_frame && f1 == m->last_frame) {
		/* Quiet now: one full compare corrects any lying hint. */
		if (m->verify_pending && ++m->idle_polls >= SHM_QUIET_POLLS) {
			m->verify_pending = false;
			hint->all = true;
			a->result = FB_POLL_DAMAGE;
			return;
		}
		a->result = FB_POLL_IDLE;
		return;
	}
	m->idle_polls = 0;
	count = get_le32(m->map + FB_SHM_OFF_DAMAGE_COUNT);
	hint->n = 0;
	if (count >= 1 && count <= FB_DAMAGE_MAX_RECTS) {
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *r = m->map + FB_SHM_OFF_DAMAGE + 8 * i;

			hint->rects[i] = (struct fb_rect){
				get_le16(r), get_le16(r + 2), get_le16(r + 4),
				get_le16(r + 6)};
		}
		hint->n = count;
	}
	f2 = read_frame(m);
	/* Hints describe one frame step only, and only if nothing moved
	 * while we read them. */
	use_hints = hint->n > 0 && f2 == f1 && m->have_frame &&
		    f1 == m->last_frame + 2 &&
		    ++m->hinted_polls % SHM_FULL_COMPARE_EVERY != 0;
	hint->all = !use_hints;
	if (use_hints)
		m->verify_pending = true;
	m->last_frame = f1;
	m->have_frame = true;
	a->result = FB_POLL_DAMAGE;
}

static enum fb_poll shm_poll(struct fb_source *src, struct fb_damage *hint)
{
	struct shm_src *m = (struct shm_src *)src;
	struct poll_args a = {m, hint, FB_POLL_IDLE};
	struct stat st;

	if (stat(m->path, &st) == 0) {
		if (st.st_dev != m->dev || st.st_ino != m->ino) {
			/* A file we already refused is looked at again only
			 * once it changes. */
			if (st.st_ino != m->bad_ino ||
			    st.st_size != m->bad_size)
				m->replacement_bad = false;
			if (!m->replacement_bad) {
				if (follow_replacement(m) == FB_POLL_RESIZED)
					return FB_POLL_RESIZED;
				m->bad_ino = st.st_ino;
				m->bad_size = st.st_size;
			}
		}
	} else if (!m->removed) {
		/* The mapping stays valid; a producer may still write it. */
		log_info("source-removed", "path=%s", m->path);
		m->removed = true;
	}
	if (fstat(m->fd, &st) < 0 || (uint64_t)st.st_size < m->map_len) {
		if (!m->truncated)
			log_warn("source-gone",
				 "reason=truncated path=%s size=%lld need=%zu",
				 m->path, (long long)st.st_size, m->map_len);
		m->truncated = true;
		/* Rewritten in place with a smaller geometry? Each new size
		 * is checked once. */
		if (st.st_size != m->trunc_size) {
			m->trunc_size = st.st_size;
			if (follow_replacement(m) == FB_POLL_RESIZED)
				return FB_POLL_RESIZED;
		}
		return FB_POLL_GONE;
	}
	if (m->truncated) {
		/* Grown back: the contents may be anything, so re-check. */
		return follow_replacement(m);
	}
	if (fb_memguard_run(poll_mapped, &a) < 0) {
		m->truncated = true;
		log_warn("source-gone", "reason=sigbus path=%s", m->path);
		return FB_POLL_GONE;
	}
	return a.result;
}

static int shm_view(struct fb_source *src, struct fb_view *out)
{
	struct shm_src *m = (struct shm_src *)src;

	out->data = m->map + m->h.header_bytes;
	out->width = m->h.width;
	out->height = m->h.height;
	out->stride = m->h.stride;
	return 0;
}

static int shm_fd(struct fb_source *src)
{
	return -1;
}

static void shm_free(struct fb_source *src)
{
	struct shm_src *m = (struct shm_src *)src;

	unmap_file(m);
	free(m);
}

static const struct fb_source_ops shm_ops = {
	.poll = shm_poll,
	.view = shm_view,
	.fd = shm_fd,
	.free = shm_free,
};

struct fb_source *fb_shm_open(const char *path, char *why, size_t why_len)
{
	struct shm_src *m;

	if (strlen(path) >= PATH_MAX) {
		snprintf(why, why_len, "path too long");
		return NULL;
	}
	if (fb_memguard_init() < 0) {
		snprintf(why, why_len, "cannot install the SIGBUS guard");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	m->fd = -1;
	m->trunc_size = -1;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (map_file(m, path, why, why_len) < 0) {
		free(m);
		return NULL;
	}
	m->base.ops = &shm_ops;
	set_name(m);
	return &m->base;
}
