/* xt-guest: the domU side of the Xen end-to-end test (tests/xen/). Built
 * statically on the host and run by the domU's /init with the console
 * (hvc0) as stdin and stdout; everything it prints lands in dom0's
 * xenconsoled log of the guest, which the test reads.
 *
 *  - waits for /dev/fb0 (xen-fbfront), keeps fbcon off it, and draws the
 *    known image (pattern.h) with seed 1 in the mode the backend offered;
 *  - echoes every evdev event of every input device (xen-kbdfront's
 *    keyboard and pointer) as "DOMU-KEY code=C value=V" or
 *    "DOMU-PTR ...", fills the key box with the key's colour on each
 *    press, and prints the typed text as "DOMU-LINE TEXT" on Enter;
 *  - reads commands from the console, one a line:
 *      resize W H SEED   change the mode (FBIOPUT_VSCREENINFO) and draw
 *      draw SEED         draw the image again in the current mode
 *    and answers "DOMU-MARK resized ..." / "DOMU-MARK drawn ..." or
 *    "DOMU-ERR ...".
 * Status lines start with DOMU- so the test can grep them out of the
 * kernel's own console messages. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/input.h>
#include <linux/kd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pattern.h"

#define MAX_INPUTS   8
#define MAX_PTR_ECHO 200

static int fb_fd = -1;
static uint8_t *frame;
static size_t frame_len;
static struct fb_var_screeninfo var;
static struct fb_fix_screeninfo fix;
static int console_fd = 0;

static struct {
	int fd;
	int num;
} inputs[MAX_INPUTS];
static unsigned n_inputs;
static unsigned ptr_echoed;

static char line[128];
static size_t line_len;
static int shift_down;

static double uptime(void)
{
	double up = 0;
	FILE *f = fopen("/proc/uptime", "r");

	if (f) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	return up;
}

/* Keeps the kernel's text console off the framebuffer: unbinds fbcon
 * and puts the VT in graphics mode (what X servers do), so no cursor
 * blinks into the known image. */
