/* listener_split() in net/listener.c: "HOST:PORT" and "[V6]:PORT" into a
 * host and a port, everything else refused. (Binding is for the
 * integration tests.) */
#include "net/listener.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void expect_split(const char *spec, const char *host, unsigned port)
{
	char out[64];
	unsigned p = 12345678;

	memset(out, 'Z', sizeof(out));
	if (listener_split(spec, out, sizeof(out), &p) != 0)
		print_message("refused: \"%s\"\n", spec);
	assert_int_equal(listener_split(spec, out, sizeof(out), &p), 0);
	assert_string_equal(out, host);
	assert_int_equal(p, port);
}

static void expect_refused(const char *spec)
{
	char out[64];
	unsigned p = 0;

	if (listener_split(spec, out, sizeof(out), &p) != -EINVAL)
		print_message("accepted: \"%s\"\n", spec);
	assert_int_equal(listener_split(spec, out, sizeof(out), &p), -EINVAL);
}

static void test_ipv4(void **state)
{
	expect_split("127.0.0.1:5900", "127.0.0.1", 5900);
	expect_split("0.0.0.0:5901", "0.0.0.0", 5901);
	expect_split("10.1.2.3:0", "10.1.2.3", 0);
	expect_split("255.255.255.255:65535", "255.255.255.255", 65535);
	expect_split("1.2.3.4:1", "1.2.3.4", 1);
}

static void test_ipv6(void **state)
{
	expect_split("[::1]:5900", "::1", 5900);
	expect_split("[::]:0", "::", 0);
	expect_split("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535);
	expect_split("[2001:db8::a:b:c:d]:443", "2001:db8::a:b:c:d", 443);
	expect_split("[::ffff:192.0.2.1]:5900", "::ffff:192.0.2.1", 5900);
}

static void test_host_names(void **state)
{
	expect_split("localhost:5900", "localhost", 5900);
	expect_split("vnc.example.org:80", "vnc.example.org", 80);
	expect_split("a:1", "a", 1);
	expect_split("host-1.lan:05900", "host-1.lan", 5900);
}

static void test_bad_ports(void **state)
{
	static const char *const bad[] = {
		"h:",
		"h:65536",
		"h:99999",
		"h:-1",
		"h:+1",
		"h:-0",
		"h:0x10",
		"h:5900a",
		"h:59 00",
		"h: 5900",
		"h:\t5900",
		"h:5900 ",
		"h:5900\n",
		"h:abc",
		"h:4294967296",
		"h:18446744073709551616",
		"h:99999999999999999999999",
		"[::1]:",
		"[::1]:x",
		"[::1]:-5900",
		"[::1]: 5900",
		"[::1]:65536",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		/* no port at all */
		"",
		"localhost",
		"127.0.0.1",
		"[::1]",
		"[::1]5900",
		/* empty host */
		":5900",
		"[]:5900",
		/* IPv6 without brackets is ambiguous */
		"::1:5900",
		"fe80::1:80",
		"a:b:5900",
		/* brackets not closed or with junk around them */
		"[::1:5900",
		"[::1]x:5900",
		"[::1]:5900]",
		"[::1]]:5900",
		"[::1]:[5900]",
		/* junk after the port */
		"h:5900:",
		"h:5900:1",
		"127.0.0.1:5900/tcp",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
}

/* The host fits the caller's buffer with its NUL, or is refused; nothing
 * is written past the buffer either way. */
static void test_host_buffer(void **state)
{
	char out[16];
	unsigned port = 0;

	memset(out, 'Z', sizeof(out));
	assert_int_equal(listener_split("abcdefgh:1", out, 9, &port), 0);
	assert_string_equal(out, "abcdefgh");
	assert_int_equal(port, 1);
	assert_int_equal(out[9], 'Z');

	memset(out, 'Z', sizeof(out));
	assert_int_equal(listener_split("abcdefghi:1", out, 9, &port), -EINVAL);
	assert_int_equal(out[9], 'Z');
	assert_int_equal(listener_split("[abcdefghi]:1", out, 9, &port),
			 -EINVAL);
	assert_int_equal(out[9], 'Z');
	assert_int_equal(listener_split("[abcdefgh]:2", out, 9, &port), 0);
	assert_string_equal(out, "abcdefgh");
	assert_int_equal(port, 2);
	assert_int_equal(listener_split("a:3", out, 1, &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_host_names),
		cmocka_unit_test(test_bad_ports),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_host_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
