/* The shm source: a framebuffer another process publishes in a mapped
 * file (format: docs/shm.md). The producer is not trusted: every header
 * field is validated, damage hints are only hints, and a file truncated,
 * corrupted or replaced while mapped never crashes vfbd. */
#ifndef VFBD_FB_SRC_SHM_H
#define VFBD_FB_SRC_SHM_H

#include <stddef.h>

#include "fb/fb.h"

#define FB_SHM_MAGIC	       "VFBDSHM"
#define FB_SHM_VERSION	       1u
#define FB_SHM_FORMAT_XRGB8888 1u
#define FB_SHM_HEADER_FIXED    176u /* magic .. the 16 damage rects */
#define FB_SHM_HEADER_ALIGN    4096u

/* Field offsets of the version 1 header (little-endian). */
#define FB_SHM_OFF_MAGIC	0
#define FB_SHM_OFF_VERSION	8
#define FB_SHM_OFF_HEADER_BYTES 12
#define FB_SHM_OFF_WIDTH	16
#define FB_SHM_OFF_HEIGHT	20
#define FB_SHM_OFF_STRIDE	24
#define FB_SHM_OFF_FORMAT	28
#define FB_SHM_OFF_FRAME	32
#define FB_SHM_OFF_DAMAGE_COUNT 40
#define FB_SHM_OFF_RESERVED	44
#define FB_SHM_OFF_DAMAGE	48

/* Geometry from a validated header. */
struct fb_shm_header {
	uint32_t header_bytes, width, height, stride, format;
};

/* Validates the header bytes of a file of `file_size` bytes. Returns 0,
 * or -EINVAL with `why` naming the field ("bad magic", "width 0 out of
 * range 1..16384", "file is 4096 bytes, needs 8392704", ...). */
int fb_shm_check_header(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
			struct fb_shm_header *out, char *why, size_t why_len);

/* Opens and maps PATH. NULL with `why` set when the file cannot be used. */
struct fb_source *fb_shm_open(const char *path, char *why, size_t why_len);

#endif
