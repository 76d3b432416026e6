#include "net/rfb-write.h"
#include "net/rfb-proto.h"

#include <errno.h>
#include <string.h>

int rfb_write_server_init(struct buf *b, uint32_t width, uint32_t height,
			  const char *name)
{
	uint8_t pf[RFB_PIXFMT_LEN];
	size_t len = strlen(name);

	rfb_pixfmt_write(&rfb_pixfmt_server, pf);
	if (buf_put_be16(b, (uint16_t)width) ||
	    buf_put_be16(b, (uint16_t)height) ||
	    buf_append(b, pf, sizeof(pf)) || buf_put_be32(b, (uint32_t)len) ||
	    buf_append(b, name, len))
		return -ENOMEM;
	return 0;
}

int rfb_write_update_header(struct buf *b, uint16_t nrects)
{
	if (buf_put_u8(b, RFB_S2C_FRAMEBUFFER_UPDATE) || buf_put_u8(b, 0) ||
	    buf_put_be16(b, nrects))
		return -ENOMEM;
	return 0;
}

int rfb_write_rect_header(struct buf *b, uint32_t x, uint32_t y, uint32_t w,
			  uint32_t h, int32_t encoding)
{
	if (buf_put_be16(b, (uint16_t)x) || buf_put_be16(b, (uint16_t)y) ||
	    buf_put_be16(b, (uint16_t)w) || buf_put_be16(b, (uint16_t)h) ||
	    buf_put_be32(b, (uint32_t)encoding))
		return -ENOMEM;
	return 0;
}

int rfb_write_raw_rect(struct buf *b, const struct rfb_pixconv *pc,
		       const struct fb_view *src, struct fb_rect r)
{
	size_t bpp = rfb_pixfmt_bytes(&pc->pf);
	size_t row_bytes = (size_t)r.w * bpp;
	uint8_t *dst;

	if ((uint64_t)r.x + r.w > src->width ||
	    (uint64_t)r.y + r.h > src->height)
		return -EINVAL;
	if (rfb_write_rect_header(b, r.x, r.y, r.w, r.h, RFB_ENC_RAW) ||
	    buf_reserve(b, row_bytes * r.h))
		return -ENOMEM;
	dst = b->data + b->len;
	for (uint32_t row = 0; row < r.h; row++) {
		const uint32_t *line =
			(const uint32_t *)(src->data +
					   (size_t)(r.y + row) * src->stride) +
			r.x;

		rfb_pixconv_row(pc, line, r.w, dst);
		dst += row_bytes;
	}
	b->len += row_bytes * r.h;
	return 0;
}

int rfb_write_reason(struct buf *b, const char *reason)
{
	size_t len = strlen(reason);

	if (buf_put_be32(b, (uint32_t)len) || buf_append(b, reason, len))
		return -ENOMEM;
	return 0;
}
