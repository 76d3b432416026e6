/* vfbd-dm: QEMU's argument vector as libxl builds it for a PV guest, and
 * the QMP answers libxl waits for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vfbd/dm-args.h"
#include "vfbd/qmp.h"

static int parse(char **argv, struct dm_config *dm, struct vfbd_config *cfg)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	vfbd_config_defaults(cfg);
	return dm_args_parse(argc, argv, dm, cfg);
}

static void libxl_pv_argv(void **state)
{
	char c1[] = "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-7,"
		    "server=on,wait=off";
	char c2[] = "socket,id=libxenstat-cmd,path=/var/run/xen/"
		    "qmp-libxenstat-7,server=on,wait=off";
	char *argv[] = {"/usr/local/bin/vfbd-dm",
			"-xen-domid",
			"7",
			"-chardev",
			c1,
			"-mon",
			"chardev=libxl-cmd,mode=control",
			"-chardev",
			c2,
			"-mon",
			"chardev=libxenstat-cmd,mode=control",
			"-nodefaults",
			"-no-user-config",
			"-name",
			"guest7",
			"-vnc",
			"0.0.0.0:3,to=99,password=on",
			"-k",
			"de",
			"-machine",
			"xenpv",
			"-m",
			"257",
			NULL};
	struct dm_config dm;
	struct vfbd_config cfg;

	assert_int_equal(parse(argv, &dm, &cfg), 0);
	assert_int_equal(dm.domid, 7);
	assert_string_equal(cfg.source, "xen-pv:7");
	assert_string_equal(cfg.vnclisten, "0.0.0.0");
	assert_int_equal(cfg.vncdisplay, 3);
	assert_true(cfg.vncunused);
	assert_true(dm.password_on);
	assert_string_equal(dm.name, "guest7");
	assert_string_equal(dm.keymap, "de");
	assert_int_equal(dm.n_qmp, 2);
	assert_string_equal(dm.qmp[0], "/var/run/xen/qmp-libxl-7");
	assert_string_equal(dm.qmp[1], "/var/run/xen/qmp-libxenstat-7");
}

static void refused_and_bad(void **state)
{
	char *disk[] = {"vfbd-dm", "-xen-domid", "1", "-drive", "file=x", NULL};
	char *nodomid[] = {"vfbd-dm", "-vnc", "127.0.0.1:0", NULL};
	char *baddomid[] = {"vfbd-dm", "-xen-domid", "x1", NULL};
	char *badvnc[] = {"vfbd-dm", "-xen-domid", "1",
			  "-vnc",    "nocolon",	   NULL};
	char *v6[] = {"vfbd-dm", "-xen-domid", "2", "-vnc", "[::1]:1", NULL};
	struct dm_config dm;
	struct vfbd_config cfg;

	assert_int_equal(parse(disk, &dm, &cfg), -1);
	assert_int_equal(parse(nodomid, &dm, &cfg), -1);
	assert_int_equal(parse(baddomid, &dm, &cfg), -1);
	assert_int_equal(parse(badvnc, &dm, &cfg), -1);
	assert_int_equal(parse(v6, &dm, &cfg), 0);
	assert_string_equal(cfg.vnclisten, "::1");
	assert_false(cfg.vncunused);
	assert_true(dm_invoked_as_dm("/usr/lib/xen/bin/vfbd-dm"));
	assert_false(dm_invoked_as_dm("/usr/bin/vfbd"));
}

static char password[64];

static void vnc_info(void *ctx, char *host, size_t host_len, unsigned *port)
{
	snprintf(host, host_len, "0.0.0.0");
	*port = 5903;
}

static void set_password(void *ctx, const char *pw)
{
	snprintf(password, sizeof(password), "%s", pw);
}

static const struct qmp_ops ops = {vnc_info, set_password};

static const char *answer(const char *cmd)
{
	static char out[1024];

	qmp_answer(&ops, NULL, cmd, strlen(cmd), out, sizeof(out));
	return out;
}

static void qmp_answers(void **state)
{
	assert_string_equal(answer("{\"execute\": \"qmp_capabilities\", "
				   "\"id\": 1}"),
			    "{\"return\": {}, \"id\": 1}\r\n");
	assert_string_equal(answer("{\"execute\":\"query-chardev\",\"id\":2}"),
			    "{\"return\": [], \"id\": 2}\r\n");
	assert_non_null(strstr(answer("{\"execute\":\"query-vnc\"}"),
			       "\"service\": \"5903\""));
	assert_non_null(strstr(answer("{\"execute\":\"query-status\"}"),
			       "\"running\": true"));
	assert_string_equal(
		answer("{\"execute\":\"change-vnc-password\",\"arguments\":"
		       "{\"password\":\"s3cr\\\"et\"},\"id\":5}"),
		"{\"return\": {}, \"id\": 5}\r\n");
	assert_string_equal(password, "s3cr\"et");
	assert_non_null(
		strstr(answer("{\"execute\":\"cont\"}"), "CommandNotFound"));
	assert_non_null(strstr(answer("{\"execute\":\"change-vnc-password\"}"),
			       "GenericError"));
	assert_non_null(strstr(answer("{\"id\": 3}"), "GenericError"));
	/* An id that is not a number or plain string is not echoed. */
	assert_null(strstr(answer("{\"execute\":\"query-chardev\","
				  "\"id\":{\"x\":\"}\"}}"),
			   "\"id\""));
	/* "execute" inside nested arguments does not count. */
	assert_non_null(strstr(answer("{\"arguments\":{\"execute\":"
				      "\"qmp_capabilities\"}}"),
			       "GenericError"));
}

static void qmp_framing(void **state)
{
	const char two[] = " {\"a\": \"}{\"}{\"b\": [1, {\"c\": 2}]}";

	assert_int_equal(qmp_frame(two, strlen(two)), 12);
	assert_int_equal(qmp_frame(two + 12, strlen(two) - 12),
			 (long)strlen(two) - 12);
	assert_int_equal(qmp_frame("{\"a\": 1", 7), 0);
	assert_int_equal(qmp_frame("  ", 2), 0);
	assert_int_equal(qmp_frame("[1]", 3), -1);
	assert_int_equal(qmp_frame("x{}", 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(libxl_pv_argv),
		cmocka_unit_test(refused_and_bad),
		cmocka_unit_test(qmp_answers),
		cmocka_unit_test(qmp_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
