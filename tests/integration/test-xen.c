/* The real vfbd as the vfb/vkbd backend of a simulated guest
 * (tests/lib/xensim.h): libvncclient sees every frame the guest draws,
 * pixel for pixel, at 32 and 16 bpp, follows resizes and survives a guest
 * reboot; keys and pointer events arrive in the guest's keyboard ring as
 * the right Linux codes; the device nodes, console/vnc-port and the
 * domain's end behave as the research note (§1.2, §7.2) says. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <X11/keysym.h>
#include <cmocka.h>
#include <linux/input-event-codes.h>
#include <xen/io/xenbus.h>

#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "tests/lib/xensim.h"

#define DOMID	  5
#define DOMID_S	  "5"
#define MEM_PAGES 4096
#define FE_VFB	  "/local/domain/5/device/vfb/0"
#define BE_VFB	  "/local/domain/0/backend/vfb/5/0"
#define FE_KBD	  "/local/domain/5/device/vkbd/0"
#define BE_KBD	  "/local/domain/0/backend/vinput/5/0"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* What a failed test leaves behind, cleaned up by `cleanup`. */
static struct xensim *g_sim;
static pid_t g_pids[4];

static struct xensim *sim_up(void)
{
	struct xensim *s = xensim_new(DOMID, MEM_PAGES);

	assert_non_null(s);
	xensim_export(s);
	g_sim = s;
	return s;
}

static void sim_down(struct xensim *s)
{
	xensim_free(s);
	g_sim = NULL;
}

static void start(struct vfbd_proc *p, const char *const *extra)
{
	const char *args[16] = {"--domid", DOMID_S};
	int n = 2;

	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	assert_int_equal(vfbd_start(p, args), 0);
	for (unsigned i = 0; i < 4; i++) {
		if (!g_pids[i]) {
			g_pids[i] = p->pid;
			break;
		}
	}
}

static int cleanup(void **state)
{
	for (unsigned i = 0; i < 4; i++) {
		if (g_pids[i] && waitpid(g_pids[i], NULL, WNOHANG) == 0) {
			kill(g_pids[i], SIGKILL);
			waitpid(g_pids[i], NULL, 0);
		}
		g_pids[i] = 0;
	}
	if (g_sim)
		sim_down(g_sim);
	return 0;
}

static const char *const create[] = {"--create-devices", NULL};

/* A pattern that differs per pixel and per `seed`. */
static uint32_t pattern(uint32_t x, uint32_t y, uint32_t seed)
{
	return ((x * 7 + seed * 13) & 0xff) << 16 |
	       ((y * 3 + seed * 5) & 0xff) << 8 | (((x ^ y) + seed) & 0xff);
}

/* Draws `seed` into the guest's framebuffer (rect x,y,w,h) and mirrors it
 * into `expect` (XRGB, width `ew`). 32 bpp stores XRGB, 16 bpp RGB565;
 * the expected colour of a 16 bpp pixel widens each channel by bit
 * replication. */
static void draw(struct xensim *s, uint32_t *expect, uint32_t ew,
		 uint32_t stride, uint32_t depth, uint32_t x0, uint32_t y0,
		 uint32_t w, uint32_t h, uint32_t seed)
{
	uint8_t *fb = xensim_fb_mem(s);

	for (uint32_t y = y0; y < y0 + h; y++) {
		for (uint32_t x = x0; x < x0 + w; x++) {
			uint32_t c = pattern(x, y, seed);

			if (depth == 32) {
				memcpy(fb + (size_t)y * stride + 4 * x, &c, 4);
				expect[(size_t)y * ew + x] = c;
			} else {
				uint32_t r = (c >> 19) & 31, g = (c >> 10) & 63,
					 b = (c >> 3) & 31;
				uint16_t p = (uint16_t)(r << 11 | g << 5 | b);

				memcpy(fb + (size_t)y * stride + 2 * x, &p, 2);
				expect[(size_t)y * ew + x] =
					((r << 3) | (r >> 2)) << 16 |
					((g << 2) | (g >> 4)) << 8 |
					((b << 3) | (b >> 2));
			}
		}
	}
}

