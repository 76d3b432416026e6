/* vfbd-bench: the figures of docs/benchmarks.md.
 *
 *   vfbd-bench compare            shadow compare vs memcmp/memcpy, 1080p
 *   vfbd-bench convert            pixel-format conversion (Raw encoding)
 *   vfbd-bench idle VFBD SECONDS  CPU and wakeups of a running vfbd on a
 *                                 static shm frame, with and without a
 *                                 connected client
 *
 * Every figure is the median of several runs, printed with its ratio to
 * a baseline measured in the same run (the machines are noisy). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fb/shadow.h"
#include "fb/src-shm.h"
#include "net/pixfmt.h"
#include <rfb/rfbclient.h>
#include "vfbd/base/bytes.h"
#include "vfbd/base/clock.h"

#define W    1920u
#define H    1080u
#define RUNS 9

static volatile int sink_int;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median seconds per call of fn over RUNS runs of enough calls to take
 * about 50 ms each. */
static double median_seconds(void (*fn)(void *), void *arg)
{
	double t[RUNS];
	unsigned calls = 1;
	uint64_t start, el;

	for (;;) {
		start = clock_now_ns();
		for (unsigned i = 0; i < calls; i++)
			fn(arg);
		el = clock_now_ns() - start;
		if (el > 50000000u || calls > (1u << 24))
			break;
		calls *= 2;
	}
	for (int r = 0; r < RUNS; r++) {
		start = clock_now_ns();
		for (unsigned i = 0; i < calls; i++)
			fn(arg);
		t[r] = (double)(clock_now_ns() - start) / 1e9 / calls;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	return t[RUNS / 2];
}

struct cmp_ctx {
	uint32_t *a, *b, *c;
	struct fb_shadow shadow;
	struct fb_region changed;
	struct fb_view va, vb;
	struct fb_damage hint;
	int flip;
};

static void do_memcmp(void *arg)
{
	struct cmp_ctx *c = arg;

	sink_int += memcmp(c->a, c->c, (size_t)W * H * 4);
}

static void do_memcpy(void *arg)
{
	struct cmp_ctx *c = arg;

	memcpy(c->c, c->a, (size_t)W * H * 4);
	sink_int += (int)c->c[7];
}

static void do_sync_same(void *arg)
{
	struct cmp_ctx *c = arg;

	fb_region_clear(&c->changed);
	sink_int += (int)fb_shadow_sync(&c->shadow, &c->va, &c->hint,
					&c->changed, NULL);
}

static void do_sync_flip(void *arg)
{
	struct cmp_ctx *c = arg;

	fb_region_clear(&c->changed);
	c->flip ^= 1;
	sink_int += (int)fb_shadow_sync(&c->shadow, c->flip ? &c->vb : &c->va,
					&c->hint, &c->changed, NULL);
}

static void do_sync_one_tile(void *arg)
{
	struct cmp_ctx *c = arg;

	/* Touch one pixel in the middle so exactly one tile differs. */
	c->a[(H / 2) * W + W / 2] ^= 0x00ffffffu;
	fb_region_clear(&c->changed);
	sink_int += (int)fb_shadow_sync(&c->shadow, &c->va, &c->hint,
					&c->changed, NULL);
}

static void fill(uint32_t *p, uint32_t seed)
{
	for (size_t i = 0; i < (size_t)W * H; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 8;
	}
}

static int bench_compare(void)
{
	struct cmp_ctx c;
	size_t bytes = (size_t)W * H * 4;
	double t_memcmp, t_memcpy, t_same, t_all, t_one, t_typing, t_full;
	double gb = (double)bytes / 1e9;
	unsigned areas[] = {1, 5, 25, 50, 100};

	memset(&c, 0, sizeof(c));
	c.a = malloc(bytes);
	c.b = malloc(bytes);
	c.c = malloc(bytes);
	if (!c.a || !c.b || !c.c || fb_shadow_init(&c.shadow, W, H) < 0 ||
	    fb_region_init(&c.changed, W, H) < 0)
		return 1;
	fill(c.a, 1);
	fill(c.b, 2);
	memcpy(c.c, c.a, bytes);
	c.va = (struct fb_view){(const uint8_t *)c.a, W, H, (size_t)W * 4};
	c.vb = (struct fb_view){(const uint8_t *)c.b, W, H, (size_t)W * 4};
	c.hint.all = true;
	fb_shadow_sync(&c.shadow, &c.va, &c.hint, &c.changed, NULL);

	t_memcmp = median_seconds(do_memcmp, &c);
	t_memcpy = median_seconds(do_memcpy, &c);
	t_same = median_seconds(do_sync_same, &c);
	t_all = median_seconds(do_sync_flip, &c);
	fb_shadow_sync(&c.shadow, &c.va, &c.hint, &c.changed, NULL);
	t_one = median_seconds(do_sync_one_tile, &c);
	t_full = t_same;

	printf("compare 1920x1080x32 (median of %d runs)\n", RUNS);
	printf("  memcmp (baseline)        %8.3f ms  %6.2f GB/s\n",
	       t_memcmp * 1e3, gb / t_memcmp);
	printf("  memcpy                   %8.3f ms  %6.2f GB/s\n",
	       t_memcpy * 1e3, gb / t_memcpy);
	printf("  shadow, nothing changed  %8.3f ms  %6.2f GB/s  %.2fx "
	       "memcmp\n",
	       t_same * 1e3, gb / t_same, t_memcmp / t_same);
	printf("  shadow, all changed      %8.3f ms  %6.2f GB/s  %.2fx memcmp"
	       " (compare+copy; %.2fx memcpy)\n",
	       t_all * 1e3, gb / t_all, t_memcmp / t_all, t_memcpy / t_all);
	printf("  shadow, one tile changed %8.3f ms  %6.2f GB/s  %.2fx "
	       "memcmp\n",
	       t_one * 1e3, gb / t_one, t_memcmp / t_one);

	/* Hinted compares: cost should follow the hinted area. */
	c.hint.all = false;
	c.hint.n = 1;
	c.hint.rects[0] = (struct fb_rect){800, 512, 8, 16};
	t_typing = median_seconds(do_sync_same, &c);
	printf("  hinted 8x16 cell (typing) %7.4f ms  %.3f%% of a full "
	       "compare\n",
	       t_typing * 1e3, 100.0 * t_typing / t_full);
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		uint32_t h = H * areas[i] / 100;
		double t;

		c.hint.rects[0] = (struct fb_rect){0, 0, W, h ? h : 1};
		t = median_seconds(do_sync_same, &c);
		printf("  hinted %3u%% of the frame  %8.3f ms  %.2f of full\n",
		       areas[i], t * 1e3, t / t_full);
	}
	fb_shadow_fini(&c.shadow);
	fb_region_fini(&c.changed);
	free(c.a);
	free(c.b);
	free(c.c);
	return 0;
}

