#include "vfbd/daemon.h"
#include "net/listener.h"
#include "vfbd/base/log.h"
#include "vfbd/control.h"
#include "vfbd/qmp.h"
#include "vfbd/session.h"
#include "vfbd/sources.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define VNC_BASE_PORT	5900u
#define VNCUNUSED_TRIES 100u

struct daemon {
	uv_loop_t *loop;
	struct session *session;
	struct listener *listeners[VFBD_MAX_LISTEN];
	unsigned n_listeners;
	struct control *control;
	struct qmp_server *qmp[DM_QMP_MAX];
	uv_signal_t sigint, sigterm, sighup;
	bool dm;
	char bound[160]; /* the first address listened on, for query-vnc */
	int exit_status;
};

/* `option` names what the user gave, for the error message. */
static int listen_on(struct daemon *d, const char *spec, const char *option)
{
	char bound[160];
	const char *why = NULL;
	int rc;

	rc = listener_open(d->loop, spec, session_accept, d->session,
			   &d->listeners[d->n_listeners], bound, sizeof(bound),
			   &why);
	if (rc < 0) {
		fprintf(stderr, "vfbd: %s %s: %s\n", option, spec,
			why ? why : uv_strerror(rc));
		return rc;
	}
	d->n_listeners++;
	if (!d->bound[0])
		snprintf(d->bound, sizeof(d->bound), "%s", bound);
	log_info("listening", "addr=%s", bound);
	return 0;
}

/* --vncunused: the first port from `port` up that binds. */
static int listen_first_free(struct daemon *d, const char *host, unsigned port)
{
	char spec[300], bound[160];
	bool v6 = strchr(host, ':') != NULL;
	const char *why = NULL;

	for (unsigned i = 0; i < VNCUNUSED_TRIES && port + i <= 65535; i++) {
		snprintf(spec, sizeof(spec), v6 ? "[%s]:%u" : "%s:%u", host,
			 port + i);
		int rc =
			listener_open(d->loop, spec, session_accept, d->session,
				      &d->listeners[d->n_listeners], bound,
				      sizeof(bound), &why);
		if (rc == 0) {
			d->n_listeners++;
			if (!d->bound[0])
				snprintf(d->bound, sizeof(d->bound), "%s",
					 bound);
			log_info("listening", "addr=%s", bound);
			return 0;
		}
		if (rc != UV_EADDRINUSE) {
			fprintf(stderr, "vfbd: --vnclisten %s: %s\n", host,
				why ? why : uv_strerror(rc));
			return rc;
		}
	}
	fprintf(stderr, "vfbd: --vncunused: no free port from %u to %u\n", port,
		port + VNCUNUSED_TRIES - 1);
	return -EADDRINUSE;
}