/* Pumps the client until it shows `expect`. */
static long converge(struct vnc_client *v, const uint32_t *expect, uint32_t w,
		     uint32_t h, int ms)
{
	uint32_t fx = 0, fy = 0;
	long bad = -1;

	for (int waited = 0; waited <= ms; waited += 20) {
		if ((uint32_t)v->cl->width == w &&
		    (uint32_t)v->cl->height == h) {
			bad = vnc_compare(v, expect, w, h, w, &fx, &fy);
			if (bad == 0)
				return 0;
		}
		vnc_pump(v, 20);
	}
	print_message("client %dx%d, want %ux%u; %ld pixels differ, first "
		      "at %u,%u\n",
		      v->cl->width, v->cl->height, w, h, bad, fx, fy);
	return bad ? bad : -1;
}

static void connect_client(struct vnc_client *v, struct vfbd_proc *p)
{
	assert_int_equal(vnc_connect(v, p->port, &vnc_formats[0], NULL, NULL),
			 0);
	vnc_request(v, false);
	assert_true(vnc_wait_frame(v, 5000));
}

static void boot_fb(struct xensim *s, uint32_t w, uint32_t h, uint32_t depth)
{
	struct xensim_fb_config c = {.width = w, .height = h, .depth = depth};

	assert_int_equal(xensim_fb_boot(s, &c), 0);
	assert_true(xensim_fb_wait_connected(s, 5000));
}

static void frames(uint32_t depth)
{
	const uint32_t w = 640, h = 480, w2 = 512, h2 = 384;
	uint32_t bpp = depth / 8;
	struct xensim *s = sim_up();
	uint32_t *expect = calloc((size_t)w * h, 4);
	struct vnc_client v;
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, w, h, depth);
	connect_client(&v, &p);

	/* A full frame, then small updates: each must arrive exactly. */
	draw(s, expect, w, w * bpp, depth, 0, 0, w, h, 1);
	xensim_fb_update(s, 0, 0, (int32_t)w, (int32_t)h);
	assert_int_equal(converge(&v, expect, w, h, 5000), 0);
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t x = (i * 37) % (w - 40), y = (i * 53) % (h - 30);

		draw(s, expect, w, w * bpp, depth, x, y, 40, 30, 100 + i);
		xensim_fb_update(s, (int32_t)x, (int32_t)y, 40, 30);
	}
	assert_int_equal(converge(&v, expect, w, h, 5000), 0);
	/* An update storm: the ring fills, the guest merges its damage and
	 * flushes it when vfbd notifies. The last frame is what counts. */
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t x = (i * 17) % (w - 8), y = (i * 29) % (h - 8);

		draw(s, expect, w, w * bpp, depth, x, y, 8, 8, 7 * i);
		xensim_fb_update(s, (int32_t)x, (int32_t)y, 8, 8);
	}
	assert_int_equal(converge(&v, expect, w, h, 5000), 0);

	/* A mode change: the client gets DesktopSize and the new frame. */
	draw(s, expect, w2, w2 * bpp, depth, 0, 0, w2, h2, 9);
	xensim_fb_resize(s, (int32_t)w2, (int32_t)h2, (int32_t)(w2 * bpp),
			 (int32_t)depth, 0);
	assert_int_equal(converge(&v, expect, w2, h2, 5000), 0);
	assert_true(v.resizes >= 1);
	draw(s, expect, w2, w2 * bpp, depth, 10, 10, 100, 100, 11);
	xensim_fb_update(s, 10, 10, 100, 100);
	assert_int_equal(converge(&v, expect, w2, h2, 5000), 0);

	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	free(expect);
	sim_down(s);
}

static void frames_32bpp(void **state)
{
	frames(32);
}

static void frames_16bpp(void **state)
{
	frames(16);
}

