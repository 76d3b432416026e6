/* The real vfbd serving the static demo over Tight to libvncclient (the
 * reference decoder, built with libjpeg on Debian):
 *   - lossless (no JPEG quality level sent) decodes to exactly the
 *     source's pixels in every pixel format, for the full frame and for
 *     the incremental updates that typing causes;
 *   - with JPEG at quality 9 and 1 (32 bpp), only the demo's colour strip
 *     (ramps and hue wheel: many colours) is lossy, within a stated
 *     error; its flat areas, text and bars stay exact.
 * The expected frames are rendered in-process by the same demo code fed
 * the same keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <turbojpeg.h>
#include <X11/keysym.h>

#include "fb/src-demo.h"
#include "fb/src-shm.h"
#include "input/keymap.h"
#include "input/sink-text.h"
#include "tests/lib/local-demo.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"
#include "vfbd/base/bytes.h"

#define W 1024u
#define H 768u

static void local_init(struct local_demo *d)
{
	local_demo_init(d, W, H);
}

static const uint32_t *local_pixels(struct local_demo *d, size_t *stride_px)
{
	return local_demo_pixels(d, stride_px);
}

static bool libvncclient_older_than(int major, int minor, int patch)
{
	int v[3] = {atoi(LIBVNCSERVER_VERSION_MAJOR),
		    atoi(LIBVNCSERVER_VERSION_MINOR),
		    atoi(LIBVNCSERVER_VERSION_PATCHLEVEL)};
	int w[3] = {major, minor, patch};

	for (int i = 0; i < 3; i++)
		if (v[i] != w[i])
			return v[i] < w[i];
	return false;
}

static bool tpixel24(const struct vnc_format *f)
{
	return f->bpp == 32 && f->depth == 24 && f->red_max == 255 &&
	       f->green_max == 255 && f->blue_max == 255;
}

/* libvncclient before 0.9.15 (Debian 12 ships 0.9.14) stores the pixels
 * it builds from Tight's 3-byte TPIXEL (fill, copy, palette, gradient) in
 * host byte order, whatever the format's byte order; fixed upstream by
 * commit de7e92b2 "libvncclient: fix tight decoding endianness issues".
 * For those formats the test expects exactly those byte-swapped pixels,
 * which still checks every RGB value to the bit. */
static bool client_swaps_tpixel24(const struct vnc_format *f)
{
	bool host_be = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

	return libvncclient_older_than(0, 9, 15) && tpixel24(f) &&
	       (f->big_endian != 0) != host_be;
}

/* Tight JPEG formats libvncclient decodes right. Before 0.9.15 it picks
 * libjpeg's output layout from the shifts and gets only red at 16 or 0
 * (with green at 8) right; with the fills above it leaves little-endian
 * RGB and BGR. */
static bool client_jpeg_ok(const struct vnc_format *f)
{
	if (!tpixel24(f))
		return false;
	if (!libvncclient_older_than(0, 9, 15))
		return true;
	return !client_swaps_tpixel24(f) && f->green_shift == 8 &&
	       ((f->red_shift == 16 && f->blue_shift == 0) ||
		(f->red_shift == 0 && f->blue_shift == 16));
}

/* vnc_compare, with the byte swap above where libvncclient does it. */
static long compare(const struct vnc_client *v, const struct vnc_format *f,
		    const uint32_t *px, size_t stride, uint32_t *fx,
		    uint32_t *fy)
{
	const rfbClient *cl = v->cl;
	int bytes = cl->format.bitsPerPixel / 8;
	bool swap = client_swaps_tpixel24(f);
	long bad = 0;

	if (!swap)
		return vnc_compare(v, px, W, H, stride, fx, fy);
	if ((uint32_t)cl->width != W || (uint32_t)cl->height != H)
		return (long)W * H;
	for (uint32_t y = 0; y < H; y++) {
		for (uint32_t x = 0; x < W; x++) {
			uint8_t want[4], swapped[4];
			const uint8_t *got =
				cl->frameBuffer + ((size_t)y * W + x) * bytes;

			vnc_expected_bytes(&cl->format, px[y * stride + x],
					   want);
			for (int i = 0; i < bytes; i++)
				swapped[i] = want[bytes - 1 - i];
			if (memcmp(swapped, got, (size_t)bytes) != 0) {
				if (bad == 0) {
					*fx = x;
					*fy = y;
				}
				bad++;
			}
		}
	}
	return bad;
}

