/* The real vfbd serving `--source shm:PATH` (design/shm.md) to
 * libvncclient, with tools/fbfeed or the test itself as the producer.
 *
 * Every workload runs with exact hints and without hints: the client must
 * first show the file's first frame, get updates while the producer draws
 * (none at all for the idle workload), and once the producer has stopped
 * show the file's last frame pixel for pixel (read back from the file by
 * the test), then stay quiet. Lying hints must not matter once the
 * producer is quiet. A tile changed and changed back between two
 * refreshes must not leave the intermediate picture behind. A producer
 * that renames a file of another geometry onto PATH is followed and the
 * client resized. Hostile files are refused at start with exit status 2
 * and a message naming the field; truncated, replaced, invalid or removed
 * files at run time never take vfbd down, the client keeps its last
 * frame, and vfbd follows the next valid file.
 *
 * fbfeed is found as $FBFEED, or tools/fbfeed next to $VFBD. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fb/src-shm.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

/* How long the client may take to show a frame once the producer is
 * quiet, and how long it must then stay quiet. */
#define CONVERGE_MS 2000
#define SETTLE_MS   250
#define QUIET_MS    400

/* A frame as the test expects to see it: XRGB8888, stride = width. */
struct frame {
	uint32_t width, height;
	uint32_t *px;
	uint64_t seq;
};

/* The test's own producer, for what fbfeed does not do. */
struct tfile {
	int fd;
	uint8_t *map;
	size_t len;
	uint32_t width, height, stride, header_bytes;
	uint64_t seq;
};

static struct {
	char dir[64];
	char fbfeed[PATH_MAX];
	char feed_log[PATH_MAX + 16];
} g;

/* What a test has running, so teardown cleans up after a failed assert. */
static struct {
	struct vfbd_proc p;
	bool running;
	pid_t feed;
	struct vnc_client v, v2;
	struct frame fr[3];
	struct tfile tf[2];
	int keep_fd;
} cur;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", g.dir, name);
}

/* ---- frames read back from a file ---- */

static void frame_free(struct frame *f)
{
	free(f->px);
	memset(f, 0, sizeof(*f));
}

/* Reads the complete frame in the file behind `fd`: validated like vfbd
 * does, the sequence even (the producer is done). */
static void frame_read_fd(int fd, struct frame *f)
{
	uint8_t hdr[FB_SHM_HEADER_FIXED];
	struct fb_shm_header h;
	struct stat st;
	char why[200];
	uint8_t *row;

	frame_free(f);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	if (fb_shm_check_header(hdr, sizeof(hdr), (uint64_t)st.st_size, &h, why,
				sizeof(why)) < 0)
		fail_msg("the producer wrote a bad file: %s", why);
	f->seq = get_le64(hdr + FB_SHM_OFF_FRAME);
	assert_int_equal(f->seq % 2, 0);
	f->width = h.width;
	f->height = h.height;
	f->px = malloc((size_t)h.width * h.height * 4);
	row = malloc((size_t)h.width * 4);
	assert_non_null(f->px);
	assert_non_null(row);
	for (uint32_t y = 0; y < h.height; y++) {
		assert_int_equal(
			pread(fd, row, (size_t)h.width * 4,
			      (off_t)h.header_bytes + (off_t)y * h.stride),
			(ssize_t)h.width * 4);
		for (uint32_t x = 0; x < h.width; x++)
			f->px[(size_t)y * h.width + x] =
				get_le32(row + 4 * x) & 0xffffffu;
	}
	free(row);
}

static void frame_read(const char *path, struct frame *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	frame_read_fd(fd, f);
	close(fd);
}

/* ---- the client ---- */

/* Handles the client's messages for `ms`; the connection must survive. */
static void pump(struct vnc_client *v, int ms)
{
	if (!vnc_pump(v, ms))
		fail_msg("the client lost its connection (vfbd %s)",
			 vfbd_alive(&cur.p) ? "still runs" : "is dead");
}

static long compare_on(struct vnc_client *v, const struct frame *f,
		       uint32_t *fx, uint32_t *fy)
{
	*fx = *fy = 0;
	return vnc_compare(v, f->px, f->width, f->height, f->width, fx, fy);
}

static long compare(const struct frame *f, uint32_t *fx, uint32_t *fy)
{
	return compare_on(&cur.v, f, fx, fy);
}

/* Pumps the client until it shows `f` exactly and still does a moment
 * later (an update already on its way may change it again). */
