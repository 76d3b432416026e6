/* xenguest-sim: a simulated Xen guest to look at with a real VNC viewer.
 *
 *   build/tools/xenguest-sim [--domid N] [--size WxH] [--depth 32|16]
 *                            [--no-boot]
 *
 * It creates a simulation directory (fb/xen-ops-sim.h), prints the line
 * that points vfbd at it, and waits for vfbd to create the guest's devices
 * (vfbd --create-devices). Its framebuffer frontend then draws moving
 * colour bars and echoes what is typed into its keyboard ring (and marks
 * where the pointer is), so a viewer connected to vfbd shows the whole
 * path: guest memory, vfb events, VNC, keys back into the guest. When
 * vfbd exits, the guest waits for the next one. With --no-boot the guest
 * never connects (clients see vfbd's "unavailable" screen). Ctrl-C stops
 * it.
 *
 * The simulation itself is the tests' (tests/lib/xensim.c), compiled in
 * here because tools link only libvfbd. */
#include "tests/lib/xensim-store.c"
#include "tests/lib/xensim.c"

#include <getopt.h>
#include <signal.h>

#include "fb/font.h"
#include "input/keymap.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct guest {
	struct xensim *s;
	uint32_t w, h, depth;
	char line[128];
	size_t line_len;
	bool shift;
	int32_t px, py;
	size_t seen;
	bool kbd;
};

static void put_pixel(struct guest *g, uint32_t x, uint32_t y, uint32_t c)
{
	uint8_t *fb = xensim_fb_mem(g->s);

	if (x >= g->w || y >= g->h)
		return;
	if (g->depth == 32) {
		memcpy(fb + ((size_t)y * g->w + x) * 4, &c, 4);
	} else {
		uint16_t p =
			(uint16_t)(((c >> 19) & 31) << 11 |
				   ((c >> 10) & 63) << 5 | ((c >> 3) & 31));

		memcpy(fb + ((size_t)y * g->w + x) * 2, &p, 2);
	}
}

static void draw_text(struct guest *g, uint32_t x, uint32_t y, const char *text)
{
	for (; *text; text++, x += FB_FONT_WIDTH) {
		const uint8_t *glyph = fb_font_glyph((unsigned char)*text);

		for (uint32_t gy = 0; gy < FB_FONT_HEIGHT; gy++)
			for (uint32_t gx = 0; gx < FB_FONT_WIDTH; gx++)
				put_pixel(g, x + gx, y + gy,
					  glyph[gy] & (0x80 >> gx) ? 0xffffff
								   : 0x000000);
	}
}

static void frame(struct guest *g, unsigned t)
{
	char status[96];

	for (uint32_t y = 0; y < g->h - 40; y++)
		for (uint32_t x = 0; x < g->w; x++) {
			uint32_t band = ((x + t * 4) / 40) % 6;
			static const uint32_t colours[6] = {0xff0000, 0xffff00,
							    0x00ff00, 0x00ffff,
							    0x0000ff, 0xff00ff};

			put_pixel(g, x, y,
				  colours[band] &
					  ((y * 255 / g->h) * 0x010101u |
					   0x202020));
		}
	for (uint32_t y = g->h - 40; y < g->h; y++)
		for (uint32_t x = 0; x < g->w; x++)
			put_pixel(g, x, y, 0);
	snprintf(status, sizeof(status),
		 "simulated guest %ux%u@%u  pointer %d,%d", g->w, g->h,
		 g->depth, g->px, g->py);
	draw_text(g, 4, g->h - 38, status);
	draw_text(g, 4, g->h - 20, g->line);
	for (int d = -5; d <= 5; d++) {
		put_pixel(g, (uint32_t)(g->px + d), (uint32_t)g->py, 0xffffff);
		put_pixel(g, (uint32_t)g->px, (uint32_t)(g->py + d), 0xffffff);
	}
	xensim_fb_update(g->s, 0, 0, (int32_t)g->w, (int32_t)g->h);
}

