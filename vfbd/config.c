#include "vfbd/config.h"
#include "vfbd/xen-devices.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"Usage: vfbd [OPTIONS]\n"
	"Serve a framebuffer (the demo console, a shm file or a Xen guest)\n"
	"to VNC clients.\n"
	"\n"
	"What to show\n"
	"  --source SPEC            demo[:WxH][:static]  built-in demo "
	"console\n"
	"                                                 (default, 1024x768)\n"
	"                           shm:PATH             framebuffer in a shm "
	"file\n"
	"                           xen-pv:DOMID[:DEVID] Xen PV guest (vfb + "
	"vkbd)\n"
	"  --domid N                same as --source xen-pv:N\n"
	"\n"
	"Xen (xen-pv sources)\n"
	"  --create-devices         create the guest's vfb and vkbd device "
	"nodes\n"
	"                           (for configs without vfb=); removed on "
	"exit\n"
	"  --xen-size WxH           mode suggested to the guest and keyboard\n"
	"                           pointer range (default 800x600)\n"
	"  --xen-videoram MIB       largest guest framebuffer accepted\n"
	"                           (default 64)\n"
	"\n"
	"Where to listen (repeatable; default 127.0.0.1:5900)\n"
	"  --listen ADDR            127.0.0.1:5900 | [::1]:5900 | 0.0.0.0:5901 "
	"|\n"
	"                           unix:/run/vfbd/7.sock; port 0 = kernel "
	"picks\n"
	"  --vnclisten HOST         with --vncdisplay N: listen on "
	"HOST:(5900+N)\n"
	"  --vncdisplay N\n"
	"  --vncunused              first free port from 5900 (or 5900+N) up\n"
	"\n"
	"Who may connect\n"
	"  --password-file FILE     VNC authentication; FILE is a vncpasswd "
	"file\n"
	"                           or text whose first line is the password\n"
	"  --share POLICY           takeover (default) | shared | exclusive\n"
	"  --max-clients N          default 8 (shared)\n"
	"  --view-only              drop input from clients\n"
	"\n"
	"Liveness (per socket; no sysctl needed)\n"
	"  --keepalive IDLE,INTVL,CNT   default 10,5,3\n"
	"  --user-timeout SEC           default 20\n"
	"  --stall-timeout SEC          default 20\n"
	"  --handshake-timeout SEC      default 10\n"
	"  --idle-timeout SEC           default 0 (off)\n"
	"\n"
	"Input\n"
	"  --keymap LAYOUT          layout of keysym-only clients (en-us)\n"
	"\n"
	"Operations\n"
	"  --control PATH           unix socket for status and kick\n"
	"  --log-level LEVEL        error | warn | info (default) | debug\n"
	"  --version, --help\n"
	"\n"
	"Exit status: 0 after SIGTERM/SIGINT, 1 on usage errors, 2 when the\n"
	"source cannot be opened.\n";

enum {
	OPT_SOURCE = 256,
	OPT_DOMID,
	OPT_CREATE_DEVICES,
	OPT_XEN_SIZE,
	OPT_XEN_VIDEORAM,
	OPT_LISTEN,
	OPT_VNCLISTEN,
	OPT_VNCDISPLAY,
	OPT_VNCUNUSED,
	OPT_PASSWORD_FILE,
	OPT_SHARE,
	OPT_MAX_CLIENTS,
	OPT_VIEW_ONLY,
	OPT_KEEPALIVE,
	OPT_USER_TIMEOUT,
	OPT_STALL_TIMEOUT,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_KEYMAP,
	OPT_CONTROL,
	OPT_LOG_LEVEL,
	OPT_VERSION,
	OPT_HELP,
};