static void converges_on(struct vnc_client *v, const struct frame *f, int ms,
			 const char *what)
{
	uint64_t deadline = clock_now_ms() + (uint64_t)ms;
	uint32_t fx, fy;
	long bad;

	for (;;) {
		bad = compare_on(v, f, &fx, &fy);
		if (bad == 0) {
			pump(v, SETTLE_MS);
			bad = compare_on(v, f, &fx, &fy);
			if (bad == 0)
				return;
		}
		if (clock_now_ms() >= deadline)
			break;
		pump(v, 20);
	}
	if ((uint32_t)v->cl->width != f->width ||
	    (uint32_t)v->cl->height != f->height)
		fail_msg("%s: client is %dx%d, the file %ux%u after %d ms",
			 what, v->cl->width, v->cl->height, f->width, f->height,
			 ms);
	fail_msg("%s: %ld pixels differ after %d ms, first at %u,%u", what, bad,
		 ms, fx, fy);
}

static void assert_converges(const struct frame *f, int ms, const char *what)
{
	converges_on(&cur.v, f, ms, what);
}

/* Nothing changes, so nothing may be sent. */
static void quiet_on(struct vnc_client *v, const struct frame *f)
{
	int before = v->frames;
	uint32_t fx, fy;

	pump(v, QUIET_MS);
	if (v->frames != before)
		fail_msg("%d updates while the file did not change",
			 v->frames - before);
	assert_int_equal(compare_on(v, f, &fx, &fy), 0);
}

static void assert_quiet(const struct frame *f)
{
	quiet_on(&cur.v, f);
}

static void start_vfbd_with(const char *path, const char *extra)
{
	char spec[PATH_MAX + 8];
	const char *args[] = {"--source", spec, extra ? "--share" : NULL, extra,
			      NULL};

	snprintf(spec, sizeof(spec), "shm:%s", path);
	assert_int_equal(vfbd_start(&cur.p, args), 0);
	cur.running = true;
}

static void start_vfbd(const char *path)
{
	start_vfbd_with(path, NULL);
}

static void connect_client(const struct vnc_format *fmt)
{
	assert_int_equal(vnc_connect(&cur.v, cur.p.port, fmt, NULL, NULL), 0);
	vnc_request(&cur.v, false);
}

static void stop_all(void)
{
	vnc_close(&cur.v);
	vnc_close(&cur.v2);
	if (cur.running) {
		cur.running = false;
		assert_int_equal(vfbd_stop(&cur.p), 0);
	}
}

/* ---- fbfeed ---- */

