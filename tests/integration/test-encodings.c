/* The real vfbd serving the static demo to libvncclient in every encoding
 * vfbd has (raw, rre, hextile, zlib, zrle, trle) and every test pixel
 * format: the first full frame and the incremental updates that typing
 * causes must decode to exactly the pixels of the same demo rendered
 * here. vfbd's debug log proves which encoding it chose, and its byte
 * counts that the compressing ones compress. libvncclient's compression
 * level is changed mid-connection for Zlib and ZRLE, whose deflate
 * streams must carry on across the change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <X11/keysym.h>

#include "fb/src-demo.h"
#include "input/keymap.h"
#include "input/sink-text.h"
#include "tests/lib/local-demo.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"

#define W 1024
#define H 768

struct enc {
	const char *name; /* libvncclient's encodingsString */
	int number;	  /* what vfbd must choose */
};

static const struct enc encs[] = {
	{"raw", 0},  {"rre", 2},   {"hextile", 5},
	{"zlib", 6}, {"zrle", 16}, {"trle", 15},
};
#define N_ENCS (sizeof(encs) / sizeof(encs[0]))

/* ---- the same demo, fed the same input, rendered here --------------- */

static void local_init(struct local_demo *d)
{
	local_demo_init(d, W, H);
}

static const uint32_t *local_pixels(struct local_demo *d, size_t *stride_px)
{
	return local_demo_pixels(d, stride_px);
}

/* ---- comparing --------------------------------------------------------- */

/* libvncclient decodes 3-byte CPIXELs (ZRLE, TRLE at 32 bpp) by loading
 * four bytes, so the byte no channel uses holds whatever followed on the
 * wire: only the channel bits can be compared there. */
static bool padding_undefined(const struct enc *e, const struct vnc_format *f)
{
	return (e->number == 15 || e->number == 16) && f->bpp == 32;
}

/* libvncclient 0.9.14 turns a 3-byte CPIXEL into a pixel with shifts that
 * assume the client's byte order is the host's, so a big-endian 32 bpp
 * format with its channels in the low three bytes comes out garbled on a
 * little-endian host (the "Down" decoder). The bytes vfbd sends are those
 * of RFC 6143 7.7.5, checked in tests/unit/test-encoders.c; TigerVNC's
 * viewer reads them the same way. */
static bool libvncclient_cannot_decode(const struct enc *e,
				       const struct vnc_format *f)
{
	const union {
		uint32_t u;
		uint8_t b[4];
	} one = {1};
	uint32_t mask = (uint32_t)f->red_max << f->red_shift |
			(uint32_t)f->green_max << f->green_shift |
			(uint32_t)f->blue_max << f->blue_shift;

	return padding_undefined(e, f) && f->big_endian && one.b[0] == 1 &&
	       f->depth <= 24 && mask <= 0xffffffu && (mask & 0xff) != 0;
}

