/* fb_shm_check_header against every field of the version 1 header
 * (design/shm.md): each row of the table starts from a valid header,
 * changes one thing and says whether the header must be accepted and, if
 * not, which word the reason must contain (the field's name). Each row is
 * its own cmocka test, named after the row. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fb/src-shm.h"
#include "vfbd/base/bytes.h"

#define HDR_LEN 4096u

struct fields {
	uint32_t version, header_bytes, width, height, stride, format;
};

struct row {
	const char *name;
	struct fields f;     /* zero fields take the default below */
	int flip_magic;	     /* > 0: spoil byte flip_magic - 1 of the magic */
	size_t hdr_len;	     /* 0: HDR_LEN */
	int64_t size_delta;  /* file size = needed size + this ... */
	uint64_t file_size;  /* ... unless this is set */
	bool explicit_size;  /* file_size is meant even when 0 */
	bool zero[6];	     /* these fields are really 0 (in order) */
	const char *reject;  /* NULL: must be accepted; else in `why` */
	uint64_t runtime[2]; /* frame, damage_count */
};

enum { Z_VERSION, Z_HEADER, Z_WIDTH, Z_HEIGHT, Z_STRIDE, Z_FORMAT };

static const struct fields defaults = {1, 4096, 640, 480, 640 * 4, 1};

static struct fields resolve(const struct row *r)
{
	struct fields f = r->f;

	if (!f.version && !r->zero[Z_VERSION])
		f.version = defaults.version;
	if (!f.header_bytes && !r->zero[Z_HEADER])
		f.header_bytes = defaults.header_bytes;
	if (!f.width && !r->zero[Z_WIDTH])
		f.width = defaults.width;
	if (!f.height && !r->zero[Z_HEIGHT])
		f.height = defaults.height;
	if (!f.stride && !r->zero[Z_STRIDE])
		f.stride = f.width * 4;
	if (!f.format && !r->zero[Z_FORMAT])
		f.format = defaults.format;
	return f;
}

static void build(uint8_t *hdr, const struct row *r, const struct fields *f)
{
	memset(hdr, 0, HDR_LEN);
	memcpy(hdr + FB_SHM_OFF_MAGIC, "VFBDSHM", 8);
	if (r->flip_magic > 0)
		hdr[FB_SHM_OFF_MAGIC + r->flip_magic - 1] ^= 0x20;
	put_le32(hdr + FB_SHM_OFF_VERSION, f->version);
	put_le32(hdr + FB_SHM_OFF_HEADER_BYTES, f->header_bytes);
	put_le32(hdr + FB_SHM_OFF_WIDTH, f->width);
	put_le32(hdr + FB_SHM_OFF_HEIGHT, f->height);
	put_le32(hdr + FB_SHM_OFF_STRIDE, f->stride);
	put_le32(hdr + FB_SHM_OFF_FORMAT, f->format);
	put_le64(hdr + FB_SHM_OFF_FRAME, r->runtime[0]);
	put_le32(hdr + FB_SHM_OFF_DAMAGE_COUNT, (uint32_t)r->runtime[1]);
}

static uint64_t needed(const struct fields *f)
{
	return (uint64_t)f->header_bytes + (uint64_t)f->stride * f->height;
}