/* Pumps the client until its framebuffer equals the local demo. */
static long converge(struct vnc_client *v, const struct vnc_format *f,
		     struct local_demo *d, int ms)
{
	size_t stride;
	const uint32_t *px = local_pixels(d, &stride);
	uint32_t fx = 0, fy = 0;
	long bad = 0;

	for (int waited = 0; waited <= ms; waited += 50) {
		bad = compare(v, f, px, stride, &fx, &fy);
		if (bad == 0)
			return 0;
		vnc_pump(v, 50);
	}
	print_message("%ld pixels differ, first at %u,%u\n", bad, fx, fy);
	return bad;
}

static void send_key(struct vnc_client *v, struct local_demo *d,
		     uint32_t keysym, bool down)
{
	SendKeyEvent(v->cl, keysym, down);
	input_sink_key(&d->text.sink, keymap_keysym_to_keycode(keysym), down);
}

static void type_string(struct vnc_client *v, struct local_demo *d,
			const char *s)
{
	for (; *s; s++) {
		bool upper = *s >= 'A' && *s <= 'Z';

		if (upper)
			send_key(v, d, XK_Shift_L, true);
		send_key(v, d, (uint32_t)(unsigned char)*s, true);
		send_key(v, d, (uint32_t)(unsigned char)*s, false);
		if (upper)
			send_key(v, d, XK_Shift_L, false);
	}
}

/* libvncclient before 0.9.15 never frees its JPEG decoder (upstream
 * commit 900758ea); free it here so ASan's leak check stays meaningful. */
static void close_client(struct vnc_client *v)
{
	if (v->cl && v->cl->tjhnd) {
		tjDestroy(v->cl->tjhnd);
		v->cl->tjhnd = NULL;
	}
	vnc_close(v);
}

/* Connects with Tight and the given levels, and waits for a full frame
 * encoded with them. libvncclient's own first request goes out with its
 * defaults (JPEG quality 5), so that frame is drained first. */
static void connect_tight(struct vnc_client *v, int port,
			  const struct vnc_format *f, int compress, int quality)
{
	assert_int_equal(vnc_connect(v, port, f, NULL, "tight"), 0);
	assert_true(vnc_wait_frame(v, 5000));
	assert_int_equal(vnc_tight_set_levels(v, compress, quality), 0);
	vnc_request(v, false);
	assert_true(vnc_wait_frame(v, 5000));
}

/* The vfbd under test; the teardown stops it when a test failed. */
static struct vfbd_proc proc;

static int stop_vfbd(void **state)
{
	if (proc.pid > 0)
		vfbd_stop(&proc);
	return 0;
}

static void lossless_every_format(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	struct local_demo d;

	assert_int_equal(vfbd_start(&proc, args), 0);
	local_init(&d);
	for (unsigned i = 0; i < vnc_format_count; i++) {
		const struct vnc_format *f = &vnc_formats[i];
		struct vnc_client v;
		size_t stride;
		const uint32_t *px = local_pixels(&d, &stride);
		uint32_t fx = 0, fy = 0;
		long bad;
		char line[40];

		/* Each format also gets a different compression level. */
		connect_tight(&v, proc.port, f, (int)(i % 10), -1);
		if (client_swaps_tpixel24(f))
			print_message("%s: expecting libvncclient %s's host "
				      "byte order for Tight TPIXELs\n",
				      f->name, LIBVNCSERVER_VERSION);
		bad = compare(&v, f, px, stride, &fx, &fy);
		if (bad)
			print_message("%s: %ld pixels differ, first %u,%u\n",
				      f->name, bad, fx, fy);
		assert_int_equal(bad, 0);

		/* Typing: small incremental updates through the same
		 * zlib streams. */
		snprintf(line, sizeof(line), "Tight %s ok!", f->name);
		type_string(&v, &d, line);
		send_key(&v, &d, XK_BackSpace, true);
		send_key(&v, &d, XK_BackSpace, false);
		send_key(&v, &d, XK_Return, true);
		send_key(&v, &d, XK_Return, false);
		bad = converge(&v, f, &d, 5000);
		if (bad)
			print_message("%s: after typing\n", f->name);
		assert_int_equal(bad, 0);
		close_client(&v);
	}
	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&proc), 0);
}

