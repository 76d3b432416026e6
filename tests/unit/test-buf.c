/* The growable byte buffer in vfbd/base/buf.c: big-endian writers, growth
 * that keeps what was written, overflow and allocation failures that
 * leave the buffer intact, and handing the storage over. */
#include "vfbd/base/buf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Under ASan, a failed huge allocation must return NULL like glibc's
 * malloc does, not abort: that failure is what is being tested. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_init_empty(void **state)
{
	struct buf b;
	size_t len = 99;

	memset(&b, 0xa5, sizeof(b));
	buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_null(buf_steal(&b, &len));
	assert_int_equal(len, 0);
	buf_fini(&b);
	buf_fini(&b);
}

static void test_big_endian_writers(void **state)
{
	static const uint8_t want[] = {
		0x01, 0xfe, 0x02, 0x03, 0xfe, 0xdc, 0x04, 0x05, 0x06,
		0x07, 0xfe, 0xdc, 0xba, 0x98, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 'a',  'b',	'c',
	};
	struct buf b;

	buf_init(&b);
	assert_int_equal(buf_put_u8(&b, 0x01), 0);
	assert_int_equal(buf_put_u8(&b, 0xfe), 0);
	assert_int_equal(buf_put_be16(&b, 0x0203), 0);
	assert_int_equal(buf_put_be16(&b, 0xfedc), 0);
	assert_int_equal(buf_put_be32(&b, 0x04050607), 0);
	assert_int_equal(buf_put_be32(&b, 0xfedcba98), 0);
	assert_int_equal(buf_put_be32(&b, 0), 0);
	assert_int_equal(buf_put_be32(&b, UINT32_MAX), 0);
	assert_int_equal(buf_put_be16(&b, 0), 0);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_true(b.cap >= b.len);
	assert_memory_equal(b.data, want, sizeof(want));
	buf_fini(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

/* Many small writes and a few large ones across many reallocations:
 * every byte ends up where it was put. */
static void test_growth_keeps_content(void **state)
{
	struct buf b;
	uint8_t chunk[5000];
	size_t expect = 0;

	buf_init(&b);
	for (size_t i = 0; i < 70000; i++) {
		assert_int_equal(buf_put_u8(&b, (uint8_t)(i * 7)), 0);
		assert_true(b.cap >= b.len);
	}
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i ^ 0x5a);
	for (int i = 0; i < 30; i++)
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 70000 + 30 * sizeof(chunk));
	for (size_t i = 0; i < 70000; i++)
		assert_int_equal(b.data[i], (uint8_t)(i * 7));
	for (int i = 0; i < 30; i++)
		assert_memory_equal(b.data + 70000 + i * sizeof(chunk), chunk,
				    sizeof(chunk));
	expect = b.len;
	/* A single write far larger than the capacity. */
	{
		uint8_t *big = malloc(3u << 20);

		assert_non_null(big);
		memset(big, 0x3c, 3u << 20);
		assert_int_equal(buf_append(&b, big, 3u << 20), 0);
		assert_int_equal(b.len, expect + (3u << 20));
		assert_memory_equal(b.data + expect, big, 3u << 20);
		assert_int_equal(b.data[expect - 1], chunk[sizeof(chunk) - 1]);
		free(big);
	}
	buf_fini(&b);
}

static void test_reserve(void **state)
{
	struct buf b;
	uint8_t *data;

	buf_init(&b);
	assert_int_equal(buf_append(&b, "xyz", 3), 0);
	assert_int_equal(buf_reserve(&b, 1000), 0);
	assert_int_equal(b.len, 3);
	assert_true(b.cap >= 1003);
	assert_memory_equal(b.data, "xyz", 3);
	/* Writing into reserved room does not move the data. */
	data = b.data;
	memset(b.data + b.len, 1, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_put_u8(&b, 2), 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.len, 1003);
	assert_int_equal(buf_reserve(&b, 0), 0);
	assert_ptr_equal(b.data, data);
	buf_fini(&b);
}

/* Sizes that overflow, or that no allocator can give, fail with
 * -ENOMEM and leave the buffer as it was. */
static void test_overflow_and_failure(void **state)
{
	static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 2, SIZE_MAX / 2,
				      (size_t)1 << 62};
	struct buf b;

	buf_init(&b);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		size_t cap = b.cap;
		uint8_t *data = b.data;

		assert_int_equal(buf_reserve(&b, huge[i]), -ENOMEM);
		assert_null(buf_grow(&b, huge[i]));
		assert_int_equal(buf_append(&b, "x", huge[i]), -ENOMEM);
		assert_int_equal(b.len, 5);
		assert_int_equal(b.cap, cap);
		assert_ptr_equal(b.data, data);
		assert_memory_equal(b.data, "hello", 5);
	}
	/* Exactly one byte more than fits in a size_t. */
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 4), -ENOMEM);
	assert_int_equal(b.len, 5);
	/* Still usable. */
	assert_int_equal(buf_put_be16(&b, 0x2122), 0);
	assert_memory_equal(b.data, "hello!\"", 7);
	buf_fini(&b);
}

static void test_grow(void **state)
{
	struct buf b;
	uint8_t *p;

	buf_init(&b);
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	/* Room that already held other bytes comes back zeroed. */
	assert_int_equal(buf_reserve(&b, 64), 0);
	memset(b.data + 2, 0xff, 64);
	p = buf_grow(&b, 10);
	assert_non_null(p);
	assert_ptr_equal(p, b.data + 2);
	assert_int_equal(b.len, 12);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i], 0);
	p[9] = 'z';
	assert_int_equal(b.data[11], 'z');
	/* A grow that reallocates returns the new end. */
	p = buf_grow(&b, 100000);
	assert_non_null(p);
	assert_ptr_equal(p, b.data + 12);
	assert_int_equal(b.data[11], 'z');
	for (int i = 0; i < 100000; i++)
		assert_int_equal(p[i], 0);
	buf_fini(&b);
}

/* Nothing to add is not an error, even to a buffer that has no storage
 * yet. */
static void test_zero_length(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_non_null(buf_grow(&b, 0));
	assert_int_equal(buf_reserve(&b, 0), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, "q", 1), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.data[0], 'q');
	buf_fini(&b);
}

static void test_steal(void **state)
{
	struct buf b;
	uint8_t *p;
	size_t len = 0;

	buf_init(&b);
	assert_int_equal(buf_append(&b, "payload", 7), 0);
	p = buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 7);
	assert_memory_equal(p, "payload", 7);
	/* The buffer is empty and owns nothing; the caller frees. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_append(&b, "next", 4), 0);
	assert_ptr_not_equal(b.data, p);
	assert_memory_equal(p, "payload", 7);
	free(p);
	assert_memory_equal(b.data, "next", 4);
	buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_big_endian_writers),
		cmocka_unit_test(test_growth_keeps_content),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_overflow_and_failure),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
