/* Per-address throttling of VNC authentication failures in
 * vfbd/auth-throttle.c: free failures, doubling blocks with a cap, other
 * addresses untouched, success forgetting, time unblocking and the
 * bounded table. Time is passed in, so no test sleeps. */
#include "vfbd/auth-throttle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	struct auth_throttle *t = malloc(sizeof(*t));

	assert_non_null(t);
	memset(t, 0xa5, sizeof(*t)); /* init must not rely on zeroed memory */
	auth_throttle_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Fails `n` times at `now`; all but possibly the last must be free. */
static uint64_t fail_n(struct auth_throttle *t, const char *host, int n,
		       uint64_t now)
{
	uint64_t block = 0;

	for (int i = 0; i < n; i++) {
		assert_int_equal(block, 0);
		block = auth_throttle_fail(t, host, now);
	}
	return block;
}

static void test_fresh(void **state)
{
	struct auth_throttle *t = *state;

	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", 0), 0);
	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", 1000000), 0);
	assert_int_equal(auth_throttle_blocked_ms(t, "", 0), 0);
}

static void test_free_then_blocked(void **state)
{
	struct auth_throttle *t = *state;
	const uint64_t now = 1000000;

	for (int i = 1; i < AUTH_THROTTLE_FREE; i++) {
		assert_int_equal(auth_throttle_fail(t, "10.0.0.1", now), 0);
		assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", now),
				 0);
	}
	assert_int_equal(AUTH_THROTTLE_FREE, 5);
	assert_int_equal(AUTH_THROTTLE_BASE_MS, 10000);
	assert_int_equal(auth_throttle_fail(t, "10.0.0.1", now), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", now), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", now + 1),
			 9999);
	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", now + 9999),
			 1);
	/* Time passing unblocks. */
	assert_int_equal(auth_throttle_blocked_ms(t, "10.0.0.1", now + 10000),
			 0);
	assert_int_equal(
		auth_throttle_blocked_ms(t, "10.0.0.1", now + 100000000), 0);
}

static void test_doubling_and_cap(void **state)
{
	struct auth_throttle *t = *state;
	uint64_t now = 5000, want = 10000;

	assert_int_equal(fail_n(t, "::1", AUTH_THROTTLE_FREE, now), want);
	/* Each further failure, once the block is over, doubles it. */
	for (int i = 0; i < 8; i++) {
		now += want;
		want *= 2;
		assert_int_equal(auth_throttle_fail(t, "::1", now), want);
		assert_int_equal(auth_throttle_blocked_ms(t, "::1", now), want);
	}
	assert_int_equal(want, 2560000);
	/* 5120 s would be past the hour: capped. */
	now += want;
	assert_int_equal(auth_throttle_fail(t, "::1", now), 3600000);
	assert_int_equal(auth_throttle_blocked_ms(t, "::1", now), 3600000);
	assert_int_equal(AUTH_THROTTLE_MAX_MS, 3600000);
	/* And it stays capped, without overflowing, however long it goes. */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(auth_throttle_fail(t, "::1", now + i),
				 3600000);
	assert_int_equal(auth_throttle_blocked_ms(t, "::1", now + 9999),
			 3600000);
	assert_int_equal(
		auth_throttle_blocked_ms(t, "::1", now + 9999 + 3600000), 0);
}

static void test_other_hosts_unaffected(void **state)
{
	struct auth_throttle *t = *state;

	assert_int_equal(fail_n(t, "192.0.2.1", 5, 100), 10000);
	assert_true(auth_throttle_blocked_ms(t, "192.0.2.1", 100) > 0);
	/* Similar-looking addresses are distinct. */
	assert_int_equal(auth_throttle_blocked_ms(t, "192.0.2.10", 100), 0);
	assert_int_equal(auth_throttle_blocked_ms(t, "192.0.2.", 100), 0);
	assert_int_equal(auth_throttle_blocked_ms(t, "192.0.2.2", 100), 0);
	/* Another address has its own free failures. */
	assert_int_equal(fail_n(t, "192.0.2.2", 4, 100), 0);
	assert_int_equal(auth_throttle_blocked_ms(t, "192.0.2.2", 100), 0);
	assert_int_equal(auth_throttle_fail(t, "192.0.2.2", 100), 10000);
	/* Its failures did not lengthen the first one's block. */
	assert_int_equal(auth_throttle_blocked_ms(t, "192.0.2.1", 100), 10000);
}