struct conv_ctx {
	struct rfb_pixconv pc;
	const uint32_t *src;
	uint8_t *dst;
};

static void do_convert(void *arg)
{
	struct conv_ctx *c = arg;

	for (uint32_t y = 0; y < H; y++)
		rfb_pixconv_row(&c->pc, c->src + (size_t)y * W, W,
				c->dst + (size_t)y * W * 4);
	sink_int += c->dst[5];
}

static int bench_convert(void)
{
	static const struct rfb_pixfmt fmts[] = {
		{32, 24, 0, 1, 255, 255, 255, 16, 8, 0},
		{32, 24, 1, 1, 255, 255, 255, 0, 8, 16},
		{16, 16, 0, 1, 31, 63, 31, 11, 5, 0},
		{8, 8, 0, 1, 7, 7, 3, 0, 3, 6},
	};
	static const char *names[] = {"32bpp server format (copy)",
				      "32bpp BGR big-endian", "16bpp RGB565",
				      "8bpp BGR233"};
	struct conv_ctx c;
	uint32_t *src = malloc((size_t)W * H * 4);
	double t_memcpy;
	struct cmp_ctx m = {0};

	c.dst = malloc((size_t)W * H * 4);
	if (!src || !c.dst)
		return 1;
	fill(src, 3);
	c.src = src;
	m.a = src;
	m.c = (uint32_t *)c.dst;
	t_memcpy = median_seconds(do_memcpy, &m);
	printf("pixel conversion of a 1920x1080 frame (Raw encoding)\n");
	printf("  memcpy (baseline)          %7.3f ms\n", t_memcpy * 1e3);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		double t;

		rfb_pixconv_init(&c.pc, &fmts[i]);
		t = median_seconds(do_convert, &c);
		printf("  %-26s %7.3f ms  %.2fx memcpy time\n", names[i],
		       t * 1e3, t / t_memcpy);
	}
	free(src);
	free(c.dst);
	return 0;
}

