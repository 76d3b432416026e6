/* The hostile-guest battery (research/reliability.md §2.5, xen-backend.md
 * §6.3) against the real vfbd: a simulated guest writes bad values into
 * its shared page, page directory, rings and xenstore keys. Each case
 * ends with the device marked broken (a log line, the backend Closing)
 * or the event ignored (a log line), with bounded CPU, and vfbd still
 * serving its client, which sees a "guest framebuffer unavailable"
 * screen instead of garbage. Afterwards a well-behaved guest boots and is
 * shown pixel for pixel again. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <X11/keysym.h>
#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "tests/lib/xensim.h"

#define DOMID	  7
#define DOMID_S	  "7"
#define MEM_PAGES 2048
#define FE_VFB	  "/local/domain/7/device/vfb/0"
#define BE_VFB	  "/local/domain/0/backend/vfb/7/0"
#define W	  320
#define H	  200
/* The placeholder's background (fb/src-xen-pv.c). */
#define PLACEHOLDER_BG 0x00202428u

/* ASan keeps freed memory in quarantine: RSS says little there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KIB (512 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SLACK_KIB (512 * 1024)
#endif
#endif
#ifndef RSS_SLACK_KIB
#define RSS_SLACK_KIB (16 * 1024)
#endif

static struct xensim *g_sim;
static struct vfbd_proc g_p;
static struct vnc_client g_v;
static bool g_client;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* CPU time vfbd used so far, in ms. */
static long cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, stime = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &stime) != 2)
		return -1;
	return (long)((ut + stime) * 1000 /
		      (unsigned long)sysconf(_SC_CLK_TCK));
}

static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	return ((x * 5 + seed) & 0xff) << 16 | ((y * 9 + seed) & 0xff) << 8 |
	       ((x + y + seed * 3) & 0xff);
}

static void draw_all(uint32_t *expect, uint32_t seed)
{
	uint8_t *fb = xensim_fb_mem(g_sim);

	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			uint32_t c = pattern(x, y, seed);

			memcpy(fb + (size_t)y * W * 4 + 4 * x, &c, 4);
			expect[(size_t)y * W + x] = c;
		}
}

static const struct xensim_fb_config good = {
	.width = W, .height = H, .depth = 32};

static int setup(void **state)
{
	const char *args[] = {"--domid",	DOMID_S, "--create-devices",
			      "--xen-videoram", "256",	 "--xen-size",
			      "320x200",	NULL};

	g_sim = xensim_new(DOMID, MEM_PAGES);
	if (!g_sim)
		return -1;
	xensim_export(g_sim);
	if (vfbd_start(&g_p, args) < 0)
		return -1;
	if (vnc_connect(&g_v, g_p.port, &vnc_formats[0], NULL, NULL) < 0)
		return -1;
	g_client = true;
	vnc_request(&g_v, false);
	return vnc_wait_frame(&g_v, 5000) ? 0 : -1;
}

static int teardown(void **state)
{
	if (g_client)
		vnc_close(&g_v);
	if (g_p.pid > 0) {
		int rc = vfbd_stop(&g_p);

		if (rc != 0)
			fprintf(stderr, "vfbd exited with %d\n", rc);
	}
	xensim_free(g_sim);
	return 0;
}

/* The client is alive and shows what vfbd shows. */
static void client_alive(void)
{
	assert_true(vfbd_alive(&g_p));
	vnc_request(&g_v, false);
	assert_true(vnc_wait_frame(&g_v, 5000));
}

static uint32_t client_pixel(uint32_t x, uint32_t y)
{
	uint32_t p;

	memcpy(&p, g_v.cl->frameBuffer + ((size_t)y * g_v.cl->width + x) * 4,
	       4);
	return p & 0xffffff;
}

static void wait_log_count(const char *needle, int want, int ms)
{
	long end = now_ms() + ms;

	while (vfbd_log_count(&g_p, needle) < want && now_ms() < end)
		sleep_ms(10);
	if (vfbd_log_count(&g_p, needle) < want)
		print_message("no %d-th \"%s\" line in %s\n", want, needle,
			      g_p.log_path);
	assert_true(vfbd_log_count(&g_p, needle) >= want);
}