/* clang-format off */
static const struct row rows[] = {
	{.name = "valid 640x480", .f = {0}},
	{.name = "valid 1x1", .f = {.width = 1, .height = 1}},
	{.name = "valid 16384x16384", .f = {.width = 16384, .height = 16384}},
	{.name = "valid padded stride", .f = {.stride = 640 * 4 + 64}},
	{.name = "valid odd stride", .f = {.stride = 640 * 4 + 1}},
	{.name = "valid header_bytes 8192", .f = {.header_bytes = 8192}},
	{.name = "valid header_bytes 1 MiB", .f = {.header_bytes = 1u << 20}},
	{.name = "valid file larger than needed", .f = {0}, .size_delta = 12345},
	{.name = "valid file of 2^64-1 bytes", .f = {0}, .file_size = UINT64_MAX},
	{.name = "valid while the producer is mid-frame", .f = {0},
	 .runtime = {7, 1000}},

	{.name = "short header 175 bytes", .f = {0}, .hdr_len = 175,
	 .reject = "header"},
	{.name = "file of 0 bytes", .f = {0}, .explicit_size = true, .file_size = 0,
	 .reject = "bytes"},
	{.name = "file of 175 bytes", .f = {0}, .explicit_size = true, .file_size = 175,
	 .reject = "bytes"},
	{.name = "file of 176 bytes", .f = {0}, .explicit_size = true, .file_size = 176,
	 .reject = "needs"},
	{.name = "file of header_bytes only", .f = {0}, .explicit_size = true,
	 .file_size = 4096, .reject = "needs"},
	{.name = "file one byte short", .f = {0}, .size_delta = -1, .reject = "needs"},
	{.name = "file short by one row", .f = {0}, .size_delta = -640 * 4,
	 .reject = "needs"},

	{.name = "magic byte 0", .f = {0}, .flip_magic = 1, .reject = "magic"},
	{.name = "magic byte 6", .f = {0}, .flip_magic = 7, .reject = "magic"},
	{.name = "magic NUL byte", .f = {0}, .flip_magic = 8, .reject = "magic"},

	{.name = "version 0", .f = {0}, .zero = {[Z_VERSION] = true},
	 .reject = "version"},
	{.name = "version 2", .f = {.version = 2}, .reject = "version"},
	{.name = "version 0xffffffff", .f = {.version = UINT32_MAX},
	 .reject = "version"},
	{.name = "version 0x01000000 (big-endian 1)", .f = {.version = 0x01000000},
	 .reject = "version"},

	{.name = "header_bytes 0", .f = {0}, .zero = {[Z_HEADER] = true},
	 .reject = "header_bytes"},
	{.name = "header_bytes 176", .f = {.header_bytes = 176},
	 .reject = "header_bytes"},
	{.name = "header_bytes 4095", .f = {.header_bytes = 4095},
	 .reject = "header_bytes"},
	{.name = "header_bytes 4097", .f = {.header_bytes = 4097},
	 .reject = "header_bytes"},
	{.name = "header_bytes 6144", .f = {.header_bytes = 6144},
	 .reject = "header_bytes"},
	{.name = "header_bytes 0xfffff000", .f = {.header_bytes = 0xfffff000u},
	 .reject = "header_bytes"},

	{.name = "width 0", .f = {0}, .zero = {[Z_WIDTH] = true}, .reject = "width"},
	{.name = "width 16385", .f = {.width = 16385}, .reject = "width"},
	{.name = "width 0xffffffff", .f = {.width = UINT32_MAX, .stride = UINT32_MAX},
	 .reject = "width"},
	{.name = "width 0x40000000 (width*4 wraps to 0)",
	 .f = {.width = 0x40000000u, .stride = 0}, .zero = {[Z_STRIDE] = true},
	 .reject = "width"},

	{.name = "height 0", .f = {0}, .zero = {[Z_HEIGHT] = true}, .reject = "height"},
	{.name = "height 16385", .f = {.height = 16385}, .reject = "height"},
	{.name = "height 0xffffffff", .f = {.height = UINT32_MAX}, .reject = "height"},

	{.name = "stride 0", .f = {0}, .zero = {[Z_STRIDE] = true}, .reject = "stride"},
	{.name = "stride width*4-1", .f = {.stride = 640 * 4 - 1}, .reject = "stride"},
	{.name = "stride width*4-4", .f = {.stride = 640 * 4 - 4}, .reject = "stride"},
	{.name = "stride 0xffffffff", .f = {.stride = UINT32_MAX}, .reject = "stride"},
	{.name = "stride for 16384 px, width 16384 needs more",
	 .f = {.width = 16384, .stride = 16383 * 4}, .reject = "stride"},

	{.name = "format 0", .f = {0}, .zero = {[Z_FORMAT] = true}, .reject = "format"},
	{.name = "format 2", .f = {.format = 2}, .reject = "format"},
	{.name = "format 0xffffffff", .f = {.format = UINT32_MAX}, .reject = "format"},
};
/* clang-format on */

