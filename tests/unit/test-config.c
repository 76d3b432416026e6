/* The command line in vfbd/config.c against the contract in cli.md:
 * defaults, every option with good and bad values, --help/--version, and
 * what is printed where. */
#include "vfbd/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_ARGS 32

/* Output of the last parse, captured from stdout and stderr. */
static char out_text[8192], err_text[4096];

static void read_back(FILE *f, char *buf, size_t len)
{
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Parses `first` and the NULL-terminated arguments after it (as if after
 * "vfbd") into `cfg`, which starts from the defaults; stdout and stderr
 * are captured. */
static enum config_result parse_v(struct vfbd_config *cfg, const char *first,
				  va_list ap)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	FILE *out = tmpfile(), *err = tmpfile(), *saved_out, *saved_err;
	enum config_result rc;
	const char *a = first;

	assert_non_null(out);
	assert_non_null(err);
	argv[argc++] = "vfbd";
	while (a) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = (char *)a;
		a = va_arg(ap, const char *);
	}
	argv[argc] = NULL;

	vfbd_config_defaults(cfg);
	/* The FILE pointers are swapped, not the descriptors, so that a
	 * sanitizer's report still reaches the real stderr. */
	saved_out = stdout;
	saved_err = stderr;
	stdout = out;
	stderr = err;
	rc = vfbd_config_parse(cfg, argc, argv);
	stdout = saved_out;
	stderr = saved_err;
	read_back(out, out_text, sizeof(out_text));
	read_back(err, err_text, sizeof(err_text));
	/* Output goes where cli.md says, and only there. */
	if (rc == CONFIG_ERROR)
		assert_true(err_text[0] && !out_text[0]);
	else if (rc == CONFIG_EXIT)
		assert_true(out_text[0] && !err_text[0]);
	else
		assert_true(!out_text[0] && !err_text[0]);
	return rc;
}

static enum config_result parse_into(struct vfbd_config *cfg, const char *first,
				     ...)
{
	enum config_result rc;
	va_list ap;

	va_start(ap, first);
	rc = parse_v(cfg, first, ap);
	va_end(ap);
	return rc;
}

/* The parse's result only, on a scratch config. */
static enum config_result parse(const char *first, ...)
{
	struct vfbd_config cfg;
	enum config_result rc;
	va_list ap;

	va_start(ap, first);
	rc = parse_v(&cfg, first, ap);
	va_end(ap);
	log_set_level(LOG_LEVEL_INFO);
	return rc;
}

static void expect_error_naming(const char *what)
{
	if (!strstr(err_text, what))
		print_message("no \"%s\" in stderr: %s", what, err_text);
	assert_non_null(strstr(err_text, what));
}

static void test_defaults(void **state)
{
	struct vfbd_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	vfbd_config_defaults(&cfg);
	assert_string_equal(cfg.source, "demo");
	assert_int_equal(cfg.n_listen, 0); /* the daemon adds 127.0.0.1:5900 */
	assert_null(cfg.vnclisten);
	assert_int_equal(cfg.vncdisplay, -1);
	assert_false(cfg.vncunused);
	assert_null(cfg.password_file);
	assert_string_equal(cfg.password, "");
	assert_int_equal(cfg.share, SHARE_TAKEOVER);
	assert_int_equal(cfg.max_clients, 8);
	assert_false(cfg.view_only);
	assert_int_equal(cfg.keepalive_idle, 10);
	assert_int_equal(cfg.keepalive_intvl, 5);
	assert_int_equal(cfg.keepalive_cnt, 3);
	assert_int_equal(cfg.user_timeout_s, 20);
	assert_int_equal(cfg.stall_timeout_s, 20);
	assert_int_equal(cfg.handshake_timeout_s, 10);
	assert_int_equal(cfg.idle_timeout_s, 0);
	assert_string_equal(cfg.keymap, "en-us");
	assert_null(cfg.control_path);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_string_equal(share_policy_name(SHARE_TAKEOVER), "takeover");
	assert_string_equal(share_policy_name(SHARE_SHARED), "shared");
	assert_string_equal(share_policy_name(SHARE_EXCLUSIVE), "exclusive");
}