static void boot_good(uint32_t seed)
{
	uint32_t *expect = calloc((size_t)W * H, 4);
	uint32_t fx, fy;
	long bad = -1;

	assert_int_equal(xensim_fb_reboot(g_sim, &good), 0);
	assert_true(xensim_fb_wait_connected(g_sim, 5000));
	draw_all(expect, seed);
	xensim_fb_update(g_sim, 0, 0, W, H);
	for (int i = 0; i < 250 && bad != 0; i++) {
		vnc_pump(&g_v, 20);
		if (g_v.cl->width == W && g_v.cl->height == H)
			bad = vnc_compare(&g_v, expect, W, H, W, &fx, &fy);
	}
	if (bad)
		print_message("good guest: %ld pixels differ\n", bad);
	assert_int_equal(bad, 0);
	free(expect);
}

/* ---- a bad shared page at connect ---- */

struct header_case {
	const char *name;
	int32_t width, height;
	uint32_t line_length, mem_length;
	uint8_t depth;
	int which; /* 0 page fields, 1 bad pd, 2 garbage directory */
};

static void tamper_header(struct xensim *s, struct xenfb_page *page, void *arg)
{
	const struct header_case *c = arg;

	switch (c->which) {
	case 0:
		page->width = c->width;
		page->height = c->height;
		page->line_length = c->line_length;
		page->mem_length = c->mem_length;
		page->depth = c->depth;
		break;
	case 1:
		page->pd[0] = MEM_PAGES + 100; /* no such frame */
		break;
	case 2:
		memset(xensim_fb_dir(s, 0), 0xee, 4096);
		break;
	}
}

static void bad_headers(void **state)
{
	const uint32_t ml = W * H * 4;
	const struct header_case cases[] = {
		{"width 0", 0, H, W * 4, ml, 32, 0},
		{"width -1", -1, H, W * 4, ml, 32, 0},
		{"width INT32_MIN", INT32_MIN, H, W * 4, ml, 32, 0},
		{"width INT32_MAX", INT32_MAX, H, W * 4, ml, 32, 0},
		{"height 0", W, 0, W * 4, ml, 32, 0},
		{"height -1", W, -1, W * 4, ml, 32, 0},
		{"height INT32_MIN", W, INT32_MIN, W * 4, ml, 32, 0},
		{"height INT32_MAX", W, INT32_MAX, W * 4, ml, 32, 0},
		{"depth 0", W, H, W * 4, ml, 0, 0},
		{"depth 1", W, H, W * 4, ml, 1, 0},
		{"depth 15", W, H, W * 4, ml, 15, 0},
		{"depth 255", W, H, W * 4, ml, 255, 0},
		{"line_length 0", W, H, 0, ml, 32, 0},
		{"line_length 1", W, H, 1, ml, 32, 0},
		{"line_length w*4-1", W, H, W * 4 - 1, ml, 32, 0},
		{"line_length mem+1", W, H, ml + 1, ml, 32, 0},
		{"line_length max", W, H, 0xffffffffu, ml, 32, 0},
		{"mem_length 0", W, H, W * 4, 0, 32, 0},
		{"mem_length 4095", W, H, W * 4, 4095, 32, 0},
		{"mem_length 512M+1", W, H, W * 4, (512u << 20) + 1, 32, 0},
		{"mem_length max", W, H, W * 4, 0xffffffffu, 32, 0},
		{"65536x65536", 65536, 65536, 65536 * 4, 0xffffffffu, 32, 0},
		{"124 directories", W, H, W * 4, 124u * 512 * 4096, 32, 0},
		{"pd unmappable", 0, 0, 0, 0, 0, 1},
		{"directory garbage", 0, 0, 0, 0, 0, 2},
	};
	int broken = vfbd_log_count(&g_p, "xen-device-broken");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xensim_fb_config c = good;
		long cpu0 = cpu_ms(g_p.pid);

		print_message("case: %s\n", cases[i].name);
		c.tamper = tamper_header;
		c.tamper_arg = (void *)&cases[i];
		assert_int_equal(xensim_fb_reboot(g_sim, &c), 0);
		wait_log_count("xen-device-broken", ++broken, 5000);
		client_alive();
		assert_int_equal(client_pixel(0, 0), PLACEHOLDER_BG);
		assert_true(cpu_ms(g_p.pid) - cpu0 < 1000);
	}
	/* Nothing of the broken connections stays mapped or bound, and no
	 * more was ever mapped than the page, one directory and the frames
	 * the real size needs. */
	assert_int_equal(xensim_counters(g_sim).maps_live, 0);
	assert_int_equal(xensim_counters(g_sim).ports_bound, 0);
	assert_true(xensim_counters(g_sim).pages_max <=
		    2 + (W * H * 4 + 4095) / 4096);
	boot_good(1);
	assert_int_equal(xensim_counters(g_sim).pages_live_rw, 1);
}