static void read_keys(struct guest *g)
{
	union xenkbd_in_event ev[64];
	size_t n = xensim_kbd_events(g->s, g->seen, ev, 64);

	g->seen += n;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type == XENKBD_TYPE_POS) {
			g->px = ev[i].pos.abs_x;
			g->py = ev[i].pos.abs_y;
		} else if (ev[i].type == XENKBD_TYPE_MOTION) {
			g->px += ev[i].motion.rel_x;
			g->py += ev[i].motion.rel_y;
		} else if (ev[i].type == XENKBD_TYPE_KEY) {
			uint32_t code = ev[i].key.keycode, ch;

			if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT) {
				g->shift = ev[i].key.pressed;
				continue;
			}
			if (!ev[i].key.pressed || code >= KEY_CNT)
				continue;
			if (code == KEY_BACKSPACE && g->line_len) {
				g->line[--g->line_len] = '\0';
				continue;
			}
			ch = keymap_keycode_to_char((uint16_t)code, g->shift);
			if (ch >= 0x20 && ch < 0x7f &&
			    g->line_len + 1 < sizeof(g->line) &&
			    (g->line_len + 2) * FB_FONT_WIDTH < g->w) {
				g->line[g->line_len++] = (char)ch;
				g->line[g->line_len] = '\0';
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"domid", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"depth", required_argument, NULL, 'b'},
		{"no-boot", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct guest g = {.w = 800, .h = 600, .depth = 32};
	unsigned domid = 5;
	bool boot = true;
	char fe[96], kfe[96];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'd')
			domid = (unsigned)atoi(optarg);
		else if (opt == 's' &&
			 sscanf(optarg, "%ux%u", &g.w, &g.h) == 2 &&
			 g.w >= 64 && g.h >= 64 && g.w <= 4096 && g.h <= 4096)
			continue;
		else if (opt == 'n')
			boot = false;
		else if (opt == 'b' &&
			 (atoi(optarg) == 32 || atoi(optarg) == 16))
			g.depth = (uint32_t)atoi(optarg);
		else {
			fprintf(stderr, "usage: xenguest-sim [--domid N] "
					"[--size WxH] [--depth 32|16] "
					"[--no-boot]\n");
			return 1;
		}
	}
	g.s = xensim_new(domid,
			 (unsigned)(64 + (size_t)g.w * g.h * 4 / 4096 * 2));
	if (!g.s)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("simulated Xen in %s; run:\n  VFBD_XEN_SIM=%s vfbd --domid %u "
	       "--create-devices --xen-size %ux%u\n",
	       xensim_dir(g.s), xensim_dir(g.s), domid, g.w, g.h);
	fflush(stdout);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vfb/0", domid);
	snprintf(kfe, sizeof(kfe), "/local/domain/%u/device/vkbd/0", domid);
	while (!stop) {
		struct xensim_fb_config c = {
			.width = g.w, .height = g.h, .depth = g.depth};
		struct xensim_kbd_config kc = {.request_abs = true};

		if (!boot || !xensim_exists(g.s, fe)) {
			usleep(100000);
			continue;
		}
		if (xensim_fb_boot(g.s, &c) < 0 ||
		    !xensim_fb_wait_connected(g.s, 10000)) {
			fprintf(stderr, "xenguest-sim: no backend connected\n");
			xensim_forget_devices(g.s);
			sleep(1);
			continue;
		}
		g.kbd = xensim_exists(g.s, kfe) &&
			xensim_kbd_boot(g.s, &kc) == 0;
		g.seen = 0;
		printf("connected%s\n", g.kbd ? " (with keyboard)" : "");
		fflush(stdout);
		for (unsigned t = 0; !stop && xensim_exists(g.s, fe); t++) {
			read_keys(&g);
			frame(&g, t);
			usleep(50000);
		}
		printf("devices gone; waiting for the next vfbd\n");
		fflush(stdout);
		xensim_forget_devices(g.s);
	}
	xensim_free(g.s);
	return 0;
}