/* Every client pixel format decodes a 32 bpp guest exactly. */
static void every_client_format(void **state)
{
	const uint32_t w = 320, h = 200;
	struct xensim *s = sim_up();
	uint32_t *expect = calloc((size_t)w * h, 4);
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, w, h, 32);
	draw(s, expect, w, w * 4, 32, 0, 0, w, h, 3);
	xensim_fb_update(s, 0, 0, (int32_t)w, (int32_t)h);
	for (unsigned i = 0; i < vnc_format_count; i++) {
		struct vnc_client v;
		uint32_t fx, fy;
		long bad = -1;

		assert_int_equal(
			vnc_connect(&v, p.port, &vnc_formats[i], NULL, NULL),
			0);
		for (int t = 0; t < 100 && bad != 0; t++) {
			vnc_request(&v, false);
			vnc_wait_frame(&v, 200);
			bad = vnc_compare(&v, expect, w, h, w, &fx, &fy);
		}
		if (bad)
			print_message("%s: %ld differ\n", vnc_formats[i].name,
				      bad);
		assert_int_equal(bad, 0);
		vnc_close(&v);
	}
	assert_int_equal(vfbd_stop(&p), 0);
	free(expect);
	sim_down(s);
}

/* kexec/kdump reset: Closing, Closed, Initialising; vfbd follows and the
 * new kernel's framebuffer (new pages, new size) reaches the same client
 * connection. */
static void reboot_keeps_client(void **state)
{
	struct xensim_fb_config c2 = {.width = 400, .height = 300, .depth = 32};
	struct xensim *s = sim_up();
	uint32_t *expect = calloc(640 * 480, 4);
	struct xen_sim_counters cnt;
	struct vnc_client v;
	struct vfbd_proc p;
	char hist[256];

	start(&p, create);
	boot_fb(s, 640, 480, 32);
	connect_client(&v, &p);
	draw(s, expect, 640, 640 * 4, 32, 0, 0, 640, 480, 1);
	xensim_fb_update(s, 0, 0, 640, 480);
	assert_int_equal(converge(&v, expect, 640, 480, 5000), 0);

	for (int round = 0; round < 2; round++) {
		assert_int_equal(xensim_fb_reboot(s, &c2), 0);
		assert_true(xensim_fb_wait_connected(s, 5000));
		draw(s, expect, 400, 400 * 4, 32, 0, 0, 400, 300, 20 + round);
		xensim_fb_update(s, 0, 0, 400, 300);
		assert_int_equal(converge(&v, expect, 400, 300, 5000), 0);
	}
	xensim_history(s, BE_VFB "/state", hist, sizeof(hist));
	print_message("backend states: %s\n", hist);
	assert_non_null(strstr(hist, "4,5,6,1,2,4"));
	/* The old kernel's pages are no longer mapped: the shared page and
	 * the new framebuffer only. */
	cnt = xensim_counters(s);
	assert_int_equal(cnt.ports_bound, 1);
	assert_true(cnt.pages_live <= 1 + (400 * 300 * 4 + 4095) / 4096);
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	cnt = xensim_counters(s);
	assert_int_equal(cnt.maps_live, 0);
	assert_int_equal(cnt.ports_bound, 0);
	free(expect);
	sim_down(s);
}

static size_t wait_events(struct xensim *s, size_t n, int ms)
{
	for (int waited = 0; waited < ms && xensim_kbd_count(s) < n;
	     waited += 5)
		sleep_ms(5);
	return xensim_kbd_count(s);
}

static void type_keysym(struct vnc_client *v, uint32_t ks, bool shift)
{
	if (shift)
		SendKeyEvent(v->cl, XK_Shift_L, TRUE);
	SendKeyEvent(v->cl, ks, TRUE);
	SendKeyEvent(v->cl, ks, FALSE);
	if (shift)
		SendKeyEvent(v->cl, XK_Shift_L, FALSE);
}