static long compare(const struct vnc_client *v, const uint32_t *expected,
		    size_t stride_px, bool channels_only, uint32_t *fx,
		    uint32_t *fy)
{
	const rfbPixelFormat *f = &v->cl->format;
	unsigned bytes = f->bitsPerPixel / 8u;
	uint32_t mask = (uint32_t)f->redMax << f->redShift |
			(uint32_t)f->greenMax << f->greenShift |
			(uint32_t)f->blueMax << f->blueShift;
	long bad = 0;

	if (!channels_only)
		return vnc_compare(v, expected, W, H, stride_px, fx, fy);
	if (v->cl->width != W || v->cl->height != H)
		return (long)W * H;
	for (uint32_t y = 0; y < H; y++) {
		for (uint32_t x = 0; x < W; x++) {
			const uint8_t *got = v->cl->frameBuffer +
					     ((size_t)y * W + x) * bytes;
			uint8_t want[4];
			uint32_t a = 0, b = 0;

			vnc_expected_bytes(f, expected[y * stride_px + x],
					   want);
			for (unsigned i = 0; i < bytes; i++) {
				unsigned sh =
					8 * (f->bigEndian ? bytes - 1 - i : i);

				a |= (uint32_t)want[i] << sh;
				b |= (uint32_t)got[i] << sh;
			}
			if ((a ^ b) & mask) {
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
static long converge(struct vnc_client *v, struct local_demo *d,
		     bool channels_only, int ms)
{
	size_t stride;
	const uint32_t *px = local_pixels(d, &stride);
	uint32_t fx = 0, fy = 0;
	long bad = 0;

	for (int waited = 0; waited <= ms; waited += 40) {
		bad = compare(v, px, stride, channels_only, &fx, &fy);
		if (bad == 0)
			return 0;
		if (!vnc_pump(v, 40))
			break;
	}
	print_message("%ld pixels differ, first at %u,%u\n", bad, fx, fy);
	return bad;
}

/* ---- input ------------------------------------------------------------- */

static void send_key(struct vnc_client *v, struct local_demo *d,
		     uint32_t keysym, bool down)
{
	SendKeyEvent(v->cl, keysym, down);
	input_sink_key(&d->text.sink, keymap_keysym_to_keycode(keysym), down);
}

static void tap(struct vnc_client *v, struct local_demo *d, uint32_t keysym)
{
	send_key(v, d, keysym, true);
	send_key(v, d, keysym, false);
}

static void type_string(struct vnc_client *v, struct local_demo *d,
			const char *s)
{
	for (; *s; s++) {
		bool upper = *s >= 'A' && *s <= 'Z';

		if (upper)
			send_key(v, d, XK_Shift_L, true);
		tap(v, d, (uint32_t)(unsigned char)*s);
		if (upper)
			send_key(v, d, XK_Shift_L, false);
	}
}

/* ---- vfbd's log ---------------------------------------------------------- */

/* The number after `key` on the last line of the log naming `event`; -1
 * if there is none. */
static long long last_field(struct vfbd_proc *p, const char *event,
			    const char *key)
{
	char line[1024];
	long long v = -1;
	FILE *f = fopen(p->log_path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *k;

		if (!strstr(line, event))
			continue;
		k = strstr(line, key);
		if (k)
			v = strtoll(k + strlen(key), NULL, 10);
	}
	fclose(f);
	return v;
}

/* Closes the client and returns the bytes vfbd sent it, from the
 * client-closed line it logs. */
static long long close_and_count(struct vfbd_proc *p, struct vnc_client *v,
				 int *closed)
{
	char want[32];
	const char *needles[] = {"client-closed", want, NULL};

	vnc_close(v);
	++*closed;
	snprintf(want, sizeof(want), "id=%d ", *closed);
	assert_true(vfbd_log_wait(p, 5000, needles));
	return last_field(p, "client-closed", "bytes_out=");
}

/* ---- tests --------------------------------------------------------------- */

static const char *const debug_args[] = {"--source", "demo:static",
					 "--log-level", "debug", NULL};

static void every_encoding_and_format(void **state)
{
	struct vfbd_proc p;
	struct local_demo d;
	long long bytes[N_ENCS][16];
	int closed = 0;
	unsigned skipped = 0;

	assert_true(vnc_format_count <= 16);
	assert_int_equal(vfbd_start(&p, debug_args), 0);
	local_init(&d);
	for (unsigned ei = 0; ei < N_ENCS; ei++) {
		const struct enc *e = &encs[ei];

		for (unsigned fi = 0; fi < vnc_format_count; fi++) {
			const struct vnc_format *f = &vnc_formats[fi];
			bool masked = padding_undefined(e, f);
			char text[16];
			struct vnc_client v;

			bytes[ei][fi] = -1;
			if (libvncclient_cannot_decode(e, f)) {
				skipped++;
				continue;
			}
			print_message("%s %s\n", e->name, f->name);
			assert_int_equal(
				vnc_connect(&v, p.port, f, NULL, e->name), 0);
			vnc_request(&v, false);
			assert_true(vnc_wait_frame(&v, 5000));
			assert_int_equal(
				last_field(&p, "client-encodings", "chosen="),
				e->number);
			assert_int_equal(converge(&v, &d, masked, 3000), 0);

			/* Typing changes a few cells: small incremental
			 * rects, some at odd positions and sizes. */
			snprintf(text, sizeof(text), "%c%u Ok",
				 'a' + (int)(ei * 7 + fi) % 26, ei * 10 + fi);
			type_string(&v, &d, text);
			if (fi % 3 == 2)
				tap(&v, &d, XK_Return);
			tap(&v, &d, XK_BackSpace);
			/* The pointer readout changes too, and a corner
			 * position reaches the last partial tiles. */
			SendPointerEvent(v.cl, W - 1 - fi, H - 1, 0);
			input_sink_pointer(&d.text.sink, W - 1 - fi, H - 1, 0);
			assert_int_equal(converge(&v, &d, masked, 5000), 0);
			bytes[ei][fi] = close_and_count(&p, &v, &closed);
		}
	}

	print_message("bytes sent per connection (first frame + typing):\n");
	for (unsigned fi = 0; fi < vnc_format_count; fi++) {
		print_message("  %-15s", vnc_formats[fi].name);
		for (unsigned ei = 0; ei < N_ENCS; ei++)
			print_message(" %s=%lld", encs[ei].name, bytes[ei][fi]);
		print_message("\n");
	}
	if (skipped)
		print_message("skipped %u combinations libvncclient cannot "
			      "decode on this host\n",
			      skipped);
	/* Every encoding but Raw beats Raw by far on this console. */
	for (unsigned fi = 0; fi < vnc_format_count; fi++)
		for (unsigned ei = 1; ei < N_ENCS; ei++)
			if (bytes[ei][fi] >= 0)
				assert_true(bytes[ei][fi] * 8 < bytes[0][fi]);

	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&p), 0);
}

/* Zlib, and ZRLE (libvncclient sends its level only when "zlib" is also
 * listed; vfbd takes the first), with the level moved to 0, 1 and 9 on a
 * live stream; level 0 must really store (about 3 MiB per 32 bpp frame)
 * and 9 really compress. */
static void compression_levels(void **state)
{
	static const char *const lists[] = {"zlib", "zrle zlib"};
	static const int levels[] = {0, 1, 9};
	struct vfbd_proc p;
	struct local_demo d;
	int closed = 0;

	assert_int_equal(vfbd_start(&p, debug_args), 0);
	local_init(&d);
	for (unsigned li = 0; li < 2; li++) {
		for (unsigned k = 0; k < 3; k++) {
			const struct vnc_format *f =
				&vnc_formats[k == 1 ? 4 : 0];
			bool zrle = li == 1;
			bool masked = zrle && f->bpp == 32;
			struct vnc_client v;
			long long sent;
			char text[8];

			print_message("%s level %d %s\n", lists[li], levels[k],
				      f->name);
			assert_int_equal(
				vnc_connect(&v, p.port, f, NULL, lists[li]), 0);
			vnc_request(&v, false);
			assert_true(vnc_wait_frame(&v, 5000));
			assert_int_equal(converge(&v, &d, masked, 3000), 0);

			/* Same format, new level: the stream goes on. */
			v.cl->appData.compressLevel = levels[k];
			assert_true(SetFormatAndEncodings(v.cl));
			assert_int_equal(
				last_field(&p, "client-encodings", "chosen="),
				zrle ? 16 : 6);
			snprintf(text, sizeof(text), "L%d ", levels[k]);
			type_string(&v, &d, text);
			assert_int_equal(converge(&v, &d, masked, 5000), 0);
			/* Two full frames at the new level. */
			for (int i = 0; i < 2; i++) {
				vnc_request(&v, false);
				assert_true(vnc_wait_frame(&v, 5000));
				assert_int_equal(converge(&v, &d, masked, 3000),
						 0);
			}
			sent = close_and_count(&p, &v, &closed);
			print_message("  bytes_out=%lld\n", sent);
			if (levels[k] == 0 && !zrle)
				assert_true(sent > 3LL * W * H * 4 / 2);
			if (levels[k] == 9)
				assert_true(sent < 200000);
		}
	}
	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_encoding_and_format),
		cmocka_unit_test(compression_levels),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
