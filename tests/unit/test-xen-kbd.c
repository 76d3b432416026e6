/* The Xen keyboard sink (input/sink-xen-kbd.h) on a plain page: keys,
 * absolute and relative pointer, buttons, wheel, a full or bogus ring,
 * release on disconnect. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "input/sink-xen-kbd.h"

struct env {
	struct xen_kbd_sink k;
	struct xenkbd_page *page;
	unsigned notifies;
	uint32_t fb_w, fb_h;
};

static void notify(void *ctx)
{
	((struct env *)ctx)->notifies++;
}

static void fb_size(void *ctx, uint32_t *w, uint32_t *h)
{
	*w = ((struct env *)ctx)->fb_w;
	*h = ((struct env *)ctx)->fb_h;
}

static const struct xen_kbd_sink_ops ops = {notify, fb_size};

static struct env *env_new(bool abs, uint32_t abs_w, uint32_t abs_h)
{
	struct env *e = calloc(1, sizeof(*e));

	e->page = calloc(1, 4096);
	e->fb_w = 1024;
	e->fb_h = 768;
	xen_kbd_sink_init(&e->k, &ops, e);
	xen_kbd_sink_attach(&e->k, e->page, abs, abs_w, abs_h);
	return e;
}

static void env_free(struct env *e)
{
	free(e->page);
	free(e);
}

static union xenkbd_in_event ev_at(struct env *e, uint32_t i)
{
	return XENKBD_IN_RING_REF(e->page, i);
}

static bool reserved_zero(const union xenkbd_in_event *ev, size_t from)
{
	const uint8_t *b = (const uint8_t *)ev;

	for (size_t i = from; i < sizeof(*ev); i++)
		if (b[i])
			return false;
	return true;
}

static void keys(void **state)
{
	struct env *e = env_new(true, 800, 600);
	union xenkbd_in_event ev;

	input_sink_key(&e->k.sink, KEY_A, true);
	input_sink_key(&e->k.sink, KEY_A, false);
	assert_int_equal(e->page->in_prod, 2);
	ev = ev_at(e, 0);
	assert_int_equal(ev.type, XENKBD_TYPE_KEY);
	assert_int_equal(ev.key.pressed, 1);
	assert_int_equal(ev.key.keycode, KEY_A);
	assert_int_equal(((uint8_t *)&ev)[2] | ((uint8_t *)&ev)[3], 0);
	assert_true(reserved_zero(&ev, 8));
	ev = ev_at(e, 1);
	assert_int_equal(ev.key.pressed, 0);
	assert_int_equal(e->notifies, 2);
	/* KEY_MAX itself never reaches the guest. */
	input_sink_key(&e->k.sink, KEY_MAX, true);
	assert_int_equal(e->page->in_prod, 2);
	env_free(e);
}

static void absolute_pointer(void **state)
{
	struct env *e = env_new(true, 800, 600);
	union xenkbd_in_event ev;

	input_sink_pointer(&e->k.sink, 512, 384, 0);
	ev = ev_at(e, 0);
	assert_int_equal(ev.type, XENKBD_TYPE_POS);
	assert_int_equal(ev.pos.abs_x, 400);
	assert_int_equal(ev.pos.abs_y, 300);
	assert_int_equal(ev.pos.rel_z, 0);
	assert_true(reserved_zero(&ev, 16));
	/* Beyond the framebuffer (a stale client size) clamps. */
	input_sink_pointer(&e->k.sink, 5000, 5000, 0);
	ev = ev_at(e, 1);
	assert_int_equal(ev.pos.abs_x, 799);
	assert_int_equal(ev.pos.abs_y, 599);
	/* The same place again sends nothing. */
	input_sink_pointer(&e->k.sink, 5000, 5000, 0);
	assert_int_equal(e->page->in_prod, 2);
	env_free(e);
}