/* Text typed through VNC arrives as Linux keycodes, shift included. */
static void typed_text_reaches_ring(void **state)
{
	static const struct {
		uint32_t keysym;
		bool shift;
		uint16_t code;
	} text[] = {
		{XK_H, true, KEY_H},	      {XK_e, false, KEY_E},
		{XK_l, false, KEY_L},	      {XK_l, false, KEY_L},
		{XK_o, false, KEY_O},	      {XK_comma, false, KEY_COMMA},
		{XK_space, false, KEY_SPACE}, {XK_W, true, KEY_W},
		{XK_o, false, KEY_O},	      {XK_r, false, KEY_R},
		{XK_l, false, KEY_L},	      {XK_d, false, KEY_D},
		{XK_exclam, true, KEY_1},     {XK_Return, false, KEY_ENTER},
		{XK_9, false, KEY_9},	      {XK_minus, false, KEY_MINUS},
	};
	struct xensim_kbd_config kc = {.request_abs = true};
	union xenkbd_in_event ev[256];
	struct xensim *s = sim_up();
	struct vnc_client v;
	struct vfbd_proc p;
	size_t want = 0, n, k = 0;

	start(&p, create);
	boot_fb(s, 640, 480, 32);
	assert_int_equal(xensim_kbd_boot(s, &kc), 0);
	assert_true(xensim_kbd_wait_connected(s, 5000));
	connect_client(&v, &p);
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		type_keysym(&v, text[i].keysym, text[i].shift);
		want += text[i].shift ? 4 : 2;
	}
	assert_int_equal(wait_events(s, want, 5000), want);
	n = xensim_kbd_events(s, 0, ev, 256);
	assert_int_equal(n, want);
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		if (text[i].shift) {
			assert_int_equal(ev[k].type, XENKBD_TYPE_KEY);
			assert_int_equal(ev[k].key.keycode, KEY_LEFTSHIFT);
			assert_int_equal(ev[k].key.pressed, 1);
			k++;
		}
		assert_int_equal(ev[k].type, XENKBD_TYPE_KEY);
		assert_int_equal(ev[k].key.keycode, text[i].code);
		assert_int_equal(ev[k].key.pressed, 1);
		assert_int_equal(ev[k + 1].key.keycode, text[i].code);
		assert_int_equal(ev[k + 1].key.pressed, 0);
		k += 2;
		if (text[i].shift) {
			assert_int_equal(ev[k].key.keycode, KEY_LEFTSHIFT);
			assert_int_equal(ev[k].key.pressed, 0);
			k++;
		}
	}
	/* A key still held when the client goes is released. */
	SendKeyEvent(v.cl, XK_Control_L, TRUE);
	assert_int_equal(wait_events(s, want + 1, 5000), want + 1);
	vnc_close(&v);
	assert_int_equal(wait_events(s, want + 2, 5000), want + 2);
	n = xensim_kbd_events(s, want, ev, 2);
	assert_int_equal(ev[0].key.keycode, KEY_LEFTCTRL);
	assert_int_equal(ev[0].key.pressed, 1);
	assert_int_equal(ev[1].key.keycode, KEY_LEFTCTRL);
	assert_int_equal(ev[1].key.pressed, 0);
	assert_int_equal(xensim_kbd_bad(s), 0);
	assert_int_equal(vfbd_stop(&p), 0);
	sim_down(s);
}

/* A client that sends QEMU extended key events gives the physical key:
 * it reaches the guest whatever keysym came with it. */
