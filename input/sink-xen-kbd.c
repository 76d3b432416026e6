#include "input/sink-xen-kbd.h"
#include "vfbd/base/clock.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(union xenkbd_in_event) == XENKBD_IN_EVENT_SIZE,
	       "kbdif event size");
_Static_assert(XENKBD_IN_RING_LEN == 51, "kbdif in ring length");
_Static_assert(offsetof(struct xenkbd_page, in_cons) == 0 &&
		       offsetof(struct xenkbd_page, in_prod) == 4,
	       "kbdif page layout");

#define DROP_LOG_INTERVAL_MS 5000u
/* RFB button mask bits (rfbproto: 1 left, 2 middle, 3 right, 4/5 wheel). */
#define RFB_BTN_LEFT   0x01u
#define RFB_BTN_MIDDLE 0x02u
#define RFB_BTN_RIGHT  0x04u
#define RFB_WHEEL_UP   0x08u
#define RFB_WHEEL_DOWN 0x10u

int xen_kbd_ring_put(void *page, uint32_t *prod,
		     const union xenkbd_in_event *ev)
{
	struct xenkbd_page *p = page;
	uint32_t cons = __atomic_load_n(&p->in_cons, __ATOMIC_ACQUIRE);
	uint32_t *slot;

	if (*prod - cons >= XENKBD_IN_RING_LEN)
		return -EAGAIN;
	slot = (uint32_t *)((uint8_t *)page + XENKBD_IN_RING_OFFS +
			    (*prod % XENKBD_IN_RING_LEN) *
				    XENKBD_IN_EVENT_SIZE);
	for (size_t i = 0; i < XENKBD_IN_EVENT_SIZE / 4; i++) {
		uint32_t w;

		memcpy(&w, (const uint8_t *)ev + 4 * i, 4);
		__atomic_store_n(slot + i, w, __ATOMIC_RELAXED);
	}
	(*prod)++;
	/* The slot is complete before the guest sees the index move. */
	__atomic_store_n(&p->in_prod, *prod, __ATOMIC_RELEASE);
	return 0;
}

uint32_t xen_kbd_scale(uint32_t v, uint32_t fb_dim, uint32_t abs_dim)
{
	if (fb_dim == 0)
		return 0;
	if (v >= fb_dim)
		v = fb_dim - 1;
	return (uint32_t)((uint64_t)v * abs_dim / fb_dim);
}

static struct xen_kbd_sink *to_kbd(struct input_sink *s)
{
	return (struct xen_kbd_sink *)s;
}

/* Queues `ev`; counts and (now and then) logs a drop. */
static bool put(struct xen_kbd_sink *k, const union xenkbd_in_event *ev)
{
	uint64_t now;

	if (k->page && xen_kbd_ring_put(k->page, &k->prod, ev) == 0) {
		k->sent++;
		return true;
	}
	k->dropped++;
	now = clock_now_ms();
	if (k->page && now - k->last_drop_log_ms >= DROP_LOG_INTERVAL_MS) {
		k->last_drop_log_ms = now;
		log_warn("xen-vkbd-ring-full",
			 "dropped_total=%llu reason=\"the guest does not "
			 "consume keyboard events\"",
			 (unsigned long long)k->dropped);
	}
	return false;
}

static void kbd_key(struct input_sink *s, uint16_t keycode, bool down)
{
	struct xen_kbd_sink *k = to_kbd(s);
	union xenkbd_in_event ev;

	/* Frontends index bitmaps with the code: nothing at or past
	 * KEY_MAX may reach them. */
	if (keycode == 0 || keycode >= KEY_MAX)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.key.type = XENKBD_TYPE_KEY;
	ev.key.pressed = down ? 1 : 0;
	ev.key.keycode = keycode;
	if (put(k, &ev) && k->ops->notify)
		k->ops->notify(k->ctx);
}