static int open_listeners(struct daemon *d, const struct vfbd_config *cfg)
{
	const char *host = cfg->vnclisten ? cfg->vnclisten : "127.0.0.1";
	unsigned port = VNC_BASE_PORT;
	char spec[300];

	for (unsigned i = 0; i < cfg->n_listen; i++)
		if (listen_on(d, cfg->listen[i], "--listen") < 0)
			return -1;
	if (cfg->n_listen)
		return 0;
	if (cfg->vncdisplay >= 0)
		port += (unsigned)cfg->vncdisplay;
	if (cfg->vncunused)
		return listen_first_free(d, host, port) < 0 ? -1 : 0;
	snprintf(spec, sizeof(spec), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	return listen_on(d, spec,
			 cfg->vncdisplay >= 0 || cfg->vnclisten
				 ? "--vnclisten/--vncdisplay"
				 : "default listen address") < 0
		       ? -1
		       : 0;
}

static void stop(struct daemon *d)
{
	session_shutdown(d->session);
	control_close(d->control);
	d->control = NULL;
	for (unsigned i = 0; i < d->n_listeners; i++)
		listener_close(d->listeners[i]);
	d->n_listeners = 0;
	for (unsigned i = 0; i < DM_QMP_MAX; i++) {
		qmp_close(d->qmp[i]);
		d->qmp[i] = NULL;
	}
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	if (d->dm)
		uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* query-vnc: the address really listened on. */
static void qmp_vnc_info(void *ctx, char *host, size_t host_len, unsigned *port)
{
	struct daemon *d = ctx;
	char h[128] = "";
	unsigned p = 0;

	if (d->bound[0] && listener_split(d->bound, h, sizeof(h), &p) == 0)
		snprintf(host, host_len, "%s", h);
	*port = p;
}

static void qmp_set_password(void *ctx, const char *password)
{
	struct daemon *d = ctx;

	/* Kept in memory only: never in xenstore, never logged. */
	session_set_password(d->session, password, true);
	log_info("vnc-password-set", "source=qmp");
}

static const struct qmp_ops daemon_qmp_ops = {
	.vnc_info = qmp_vnc_info,
	.set_password = qmp_set_password,
};

static int open_qmp(struct daemon *d, const struct dm_config *dm)
{
	for (unsigned i = 0; i < dm->n_qmp; i++) {
		int rc = qmp_open(d->loop, dm->qmp[i], &daemon_qmp_ops, d,
				  &d->qmp[i]);

		if (rc < 0) {
			fprintf(stderr, "vfbd-dm: QMP socket %s: %s\n",
				dm->qmp[i], uv_strerror(rc));
			return rc;
		}
		log_info("qmp-listening", "path=%s", dm->qmp[i]);
	}
	return 0;
}

static void on_source_finished(void *ctx)
{
	log_info("shutdown", "reason=source-finished");
	stop(ctx);
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("shutdown", "signal=%s", sigabbrev_np(signum));
	stop(h->data);
}

int daemon_run(const struct vfbd_config *cfg, const struct dm_config *dm)
{
	struct daemon d = {.loop = uv_default_loop()};
	struct opened_source os;
	char why[256];
	int rc;

	/* Idle-time accounting lets the session measure loop stalls. */
	uv_loop_configure(d.loop, UV_METRICS_IDLE_TIME);
	/* A peer that resets mid-write must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	rc = sources_open(cfg->source, &os, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "vfbd: --source %s: %s\n", cfg->source, why);
		return rc == -EINVAL ? 1 : 2;
	}
	log_info("source-opened", "source=%s name=\"%s\"", cfg->source,
		 os.src->name);
	d.session = session_new(d.loop, cfg, os.src, os.sink);
	if (!d.session) {
		fb_source_free(os.src);
		sources_close(&os);
		fprintf(stderr, "vfbd: out of memory\n");
		return 2;
	}
	session_on_finished(d.session, on_source_finished, &d);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sigterm);
	d.sigint.data = &d;
	d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	if (dm) {
		/* libxl ends its device model with SIGHUP. */
		d.dm = true;
		uv_signal_init(d.loop, &d.sighup);
		d.sighup.data = &d;
		uv_signal_start(&d.sighup, on_signal, SIGHUP);
		if (dm->password_on)
			session_set_password(d.session, "", true);
	}

	if (open_listeners(&d, cfg) < 0) {
		d.exit_status = 1;
		stop(&d);
	} else if (cfg->control_path &&
		   (rc = control_open(d.loop, cfg->control_path, d.session,
				      &d.control)) < 0) {
		fprintf(stderr, "vfbd: --control %s: %s\n", cfg->control_path,
			uv_strerror(rc));
		d.exit_status = 1;
		stop(&d);
	} else if (dm && open_qmp(&d, dm) < 0) {
		d.exit_status = 1;
		stop(&d);
	} else if (cfg->control_path) {
		log_info("control-listening", "path=%s", cfg->control_path);
	}
	uv_run(d.loop, UV_RUN_DEFAULT);
	session_free(d.session);
	sources_close(&os);
	uv_loop_close(d.loop);
	return d.exit_status;
}