/* ---- bad xenstore keys ---- */

static void bad_keys(void **state)
{
	static const struct {
		const char *name, *page_ref, *event_channel, *protocol;
	} cases[] = {
		{"page-ref not a number", "12abc", NULL, NULL},
		{"page-ref negative", "-1", NULL, NULL},
		{"page-ref too big", "99999999999999999999", NULL, NULL},
		{"page-ref no such frame", "1999999", NULL, NULL},
		{"event-channel banana", NULL, "banana", NULL},
		{"event-channel 2^32", NULL, "4294967296", NULL},
		{"event-channel not ours", NULL, "63", NULL},
		{"protocol bogus", NULL, NULL, "x86_99-abi"},
	};
	int broken = vfbd_log_count(&g_p, "xen-device-broken");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xensim_fb_config c = good;

		print_message("case: %s\n", cases[i].name);
		c.page_ref = cases[i].page_ref;
		c.event_channel = cases[i].event_channel;
		c.protocol = cases[i].protocol;
		assert_int_equal(xensim_fb_reboot(g_sim, &c), 0);
		wait_log_count("xen-device-broken", ++broken, 5000);
		client_alive();
	}
	/* No protocol key at all: the old backends' guess (64-bit here). */
	{
		struct xensim_fb_config c = good;
		uint32_t *expect = calloc((size_t)W * H, 4);
		uint32_t fx, fy;
		long bad = -1;

		c.protocol = "";
		assert_int_equal(xensim_fb_reboot(g_sim, &c), 0);
		assert_true(xensim_fb_wait_connected(g_sim, 5000));
		draw_all(expect, 3);
		xensim_fb_update(g_sim, 0, 0, W, H);
		for (int k = 0; k < 250 && bad != 0; k++) {
			vnc_pump(&g_v, 20);
			bad = vnc_compare(&g_v, expect, W, H, W, &fx, &fy);
		}
		assert_int_equal(bad, 0);
		free(expect);
	}
	/* A 32-bit guest's directory layout. */
	{
		struct xensim_fb_config c = good;

		c.protocol = "x86_32-abi";
		c.abi32 = true;
		assert_int_equal(xensim_fb_reboot(g_sim, &c), 0);
		assert_true(xensim_fb_wait_connected(g_sim, 5000));
	}
	boot_good(2);
}

/* ---- bad events on a connected framebuffer ---- */

static void put(const union xenfb_out_event *ev)
{
	assert_true(xensim_fb_put_wait(g_sim, ev));
}