static void qemu_extended_keys(void **state)
{
	struct xensim_kbd_config kc = {.request_abs = true};
	union xenkbd_in_event ev[4];
	struct xensim *s = sim_up();
	struct vnc_client v;
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, 320, 200, 32);
	assert_int_equal(xensim_kbd_boot(s, &kc), 0);
	assert_true(xensim_kbd_wait_connected(s, 5000));
	connect_client(&v, &p);
	/* The server announced the extension in its first update. */
	vnc_pump(&v, 100);
	/* XT scancode 0x1e is the A key; the keysym says 'q' (a French
	 * layout's A key, say). */
	assert_true(SendExtendedKeyEvent(v.cl, XK_q, 0x1e, TRUE));
	assert_true(SendExtendedKeyEvent(v.cl, XK_q, 0x1e, FALSE));
	/* An extended scancode: 0xe0 0x48 is the Up arrow. */
	assert_true(SendExtendedKeyEvent(v.cl, XK_Up, 0xe048, TRUE));
	assert_int_equal(wait_events(s, 3, 5000), 3);
	xensim_kbd_events(s, 0, ev, 3);
	assert_int_equal(ev[0].key.keycode, KEY_A);
	assert_int_equal(ev[0].key.pressed, 1);
	assert_int_equal(ev[1].key.keycode, KEY_A);
	assert_int_equal(ev[1].key.pressed, 0);
	assert_int_equal(ev[2].key.keycode, KEY_UP);
	vnc_close(&v);
	/* Released when the client goes. */
	assert_int_equal(wait_events(s, 4, 5000), 4);
	xensim_kbd_events(s, 3, ev, 1);
	assert_int_equal(ev[0].key.keycode, KEY_UP);
	assert_int_equal(ev[0].key.pressed, 0);
	assert_int_equal(vfbd_stop(&p), 0);
	sim_down(s);
}

/* Absolute positions scaled from the framebuffer (1024x768) to the range
 * the keyboard advertises (800x600); buttons and wheel as Linux codes. */
static void pointer_scaled(void **state)
{
	struct xensim_kbd_config kc = {.request_abs = true};
	union xenkbd_in_event ev[16];
	struct xensim *s = sim_up();
	struct vnc_client v;
	struct vfbd_proc p;
	size_t base;

	start(&p, create);
	boot_fb(s, 1024, 768, 32);
	assert_int_equal(xensim_kbd_boot(s, &kc), 0);
	assert_true(xensim_kbd_wait_connected(s, 5000));
	connect_client(&v, &p);
	assert_int_equal(v.cl->width, 1024);

	SendPointerEvent(v.cl, 512, 384, 0);
	assert_int_equal(wait_events(s, 1, 5000), 1);
	xensim_kbd_events(s, 0, ev, 1);
	assert_int_equal(ev[0].type, XENKBD_TYPE_POS);
	assert_int_equal(ev[0].pos.abs_x, 400);
	assert_int_equal(ev[0].pos.abs_y, 300);

	SendPointerEvent(v.cl, 1023, 767, rfbButton1Mask);
	assert_int_equal(wait_events(s, 3, 5000), 3);
	xensim_kbd_events(s, 1, ev, 2);
	assert_int_equal(ev[0].type, XENKBD_TYPE_POS);
	assert_int_equal(ev[0].pos.abs_x, 799);
	assert_int_equal(ev[0].pos.abs_y, 599);
	assert_int_equal(ev[1].type, XENKBD_TYPE_KEY);
	assert_int_equal(ev[1].key.keycode, BTN_LEFT);
	assert_int_equal(ev[1].key.pressed, 1);

	SendPointerEvent(v.cl, 1023, 767, rfbButton3Mask);
	assert_int_equal(wait_events(s, 5, 5000), 5);
	xensim_kbd_events(s, 3, ev, 2);
	assert_int_equal(ev[0].key.keycode, BTN_LEFT);
	assert_int_equal(ev[0].key.pressed, 0);
	assert_int_equal(ev[1].key.keycode, BTN_RIGHT);
	assert_int_equal(ev[1].key.pressed, 1);

	/* Wheel up then down, at the same place. */
	base = xensim_kbd_count(s);
	SendPointerEvent(v.cl, 1023, 767, rfbButton3Mask | rfbButton4Mask);
	SendPointerEvent(v.cl, 1023, 767, rfbButton3Mask);
	SendPointerEvent(v.cl, 1023, 767, rfbButton3Mask | rfbButton5Mask);
	SendPointerEvent(v.cl, 1023, 767, rfbButton3Mask);
	assert_int_equal(wait_events(s, base + 2, 5000), base + 2);
	xensim_kbd_events(s, base, ev, 2);
	assert_int_equal(ev[0].type, XENKBD_TYPE_POS);
	assert_int_equal(ev[0].pos.rel_z, -1);
	assert_int_equal(ev[1].pos.rel_z, 1);

	/* The held right button is released when the client goes. */
	base = xensim_kbd_count(s);
	vnc_close(&v);
	assert_int_equal(wait_events(s, base + 1, 5000), base + 1);
	xensim_kbd_events(s, base, ev, 1);
	assert_int_equal(ev[0].key.keycode, BTN_RIGHT);
	assert_int_equal(ev[0].key.pressed, 0);
	assert_int_equal(xensim_kbd_bad(s), 0);
	assert_int_equal(vfbd_stop(&p), 0);
	sim_down(s);
}

