/* The command line (the user-facing contract in README and cli.md),
 * parsed into one struct the daemon reads. */
#ifndef VFBD_CONFIG_H
#define VFBD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "net/rfb-auth.h"
#include "vfbd/base/log.h"

#define VFBD_VERSION	"0.1.0"
#define VFBD_MAX_LISTEN 8

enum share_policy { SHARE_TAKEOVER, SHARE_SHARED, SHARE_EXCLUSIVE };

struct vfbd_config {
	const char *source; /* "demo", "demo:800x600", ... */
	const char *listen[VFBD_MAX_LISTEN];
	unsigned n_listen;
	const char *vnclisten;
	int vncdisplay; /* -1: not given */
	bool vncunused;
	const char *password_file;
	char password[RFB_AUTH_PASSWORD_MAX + 1]; /* loaded from the file */
	enum share_policy share;
	unsigned max_clients;
	bool view_only;
	unsigned keepalive_idle, keepalive_intvl, keepalive_cnt;
	unsigned user_timeout_s, stall_timeout_s;
	unsigned handshake_timeout_s, idle_timeout_s;
	const char *keymap;
	const char *control_path;
	enum log_level log_level;
};

enum config_result {
	CONFIG_RUN,  /* start the daemon */
	CONFIG_EXIT, /* --help or --version printed; exit 0 */
	CONFIG_ERROR /* message printed; exit 1 */
};

void vfbd_config_defaults(struct vfbd_config *cfg);

/* Parses argv; prints --help/--version output to stdout and errors (which
 * option, and why) to stderr. */
enum config_result vfbd_config_parse(struct vfbd_config *cfg, int argc,
				     char **argv);

const char *share_policy_name(enum share_policy p);

#endif