static pid_t feed_start(const char *path, const char *const *args)
{
	const char *argv[32];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = g.fbfeed;
	argv[n++] = path;
	for (int i = 0; args[i] && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(g.feed_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(g.fbfeed, (char *const *)argv);
		_exit(127);
	}
	cur.feed = pid;
	return pid;
}

/* Waits for fbfeed to end, pumping the client meanwhile if connected;
 * returns its exit status. */
static int feed_wait(int timeout_ms)
{
	uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
	int status;

	while (clock_now_ms() < deadline) {
		if (waitpid(cur.feed, &status, WNOHANG) == cur.feed) {
			cur.feed = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		if (cur.v.cl)
			pump(&cur.v, 10);
		else
			sleep_ms(10);
	}
	fail_msg("fbfeed did not finish within %d ms", timeout_ms);
	return -1;
}

/* The last summary line fbfeed printed, for the test log. */
static void feed_report(void)
{
	char line[512], last[512] = "";
	FILE *f = fopen(g.feed_log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "fbfeed: path=", 13) == 0)
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	if (last[0])
		print_message("%s", last);
}

static bool wait_exists(const char *path, int ms)
{
	struct stat st;

	for (int waited = 0; waited <= ms; waited += 10) {
		if (stat(path, &st) == 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* ---- the test's own producer ---- */

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t v = x * 2654435761u ^ y * 40503u ^ seed * 97u;

	return ((x + seed) & 0xff) << 16 | ((y * 3 + seed) & 0xff) << 8 |
	       ((v >> 13) & 0xff);
}

static uint8_t *tpx(const struct tfile *t, uint32_t x, uint32_t y)
{
	return t->map + t->header_bytes + (size_t)y * t->stride + (size_t)x * 4;
}

static void tfill(struct tfile *t, uint32_t seed)
{
	for (uint32_t y = 0; y < t->height; y++)
		for (uint32_t x = 0; x < t->width; x++)
			put_le32(tpx(t, x, y), pattern(x, y, seed));
}

static void tput_header(struct tfile *t)
{
	memset(t->map, 0, FB_SHM_HEADER_FIXED);
	memcpy(t->map, "VFBDSHM", 8);
	put_le32(t->map + FB_SHM_OFF_VERSION, 1);
	put_le32(t->map + FB_SHM_OFF_HEADER_BYTES, t->header_bytes);
	put_le32(t->map + FB_SHM_OFF_WIDTH, t->width);
	put_le32(t->map + FB_SHM_OFF_HEIGHT, t->height);
	put_le32(t->map + FB_SHM_OFF_STRIDE, t->stride);
	put_le32(t->map + FB_SHM_OFF_FORMAT, 1);
	put_le64(t->map + FB_SHM_OFF_FRAME, t->seq);
}

static void tclose(struct tfile *t)
{
	if (t->map)
		munmap(t->map, t->len);
	if (t->fd > 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
}

/* Creates a width x height file filled with pattern(seed) and renames it
 * onto `path`; the mapping and fd stay open for later frames. */
static void tcreate(struct tfile *t, const char *path, uint32_t width,
		    uint32_t height, uint32_t seed)
{
	char tmp[PATH_MAX + 16];
	void *map;

	tclose(t);
	t->width = width;
	t->height = height;
	t->stride = width * 4;
	t->header_bytes = 4096;
	t->len = t->header_bytes + (size_t)t->stride * height;
	t->seq = 2;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	t->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(t->fd > 0);
	assert_int_equal(ftruncate(t->fd, (off_t)t->len), 0);
	map = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	assert_true(map != MAP_FAILED);
	t->map = map;
	tput_header(t);
	tfill(t, seed);
	assert_int_equal(rename(tmp, path), 0);
}

static uint64_t *tseq(struct tfile *t)
{
	return (uint64_t *)(t->map + FB_SHM_OFF_FRAME);
}

static void tbegin(struct tfile *t)
{
	__atomic_store_n(tseq(t), ++t->seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Ends a frame with `n` damage rects (0: unknown). */
static void tend(struct tfile *t, const struct fb_rect *r, unsigned n)
{
	put_le32(t->map + FB_SHM_OFF_DAMAGE_COUNT, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = t->map + FB_SHM_OFF_DAMAGE + 8 * i;

		put_le16(d, (uint16_t)r[i].x);
		put_le16(d + 2, (uint16_t)r[i].y);
		put_le16(d + 4, (uint16_t)r[i].w);
		put_le16(d + 6, (uint16_t)r[i].h);
	}
	__atomic_store_n(tseq(t), ++t->seq, __ATOMIC_RELEASE);
}

/* The frame in the test's own mapping. */
static void tframe(const struct tfile *t, struct frame *f)
{
	frame_free(f);
	f->width = t->width;
	f->height = t->height;
	f->seq = t->seq;
	f->px = malloc((size_t)t->width * t->height * 4);
	assert_non_null(f->px);
	for (uint32_t y = 0; y < t->height; y++)
		for (uint32_t x = 0; x < t->width; x++)
			f->px[(size_t)y * t->width + x] =
				get_le32(tpx(t, x, y)) & 0xffffffu;
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	const char *vfbd = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	const char *feed = getenv("FBFEED");
	const char *slash = strrchr(vfbd, '/');

	snprintf(g.dir, sizeof(g.dir), "/dev/shm/vfbd-test-shm-XXXXXX");
	if (!mkdtemp(g.dir)) {
		snprintf(g.dir, sizeof(g.dir), "/tmp/vfbd-test-shm-XXXXXX");
		if (!mkdtemp(g.dir))
			return -1;
	}
	if (feed)
		snprintf(g.fbfeed, sizeof(g.fbfeed), "%s", feed);
	else if (slash)
		snprintf(g.fbfeed, sizeof(g.fbfeed), "%.*s/tools/fbfeed",
			 (int)(slash - vfbd), vfbd);
	else
		snprintf(g.fbfeed, sizeof(g.fbfeed), "tools/fbfeed");
	snprintf(g.feed_log, sizeof(g.feed_log), "%s/fbfeed.log", g.dir);
	if (access(g.fbfeed, X_OK) != 0) {
		fprintf(stderr, "test-shm: no fbfeed at %s\n", g.fbfeed);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d = opendir(g.dir);

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g.dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(g.dir);
	return 0;
}

static int test_setup(void **state)
{
	memset(&cur, 0, sizeof(cur));
	cur.keep_fd = -1;
	return 0;
}

static int test_teardown(void **state)
{
	int status;

	vnc_close(&cur.v);
	vnc_close(&cur.v2);
	if (cur.running)
		vfbd_stop(&cur.p);
	if (cur.feed > 0) {
		kill(cur.feed, SIGKILL);
		waitpid(cur.feed, &status, 0);
	}
	for (int i = 0; i < 3; i++)
		frame_free(&cur.fr[i]);
	for (int i = 0; i < 2; i++)
		tclose(&cur.tf[i]);
	if (cur.keep_fd >= 0)
		close(cur.keep_fd);
	return 0;
}

/* ---- workloads through fbfeed ---- */

struct feed_case {
	const char *name;
	const char *args[12]; /* for fbfeed, after PATH */
	const struct vnc_format *fmt;
	unsigned frames; /* what --frames asks: the file's last seq is 2x */
	bool idle;	 /* nothing may be sent while it runs */
};

#define F32 (&vnc_formats[0])
#define F16 (&vnc_formats[4])

/* clang-format off */
static const struct feed_case feed_cases[] = {
	{"console hints", {"--workload", "console", "--rate", "60", "--frames", "30"}, F32, 30, false},
	{"console no-hints", {"--workload", "console", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 30, false},
	{"console-720 hints", {"--workload", "console-720", "--rate", "60", "--frames", "30"}, F32, 30, false},
	{"console-720 no-hints", {"--workload", "console-720", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 30, false},
	{"typing hints", {"--workload", "typing", "--rate", "60", "--frames", "30"}, F32, 30, false},
	{"typing no-hints", {"--workload", "typing", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 30, false},
	{"window hints", {"--workload", "window", "--rate", "60", "--frames", "30"}, F32, 30, false},
	{"window no-hints", {"--workload", "window", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 30, false},
	{"video hints", {"--workload", "video", "--rate", "60", "--frames", "30"}, F32, 30, false},
	{"video no-hints", {"--workload", "video", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 30, false},
	{"idle hints", {"--workload", "idle", "--rate", "60", "--frames", "30"}, F32, 1, true},
	{"idle no-hints", {"--workload", "idle", "--rate", "60", "--frames", "30", "--no-hints"}, F32, 1, true},
	{"window hints rgb565", {"--workload", "window", "--rate", "60", "--frames", "30"}, F16, 30, false},
	{"typing no-hints rgb565", {"--workload", "typing", "--rate", "60", "--frames", "30", "--no-hints", "--seed", "5"}, F16, 30, false},
	{"console-720 padded stride, 8 KiB header", {"--workload", "console-720", "--rate", "60", "--frames", "20", "--pad", "68", "--header-bytes", "8192"}, F32, 20, false},
	/* Lies: only the full compare once the producer is quiet saves
	 * these, so the rate is slow enough for vfbd to see every step. */
	{"liar small (console)", {"--workload", "console", "--rate", "30", "--frames", "24", "--liar", "small"}, F32, 24, false},
	{"liar small (window)", {"--workload", "window", "--rate", "30", "--frames", "24", "--liar", "small"}, F32, 24, false},
	{"liar big (video)", {"--workload", "video", "--rate", "30", "--frames", "24", "--liar", "big"}, F32, 24, false},
	{"liar outside (window)", {"--workload", "window", "--rate", "30", "--frames", "24", "--liar", "outside"}, F32, 24, false},
	{"liar outside (typing)", {"--workload", "typing", "--rate", "30", "--frames", "24", "--liar", "outside"}, F32, 24, false},
	{"liar mixed (window)", {"--workload", "window", "--rate", "30", "--frames", "22", "--liar", "mixed"}, F32, 22, false},
};
/* clang-format on */

static void run_feed_case(void **state)
{
	const struct feed_case *c = *state;
	struct frame *first = &cur.fr[0], *last = &cur.fr[1];
	const char *args[16];
	char path[PATH_MAX];
	int n = 0, during;

	path_of(path, sizeof(path), "feed");
	unlink(path);
	for (; c->args[n]; n++)
		args[n] = c->args[n];
	args[n++] = "--hold";
	args[n] = NULL;
	feed_start(path, args);
	assert_true(wait_exists(path, 5000));
	start_vfbd(path);
	connect_client(c->fmt);
	frame_read(path, first);
	assert_int_equal(first->seq, 2);
	assert_converges(first, CONVERGE_MS, "first frame");

	during = cur.v.frames;
	kill(cur.feed, SIGUSR1);
	assert_int_equal(feed_wait(20000), 0);
	feed_report();
	during = cur.v.frames - during;
	frame_read(path, last);
	print_message("%s: %d updates while the producer ran\n", c->name,
		      during);
	assert_int_equal(last->seq, 2 * (uint64_t)c->frames);
	if (c->idle)
		assert_int_equal(during, 0);
	else
		assert_true(during >= 2);
	assert_converges(last, CONVERGE_MS, "last frame");
	assert_quiet(last);
	assert_true(vfbd_alive(&cur.p));
	stop_all();
}

/* ---- ABA ---- */

/* A tile changes and changes back faster than vfbd refreshes (16 ms at
 * best), at many offsets against its refresh timer and against updates in
 * flight; with hints and without. The file ends as it started, so the
 * clients must too: an intermediate picture left behind is the bug. Two
 * clients share the console: `v` reads all the time, `v2` lags (it reads
 * every third pair only), so changes and change-backs also land while
 * v2's update is still unread. */
static void change_and_change_back(void **state)
{
	static const int gaps[] = {0, 0, 0, 1, 2, 4, 7, 11, 15, 20, 30};
	struct tfile *t = &cur.tf[0];
	struct frame *orig = &cur.fr[0];
	char path[PATH_MAX];
	uint32_t rng = 12345, save[16 * 16];
	int before, before2, seen, seen2;

	path_of(path, sizeof(path), "aba");
	tcreate(t, path, 640, 480, 1);
	tframe(t, orig);
	start_vfbd_with(path, "shared");
	connect_client(F32);
	assert_int_equal(vnc_connect(&cur.v2, cur.p.port, F32, NULL, NULL), 0);
	vnc_request(&cur.v2, false);
	assert_converges(orig, CONVERGE_MS, "first frame");
	converges_on(&cur.v2, orig, CONVERGE_MS, "first frame (v2)");

	before = cur.v.frames;
	before2 = cur.v2.frames;
	for (int i = 0; i < 132; i++) {
		struct fb_rect r;
		bool hints = i % 2 == 0;
		int gap = gaps[i % 11];

		rng = rng * 1103515245u + 12345u;
		r.x = (rng >> 8) % (640 - 16);
		r.y = (rng >> 20) % (480 - 16);
		r.w = 16;
		r.h = 16;
		tbegin(t);
		for (uint32_t y = 0; y < r.h; y++)
			for (uint32_t x = 0; x < r.w; x++) {
				uint8_t *p = tpx(t, r.x + x, r.y + y);

				save[y * 16 + x] = get_le32(p);
				put_le32(p, ~get_le32(p) & 0xffffffu);
			}
		tend(t, &r, hints ? 1 : 0);
		if (gap)
			pump(&cur.v, gap);
		tbegin(t);
		for (uint32_t y = 0; y < r.h; y++)
			for (uint32_t x = 0; x < r.w; x++)
				put_le32(tpx(t, r.x + x, r.y + y),
					 save[y * 16 + x]);
		tend(t, &r, hints ? 1 : 0);
		pump(&cur.v, (int)(rng >> 27));
		if (i % 3 == 0)
			pump(&cur.v2, 1 + (int)(rng >> 29));
	}
	seen = cur.v.frames - before;
	seen2 = cur.v2.frames - before2;
	print_message("%d and %d updates during 132 change/change-back pairs\n",
		      seen, seen2);
	/* Some changes were seen, so updates were in flight: otherwise the
	 * test proved nothing. */
	assert_true(seen > 0);
	assert_true(seen2 > 0);
	assert_converges(orig, CONVERGE_MS, "after change and change back");
	converges_on(&cur.v2, orig, CONVERGE_MS,
		     "after change and change back (v2)");
	assert_quiet(orig);
	quiet_on(&cur.v2, orig);
	stop_all();
}

/* ---- resize ---- */

static void follow_rename(const char *workload, const char *resize, uint32_t w2,
			  uint32_t h2)
{
	struct frame *last = &cur.fr[1];
	char path[PATH_MAX], ws[16], hs[16];
	const char *args[] = {"--workload", workload, "--rate",	  "60",
			      "--frames",   "30",     "--resize", resize,
			      "--hold",	    NULL};
	const char *resized[] = {"source-resized", ws, hs, NULL};
	const char *reopened[] = {"source-reopened", NULL};

	path_of(path, sizeof(path), "resize");
	unlink(path);
	feed_start(path, args);
	assert_true(wait_exists(path, 5000));
	start_vfbd(path);
	/* libvncclient announces DesktopSize (vnc_connect allows it). */
	connect_client(F32);
	frame_read(path, &cur.fr[0]);
	assert_converges(&cur.fr[0], CONVERGE_MS, "first frame");
	kill(cur.feed, SIGUSR1);
	assert_int_equal(feed_wait(20000), 0);
	feed_report();
	frame_read(path, last);
	assert_int_equal(last->width, w2);
	assert_int_equal(last->height, h2);
	snprintf(ws, sizeof(ws), "width=%u", w2);
	snprintf(hs, sizeof(hs), "height=%u", h2);
	assert_true(vfbd_log_wait(&cur.p, 2000, reopened));
	assert_true(vfbd_log_wait(&cur.p, 2000, resized));
	assert_converges(last, CONVERGE_MS, "after the resize");
	assert_true(cur.v.resizes >= 1);
	assert_quiet(last);
	stop_all();
}

static void resize_smaller(void **state)
{
	follow_rename("window", "800x600:12", 800, 600);
}

/* A geometry that is no multiple of the tile size. */
static void resize_larger(void **state)
{
	follow_rename("console-720", "1000x700:12", 1000, 700);
}

/* ---- hostile files at start ---- */

struct bad_file {
	const char *name;
	const char *word; /* the message must contain it */
	uint32_t version, header_bytes, width, height, stride, format;
	int64_t size_delta; /* file size = needed size + this */
	int64_t size;	    /* >= 0: this size instead */
	bool bad_magic;
};

/* clang-format off */
static const struct bad_file bad_files[] = {
	{"empty file", "bytes", 1, 4096, 64, 64, 256, 1, 0, 0, false},
	{"too short for the header", "bytes", 1, 4096, 64, 64, 256, 1, 0, 100, false},
	{"bad magic", "magic", 1, 4096, 64, 64, 256, 1, 0, -1, true},
	{"version 2", "version", 2, 4096, 64, 64, 256, 1, 0, -1, false},
	{"format 2", "format", 1, 4096, 64, 64, 256, 2, 0, -1, false},
	{"width 0", "width", 1, 4096, 0, 64, 256, 1, 0, -1, false},
	{"width 16385", "width", 1, 4096, 16385, 1, 16385 * 4, 1, 0, -1, false},
	{"height 0", "height", 1, 4096, 64, 0, 256, 1, 0, -1, false},
	{"height 16385", "height", 1, 4096, 1, 16385, 4, 1, 0, -1, false},
	{"stride < width*4", "stride", 1, 4096, 64, 64, 255, 1, 0, -1, false},
	{"header_bytes 0", "header_bytes", 1, 0, 64, 64, 256, 1, 0, -1, false},
	{"header_bytes 2048", "header_bytes", 1, 2048, 64, 64, 256, 1, 0, -1, false},
	{"header_bytes 4097", "header_bytes", 1, 4097, 64, 64, 256, 1, 0, -1, false},
	{"file one byte short of the frame", "needs", 1, 4096, 64, 64, 256, 1, -1, -1, false},
	{"file holds only the header", "needs", 1, 4096, 64, 64, 256, 1, 0, 4096, false},
};
/* clang-format on */

/* Runs vfbd to its exit; returns the exit status (-1: killed) and leaves
 * what it printed in `out`. */
static int run_to_exit(const char *spec, char *out, size_t out_len)
{
	const char *bin = getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
	char log[PATH_MAX];
	int fd, status;
	ssize_t n;
	pid_t pid;

	path_of(log, sizeof(log), "exit.log");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "--source", spec, "--listen", "127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	for (int waited = 0;; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (waited > 5000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("vfbd did not exit on %s", spec);
		}
		sleep_ms(10);
	}
	fd = open(log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, out, out_len - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void refused_at_start(void **state)
{
	const struct bad_file *b = *state;
	char path[PATH_MAX], spec[PATH_MAX + 8], out[2048];
	uint8_t hdr[FB_SHM_HEADER_FIXED] = {0};
	uint64_t need, size;
	int fd;

	path_of(path, sizeof(path), "bad");
	unlink(path);
	memcpy(hdr, b->bad_magic ? "VFBDSHN" : "VFBDSHM", 8);
	put_le32(hdr + FB_SHM_OFF_VERSION, b->version);
	put_le32(hdr + FB_SHM_OFF_HEADER_BYTES, b->header_bytes);
	put_le32(hdr + FB_SHM_OFF_WIDTH, b->width);
	put_le32(hdr + FB_SHM_OFF_HEIGHT, b->height);
	put_le32(hdr + FB_SHM_OFF_STRIDE, b->stride);
	put_le32(hdr + FB_SHM_OFF_FORMAT, b->format);
	need = (uint64_t)b->header_bytes + (uint64_t)b->stride * b->height;
	size = b->size >= 0 ? (uint64_t)b->size
			    : (uint64_t)((int64_t)need + b->size_delta);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(
		pwrite(fd, hdr, size < sizeof(hdr) ? size : sizeof(hdr), 0),
		(ssize_t)(size < sizeof(hdr) ? size : sizeof(hdr)));
	close(fd);

	snprintf(spec, sizeof(spec), "shm:%s", path);
	assert_int_equal(run_to_exit(spec, out, sizeof(out)), 2);
	if (!strstr(out, b->word) || !strstr(out, path))
		fail_msg("the message does not name \"%s\" and the file: %s",
			 b->word, out);
	assert_null(strstr(out, "listening"));
}

/* What vfbd says for a path that is no usable file at all. */
static void refused_missing_and_directory(void **state)
{
	char path[PATH_MAX], spec[PATH_MAX + 8], out[2048];

	path_of(path, sizeof(path), "missing");
	unlink(path);
	snprintf(spec, sizeof(spec), "shm:%s", path);
	assert_int_equal(run_to_exit(spec, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "No such file"));
	snprintf(spec, sizeof(spec), "shm:%s", g.dir);
	assert_int_equal(run_to_exit(spec, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "regular file"));
}

/* ---- hostile at run time ---- */

static bool log_gone_truncated(int ms)
{
	const char *truncated[] = {"source-gone", "reason=truncated", NULL};
	const char *sigbus[] = {"source-gone", "reason=sigbus", NULL};

	for (int waited = 0; waited <= ms; waited += 50) {
		if (vfbd_log_wait(&cur.p, 0, truncated) ||
		    vfbd_log_wait(&cur.p, 0, sigbus))
			return true;
		pump(&cur.v, 50);
	}
	return false;
}

static int gone_lines(void)
{
	return vfbd_log_count(&cur.p, "reason=truncated") +
	       vfbd_log_count(&cur.p, "reason=sigbus");
}

/* The client keeps its frame and its connection while the file is gone. */
static void assert_kept(const struct frame *f)
{
	uint32_t fx, fy;

	pump(&cur.v, 300);
	assert_true(vfbd_alive(&cur.p));
	assert_int_equal(compare(f, &fx, &fy), 0);
}

static void truncated_while_mapped(void **state)
{
	struct tfile *t = &cur.tf[0], *t2 = &cur.tf[1];
	struct frame *f = &cur.fr[0];
	const char *reopened[] = {"source-reopened", NULL};
	char path[PATH_MAX];
	int gone;

	path_of(path, sizeof(path), "trunc");
	tcreate(t, path, 640, 480, 3);
	tframe(t, f);
	start_vfbd(path);
	connect_client(F32);
	assert_converges(f, CONVERGE_MS, "first frame");

	/* Half the file: the mapping's tail raises SIGBUS if touched. */
	assert_int_equal(ftruncate(t->fd, (off_t)t->len / 2), 0);
	assert_true(log_gone_truncated(2000));
	assert_kept(f);

	/* Grown back in place with a new picture: followed again. */
	assert_int_equal(ftruncate(t->fd, (off_t)t->len), 0);
	tbegin(t);
	tfill(t, 4);
	tend(t, NULL, 0);
	tframe(t, f);
	assert_true(vfbd_log_wait(&cur.p, 2000, reopened));
	assert_converges(f, CONVERGE_MS, "after growing back");

	/* Nothing left, not even the header. */
	gone = gone_lines();
	assert_int_equal(ftruncate(t->fd, 0), 0);
	for (int waited = 0; gone_lines() == gone && waited < 2000;
	     waited += 50)
		pump(&cur.v, 50);
	assert_true(gone_lines() > gone);
	assert_kept(f);

	/* A new file renamed over it: followed. */
	tcreate(t2, path, 640, 480, 5);
	tframe(t2, f);
	for (int waited = 0;
	     vfbd_log_count(&cur.p, "source-reopened") < 2 && waited < 2000;
	     waited += 50)
		pump(&cur.v, 50);
	assert_int_equal(vfbd_log_count(&cur.p, "source-reopened"), 2);
	assert_converges(f, CONVERGE_MS, "after the new file");
	assert_quiet(f);
	stop_all();
}

/* Fills every pixel, cheaply: a different picture for every seed. */
static void tfill_fast(struct tfile *t, uint32_t seed)
{
	for (uint32_t y = 0; y < t->height; y++) {
		uint32_t *row = (uint32_t *)tpx(t, 0, y);
		uint32_t v = seed * 0x10101u + y * 0x100u;

		for (uint32_t x = 0; x < t->width; x++)
			row[x] = htole32((v + x * 3u) & 0xffffffu);
	}
}

/* Truncations racing vfbd's compare: the file is cut at every offset of
 * vfbd's refresh period after a new frame, so some cuts land inside the
 * compare of a big, fully changed frame (logged as source-read-fault or
 * reason=sigbus); the SIGBUS guard must end that compare, not vfbd.
 * vfbd must survive, keep the client, and show the final frame. */
static void truncation_races_compare(void **state)
{
	struct tfile *t = &cur.tf[0];
	struct frame *f = &cur.fr[0];
	const char *reopened[] = {"source-reopened", NULL};
	char path[PATH_MAX];
	uint64_t end;
	uint32_t seed = 10;
	int cuts = 0;

	path_of(path, sizeof(path), "race");
	tcreate(t, path, 2560, 1600, seed);
	tframe(t, f);
	start_vfbd(path);
	/* 8 bits per pixel: a quarter of the bytes to move per frame. */
	connect_client(&vnc_formats[7]);
	assert_converges(f, CONVERGE_MS, "first frame");

	end = clock_now_ms() + 2000;
	while (clock_now_ms() < end) {
		tbegin(t);
		tfill_fast(t, ++seed);
		tend(t, NULL, 0);
		pump(&cur.v, (int)(seed % 19));
		assert_int_equal(ftruncate(t->fd, 4096), 0);
		sleep_ms(1);
		assert_int_equal(ftruncate(t->fd, (off_t)t->len), 0);
		tput_header(t);
		cuts++;
	}
	tbegin(t);
	tfill(t, ++seed);
	tend(t, NULL, 0);
	tframe(t, f);
	print_message("%d truncations; vfbd logged %d sigbus, %d truncated, "
		      "%d read faults\n",
		      cuts, vfbd_log_count(&cur.p, "reason=sigbus"),
		      vfbd_log_count(&cur.p, "reason=truncated"),
		      vfbd_log_count(&cur.p, "source-read-fault"));
	assert_true(vfbd_alive(&cur.p));
	assert_true(vfbd_log_wait(&cur.p, 2000, reopened));
	assert_converges(f, CONVERGE_MS, "after the truncations");
	assert_quiet(f);
	stop_all();
}

/* A file renamed onto PATH that is not valid is not followed: the client
 * keeps the old picture; the next valid one is followed. */
static void invalid_replacement_ignored(void **state)
{
	struct tfile *t = &cur.tf[0];
	struct frame *f = &cur.fr[0];
	const char *invalid[] = {"source-invalid", "magic", NULL};
	char path[PATH_MAX], bad[PATH_MAX + 8];
	uint8_t hdr[FB_SHM_HEADER_FIXED] = {0};
	int fd;

	path_of(path, sizeof(path), "replace");
	tcreate(t, path, 320, 240, 6);
	tframe(t, f);
	start_vfbd(path);
	connect_client(F32);
	assert_converges(f, CONVERGE_MS, "first frame");

	snprintf(bad, sizeof(bad), "%s.bad", path);
	memcpy(hdr, "NOTSHM!", 8);
	fd = open(bad, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096 + 320 * 4 * 240), 0);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	assert_int_equal(rename(bad, path), 0);
	for (int waited = 0; !vfbd_log_wait(&cur.p, 0, invalid); waited += 50) {
		assert_true(waited < 2000);
		pump(&cur.v, 50);
	}
	assert_kept(f);

	tcreate(&cur.tf[1], path, 320, 240, 7);
	tframe(&cur.tf[1], f);
	assert_converges(f, CONVERGE_MS, "after a valid file");
	assert_quiet(f);
	stop_all();
}

/* PATH removed while the producer keeps drawing into its mapping: vfbd
 * keeps serving that mapping; a new file at PATH is then followed. */
static void removed_file_keeps_serving(void **state)
{
	struct frame *f = &cur.fr[0];
	const char *args[] = {"--workload", "console-720", "--rate", "40",
			      "--frames",   "40",	   "--hold", NULL};
	const char *again[] = {"--workload", "typing", "--rate", "0",
			       "--frames",   "10",     NULL};
	const char *removed[] = {"source-removed", NULL};
	char path[PATH_MAX];

	path_of(path, sizeof(path), "removed");
	unlink(path);
	feed_start(path, args);
	assert_true(wait_exists(path, 5000));
	start_vfbd(path);
	connect_client(F32);
	cur.keep_fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(cur.keep_fd >= 0);
	frame_read_fd(cur.keep_fd, f);
	assert_converges(f, CONVERGE_MS, "first frame");
	kill(cur.feed, SIGUSR1);
	pump(&cur.v, 200);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(feed_wait(20000), 0);
	assert_true(vfbd_log_wait(&cur.p, 2000, removed));
	frame_read_fd(cur.keep_fd, f);
	assert_int_equal(f->seq, 80);
	assert_converges(f, CONVERGE_MS, "drawn after the removal");
	assert_true(vfbd_alive(&cur.p));

	feed_start(path, again);
	assert_int_equal(feed_wait(20000), 0);
	frame_read(path, f);
	assert_converges(f, CONVERGE_MS, "the next file");
	assert_true(vfbd_log_count(&cur.p, "source-reopened") >= 1);
	assert_quiet(f);
	stop_all();
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		CASE(change_and_change_back),
		CASE(resize_smaller),
		CASE(resize_larger),
		CASE(refused_missing_and_directory),
		CASE(truncated_while_mapped),
		CASE(truncation_races_compare),
		CASE(invalid_replacement_ignored),
		CASE(removed_file_keeps_serving),
	};
	size_t nf = sizeof(feed_cases) / sizeof(feed_cases[0]);
	size_t nb = sizeof(bad_files) / sizeof(bad_files[0]);
	size_t nx = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nf + nb + nx, sizeof(*tests));
	size_t n = 0;
	int rc;

	if (!tests)
		return 1;
	for (size_t i = 0; i < nf; i++)
		tests[n++] = (struct CMUnitTest){
			.name = feed_cases[i].name,
			.test_func = run_feed_case,
			.setup_func = test_setup,
			.teardown_func = test_teardown,
			.initial_state = (void *)&feed_cases[i],
		};
	for (size_t i = 0; i < nx; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < nb; i++)
		tests[n++] = (struct CMUnitTest){
			.name = bad_files[i].name,
			.test_func = refused_at_start,
			.setup_func = test_setup,
			.teardown_func = test_teardown,
			.initial_state = (void *)&bad_files[i],
		};
	vnc_quiet();
	signal(SIGPIPE, SIG_IGN);
	/* TEST_FILTER=pattern runs the matching tests only (cmocka's *). */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	rc = _cmocka_run_group_tests("shm", tests, n, group_setup,
				     group_teardown);
	free(tests);
	return rc;
}
