#include "vfbd/base/buf.h"
#include "vfbd/base/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_fini(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	/* Storage exists after any success, even for zero bytes: callers
	 * take NULL from buf_grow() as failure. */
	if (need <= b->cap && b->data)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

uint8_t *buf_grow(struct buf *b, size_t len)
{
	uint8_t *p;

	if (buf_reserve(b, len) < 0)
		return NULL;
	p = b->data + b->len;
	memset(p, 0, len);
	b->len += len;
	return p;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	uint8_t *p = buf_grow(b, len);

	if (!p)
		return -ENOMEM;
	if (len)
		memcpy(p, data, len);
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int buf_put_be16(struct buf *b, uint16_t v)
{
	uint8_t *p = buf_grow(b, 2);

	if (!p)
		return -ENOMEM;
	put_be16(p, v);
	return 0;
}

int buf_put_be32(struct buf *b, uint32_t v)
{
	uint8_t *p = buf_grow(b, 4);

	if (!p)
		return -ENOMEM;
	put_be32(p, v);
	return 0;
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
	uint8_t *p = b->data;

	*len = b->len;
	buf_init(b);
	return p;
}
