/* Server-to-client message writers. Every byte is written field by field
 * into a zeroed buffer, so no padding or stale memory reaches the wire. */
#ifndef VFBD_NET_RFB_WRITE_H
#define VFBD_NET_RFB_WRITE_H

#include "fb/fb.h"
#include "net/pixfmt.h"
#include "vfbd/base/buf.h"

/* ServerInit: geometry, the server pixel format and the desktop name. */
int rfb_write_server_init(struct buf *b, uint32_t width, uint32_t height,
			  const char *name);

/* FramebufferUpdate header announcing `nrects` rectangles. */
int rfb_write_update_header(struct buf *b, uint16_t nrects);

/* A rectangle header: position, size and encoding number. */
int rfb_write_rect_header(struct buf *b, uint32_t x, uint32_t y, uint32_t w,
			  uint32_t h, int32_t encoding);

/* A Raw-encoded rectangle (header and pixels) from `src` (XRGB8888) in
 * the client's format. The rect must lie inside `src`. */
int rfb_write_raw_rect(struct buf *b, const struct rfb_pixconv *pc,
		       const struct fb_view *src, struct fb_rect r);

/* A failure reason string: u32 length then the bytes. */
int rfb_write_reason(struct buf *b, const char *reason);

#endif