static void kbd_pointer(struct input_sink *s, uint32_t x, uint32_t y,
			uint8_t buttons)
{
	static const struct {
		uint8_t bit;
		uint16_t code;
	} btns[] = {{RFB_BTN_LEFT, BTN_LEFT},
		    {RFB_BTN_MIDDLE, BTN_MIDDLE},
		    {RFB_BTN_RIGHT, BTN_RIGHT}};
	struct xen_kbd_sink *k = to_kbd(s);
	uint8_t pressed = buttons & (uint8_t)~k->last_buttons;
	uint8_t changed = buttons ^ k->last_buttons;
	union xenkbd_in_event ev;
	int32_t rel_z = 0;
	bool queued = false;

	if (pressed & RFB_WHEEL_UP)
		rel_z -= 1;
	if (pressed & RFB_WHEEL_DOWN)
		rel_z += 1;
	memset(&ev, 0, sizeof(ev));
	if (k->abs) {
		uint32_t fw = 0, fh = 0;

		if (k->ops->fb_size)
			k->ops->fb_size(k->ctx, &fw, &fh);
		if (!k->have_pos || x != k->last_x || y != k->last_y || rel_z) {
			ev.pos.type = XENKBD_TYPE_POS;
			ev.pos.abs_x = (int32_t)xen_kbd_scale(x, fw, k->abs_w);
			ev.pos.abs_y = (int32_t)xen_kbd_scale(y, fh, k->abs_h);
			ev.pos.rel_z = rel_z;
			queued |= put(k, &ev);
		}
	} else if ((k->have_pos && (x != k->last_x || y != k->last_y)) ||
		   rel_z) {
		ev.motion.type = XENKBD_TYPE_MOTION;
		if (k->have_pos) {
			ev.motion.rel_x = (int32_t)((int64_t)x - k->last_x);
			ev.motion.rel_y = (int32_t)((int64_t)y - k->last_y);
		}
		ev.motion.rel_z = rel_z;
		queued |= put(k, &ev);
	}
	for (size_t i = 0; i < sizeof(btns) / sizeof(btns[0]); i++) {
		if (!(changed & btns[i].bit))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.key.type = XENKBD_TYPE_KEY;
		ev.key.pressed = (buttons & btns[i].bit) ? 1 : 0;
		ev.key.keycode = btns[i].code;
		queued |= put(k, &ev);
	}
	k->have_pos = true;
	k->last_x = x;
	k->last_y = y;
	k->last_buttons = buttons;
	if (queued && k->ops->notify)
		k->ops->notify(k->ctx);
}

static const struct input_sink_ops kbd_sink_ops = {
	.key = kbd_key,
	.pointer = kbd_pointer,
};

void xen_kbd_sink_init(struct xen_kbd_sink *k,
		       const struct xen_kbd_sink_ops *ops, void *ctx)
{
	memset(k, 0, sizeof(*k));
	input_sink_init(&k->sink, &kbd_sink_ops);
	k->ops = ops;
	k->ctx = ctx;
	k->abs_w = XEN_KBD_DEFAULT_WIDTH;
	k->abs_h = XEN_KBD_DEFAULT_HEIGHT;
}

void xen_kbd_sink_attach(struct xen_kbd_sink *k, void *page, bool abs,
			 uint32_t abs_w, uint32_t abs_h)
{
	k->page = page;
	/* Continue where the ring is; the guest's index is only a starting
	 * point, never trusted afterwards. */
	k->prod = __atomic_load_n(&((struct xenkbd_page *)page)->in_prod,
				  __ATOMIC_ACQUIRE);
	k->abs = abs;
	k->abs_w = abs_w;
	k->abs_h = abs_h;
	k->have_pos = false;
}

void xen_kbd_sink_set_abs(struct xen_kbd_sink *k, bool abs)
{
	k->abs = abs;
}

void xen_kbd_sink_detach(struct xen_kbd_sink *k)
{
	k->page = NULL;
}