/* Without request-abs-pointer the pointer moves relatively. */
static void pointer_relative(void **state)
{
	struct xensim_kbd_config kc = {.request_abs = false,
				       .page_ref_only = true};
	union xenkbd_in_event ev[4];
	struct xensim *s = sim_up();
	struct vnc_client v;
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, 640, 480, 32);
	assert_int_equal(xensim_kbd_boot(s, &kc), 0);
	assert_true(xensim_kbd_wait_connected(s, 5000));
	connect_client(&v, &p);
	SendPointerEvent(v.cl, 100, 100, 0);
	SendPointerEvent(v.cl, 110, 95, 0);
	SendPointerEvent(v.cl, 90, 95, rfbButton2Mask);
	assert_int_equal(wait_events(s, 3, 5000), 3);
	xensim_kbd_events(s, 0, ev, 3);
	assert_int_equal(ev[0].type, XENKBD_TYPE_MOTION);
	assert_int_equal(ev[0].motion.rel_x, 10);
	assert_int_equal(ev[0].motion.rel_y, -5);
	assert_int_equal(ev[1].type, XENKBD_TYPE_MOTION);
	assert_int_equal(ev[1].motion.rel_x, -20);
	assert_int_equal(ev[1].motion.rel_y, 0);
	assert_int_equal(ev[2].key.keycode, BTN_MIDDLE);
	assert_int_equal(xensim_kbd_bad(s), 0);
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	sim_down(s);
}

/* --create-devices: libxl's layout and permissions, request-update and
 * feature-resize before Connected, console/vnc-port for `xl vncviewer`,
 * no password anywhere, everything removed on exit. */
static void devices_created_and_removed(void **state)
{
	struct xensim *s = sim_up();
	struct vfbd_proc p;
	char perms[64], hist[128], *v;
	const char *const pw[] = {"--create-devices", "--password-file",
				  "/tmp/vfbd-xen-test-pw", NULL};
	FILE *f = fopen("/tmp/vfbd-xen-test-pw", "w");

	assert_non_null(f);
	fputs("sekrit12\n", f);
	fclose(f);
	chmod("/tmp/vfbd-xen-test-pw", 0600);
	start(&p, pw);
	assert_int_equal(xensim_perms(s, FE_VFB, perms, sizeof(perms)), 0);
	assert_string_equal(perms, "n5,r0");
	assert_int_equal(xensim_perms(s, BE_VFB, perms, sizeof(perms)), 0);
	assert_string_equal(perms, "n0,r5");
	assert_int_equal(xensim_perms(s, FE_KBD, perms, sizeof(perms)), 0);
	assert_string_equal(perms, "n5,r0");
	assert_int_equal(xensim_perms(s, BE_KBD, perms, sizeof(perms)), 0);
	assert_string_equal(perms, "n0,r5");
	/* The guest cannot write our directory. */
	assert_int_equal(xensim_write(s, DOMID, BE_VFB "/state", "4"), -EACCES);
	v = xensim_read(s, FE_VFB "/backend");
	assert_string_equal(v, BE_VFB);
	free(v);

	boot_fb(s, 640, 480, 32);
	/* The keys a frontend reads on Connected were there before. */
	xensim_history(s, BE_VFB "/feature-resize", hist, sizeof(hist));
	assert_true(hist[0] == '1');
	xensim_history(s, BE_VFB "/request-update", hist, sizeof(hist));
	assert_string_equal(hist, "1");
	assert_true(xensim_fb_request_update(s));
	xensim_history(s, BE_VFB "/state", hist, sizeof(hist));
	assert_string_equal(hist, "1,2,4,4");

	{
		char port[16];

		snprintf(port, sizeof(port), "%d", p.port);
		assert_true(xensim_wait_value(
			s, "/local/domain/5/console/vnc-port", port, 5000));
		v = xensim_read(s, "/local/domain/5/console/vnc-listen");
		assert_string_equal(v, "127.0.0.1");
		free(v);
	}
	assert_false(xensim_exists(s, "/local/domain/5/console/vnc-pass"));
	assert_false(xensim_exists(s, BE_VFB "/vncpasswd"));

	assert_int_equal(vfbd_stop(&p), 0);
	assert_false(xensim_exists(s, FE_VFB));
	assert_false(xensim_exists(s, BE_VFB));
	assert_false(xensim_exists(s, FE_KBD));
	assert_false(xensim_exists(s, BE_KBD));
	assert_false(xensim_exists(s, "/local/domain/0/backend/vfb/5"));
	assert_false(xensim_exists(s, "/local/domain/5/console/vnc-port"));
	assert_int_equal(xensim_watch_count(s, "@releaseDomain"), 0);
	unlink("/tmp/vfbd-xen-test-pw");
	sim_down(s);
}