static void bad_events(void **state)
{
	static const int32_t updates[][4] = {
		{-5, -5, 10, 10},
		{0x7ffffff0, 0, 0x20, 10},
		{0, 0, -1, 10},
		{0, 0, 10, -1},
		{10000, 10000, 5, 5},
		{INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX},
		{INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX},
	};
	static const int32_t resizes[][5] = {
		/* w, h, stride, depth, offset */
		{W, H, W * 4, 32, W * H * 4},
		{W, H, W * 4, 32, -4},
		{W, H, W * 4, 32, 4096},
		{W, H, W * 2, 24, 0},
		{W, H, W * 4, 7, 0},
		{W, H, -W * 4, 32, 0},
		{-W, H, W * 4, 32, 0},
		{W * 2, H, W * 4, 32, 0},
		{INT32_MAX, INT32_MAX, INT32_MAX, 32, 0},
	};
	static const uint8_t types[] = {0, 1, 4, 255};
	int ignored = vfbd_log_count(&g_p, "xen-vfb-event-ignored");
	int broken = vfbd_log_count(&g_p, "xen-device-broken");
	union xenfb_out_event ev;

	boot_good(4);
	for (size_t i = 0; i < sizeof(updates) / sizeof(updates[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.update.type = XENFB_TYPE_UPDATE;
		ev.update.x = updates[i][0];
		ev.update.y = updates[i][1];
		ev.update.width = updates[i][2];
		ev.update.height = updates[i][3];
		put(&ev);
	}
	/* Bad resizes and unknown types are ignored, each logged (the log
	 * is rate-limited: wait for the first only). */
	for (size_t i = 0; i < sizeof(resizes) / sizeof(resizes[0]); i++)
		xensim_fb_resize(g_sim, resizes[i][0], resizes[i][1],
				 resizes[i][2], resizes[i][3], resizes[i][4]);
	wait_log_count("xen-vfb-event-ignored", ignored + 1, 5000);
	for (size_t i = 0; i < sizeof(types); i++) {
		memset(&ev, 0xa5, sizeof(ev));
		ev.type = types[i];
		put(&ev);
	}
	sleep_ms(200);
	assert_int_equal(vfbd_log_count(&g_p, "xen-device-broken"), broken);
	client_alive();
	/* The picture is still the guest's, at its size. */
	assert_int_equal(g_v.cl->width, W);
	assert_int_equal(g_v.cl->height, H);
	boot_good(5);
}

static void set_out_cons_back(struct xensim *s, void *arg)
{
	xensim_fb_page(s)->out_cons = 0;
}

static void set_indices_far(struct xensim *s, void *arg)
{
	struct xenfb_page *p = xensim_fb_page(s);

	p->out_cons = 0;
	p->out_prod = 0xffffffffu;
}

/* G-09, G-10: ring indices. */
static void bad_indices(void **state)
{
	int broken = vfbd_log_count(&g_p, "xen-device-broken");
	long cpu0;

	boot_good(6);
	/* out_cons moved backwards: vfbd keeps its own index. */
	xensim_locked(g_sim, set_out_cons_back, NULL);
	boot_good(7);
	assert_int_equal(vfbd_log_count(&g_p, "xen-device-broken"), broken);

	cpu0 = cpu_ms(g_p.pid);
	xensim_locked(g_sim, set_indices_far, NULL);
	xensim_fb_notify(g_sim);
	wait_log_count("xen-device-broken", broken + 1, 5000);
	assert_true(cpu_ms(g_p.pid) - cpu0 < 500);
	client_alive();
	assert_int_equal(client_pixel(0, 0), PLACEHOLDER_BG);
	boot_good(8);
}

/* G-12: a resize storm between two valid modes. */
static void resize_storm(void **state)
{
	long rss0, rss1, t0 = now_ms();
	union xenfb_out_event ev;

	boot_good(9);
	rss0 = vfbd_rss_kib(&g_p);
	memset(&ev, 0, sizeof(ev));
	ev.resize.type = XENFB_TYPE_RESIZE;
	ev.resize.depth = 32;
	for (int i = 0; i < 10000; i++) {
		bool big = i % 2 == 0;

		ev.resize.width = big ? W : 160;
		ev.resize.height = big ? H : 100;
		ev.resize.stride = big ? W * 4 : 160 * 4;
		put(&ev);
		if (i % 500 == 0)
			vnc_pump(&g_v, 1);
	}
	print_message("10000 resizes in %ld ms\n", now_ms() - t0);
	/* The client follows (the last mode is 160x100). */
	for (int i = 0; i < 250 && g_v.cl->width != 160; i++)
		vnc_pump(&g_v, 20);
	assert_int_equal(g_v.cl->width, 160);
	rss1 = vfbd_rss_kib(&g_p);
	print_message("rss %ld -> %ld KiB\n", rss0, rss1);
	assert_true(rss1 - rss0 < RSS_SLACK_KIB);
	client_alive();
	boot_good(10);
}

/* A notification storm costs bounded CPU. */
static void notify_storm(void **state)
{
	long cpu0, t0;

	boot_good(11);
	cpu0 = cpu_ms(g_p.pid);
	t0 = now_ms();
	while (now_ms() - t0 < 2000)
		xensim_fb_notify_many(g_sim, 1000);
	print_message("vfbd used %ld ms of CPU in %ld ms of storm\n",
		      cpu_ms(g_p.pid) - cpu0, now_ms() - t0);
	assert_true(cpu_ms(g_p.pid) - cpu0 < 1500);
	client_alive();
	boot_good(12);
}

/* The guest churns its xenstore keys and writes nonsense states. */
static void xenstore_churn(void **state)
{
	static const char *const states[] = {
		"banana", "42", "-1", "", "4x", "99999999999999999999"};
	int broken = vfbd_log_count(&g_p, "xen-device-broken");
	char key[96];
	long cpu0, t0;

	boot_good(13);
	cpu0 = cpu_ms(g_p.pid);
	t0 = now_ms();
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), FE_VFB "/junk%d", i % 50);
		xensim_write(g_sim, DOMID, key, "x");
		xensim_write(g_sim, DOMID, FE_VFB "/feature-update", "1");
	}
	print_message("churn: %ld ms of CPU in %ld ms\n",
		      cpu_ms(g_p.pid) - cpu0, now_ms() - t0);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		assert_int_equal(
			xensim_write(g_sim, DOMID, FE_VFB "/state", states[i]),
			0);
	sleep_ms(200);
	assert_int_equal(vfbd_log_count(&g_p, "xen-device-broken"), broken);
	{
		char *be = xensim_read(g_sim, BE_VFB "/state");

		assert_string_equal(be, "4");
		free(be);
	}
	xensim_fb_set_state(g_sim, XenbusStateConnected);
	client_alive();
	boot_good(14);
}