static uint64_t file_size_of(const struct row *r, const struct fields *f)
{
	if (r->explicit_size || r->file_size)
		return r->file_size;
	return (uint64_t)((int64_t)needed(f) + r->size_delta);
}

static void run_row(void **state)
{
	const struct row *r = *state;
	struct fields f = resolve(r);
	uint8_t *hdr = malloc(HDR_LEN);
	struct fb_shm_header out;
	char why[200];
	int rc;

	assert_non_null(hdr);
	build(hdr, r, &f);
	memset(&out, 0xee, sizeof(out));
	why[0] = '\0';
	rc = fb_shm_check_header(hdr, r->hdr_len ? r->hdr_len : HDR_LEN,
				 file_size_of(r, &f), &out, why, sizeof(why));
	free(hdr);
	if (!r->reject) {
		if (rc != 0)
			print_message("refused: %s\n", why);
		assert_int_equal(rc, 0);
		assert_int_equal(out.width, f.width);
		assert_int_equal(out.height, f.height);
		assert_int_equal(out.stride, f.stride);
		assert_int_equal(out.header_bytes, f.header_bytes);
		assert_int_equal(out.format, f.format);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	if (!strstr(why, r->reject))
		print_message("reason \"%s\" does not name \"%s\"\n", why,
			      r->reject);
	assert_non_null(strstr(why, r->reject));
}

/* stride * height is computed in 64 bits: with the largest stride the
 * check allows, the size wraps to 4096 in 32-bit arithmetic, and a file
 * of that wrapped size must still be refused. The largest stride it
 * accepts is found first, so the test does not depend on the cap. */
static void size_product_does_not_wrap(void **state)
{
	uint8_t hdr[HDR_LEN];
	struct row r = {0};
	struct fields f;
	struct fb_shm_header out;
	char why[200];
	uint32_t lo = 16384 * 4, hi = UINT32_MAX;
	uint64_t need;

	r.f.width = 16384;
	r.f.height = 16384;
	/* Binary search for the largest accepted stride (given room). */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		r.f.stride = mid;
		f = resolve(&r);
		build(hdr, &r, &f);
		if (fb_shm_check_header(hdr, sizeof(hdr), UINT64_MAX, &out, why,
					sizeof(why)) == 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	r.f.stride = lo;
	f = resolve(&r);
	need = needed(&f);
	print_message("largest stride %u: needs %llu bytes\n", lo,
		      (unsigned long long)need);
	build(hdr, &r, &f);
	assert_int_equal(fb_shm_check_header(hdr, sizeof(hdr), need, &out, why,
					     sizeof(why)),
			 0);
	assert_int_equal(fb_shm_check_header(hdr, sizeof(hdr), need - 1, &out,
					     why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "needs"));
	/* Every size that 32-bit arithmetic could have produced. */
	assert_int_equal(fb_shm_check_header(hdr, sizeof(hdr),
					     need & UINT32_MAX, &out, why,
					     sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "needs"));
}

/* The reason fits any buffer, even one byte, and is always terminated. */
static void reason_fits_small_buffers(void **state)
{
	uint8_t hdr[HDR_LEN];
	struct row r = {.f = {.version = 2}};
	struct fields f = resolve(&r);
	struct fb_shm_header out;
	char why[16];

	build(hdr, &r, &f);
	for (size_t len = 1; len <= 8; len++) {
		memset(why, 'Z', sizeof(why));
		assert_int_equal(fb_shm_check_header(hdr, sizeof(hdr),
						     UINT64_MAX, &out, why,
						     len),
				 -EINVAL);
		assert_int_equal(why[len - 1], '\0');
		for (size_t i = len; i < sizeof(why); i++)
			assert_int_equal(why[i], 'Z');
	}
}

int main(void)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct CMUnitTest *tests = calloc(n + 2, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = run_row;
		tests[i].initial_state = (void *)&rows[i];
	}
	tests[n] =
		(struct CMUnitTest)cmocka_unit_test(size_product_does_not_wrap);
	tests[n + 1] =
		(struct CMUnitTest)cmocka_unit_test(reason_fits_small_buffers);
	rc = _cmocka_run_group_tests("shm-header", tests, n + 2, NULL, NULL);
	free(tests);
	return rc;
}