static void quiet_fbcon(void)
{
	static int tty_fd = -1;
	DIR *d = opendir("/sys/class/vtconsole");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[300], name[128] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/vtconsole/%s/name",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(name, sizeof(name), f))
			name[0] = '\0';
		fclose(f);
		if (!strstr(name, "frame buffer"))
			continue;
		snprintf(path, sizeof(path), "/sys/class/vtconsole/%s/bind",
			 e->d_name);
		f = fopen(path, "w");
		if (f) {
			fputs("0\n", f);
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	if (tty_fd < 0)
		tty_fd = open("/dev/tty0", O_RDWR | O_NOCTTY);
	if (tty_fd >= 0 && ioctl(tty_fd, KDSETMODE, KD_GRAPHICS) < 0)
		printf("DOMU-NOTE KDSETMODE: %s\n", strerror(errno));
}

static int write_all(const uint8_t *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fb_fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static uint32_t to_native(uint32_t rgb)
{
	return (rgb >> 16 & 0xffu) << var.red.offset |
	       (rgb >> 8 & 0xffu) << var.green.offset |
	       (rgb & 0xffu) << var.blue.offset;
}

static void put(unsigned x, unsigned y, uint32_t rgb)
{
	uint32_t v = to_native(rgb);

	memcpy(frame + (size_t)y * fix.line_length + (size_t)x * 4, &v, 4);
}

/* Reads the current mode; 0 or -1 with a message printed. */
static int get_mode(void)
{
	if (ioctl(fb_fd, FBIOGET_VSCREENINFO, &var) < 0 ||
	    ioctl(fb_fd, FBIOGET_FSCREENINFO, &fix) < 0) {
		printf("DOMU-ERR fb ioctl: %s\n", strerror(errno));
		return -1;
	}
	if (var.bits_per_pixel != 32) {
		printf("DOMU-ERR fb depth %u, only 32 is drawn\n",
		       var.bits_per_pixel);
		return -1;
	}
	return 0;
}

static int draw(unsigned seed)
{
	size_t len;

	if (get_mode() < 0)
		return -1;
	len = (size_t)fix.line_length * var.yres;
	if (len != frame_len) {
		free(frame);
		frame = calloc(1, len);
		frame_len = frame ? len : 0;
		if (!frame) {
			printf("DOMU-ERR out of memory\n");
			return -1;
		}
	}
	memset(frame, 0, len);
	for (unsigned y = 0; y < var.yres; y++)
		for (unsigned x = 0; x < var.xres; x++)
			put(x, y, xt_pixel(x, y, var.xres, var.yres, seed));
	if (write_all(frame, len, 0) < 0) {
		printf("DOMU-ERR write /dev/fb0: %s\n", strerror(errno));
		return -1;
	}
	printf("DOMU-MARK drawn seed=%u mode=%ux%u stride=%u uptime=%.2f\n",
	       seed, var.xres, var.yres, fix.line_length, uptime());
	return 0;
}

static void fill_keybox(unsigned code)
{
	unsigned x1 = XT_KEYBOX_X + XT_KEYBOX_SIZE;
	unsigned y1 = XT_KEYBOX_Y + XT_KEYBOX_SIZE;

	if (!frame || x1 > var.xres || y1 > var.yres)
		return;
	for (unsigned y = XT_KEYBOX_Y; y < y1; y++)
		for (unsigned x = XT_KEYBOX_X; x < x1; x++)
			put(x, y, xt_keybox(code));
	if (write_all(frame + (size_t)XT_KEYBOX_Y * fix.line_length,
		      (size_t)XT_KEYBOX_SIZE * fix.line_length,
		      (off_t)XT_KEYBOX_Y * fix.line_length) < 0)
		printf("DOMU-ERR write /dev/fb0: %s\n", strerror(errno));
}

static void resize(unsigned w, unsigned h, unsigned seed)
{
	struct fb_var_screeninfo v;

	if (get_mode() < 0)
		return;
	v = var;
	v.xres = v.xres_virtual = w;
	v.yres = v.yres_virtual = h;
	v.xoffset = v.yoffset = 0;
	v.activate = FB_ACTIVATE_NOW;
	if (ioctl(fb_fd, FBIOPUT_VSCREENINFO, &v) < 0) {
		printf("DOMU-ERR resize %ux%u: %s\n", w, h, strerror(errno));
		return;
	}
	if (draw(seed) == 0)
		printf("DOMU-MARK resized mode=%ux%u seed=%u uptime=%.2f\n",
		       var.xres, var.yres, seed, uptime());
}

static void command(char *cmd)
{
	unsigned w, h, seed;

	if (sscanf(cmd, "resize %u %u %u", &w, &h, &seed) == 3)
		resize(w, h, seed);
	else if (sscanf(cmd, "draw %u", &seed) == 1)
		draw(seed);
	else if (cmd[0])
		printf("DOMU-ERR unknown command \"%s\"\n", cmd);
}

static void scan_inputs(void)
{
	for (int num = 0; num < 32 && n_inputs < MAX_INPUTS; num++) {
		char path[64], name[128] = "?";
		unsigned i;
		int fd;

		for (i = 0; i < n_inputs; i++)
			if (inputs[i].num == num)
				break;
		if (i < n_inputs)
			continue;
		snprintf(path, sizeof(path), "/dev/input/event%d", num);
		fd = open(path, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			continue;
		ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
		inputs[n_inputs].fd = fd;
		inputs[n_inputs].num = num;
		n_inputs++;
		printf("DOMU-MARK input event%d name=\"%s\" uptime=%.2f\n", num,
		       name, uptime());
	}
}

static void key_event(unsigned code, int value)
{
	char c;

	printf("DOMU-KEY code=%u value=%d\n", code, value);
	if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT) {
		shift_down = value != 0;
		return;
	}
	if (value != 1)
		return;
	fill_keybox(code);
	if (code == KEY_ENTER) {
		line[line_len] = '\0';
		printf("DOMU-LINE %s\n", line);
		line_len = 0;
		return;
	}
	c = xt_key_to_char(code, shift_down);
	if (c && line_len + 1 < sizeof(line))
		line[line_len++] = c;
}

static void read_input(int fd)
{
	struct input_event ev[16];
	ssize_t n;

	while ((n = read(fd, ev, sizeof(ev))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
			if (ev[i].type == EV_KEY) {
				key_event(ev[i].code, ev[i].value);
			} else if ((ev[i].type == EV_REL ||
				    ev[i].type == EV_ABS) &&
				   ptr_echoed < MAX_PTR_ECHO) {
				ptr_echoed++;
				printf("DOMU-PTR type=%u code=%u value=%d\n",
				       ev[i].type, ev[i].code, ev[i].value);
			}
		}
	}
}

/* Console input: split into lines (the tty may hand over partial or
 * several lines at once, with \r\n or \n). */
static void read_console(void)
{
	static char buf[256];
	static size_t len;
	ssize_t n = read(console_fd, buf + len, sizeof(buf) - 1 - len);
	char *nl;

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		console_fd = -1; /* no console input: stop polling it */
		return;
	}
	if (n < 0)
		return;
	len += (size_t)n;
	buf[len] = '\0';
	while ((nl = strpbrk(buf, "\r\n"))) {
		*nl = '\0';
		command(buf);
		len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, len + 1);
	}
	if (len == sizeof(buf) - 1)
		len = 0; /* a line too long for any command */
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; (fb_fd = open("/dev/fb0", O_RDWR)) < 0; i++) {
		if (i == 600) {
			printf("DOMU-ERR no /dev/fb0 after 300 s\n");
			return 1;
		}
		usleep(500000);
	}
	printf("DOMU-MARK fb0 uptime=%.2f\n", uptime());
	quiet_fbcon();
	draw(1);
	for (;;) {
		struct pollfd p[MAX_INPUTS + 1];

		scan_inputs();
		p[0].fd = console_fd;
		p[0].events = POLLIN;
		for (unsigned i = 0; i < n_inputs; i++) {
			p[i + 1].fd = inputs[i].fd;
			p[i + 1].events = POLLIN;
		}
		if (poll(p, n_inputs + 1, 1000) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_console();
		for (unsigned i = 0; i < n_inputs; i++)
			if (p[i + 1].revents & POLLIN)
				read_input(inputs[i].fd);
	}
}