/* A channel of a 32 bpp client pixel. */
static unsigned channel(const rfbPixelFormat *f, const uint8_t *b, int shift)
{
	uint32_t v = f->bigEndian
			     ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
				       (uint32_t)b[2] << 8 | b[3]
			     : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 |
				       (uint32_t)b[1] << 8 | b[0];

	return v >> shift & 0xff;
}

struct jpeg_error {
	unsigned max;	     /* largest channel error in the strip */
	double mean;	     /* mean channel error over the strip */
	double frame_mean;   /* mean channel error over the frame */
	long strip_differ;   /* strip pixels not exact */
	long outside_differ; /* pixels outside the strip not exact */
};

static struct jpeg_error measure(const struct vnc_client *v, const uint32_t *px,
				 size_t stride, uint32_t strip_y,
				 uint32_t strip_h)
{
	const rfbClient *cl = v->cl;
	const rfbPixelFormat *f = &cl->format;
	struct jpeg_error r = {0};
	uint64_t strip_sum = 0, sum = 0;

	for (uint32_t y = 0; y < H; y++) {
		bool in_strip = y >= strip_y && y < strip_y + strip_h;

		for (uint32_t x = 0; x < W; x++) {
			const uint8_t *b =
				cl->frameBuffer + ((size_t)y * W + x) * 4;
			uint32_t want = px[y * stride + x];
			unsigned e[3] = {
				(unsigned)abs((int)channel(f, b, f->redShift) -
					      (int)(want >> 16 & 0xff)),
				(unsigned)abs(
					(int)channel(f, b, f->greenShift) -
					(int)(want >> 8 & 0xff)),
				(unsigned)abs((int)channel(f, b, f->blueShift) -
					      (int)(want & 0xff)),
			};
			unsigned pe = e[0] + e[1] + e[2];

			sum += pe;
			if (!in_strip) {
				r.outside_differ += pe != 0;
				continue;
			}
			strip_sum += pe;
			r.strip_differ += pe != 0;
			for (int c = 0; c < 3; c++)
				r.max = e[c] > r.max ? e[c] : r.max;
		}
	}
	r.mean = (double)strip_sum / (3.0 * W * strip_h);
	r.frame_mean = (double)sum / (3.0 * W * H);
	return r;
}

/* A photo-like frame: rows PHOTO_Y.. PHOTO_Y + PHOTO_H hold smooth
 * shading plus grain (what a gradient filter cannot predict, where JPEG
 * pays), the rest is flat colour that must stay exact. */
#define PHOTO_Y 200u
#define PHOTO_H 320u

static uint32_t photo_pixel(uint32_t x, uint32_t y)
{
	uint32_t seed = x * 73856093u ^ y * 19349663u;
	uint32_t c = 0;

	if (y < PHOTO_Y || y >= PHOTO_Y + PHOTO_H)
		return y < PHOTO_Y ? 0x203040u : 0xd0c0a0u;
	for (int ch = 0; ch < 3; ch++) {
		double v = 128 + 70 * sin(x / (17.0 + ch * 5)) *
					 cos(y / (23.0 + ch * 3));
		int grain = (int)((seed >> (ch * 8)) & 31) - 16;
		int n = (int)v + grain;

		c |= (uint32_t)(n < 0 ? 0 : n > 255 ? 255 : n) << (16 - 8 * ch);
	}
	return c;
}