static void buttons_and_wheel(void **state)
{
	struct env *e = env_new(true, 1024, 768);
	union xenkbd_in_event ev;

	input_sink_pointer(&e->k.sink, 10, 20, 0x01);
	assert_int_equal(e->page->in_prod, 2);
	assert_int_equal(ev_at(e, 0).pos.abs_x, 10);
	ev = ev_at(e, 1);
	assert_int_equal(ev.type, XENKBD_TYPE_KEY);
	assert_int_equal(ev.key.keycode, BTN_LEFT);
	assert_int_equal(ev.key.pressed, 1);
	assert_int_equal(e->notifies, 1);
	/* Left up, middle and right down. */
	input_sink_pointer(&e->k.sink, 10, 20, 0x06);
	assert_int_equal(e->page->in_prod, 5);
	assert_int_equal(ev_at(e, 2).key.keycode, BTN_LEFT);
	assert_int_equal(ev_at(e, 2).key.pressed, 0);
	assert_int_equal(ev_at(e, 3).key.keycode, BTN_MIDDLE);
	assert_int_equal(ev_at(e, 4).key.keycode, BTN_RIGHT);
	/* Wheel: up is rel_z -1 on the press only, down +1. */
	input_sink_pointer(&e->k.sink, 10, 20, 0x06 | 0x08);
	input_sink_pointer(&e->k.sink, 10, 20, 0x06);
	input_sink_pointer(&e->k.sink, 10, 20, 0x06 | 0x10);
	assert_int_equal(e->page->in_prod, 7);
	assert_int_equal(ev_at(e, 5).pos.rel_z, -1);
	assert_int_equal(ev_at(e, 6).pos.rel_z, 1);
	/* Release everything when the client goes. */
	input_sink_key(&e->k.sink, KEY_LEFTSHIFT, true);
	input_sink_release_all(&e->k.sink);
	assert_int_equal(ev_at(e, 8).key.keycode, KEY_LEFTSHIFT);
	assert_int_equal(ev_at(e, 8).key.pressed, 0);
	assert_int_equal(ev_at(e, 9).key.keycode, BTN_MIDDLE);
	assert_int_equal(ev_at(e, 9).key.pressed, 0);
	assert_int_equal(ev_at(e, 10).key.keycode, BTN_RIGHT);
	assert_int_equal(ev_at(e, 10).key.pressed, 0);
	assert_int_equal(e->page->in_prod, 11);
	env_free(e);
}

static void relative_pointer(void **state)
{
	struct env *e = env_new(false, 800, 600);
	union xenkbd_in_event ev;

	/* The first position only sets the origin. */
	input_sink_pointer(&e->k.sink, 100, 100, 0);
	assert_int_equal(e->page->in_prod, 0);
	input_sink_pointer(&e->k.sink, 90, 130, 0);
	ev = ev_at(e, 0);
	assert_int_equal(ev.type, XENKBD_TYPE_MOTION);
	assert_int_equal(ev.motion.rel_x, -10);
	assert_int_equal(ev.motion.rel_y, 30);
	assert_true(reserved_zero(&ev, 16));
	input_sink_pointer(&e->k.sink, 90, 130, 0x10);
	assert_int_equal(ev_at(e, 1).motion.rel_z, 1);
	assert_int_equal(ev_at(e, 1).motion.rel_x, 0);
	env_free(e);
}

static void full_ring_drops(void **state)
{
	struct env *e = env_new(true, 800, 600);

	for (unsigned i = 0; i < 100; i++)
		input_sink_key(&e->k.sink, KEY_B, i % 2 == 0);
	assert_int_equal(e->page->in_prod, XENKBD_IN_RING_LEN);
	assert_int_equal(e->k.dropped, 100 - XENKBD_IN_RING_LEN);
	/* The guest consumes: room again. */
	e->page->in_cons = XENKBD_IN_RING_LEN;
	input_sink_key(&e->k.sink, KEY_C, true);
	assert_int_equal(e->page->in_prod, XENKBD_IN_RING_LEN + 1);
	/* A bogus in_cons ahead of in_prod looks full, not empty. */
	e->page->in_cons = e->page->in_prod + 5;
	input_sink_key(&e->k.sink, KEY_C, false);
	assert_int_equal(e->page->in_prod, XENKBD_IN_RING_LEN + 1);
	/* Detached: everything drops. */
	xen_kbd_sink_detach(&e->k);
	input_sink_key(&e->k.sink, KEY_D, true);
	assert_int_equal(e->page->in_prod, XENKBD_IN_RING_LEN + 1);
	env_free(e);
}

static void scaling(void **state)
{
	assert_int_equal(xen_kbd_scale(0, 1024, 800), 0);
	assert_int_equal(xen_kbd_scale(1023, 1024, 1024), 1023);
	assert_int_equal(xen_kbd_scale(1024, 1024, 1024), 1023);
	assert_int_equal(xen_kbd_scale(639, 640, 0x7fff), 32715);
	assert_int_equal(xen_kbd_scale(5, 0, 800), 0);
	assert_int_equal(xen_kbd_scale(UINT32_MAX, 16384, 16384), 16383);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys),
		cmocka_unit_test(absolute_pointer),
		cmocka_unit_test(buttons_and_wheel),
		cmocka_unit_test(relative_pointer),
		cmocka_unit_test(full_ring_drops),
		cmocka_unit_test(scaling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