static void test_success_forgets(void **state)
{
	struct auth_throttle *t = *state;

	assert_int_equal(fail_n(t, "198.51.100.7", 5, 0), 10000);
	assert_int_equal(auth_throttle_fail(t, "198.51.100.7", 0), 20000);
	auth_throttle_success(t, "198.51.100.7");
	assert_int_equal(auth_throttle_blocked_ms(t, "198.51.100.7", 0), 0);
	/* The count starts over: four free failures again. */
	assert_int_equal(fail_n(t, "198.51.100.7", 5, 50), 10000);

	/* A success elsewhere forgets nothing here; an unknown address's
	 * success is harmless. */
	auth_throttle_success(t, "198.51.100.8");
	auth_throttle_success(t, "never-seen");
	assert_int_equal(auth_throttle_blocked_ms(t, "198.51.100.7", 50),
			 10000);
}

/* Failures keep counting after a block ends: the next one blocks twice
 * as long instead of being free again. */
static void test_unblock_keeps_count(void **state)
{
	struct auth_throttle *t = *state;

	assert_int_equal(fail_n(t, "203.0.113.5", 5, 0), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, "203.0.113.5", 10000), 0);
	assert_int_equal(auth_throttle_fail(t, "203.0.113.5", 10000), 20000);
	assert_int_equal(auth_throttle_blocked_ms(t, "203.0.113.5", 30000), 0);
}

static void host_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "10.1.%d.%d", i / 256, i % 256);
}

/* A full table makes room by forgetting the entry idle longest, which
 * is neither the first slot nor the newest. */
static void test_full_table_evicts_stalest(void **state)
{
	struct auth_throttle *t = *state;
	char host[32];
	const int stale = 77;

	for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		host_name(host, sizeof(host), i);
		assert_int_equal(
			fail_n(t, host, i == stale ? 5 : 1, (uint64_t)i),
			i == stale ? 10000 : 0);
	}
	for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		if (i == stale)
			continue;
		host_name(host, sizeof(host), i);
		assert_int_equal(
			auth_throttle_fail(t, host, 1000 + (uint64_t)i), 0);
	}
	host_name(host, sizeof(host), stale);
	assert_int_equal(auth_throttle_blocked_ms(t, host, 2000), 8077);

	/* A newcomer needs a slot: the stale entry goes. */
	assert_int_equal(fail_n(t, "2001:db8::1", 5, 2000), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, "2001:db8::1", 2000),
			 10000);
	host_name(host, sizeof(host), stale);
	assert_int_equal(auth_throttle_blocked_ms(t, host, 2000), 0);

	/* Everyone else kept two failures: the third free one, then... */
	for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		if (i == stale)
			continue;
		host_name(host, sizeof(host), i);
		assert_int_equal(fail_n(t, host, 3, 3000), 10000);
	}
}

/* The longest textual address (IPv4-mapped IPv6) and longer keys, as a
 * caller might pass with a zone: blocked like any other. */
static void test_long_hosts(void **state)
{
	struct auth_throttle *t = *state;
	static const char mapped[] = "ffff:ffff:ffff:ffff:ffff:ffff:"
				     "255.255.255.255";
	char longest[56], longer[80];

	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	snprintf(longer, sizeof(longer), "fe80::1234:5678:9abc:def0%%%s",
		 "a-very-long-interface-name-indeed");

	assert_int_equal(fail_n(t, mapped, 5, 0), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, mapped, 0), 10000);
	assert_int_equal(fail_n(t, longest, 5, 0), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, longest, 0), 10000);
	/* Differing in the last character that fits is different. */
	longest[sizeof(longest) - 2] = 'b';
	assert_int_equal(auth_throttle_blocked_ms(t, longest, 0), 0);
	assert_int_equal(fail_n(t, longer, 5, 0), 10000);
	assert_int_equal(auth_throttle_blocked_ms(t, longer, 0), 10000);
	auth_throttle_success(t, longer);
	assert_int_equal(auth_throttle_blocked_ms(t, longer, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_then_blocked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_doubling_and_cap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_hosts_unaffected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_success_forgets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unblock_keeps_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_table_evicts_stalest,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_hosts, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
