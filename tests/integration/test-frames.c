/* The real vfbd serving the static demo to libvncclient: every pixel
 * format decodes to exactly the source's pixels; typing and clicking reach
 * the demo and come back as incremental updates. The expected frames are
 * rendered in-process by the same demo code fed the same input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <X11/keysym.h>

#include "fb/src-demo.h"
#include "input/keymap.h"
#include "input/sink-text.h"
#include "tests/lib/local-demo.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"

#define W 1024u
#define H 768u

/* The vfbd of the running test: stopped by the teardown when an
 * assertion ends the test early (cmocka jumps past the test's own stop). */
static struct vfbd_proc proc;

static int stop_vfbd(void **state)
{
	if (proc.pid > 0)
		vfbd_stop(&proc);
	return 0;
}

static void local_init(struct local_demo *d)
{
	local_demo_init(d, W, H);
}

static const uint32_t *local_pixels(struct local_demo *d, size_t *stride_px)
{
	return local_demo_pixels(d, stride_px);
}

/* Pumps the client until its framebuffer equals the local demo. */
static long converge(struct vnc_client *v, struct local_demo *d, int ms)
{
	size_t stride;
	const uint32_t *px = local_pixels(d, &stride);
	uint32_t fx = 0, fy = 0;
	long bad = 0;

	for (int waited = 0; waited <= ms; waited += 50) {
		bad = vnc_compare(v, px, 1024, 768, stride, &fx, &fy);
		if (bad == 0)
			return 0;
		vnc_pump(v, 50);
	}
	print_message("%ld pixels differ, first at %u,%u\n", bad, fx, fy);
	return bad;
}

static void full_frame_in_every_format(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	struct local_demo d;

	assert_int_equal(vfbd_start(&proc, args), 0);
	local_init(&d);
	for (unsigned i = 0; i < vnc_format_count; i++) {
		struct vnc_client v;
		size_t stride;
		const uint32_t *px = local_pixels(&d, &stride);
		uint32_t fx = 0, fy = 0;
		long bad;

		print_message("format %s\n", vnc_formats[i].name);
		assert_int_equal(
			vnc_connect(&v, proc.port, &vnc_formats[i], NULL, NULL),
			0);
		vnc_request(&v, false);
		assert_true(vnc_wait_frame(&v, 5000));
		bad = vnc_compare(&v, px, 1024, 768, stride, &fx, &fy);
		if (bad)
			print_message("%s: %ld pixels differ, first %u,%u\n",
				      vnc_formats[i].name, bad, fx, fy);
		assert_int_equal(bad, 0);
		vnc_close(&v);
	}
	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&proc), 0);
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

static void typed_text_and_clicks_appear(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	struct local_demo d;
	struct vnc_client v;
	size_t stride;
	const uint32_t *before;
	uint32_t fx, fy;

	assert_int_equal(vfbd_start(&proc, args), 0);
	local_init(&d);
	assert_int_equal(
		vnc_connect(&v, proc.port, &vnc_formats[0], NULL, NULL), 0);
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	assert_int_equal(converge(&v, &d, 2000), 0);

	/* libvncclient asks for incremental updates itself after each one;
	 * ask once more in case it is idle. */
	vnc_request(&v, true);
	type_string(&v, &d, "Hello vfbd");
	send_key(&v, &d, XK_Return, true);
	send_key(&v, &d, XK_Return, false);
	type_string(&v, &d, "ok!");
	send_key(&v, &d, XK_BackSpace, true);
	send_key(&v, &d, XK_BackSpace, false);
	assert_int_equal(converge(&v, &d, 5000), 0);

	/* The typed text really changed the frame. */
	{
		struct local_demo fresh;

		local_init(&fresh);
		before = local_pixels(&fresh, &stride);
		assert_true(vnc_compare(&v, before, 1024, 768, stride, &fx,
					&fy) > 0);
		fb_source_free(fresh.src);
	}

	SendPointerEvent(v.cl, 300, 200, 1);
	input_sink_pointer(&d.text.sink, 300, 200, 1);
	assert_int_equal(converge(&v, &d, 5000), 0);
	SendPointerEvent(v.cl, 301, 201, 4);
	input_sink_pointer(&d.text.sink, 301, 201, 4);
	assert_int_equal(converge(&v, &d, 5000), 0);

	vnc_close(&v);
	fb_source_free(d.src);
	assert_int_equal(vfbd_stop(&proc), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(full_frame_in_every_format,
					  stop_vfbd),
		cmocka_unit_test_teardown(typed_text_and_clicks_appear,
					  stop_vfbd),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