static const struct option long_options[] = {
	{"source", required_argument, NULL, OPT_SOURCE},
	{"domid", required_argument, NULL, OPT_DOMID},
	{"create-devices", no_argument, NULL, OPT_CREATE_DEVICES},
	{"xen-size", required_argument, NULL, OPT_XEN_SIZE},
	{"xen-videoram", required_argument, NULL, OPT_XEN_VIDEORAM},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"vnclisten", required_argument, NULL, OPT_VNCLISTEN},
	{"vncdisplay", required_argument, NULL, OPT_VNCDISPLAY},
	{"vncunused", no_argument, NULL, OPT_VNCUNUSED},
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	{"share", required_argument, NULL, OPT_SHARE},
	{"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
	{"view-only", no_argument, NULL, OPT_VIEW_ONLY},
	{"keepalive", required_argument, NULL, OPT_KEEPALIVE},
	{"user-timeout", required_argument, NULL, OPT_USER_TIMEOUT},
	{"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
	{"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
	{"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	{"keymap", required_argument, NULL, OPT_KEYMAP},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static char domid_source[64];

const char *share_policy_name(enum share_policy p)
{
	switch (p) {
	case SHARE_SHARED:
		return "shared";
	case SHARE_EXCLUSIVE:
		return "exclusive";
	default:
		return "takeover";
	}
}

void vfbd_config_defaults(struct vfbd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->source = "demo";
	cfg->vncdisplay = -1;
	cfg->share = SHARE_TAKEOVER;
	cfg->max_clients = 8;
	cfg->keepalive_idle = 10;
	cfg->keepalive_intvl = 5;
	cfg->keepalive_cnt = 3;
	cfg->user_timeout_s = 20;
	cfg->stall_timeout_s = 20;
	cfg->handshake_timeout_s = 10;
	cfg->idle_timeout_s = 0;
	cfg->keymap = "en-us";
	cfg->log_level = LOG_LEVEL_INFO;
}

static int bad(const char *option, const char *value, const char *why)
{
	fprintf(stderr, "vfbd: --%s %s: %s (see --help)\n", option, value, why);
	return -1;
}

static int parse_uint(const char *option, const char *value, unsigned min,
		      unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] == '\0' || value[0] == '-' || *end != '\0' || errno ||
	    v < min || v > max) {
		char why[64];

		snprintf(why, sizeof(why), "expected a number from %u to %u",
			 min, max);
		return bad(option, value, why);
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_keepalive(struct vfbd_config *cfg, const char *value)
{
	unsigned v[3];
	char part[16];
	const char *p = value;

	for (int i = 0; i < 3; i++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if ((i < 2 && !comma) || (i == 2 && comma) ||
		    len >= sizeof(part))
			return bad("keepalive", value,
				   "expected IDLE,INTVL,CNT (e.g. 10,5,3)");
		memcpy(part, p, len);
		part[len] = '\0';
		if (parse_uint("keepalive", part, 1, 32767, &v[i]) < 0)
			return -1;
		p = comma ? comma + 1 : p + len;
	}
	cfg->keepalive_idle = v[0];
	cfg->keepalive_intvl = v[1];
	cfg->keepalive_cnt = v[2] > 127 ? 127 : v[2];
	return 0;
}

static int parse_option(struct vfbd_config *cfg, int opt, const char *arg)
{
	unsigned u;

	switch (opt) {
	case OPT_SOURCE:
		cfg->source = arg;
		return 0;
	case OPT_DOMID:
		if (parse_uint("domid", arg, 1, 32751, &u) < 0)
			return -1;
		snprintf(domid_source, sizeof(domid_source), "xen-pv:%u", u);
		cfg->source = domid_source;
		return 0;
	case OPT_CREATE_DEVICES:
		xen_pv_options()->create_devices = true;
		return 0;
	case OPT_XEN_SIZE: {
		unsigned w, h;
		int used = 0;

		if (sscanf(arg, "%5ux%5u%n", &w, &h, &used) != 2 ||
		    arg[used] != '\0' || arg[0] < '0' || arg[0] > '9' ||
		    w < 16 || h < 16 || w > 8192 || h > 8192)
			return bad("xen-size", arg,
				   "expected WxH from 16x16 to 8192x8192");
		xen_pv_options()->width = w;
		xen_pv_options()->height = h;
		return 0;
	}
	case OPT_XEN_VIDEORAM:
		return parse_uint("xen-videoram", arg, 1,
				  XEN_PV_MAX_VIDEORAM_MIB,
				  &xen_pv_options()->videoram_mib);
	case OPT_LISTEN:
		if (cfg->n_listen == VFBD_MAX_LISTEN)
			return bad("listen", arg, "too many --listen options");
		cfg->listen[cfg->n_listen++] = arg;
		return 0;
	case OPT_VNCLISTEN:
		cfg->vnclisten = arg;
		return 0;
	case OPT_VNCDISPLAY:
		if (parse_uint("vncdisplay", arg, 0, 65535 - 5900, &u) < 0)
			return -1;
		cfg->vncdisplay = (int)u;
		return 0;
	case OPT_VNCUNUSED:
		cfg->vncunused = true;
		return 0;
	case OPT_PASSWORD_FILE:
		cfg->password_file = arg;
		return 0;
	case OPT_SHARE:
		if (strcmp(arg, "takeover") == 0)
			cfg->share = SHARE_TAKEOVER;
		else if (strcmp(arg, "shared") == 0)
			cfg->share = SHARE_SHARED;
		else if (strcmp(arg, "exclusive") == 0)
			cfg->share = SHARE_EXCLUSIVE;
		else
			return bad("share", arg,
				   "expected takeover, shared or exclusive");
		return 0;
	case OPT_MAX_CLIENTS:
		return parse_uint("max-clients", arg, 1, 1024,
				  &cfg->max_clients);
	case OPT_VIEW_ONLY:
		cfg->view_only = true;
		return 0;
	case OPT_KEEPALIVE:
		return parse_keepalive(cfg, arg);
	case OPT_USER_TIMEOUT:
		return parse_uint("user-timeout", arg, 0, 86400,
				  &cfg->user_timeout_s);
	case OPT_STALL_TIMEOUT:
		return parse_uint("stall-timeout", arg, 0, 86400,
				  &cfg->stall_timeout_s);
	case OPT_HANDSHAKE_TIMEOUT:
		return parse_uint("handshake-timeout", arg, 1, 3600,
				  &cfg->handshake_timeout_s);
	case OPT_IDLE_TIMEOUT:
		return parse_uint("idle-timeout", arg, 0, 86400 * 7,
				  &cfg->idle_timeout_s);
	case OPT_KEYMAP:
		if (strcmp(arg, "en-us") != 0 && strcmp(arg, "us") != 0)
			return bad("keymap", arg,
				   "only en-us is built in; clients that send "
				   "QEMU extended key events need no keymap");
		cfg->keymap = "en-us";
		return 0;
	case OPT_CONTROL:
		cfg->control_path = arg;
		return 0;
	case OPT_LOG_LEVEL:
		if (log_parse_level(arg, &cfg->log_level) < 0)
			return bad("log-level", arg,
				   "expected error, warn, info or debug");
		return 0;
	}
	return -1;
}

enum config_result vfbd_config_parse(struct vfbd_config *cfg, int argc,
				     char **argv)
{
	const char *why;
	int opt;

	/* 0, not 1: glibc then also forgets where an earlier call stopped
	 * inside a cluster of short options. The leading ':' tells a
	 * missing value (':') from an unknown option ('?'). */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			return CONFIG_EXIT;
		}
		if (opt == OPT_VERSION) {
			printf("vfbd %s\n", VFBD_VERSION);
			return CONFIG_EXIT;
		}
		if (opt == '?' || opt == ':') {
			const char *arg = argv[optind - 1];

			/* optopt is the short option getopt stopped on, or
			 * the long option's value when that option was
			 * given a value it does not take. */
			if (opt == ':')
				fprintf(stderr,
					"vfbd: %s: missing value (see "
					"--help)\n",
					arg);
			else if (optopt > 0 && optopt < 256)
				fprintf(stderr,
					"vfbd: -%c: unknown option (see "
					"--help)\n",
					optopt);
			else if (optopt)
				fprintf(stderr,
					"vfbd: %s: takes no value (see "
					"--help)\n",
					arg);
			else
				fprintf(stderr,
					"vfbd: %s: unknown option (see "
					"--help)\n",
					arg);
			return CONFIG_ERROR;
		}
		if (parse_option(cfg, opt, optarg) < 0)
			return CONFIG_ERROR;
	}
	if (optind < argc) {
		fprintf(stderr, "vfbd: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return CONFIG_ERROR;
	}
	if ((cfg->vncdisplay >= 0 || cfg->vnclisten) && cfg->n_listen) {
		fprintf(stderr, "vfbd: --listen cannot be combined with "
				"--vnclisten/--vncdisplay\n");
		return CONFIG_ERROR;
	}
	if (cfg->password_file &&
	    rfb_auth_load_password_file(cfg->password_file, cfg->password,
					&why) < 0) {
		fprintf(stderr, "vfbd: --password-file %s: %s\n",
			cfg->password_file, why);
		return CONFIG_ERROR;
	}
	log_set_level(cfg->log_level);
	return CONFIG_RUN;
}