static int wait_exit(struct vfbd_proc *p, int ms)
{
	int status;

	for (int waited = 0; waited < ms; waited += 10) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		sleep_ms(10);
	}
	return -2;
}

/* `xl destroy`: vfbd exits 0 by itself and removes what it created. */
static void domain_destroyed_exits_0(void **state)
{
	struct xensim *s = sim_up();
	struct vnc_client v;
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, 320, 240, 32);
	connect_client(&v, &p);
	xensim_destroy_domain(s);
	assert_int_equal(wait_exit(&p, 5000), 0);
	assert_false(xensim_exists(s, BE_VFB));
	assert_false(xensim_exists(s, BE_KBD));
	assert_int_equal(xensim_counters(s).maps_live, 0);
	vnc_close(&v);
	sim_down(s);
}

/* The domid now names another domain: vfbd must not serve it. */
static void domid_reuse_exits_0(void **state)
{
	struct xensim *s = sim_up();
	struct vfbd_proc p;

	start(&p, create);
	boot_fb(s, 320, 240, 32);
	xensim_reuse_domid(s);
	assert_int_equal(wait_exit(&p, 5000), 0);
	sim_down(s);
}

/* Devices libxl made (vfb and vinput), a guest already waiting at
 * Initialised when vfbd starts, a mini-os frontend that waits for the
 * backend's Connected, and a restart of vfbd that finds the frontend
 * Connected and takes over. */
static void late_start_minios_and_restart(void **state)
{
	static const char *const vfb_keys[] = {"vnc", "1", "vnclisten",
					       "127.0.0.1", NULL};
	static const char *const kbd_keys[] = {"feature-abs-pointer",
					       "1",
					       "width",
					       "640",
					       "height",
					       "480",
					       NULL};
	struct xensim_fb_config c = {.profile = XENSIM_MINIOS,
				     .width = 320,
				     .height = 240,
				     .depth = 32};
	struct xensim *s = sim_up();
	uint32_t *expect = calloc(320 * 240, 4);
	struct vnc_client v;
	struct vfbd_proc p;
	uint32_t period = 99;

	xensim_libxl_device(s, "vfb", "vfb", 0, vfb_keys);
	xensim_libxl_device(s, "vinput", "vkbd", 0, kbd_keys);
	assert_int_equal(xensim_fb_boot(s, &c), 0);
	start(&p, NULL);
	assert_true(xensim_fb_wait_connected(s, 5000));
	/* Nobody watches: the guest is told not to bother refreshing. */
	sleep_ms(100);
	assert_true(xensim_fb_periods(s, &period) >= 1);
	assert_int_equal(period, 0);
	connect_client(&v, &p);
	draw(s, expect, 320, 320 * 4, 32, 0, 0, 320, 240, 4);
	xensim_fb_update(s, 0, 0, 320, 240);
	assert_int_equal(converge(&v, expect, 320, 240, 5000), 0);
	for (int i = 0; i < 100 && period == 0; i++) {
		vnc_pump(&v, 20);
		xensim_fb_periods(s, &period);
	}
	assert_true(period > 0);
	vnc_close(&v);

	/* A backend that dies leaves everything behind; the next one takes
	 * the connected frontend over. */
	kill(p.pid, SIGKILL);
	waitpid(p.pid, NULL, 0);
	p.pid = 0;
	start(&p, NULL);
	assert_true(vfbd_log_wait(
		&p, 5000, (const char *const[]){"xen-vfb-connected", NULL}));
	connect_client(&v, &p);
	draw(s, expect, 320, 320 * 4, 32, 0, 0, 320, 240, 5);
	xensim_fb_update(s, 0, 0, 320, 240);
	assert_int_equal(converge(&v, expect, 320, 240, 5000), 0);
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	/* Devices vfbd did not create stay. */
	assert_true(xensim_exists(s, BE_VFB));
	free(expect);
	sim_down(s);
}