/* Writes a static 1920x1080 shm frame for the idle measurement. */
static int make_idle_shm(const char *path)
{
	size_t len = 4096 + (size_t)W * 4 * H;
	uint8_t *m;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return -1;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m, FB_SHM_MAGIC, 8);
	put_le32(m + FB_SHM_OFF_VERSION, 1);
	put_le32(m + FB_SHM_OFF_HEADER_BYTES, 4096);
	put_le32(m + FB_SHM_OFF_WIDTH, W);
	put_le32(m + FB_SHM_OFF_HEIGHT, H);
	put_le32(m + FB_SHM_OFF_STRIDE, W * 4);
	put_le32(m + FB_SHM_OFF_FORMAT, 1);
	fill((uint32_t *)(m + 4096), 4);
	for (size_t i = 0; i < (size_t)W * H; i++)
		((uint32_t *)(m + 4096))[i] &= 0x00ffffffu;
	put_le64(m + FB_SHM_OFF_FRAME, 2);
	munmap(m, len);
	return 0;
}

struct proc_usage {
	double cpu_s;
	long wakeups; /* voluntary context switches */
};

static int read_usage(pid_t pid, struct proc_usage *u)
{
	char path[64], line[256], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &st) != 2)
		return -1;
	u->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	u->wakeups = -1;
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "voluntary_ctxt_switches: %ld", &u->wakeups);
	if (f)
		fclose(f);
	return 0;
}

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static int bench_idle(const char *vfbd, int seconds)
{
	char shm[] = "/dev/shm/vfbd-bench-idle-XXXXXX", src[128], port_s[16];
	char log_path[] = "/tmp/vfbd-bench-log-XXXXXX";
	struct proc_usage u0, u1, u2;
	rfbClient *cl;
	int port = -1, lfd;
	pid_t pid;

	if (mkstemp(shm) < 0 || make_idle_shm(shm) < 0 ||
	    (lfd = mkstemp(log_path)) < 0)
		return 1;
	snprintf(src, sizeof(src), "shm:%s", shm);
	pid = fork();
	if (pid == 0) {
		dup2(lfd, 2);
		execl(vfbd, vfbd, "--source", src, "--listen", "127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && port < 0; i++) {
		char line[256];
		FILE *f = fopen(log_path, "r");

		while (f && fgets(line, sizeof(line), f)) {
			char *a = strstr(line, "listening addr=");

			if (a)
				port = atoi(strrchr(a, ':') + 1);
		}
		if (f)
			fclose(f);
		usleep(10000);
	}
	if (port < 0) {
		fprintf(stderr, "vfbd-bench: vfbd did not start\n");
		return 1;
	}
	snprintf(port_s, sizeof(port_s), "%d", port);
	rfbClientLog = quiet;

	read_usage(pid, &u0);
	sleep((unsigned)seconds);
	read_usage(pid, &u1);
	printf("idle 1920x1080 shm source, %d s each\n", seconds);
	printf("  no client:        cpu %.3f s (%.3f%%), %ld wakeups\n",
	       u1.cpu_s - u0.cpu_s, 100 * (u1.cpu_s - u0.cpu_s) / seconds,
	       u1.wakeups - u0.wakeups);
	cl = rfbGetClient(8, 3, 4);
	free(cl->serverHost);
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = port;
	cl->appData.encodingsString = "raw";
	if (rfbInitClient(cl, NULL, NULL)) {
		uint64_t end;

		/* The first (full) frame, then steady state. */
		for (end = clock_now_ms() + 2000; clock_now_ms() < end;)
			if (cl->buffered || WaitForMessage(cl, 100000) > 0)
				HandleRFBServerMessage(cl);
		read_usage(pid, &u1);
		/* libvncclient keeps an incremental request outstanding. */
		for (end = clock_now_ms() + (uint64_t)seconds * 1000;
		     clock_now_ms() < end;)
			if (cl->buffered || WaitForMessage(cl, 100000) > 0)
				HandleRFBServerMessage(cl);
		read_usage(pid, &u2);
		printf("  one client:       cpu %.3f s (%.3f%%), %ld wakeups "
		       "(%.1f/s)\n",
		       u2.cpu_s - u1.cpu_s,
		       100 * (u2.cpu_s - u1.cpu_s) / seconds,
		       u2.wakeups - u1.wakeups,
		       (double)(u2.wakeups - u1.wakeups) / seconds);
		free(cl->frameBuffer);
		rfbClientCleanup(cl);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(shm);
	unlink(log_path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "compare") == 0)
		return bench_compare();
	if (argc >= 2 && strcmp(argv[1], "convert") == 0)
		return bench_convert();
	if (argc >= 4 && strcmp(argv[1], "idle") == 0)
		return bench_idle(argv[2], atoi(argv[3]));
	fprintf(stderr,
		"usage: vfbd-bench compare | convert | idle VFBD SECONDS\n");
	return 1;
}