/* The frontend directory vanishes while connected (the domain lives). */
static void frontend_removed(void **state)
{
	boot_good(15);
	assert_int_equal(xensim_rm(g_sim, 0, FE_VFB), 0);
	assert_true(xensim_wait_value(g_sim, BE_VFB "/state", "6", 5000));
	client_alive();
	assert_int_equal(client_pixel(0, 0), PLACEHOLDER_BG);
	assert_int_equal(xensim_counters(g_sim).ports_bound, 0);
	assert_true(vfbd_alive(&g_p));
}

/* G-14: a keyboard ring the guest never consumes, or with a bogus
 * in_cons: events are dropped and counted, never waited for. */
static void set_in_cons_ahead(struct xensim *s, void *arg)
{
	struct xenkbd_page *k = xensim_kbd_page(s);

	k->in_cons = k->in_prod + 1000;
}

static void keyboard_ring_full(void **state)
{
	struct xensim_kbd_config kc = {.request_abs = true};
	const char *args[] = {"--domid", DOMID_S, "--create-devices", NULL};
	struct xensim *s = xensim_new(DOMID + 1, 256);
	struct vfbd_proc p;
	struct vnc_client v;
	long cpu0;

	(void)args;
	assert_non_null(s);
	xensim_export(s);
	{
		const char *a[] = {"--domid", "8", "--create-devices", NULL};

		assert_int_equal(vfbd_start(&p, a), 0);
	}
	{
		struct xensim_fb_config c = {
			.width = 64, .height = 64, .depth = 32};

		assert_int_equal(xensim_fb_boot(s, &c), 0);
		assert_true(xensim_fb_wait_connected(s, 5000));
	}
	assert_int_equal(xensim_kbd_boot(s, &kc), 0);
	assert_true(xensim_kbd_wait_connected(s, 5000));
	assert_int_equal(vnc_connect(&v, p.port, &vnc_formats[0], NULL, NULL),
			 0);
	xensim_kbd_set_consume(s, false);
	cpu0 = cpu_ms(p.pid);
	for (int i = 0; i < 200; i++) {
		SendKeyEvent(v.cl, XK_a, TRUE);
		SendKeyEvent(v.cl, XK_a, FALSE);
	}
	assert_true(vfbd_log_wait(
		&p, 5000, (const char *const[]){"xen-vkbd-ring-full", NULL}));
	xensim_locked(s, set_in_cons_ahead, NULL);
	for (int i = 0; i < 200; i++)
		SendPointerEvent(v.cl, i % 64, i % 64, 0);
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	assert_true(cpu_ms(p.pid) - cpu0 < 1000);
	assert_true(vfbd_alive(&p));
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	xensim_free(s);
	xensim_export(g_sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_headers),
		cmocka_unit_test(bad_keys),
		cmocka_unit_test(bad_events),
		cmocka_unit_test(bad_indices),
		cmocka_unit_test(resize_storm),
		cmocka_unit_test(notify_storm),
		cmocka_unit_test(xenstore_churn),
		cmocka_unit_test(frontend_removed),
		cmocka_unit_test(keyboard_ring_full),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, setup, teardown);
}
