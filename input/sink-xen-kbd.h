/* The Xen vkbd sink: keys and pointer events become xenkbd events in the
 * guest's keyboard ring (xen/io/kbdif.h).
 *
 * Keys go as Linux keycodes. The pointer is absolute when the frontend
 * asked for it (request-abs-pointer), scaled from framebuffer pixels to
 * the range the frontend advertises (the backend's width and height
 * keys), and relative otherwise. RFB buttons 1-3 become BTN_LEFT,
 * BTN_MIDDLE and BTN_RIGHT; the wheel becomes rel_z (-1 up, +1 down, as
 * QEMU sends it). A full ring drops events (counted), never blocks.
 *
 * The xenbus side (mapping the page, the event channel) belongs to
 * whoever attaches the ring; this file only writes events into it. */
#ifndef VFBD_INPUT_SINK_XEN_KBD_H
#define VFBD_INPUT_SINK_XEN_KBD_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/io/kbdif.h>

#include "input/sink.h"

/* What Linux's kbdfront assumes when the backend publishes no range. */
#define XEN_KBD_DEFAULT_WIDTH  800u
#define XEN_KBD_DEFAULT_HEIGHT 600u

struct xen_kbd_sink_ops {
	/* Events were queued: notify the frontend. */
	void (*notify)(void *ctx);
	/* The size of the framebuffer pointer positions refer to. */
	void (*fb_size)(void *ctx, uint32_t *width, uint32_t *height);
};

struct xen_kbd_sink {
	struct input_sink sink; /* what the session feeds */
	const struct xen_kbd_sink_ops *ops;
	void *ctx;
	void *page; /* the mapped struct xenkbd_page, NULL when detached */
	uint32_t prod;
	bool abs;
	uint32_t abs_w, abs_h;
	bool have_pos;
	uint32_t last_x, last_y;
	uint8_t last_buttons;
	uint64_t sent, dropped;
	uint64_t last_drop_log_ms;
};

void xen_kbd_sink_init(struct xen_kbd_sink *k,
		       const struct xen_kbd_sink_ops *ops, void *ctx);

/* Starts writing into `page` (read-write mapped). `abs` when the
 * frontend requested absolute positions in 0..abs_w x 0..abs_h. The
 * producer index continues from the page's in_prod. */
void xen_kbd_sink_attach(struct xen_kbd_sink *k, void *page, bool abs,
			 uint32_t abs_w, uint32_t abs_h);

/* Switches between absolute and relative positions. */
void xen_kbd_sink_set_abs(struct xen_kbd_sink *k, bool abs);

/* Stops writing (the page is about to be unmapped); later events drop. */
void xen_kbd_sink_detach(struct xen_kbd_sink *k);

/* Queues one event (copied into the slot field by field) at the private
 * producer index. 0, or -EAGAIN when the ring is full; in_cons is read
 * once, and a bogus one only ever looks full. */
int xen_kbd_ring_put(void *page, uint32_t *prod,
		     const union xenkbd_in_event *ev);

/* Scales pixel `v` of a `fb_dim` wide axis to 0..abs_dim (identity when
 * the two agree). */
uint32_t xen_kbd_scale(uint32_t v, uint32_t fb_dim, uint32_t abs_dim);

#endif
