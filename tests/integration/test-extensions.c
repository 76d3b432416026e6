/* Pseudo-encodings and extension messages against libvncclient: QEMU
 * extended key events type by scancode whatever the keysym says, and a
 * SetDesktopSize request is refused without ending the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <X11/keysym.h>

#include "fb/src-demo.h"
#include "tests/lib/spawn.h"
#include "tests/lib/vnc-client.h"

/* The vfbd of the running test: stopped by the teardown when an
 * assertion ends the test early (cmocka jumps past the test's own stop). */
static struct vfbd_proc proc;

static int stop_vfbd(void **state)
{
	if (proc.pid > 0)
		vfbd_stop(&proc);
	return 0;
}

static const uint32_t *demo_frame(struct fb_source *src, size_t *stride)
{
	struct fb_damage hint;
	struct fb_view v;

	src->ops->poll(src, &hint);
	assert_int_equal(src->ops->view(src, &v), 0);
	*stride = v.stride / 4;
	return (const uint32_t *)v.data;
}

static long converge(struct vnc_client *v, struct fb_source *src, int ms)
{
	size_t stride;
	const uint32_t *px = demo_frame(src, &stride);
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

static void scancodes_type_whatever_the_keysym(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	struct fb_source *local = fb_demo_new(1024, 768, true);
	struct vnc_client v;

	assert_non_null(local);
	assert_int_equal(vfbd_start(&proc, args), 0);
	assert_int_equal(vnc_connect(&v, proc.port, NULL, NULL, NULL), 0);
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	/* The server acknowledges the extension in an update; libvncclient
	 * only sends extended key events after that. */
	vnc_pump(&v, 300);

	/* Scancode 0x1e is the A key; the keysym claims 'q' (an AZERTY
	 * client would): the guest must get KEY_A. */
	assert_true(SendExtendedKeyEvent(v.cl, XK_q, 0x1e, TRUE));
	assert_true(SendExtendedKeyEvent(v.cl, XK_q, 0x1e, FALSE));
	/* Shift (0x2a) + 2 (0x03) types '@' on en-us. */
	assert_true(SendExtendedKeyEvent(v.cl, XK_Shift_L, 0x2a, TRUE));
	assert_true(SendExtendedKeyEvent(v.cl, XK_at, 0x03, TRUE));
	assert_true(SendExtendedKeyEvent(v.cl, XK_at, 0x03, FALSE));
	assert_true(SendExtendedKeyEvent(v.cl, XK_Shift_L, 0x2a, FALSE));
	fb_demo_type_char(local, 'a');
	fb_demo_type_char(local, '@');
	assert_int_equal(converge(&v, local, 5000), 0);

	vnc_close(&v);
	fb_source_free(local);
	assert_int_equal(vfbd_stop(&proc), 0);
}

static void set_desktop_size_is_refused_politely(void **state)
{
	const char *args[] = {"--source", "demo:static", NULL};
	const char *refused[] = {"client-resize-refused", "width=800", NULL};
	struct vnc_client v;

	assert_int_equal(vfbd_start(&proc, args), 0);
	assert_int_equal(vnc_connect(&v, proc.port, NULL, NULL, NULL), 0);
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	vnc_pump(&v, 300);
	assert_true(SendExtDesktopSize(v.cl, 800, 600));
	assert_true(vfbd_log_wait(&proc, 3000, refused));
	/* Still served, same geometry. */
	vnc_request(&v, false);
	assert_true(vnc_wait_frame(&v, 5000));
	assert_int_equal(v.cl->width, 1024);
	assert_int_equal(v.cl->height, 768);
	assert_int_equal(vfbd_log_count(&proc, "client-closed"), 0);
	vnc_close(&v);
	assert_int_equal(vfbd_stop(&proc), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(scancodes_type_whatever_the_keysym,
					  stop_vfbd),
		cmocka_unit_test_teardown(set_desktop_size_is_refused_politely,
					  stop_vfbd),
	};

	vnc_quiet();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