static void test_no_arguments(void **state)
{
	struct vfbd_config cfg, def;

	assert_int_equal(parse_into(&cfg, NULL), CONFIG_RUN);
	vfbd_config_defaults(&def);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

static void test_help_and_version(void **state)
{
	static const char *const options[] = {
		"--source",	   "--domid",
		"--listen",	   "--vnclisten",
		"--vncdisplay",	   "--vncunused",
		"--password-file", "--share",
		"--max-clients",   "--view-only",
		"--keepalive",	   "--user-timeout",
		"--stall-timeout", "--handshake-timeout",
		"--idle-timeout",  "--keymap",
		"--control",	   "--log-level",
		"--version",	   "--help",
	};
	struct vfbd_config cfg;

	assert_int_equal(parse_into(&cfg, "--help", NULL), CONFIG_EXIT);
	assert_non_null(strstr(out_text, "Usage: vfbd"));
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		assert_non_null(strstr(out_text, options[i]));
	assert_int_equal(parse_into(&cfg, "--version", NULL), CONFIG_EXIT);
	assert_string_equal(out_text, "vfbd " VFBD_VERSION "\n");
	/* They win over what follows, even a bad option. */
	assert_int_equal(parse_into(&cfg, "--help", "--bogus", NULL),
			 CONFIG_EXIT);
	assert_int_equal(parse_into(&cfg, "--version", "--share", "x", NULL),
			 CONFIG_EXIT);
}

static void test_valid_values(void **state)
{
	struct vfbd_config cfg;

	assert_int_equal(parse_into(&cfg, "--source", "demo:800x600", "--share",
				    "shared", "--max-clients", "1024",
				    "--view-only", "--vncunused", "--keymap",
				    "us", "--control", "/run/vfbd/ctl.sock",
				    "--user-timeout", "0", "--stall-timeout",
				    "86400", "--handshake-timeout", "3600",
				    "--idle-timeout", "604800", NULL),
			 CONFIG_RUN);
	assert_string_equal(cfg.source, "demo:800x600");
	assert_int_equal(cfg.share, SHARE_SHARED);
	assert_int_equal(cfg.max_clients, 1024);
	assert_true(cfg.view_only);
	assert_true(cfg.vncunused);
	assert_string_equal(cfg.keymap, "en-us");
	assert_string_equal(cfg.control_path, "/run/vfbd/ctl.sock");
	assert_int_equal(cfg.user_timeout_s, 0);
	assert_int_equal(cfg.stall_timeout_s, 86400);
	assert_int_equal(cfg.handshake_timeout_s, 3600);
	assert_int_equal(cfg.idle_timeout_s, 604800);

	assert_int_equal(parse_into(&cfg, "--share", "exclusive",
				    "--max-clients", "1", "--user-timeout",
				    "86400", "--stall-timeout", "0",
				    "--handshake-timeout", "1",
				    "--idle-timeout", "0", "--keymap", "en-us",
				    "--source", "shm:/dev/shm/fb", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.share, SHARE_EXCLUSIVE);
	assert_int_equal(cfg.max_clients, 1);
	assert_int_equal(cfg.user_timeout_s, 86400);
	assert_int_equal(cfg.stall_timeout_s, 0);
	assert_int_equal(cfg.handshake_timeout_s, 1);
	assert_string_equal(cfg.source, "shm:/dev/shm/fb");

	assert_int_equal(parse_into(&cfg, "--share", "takeover", "--share",
				    "shared", "--share=takeover", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.share, SHARE_TAKEOVER);

	/* --domid is --source xen-pv:N; the later one wins. */
	assert_int_equal(parse_into(&cfg, "--domid", "7", NULL), CONFIG_RUN);
	assert_string_equal(cfg.source, "xen-pv:7");
	assert_int_equal(parse_into(&cfg, "--domid", "1", NULL), CONFIG_RUN);
	assert_string_equal(cfg.source, "xen-pv:1");
	assert_int_equal(parse_into(&cfg, "--domid", "32751", NULL),
			 CONFIG_RUN);
	assert_string_equal(cfg.source, "xen-pv:32751");
	assert_int_equal(
		parse_into(&cfg, "--domid", "3", "--source", "demo", NULL),
		CONFIG_RUN);
	assert_string_equal(cfg.source, "demo");

	/* xl style listening. */
	assert_int_equal(parse_into(&cfg, "--vnclisten", "0.0.0.0",
				    "--vncdisplay", "3", NULL),
			 CONFIG_RUN);
	assert_string_equal(cfg.vnclisten, "0.0.0.0");
	assert_int_equal(cfg.vncdisplay, 3);
	assert_int_equal(cfg.n_listen, 0);
	assert_int_equal(parse_into(&cfg, "--vncdisplay", "0", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.vncdisplay, 0);
	assert_int_equal(parse_into(&cfg, "--vncdisplay", "59635", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.vncdisplay, 65535 - 5900);
}

static void test_log_level(void **state)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{"error", LOG_LEVEL_ERROR},
		{"warn", LOG_LEVEL_WARN},
		{"debug", LOG_LEVEL_DEBUG},
		{"info", LOG_LEVEL_INFO},
	};
	struct vfbd_config cfg;

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		assert_int_equal(
			parse_into(&cfg, "--log-level", levels[i].name, NULL),
			CONFIG_RUN);
		assert_int_equal(cfg.log_level, levels[i].level);
		/* A successful parse applies it. */
		assert_int_equal(log_get_level(), levels[i].level);
	}
	assert_int_equal(parse("--log-level", "verbose", NULL), CONFIG_ERROR);
	assert_int_equal(parse("--log-level", "INFO", NULL), CONFIG_ERROR);
	assert_int_equal(parse("--log-level", "", NULL), CONFIG_ERROR);
	log_set_level(LOG_LEVEL_INFO);
}

static void test_listen_up_to_eight(void **state)
{
	struct vfbd_config cfg;

	assert_int_equal(parse_into(&cfg, "--listen", "127.0.0.1:5900",
				    "--listen", "[::1]:5900", "--listen",
				    "unix:/run/vfbd/7.sock", "--listen",
				    "0.0.0.0:0", "--listen", "a:4", "--listen",
				    "b:5", "--listen", "c:6", "--listen", "d:7",
				    NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.n_listen, VFBD_MAX_LISTEN);
	assert_string_equal(cfg.listen[0], "127.0.0.1:5900");
	assert_string_equal(cfg.listen[1], "[::1]:5900");
	assert_string_equal(cfg.listen[2], "unix:/run/vfbd/7.sock");
	assert_string_equal(cfg.listen[7], "d:7");

	assert_int_equal(parse_into(&cfg, "--listen", "1:1", "--listen", "2:2",
				    "--listen", "3:3", "--listen", "4:4",
				    "--listen", "5:5", "--listen", "6:6",
				    "--listen", "7:7", "--listen", "8:8",
				    "--listen", "9:9", NULL),
			 CONFIG_ERROR);
	expect_error_naming("9:9");
	assert_true(cfg.n_listen <= VFBD_MAX_LISTEN);

	/* --listen and the xl pair exclude each other. */
	assert_int_equal(parse("--listen", "1:1", "--vncdisplay", "1", NULL),
			 CONFIG_ERROR);
	assert_int_equal(parse("--vnclisten", "::", "--listen", "1:1", NULL),
			 CONFIG_ERROR);
}

static void test_keepalive(void **state)
{
	static const char *const bad[] = {
		"",
		"10",
		"10,5",
		"10,5,3,",
		"10,5,3,1",
		",5,3",
		"10,,3",
		"10,5,",
		",,",
		"0,5,3",
		"10,0,3",
		"10,5,0",
		"a,b,c",
		"10,5,x",
		"-1,5,3",
		"10,-5,3",
		"32768,5,3",
		"10,32768,3",
		"10.5,5,3",
		"10;5;3",
		"1234567890123456789,1,1",
		"1234567890123456,1,1",
		"1,123456789012345,1",
		"1,1,99999999999999999999",
		"10,5,3 ",
		"+,5,3",
	};
	struct vfbd_config cfg;

	assert_int_equal(parse_into(&cfg, "--keepalive", "1,2,3", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.keepalive_idle, 1);
	assert_int_equal(cfg.keepalive_intvl, 2);
	assert_int_equal(cfg.keepalive_cnt, 3);
	assert_int_equal(
		parse_into(&cfg, "--keepalive", "32767,32767,127", NULL),
		CONFIG_RUN);
	assert_int_equal(cfg.keepalive_idle, 32767);
	assert_int_equal(cfg.keepalive_intvl, 32767);
	assert_int_equal(cfg.keepalive_cnt, 127);
	assert_int_equal(parse_into(&cfg, "--keepalive=60,10,9", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.keepalive_idle, 60);
	assert_int_equal(cfg.keepalive_intvl, 10);
	assert_int_equal(cfg.keepalive_cnt, 9);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_into(&cfg, "--keepalive", bad[i], NULL),
				 CONFIG_ERROR);
		expect_error_naming("--keepalive");
		/* A refused value leaves the defaults. */
		assert_int_equal(cfg.keepalive_idle, 10);
		assert_int_equal(cfg.keepalive_intvl, 5);
		assert_int_equal(cfg.keepalive_cnt, 3);
	}
}

/* Bad values for every option that takes one, each named in the error
 * message. */
static void test_bad_values(void **state)
{
	static const struct {
		const char *option, *value;
	} bad[] = {
		{"--domid", "0"},
		{"--domid", "32752"},
		{"--domid", "-1"},
		{"--domid", "x"},
		{"--domid", ""},
		{"--domid", "1x"},
		{"--vncdisplay", "-1"},
		{"--vncdisplay", "59636"},
		{"--vncdisplay", "abc"},
		{"--vncdisplay", "99999999999999999999"},
		{"--share", "bogus"},
		{"--share", "Shared"},
		{"--share", ""},
		{"--share", "take"},
		{"--max-clients", "0"},
		{"--max-clients", "1025"},
		{"--max-clients", "-8"},
		{"--max-clients", "8 "},
		{"--max-clients", "4294967304"},
		{"--user-timeout", "86401"},
		{"--user-timeout", "-1"},
		{"--user-timeout", "1s"},
		{"--user-timeout", "-0"},
		{"--stall-timeout", "86401"},
		{"--stall-timeout", ""},
		{"--handshake-timeout", "0"},
		{"--handshake-timeout", "3601"},
		{"--idle-timeout", "604801"},
		{"--idle-timeout", "ten"},
		{"--keymap", "de"},
		{"--keymap", ""},
		{"--keymap", "en-gb"},
		{"--log-level", "trace"},
	};
	struct vfbd_config cfg, def;

	vfbd_config_defaults(&def);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char both[64];

		assert_int_equal(
			parse_into(&cfg, bad[i].option, bad[i].value, NULL),
			CONFIG_ERROR);
		expect_error_naming(bad[i].option);
		expect_error_naming(bad[i].value);
		/* Also as --option=value. */
		snprintf(both, sizeof(both), "%s=%s", bad[i].option,
			 bad[i].value);
		assert_int_equal(parse_into(&cfg, both, NULL), CONFIG_ERROR);
		/* The refused value did not land in the config. */
		assert_int_equal(cfg.max_clients, def.max_clients);
		assert_int_equal(cfg.share, def.share);
		assert_int_equal(cfg.vncdisplay, def.vncdisplay);
		assert_int_equal(cfg.user_timeout_s, def.user_timeout_s);
		assert_int_equal(cfg.stall_timeout_s, def.stall_timeout_s);
		assert_int_equal(cfg.handshake_timeout_s,
				 def.handshake_timeout_s);
		assert_int_equal(cfg.idle_timeout_s, def.idle_timeout_s);
		assert_string_equal(cfg.source, def.source);
		assert_string_equal(cfg.keymap, def.keymap);
	}
}

static void test_usage_errors(void **state)
{
	assert_int_equal(parse("--bogus", NULL), CONFIG_ERROR);
	expect_error_naming("--bogus");
	expect_error_naming("unknown option");
	assert_int_equal(parse("--bogus=1", NULL), CONFIG_ERROR);
	expect_error_naming("--bogus");

	assert_int_equal(parse("--listen", NULL), CONFIG_ERROR);
	expect_error_naming("--listen");
	expect_error_naming("missing value");
	assert_int_equal(parse("--view-only", "--max-clients", NULL),
			 CONFIG_ERROR);
	expect_error_naming("--max-clients");
	expect_error_naming("missing value");

	/* A flag does not take a value. */
	assert_int_equal(parse("--view-only=yes", NULL), CONFIG_ERROR);
	expect_error_naming("--view-only");
	assert_null(strstr(err_text, "missing value"));

	assert_int_equal(parse("stray", NULL), CONFIG_ERROR);
	expect_error_naming("stray");
	assert_int_equal(parse("--view-only", "stray", NULL), CONFIG_ERROR);
	expect_error_naming("stray");

	/* Short options do not exist. */
	assert_int_equal(parse("-x", NULL), CONFIG_ERROR);
	expect_error_naming("-x");
	expect_error_naming("unknown option");
	assert_int_equal(parse("-h", NULL), CONFIG_ERROR);
	assert_int_equal(parse("-ab", NULL), CONFIG_ERROR);
	expect_error_naming("-a");
	expect_error_naming("unknown option");
}

/* getopt keeps state between calls: each parse starts afresh, whatever
 * the previous one stopped on. */
static void test_parse_twice(void **state)
{
	struct vfbd_config cfg;

	assert_int_equal(
		parse("--view-only", "--share", "bogus", "--max-clients", NULL),
		CONFIG_ERROR);
	assert_int_equal(parse_into(&cfg, "--max-clients", "3", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.max_clients, 3);

	/* Stopped inside a cluster of short options. */
	assert_int_equal(parse("-ab", NULL), CONFIG_ERROR);
	assert_int_equal(parse_into(&cfg, "--view-only", NULL), CONFIG_RUN);
	assert_true(cfg.view_only);
	assert_int_equal(parse("-xyz", "--view-only", NULL), CONFIG_ERROR);
	assert_int_equal(parse_into(&cfg, "--max-clients", "4", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.max_clients, 4);

	/* After --help stopped early, and after a stray argument. */
	assert_int_equal(parse("--help", "--view-only", NULL), CONFIG_EXIT);
	assert_int_equal(parse_into(&cfg, NULL), CONFIG_RUN);
	assert_false(cfg.view_only);
	assert_int_equal(parse("a", "b", NULL), CONFIG_ERROR);
	assert_int_equal(parse_into(&cfg, "--max-clients", "5", NULL),
			 CONFIG_RUN);
	assert_int_equal(cfg.max_clients, 5);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/vfbd-test-config-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_password_file(void **state)
{
	struct vfbd_config cfg;
	char *good = write_temp("s3cret\n", 7);
	char *longer = write_temp("abcdefghijk\n", 12);
	char *empty = write_temp("", 0);

	assert_int_equal(parse_into(&cfg, "--password-file", good, NULL),
			 CONFIG_RUN);
	assert_string_equal(cfg.password_file, good);
	assert_string_equal(cfg.password, "s3cret");
	assert_int_equal(parse_into(&cfg, "--password-file", longer, NULL),
			 CONFIG_RUN);
	assert_string_equal(cfg.password, "abcdefgh");

	assert_int_equal(parse_into(&cfg, "--password-file", empty, NULL),
			 CONFIG_ERROR);
	expect_error_naming("--password-file");
	expect_error_naming(empty);
	assert_int_equal(parse_into(&cfg, "--password-file",
				    "/nonexistent/vfbd/passwd", NULL),
			 CONFIG_ERROR);
	expect_error_naming("/nonexistent/vfbd/passwd");
	assert_int_equal(parse_into(&cfg, "--password-file", NULL),
			 CONFIG_ERROR);

	unlink(good);
	unlink(longer);
	unlink(empty);
	free(good);
	free(longer);
	free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_arguments),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_listen_up_to_eight),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_parse_twice),
		cmocka_unit_test(test_password_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