/* Writes the photo frame as an shm file (docs/shm.md) at `path`. */
static uint32_t *write_photo(const char *path)
{
	size_t len = 4096 + (size_t)W * H * 4;
	uint32_t *px = malloc((size_t)W * H * 4);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t *m;

	assert_non_null(px);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	memcpy(m, FB_SHM_MAGIC, 8);
	put_le32(m + FB_SHM_OFF_VERSION, FB_SHM_VERSION);
	put_le32(m + FB_SHM_OFF_HEADER_BYTES, 4096);
	put_le32(m + FB_SHM_OFF_WIDTH, W);
	put_le32(m + FB_SHM_OFF_HEIGHT, H);
	put_le32(m + FB_SHM_OFF_STRIDE, W * 4);
	put_le32(m + FB_SHM_OFF_FORMAT, FB_SHM_FORMAT_XRGB8888);
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			px[y * W + x] = photo_pixel(x, y);
			put_le32(m + 4096 + ((size_t)y * W + x) * 4,
				 px[y * W + x]);
		}
	put_le64(m + FB_SHM_OFF_FRAME, 2);
	munmap(m, len);
	return px;
}

/* Bounds for the grainy shading (measured with libjpeg-turbo 2.1: max 23,
 * mean 2.8 at level 9; mean 7.9 at level 1), at libjpeg quality 95 without
 * chroma subsampling (level 9) and quality 25 with 4:2:2 (level 1): the grain
 * is what JPEG smooths away first, so the mean is what tells. */
#define MAX_ERR_Q9  32u
#define MEAN_ERR_Q9 4.0
#define MEAN_ERR_Q1 12.0

static void jpeg_within_bounds_flat_exact(void **state)
{
	char path[] = "/tmp/vfbd-tight-photo-XXXXXX";
	char src[64];
	const char *args[] = {"--source", src, NULL};
	static const int qualities[] = {9, 1};
	uint32_t *px;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	px = write_photo(path);
	snprintf(src, sizeof(src), "shm:%s", path);
	assert_int_equal(vfbd_start(&proc, args), 0);
	for (unsigned i = 0; i < vnc_format_count; i++) {
		if (!client_jpeg_ok(&vnc_formats[i]))
			continue;
		for (size_t qi = 0; qi < 2; qi++) {
			int q = qualities[qi];
			struct vnc_client v;
			struct jpeg_error e;

			connect_tight(&v, proc.port, &vnc_formats[i], 6, q);
			e = measure(&v, px, W, PHOTO_Y, PHOTO_H);
			print_message("%s q=%d: photo %ux%u: max %u, mean %.2f "
				      "(%ld px lossy); %ld px differ outside\n",
				      vnc_formats[i].name, q, W, PHOTO_H, e.max,
				      e.mean, e.strip_differ, e.outside_differ);
			/* JPEG was used where the colours are many... */
			assert_true(e.strip_differ > 0);
			/* ...and nowhere else. */
			assert_int_equal(e.outside_differ, 0);
			if (q == 9) {
				assert_true(e.max <= MAX_ERR_Q9);
				assert_true(e.mean <= MEAN_ERR_Q9);
			} else {
				assert_true(e.mean <= MEAN_ERR_Q1);
			}
			close_client(&v);
		}
	}
	free(px);
	unlink(path);
	assert_int_equal(vfbd_stop(&proc), 0);
}

/* The demo's colour strip is many colours but perfectly smooth: the
 * gradient filter codes it in fewer bytes than JPEG, so even a client
 * asking for JPEG gets it exact. */
static void smooth_ramps_stay_lossless_with_jpeg(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	struct local_demo d;
	struct vnc_client v;
	size_t stride;
	const uint32_t *px;
	uint32_t fx = 0, fy = 0;

	assert_int_equal(vfbd_start(&proc, args), 0);
	local_init(&d);
	px = local_pixels(&d, &stride);
	connect_tight(&v, proc.port, &vnc_formats[0], 6, 9);
	assert_int_equal(vnc_compare(&v, px, W, H, stride, &fx, &fy), 0);
	close_client(&v);
	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&proc), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(lossless_every_format, stop_vfbd),
		cmocka_unit_test_teardown(jpeg_within_bounds_flat_exact,
					  stop_vfbd),
		cmocka_unit_test_teardown(smooth_ramps_stay_lossless_with_jpeg,
					  stop_vfbd),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