/* A guest without feature-update: vfbd compares the frame on its own. */
static void no_update_events(void **state)
{
	struct xensim_fb_config c = {.width = 320,
				     .height = 240,
				     .depth = 32,
				     .no_feature_update = true};
	struct xensim *s = sim_up();
	uint32_t *expect = calloc(320 * 240, 4);
	struct vnc_client v;
	struct vfbd_proc p;
	char *req;

	start(&p, create);
	assert_int_equal(xensim_fb_boot(s, &c), 0);
	assert_true(xensim_fb_wait_connected(s, 5000));
	req = xensim_read(s, BE_VFB "/request-update");
	assert_null(req);
	connect_client(&v, &p);
	draw(s, expect, 320, 320 * 4, 32, 0, 0, 320, 240, 6);
	assert_int_equal(converge(&v, expect, 320, 240, 5000), 0);
	draw(s, expect, 320, 320 * 4, 32, 50, 60, 10, 10, 8);
	assert_int_equal(converge(&v, expect, 320, 240, 5000), 0);
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&p), 0);
	free(expect);
	sim_down(s);
}

/* Without Xen, --domid fails with exit 2 and says why. */
static void no_xen_exits_2(void **state)
{
	struct vfbd_proc p;
	const char *args[] = {"--domid", "1", NULL};
	char line[512] = "";
	FILE *f;

	if (access("/dev/xen/privcmd", F_OK) == 0)
		skip();
	unsetenv("VFBD_XEN_SIM");
	assert_int_equal(vfbd_start(&p, args), -1);
	f = fopen(p.log_path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	print_message("%s", line);
	assert_non_null(strstr(line, "no /dev/xen/privcmd"));
	assert_non_null(strstr(line, "not running in a Xen dom0"));
	{
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			const char *bin =
				getenv("VFBD") ? getenv("VFBD") : "build/vfbd";
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 2);
			execl(bin, bin, "--domid", "1", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(no_xen_exits_2, cleanup),
		cmocka_unit_test_teardown(frames_32bpp, cleanup),
		cmocka_unit_test_teardown(frames_16bpp, cleanup),
		cmocka_unit_test_teardown(every_client_format, cleanup),
		cmocka_unit_test_teardown(reboot_keeps_client, cleanup),
		cmocka_unit_test_teardown(typed_text_reaches_ring, cleanup),
		cmocka_unit_test_teardown(qemu_extended_keys, cleanup),
		cmocka_unit_test_teardown(pointer_scaled, cleanup),
		cmocka_unit_test_teardown(pointer_relative, cleanup),
		cmocka_unit_test_teardown(devices_created_and_removed, cleanup),
		cmocka_unit_test_teardown(domain_destroyed_exits_0, cleanup),
		cmocka_unit_test_teardown(domid_reuse_exits_0, cleanup),
		cmocka_unit_test_teardown(late_start_minios_and_restart,
					  cleanup),
		cmocka_unit_test_teardown(no_update_events, cleanup),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
