/* A growable byte buffer for building outgoing messages. Growth beyond
 * `limit` (when non-zero) fails with -ENOBUFS instead of allocating. */
#ifndef VFBD_BASE_BUF_H
#define VFBD_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);

/* Makes room for `extra` more bytes; returns 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);

/* Appends bytes; returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_be16(struct buf *b, uint16_t v);
int buf_put_be32(struct buf *b, uint32_t v);

/* Returns a pointer to `len` new bytes at the end (zeroed), or NULL. */
uint8_t *buf_grow(struct buf *b, size_t len);

/* Hands the storage to the caller (who frees it) and empties the buffer. */
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
