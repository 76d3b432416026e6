#include "vfbd/xen-devices.h"
#include "fb/src-xen-pv.h"
#include "fb/xen-bus.h"
#include "input/sink-xen-kbd.h"
#include "vfbd/base/log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xen/io/xenbus.h>

/* Domain ids from DOMID_FIRST_RESERVED (0x7ff0) up are not guests. */
#define DOMID_MAX  32751u
#define DEVID_MAX  255u
#define TX_RETRIES 8
/* How often the tick looks for our VNC listener before giving up (we
 * may listen on unix sockets only). */
#define VNC_PORT_TRIES 20

static struct xen_pv_options options = {
	.width = FB_XEN_PV_DEFAULT_WIDTH,
	.height = FB_XEN_PV_DEFAULT_HEIGHT,
	.videoram_mib = XEN_PV_DEFAULT_VIDEORAM_MIB,
};

struct xen_pv_options *xen_pv_options(void)
{
	return &options;
}

/* The keyboard: the sink the session feeds, and the vkbd device that
 * owns its ring. Freed with free() by sources_close, after the host
 * (and so the device) is gone. */
struct kbd_glue {
	struct xen_kbd_sink sink; /* first: sources_close frees this block */
	struct xen_dev *dev;
	struct fb_source *src;
	void *page;
	bool grant;
};

/* What this vfbd created in xenstore, removed again at the end. */
struct created {
	struct xen_host *host;
	char paths[4][128];
	unsigned n_paths;
	char kinds[2][16];
	unsigned n_kinds;
	unsigned devid;
	bool vnc_written;
	int vnc_tries;
	bool dm_running_written;
};

static bool xs_write_str(struct xen_host *h, xs_transaction_t t,
			 const char *path, const char *val)
{
	return xen_host_ops(h)->xs_write(xen_host_impl(h), t, path, val,
					 (unsigned)strlen(val));
}

static char *xs_read_str(struct xen_host *h, const char *path)
{
	unsigned len = 0;

	return xen_host_ops(h)->xs_read(xen_host_impl(h), XBT_NULL, path, &len);
}

/* ---- the keyboard device ---- */

static void kbd_notify(void *ctx)
{
	struct kbd_glue *g = ctx;

	if (g->dev)
		xen_dev_notify(g->dev);
}

static void kbd_fb_size(void *ctx, uint32_t *w, uint32_t *h)
{
	fb_xen_pv_size(((struct kbd_glue *)ctx)->src, w, h);
}

static const struct xen_kbd_sink_ops kbd_sink_ops = {
	.notify = kbd_notify,
	.fb_size = kbd_fb_size,
};

static int kbd_publish(struct xen_dev *d)
{
	xen_dev_stage(d, XENKBD_FIELD_FEAT_ABS_POINTER, "1");
	return 0;
}

static int kbd_connect(struct xen_dev *d)
{
	struct kbd_glue *g = xen_dev_ctx(d);
	uint64_t ref, w, h;
	bool abs;
	char why[160];
	int rc;

	/* A grant works from a deprivileged backend too; page-ref (marked
	 * obsolete, still written) is the fallback. */
	rc = xen_dev_read_uint(d, true, XENKBD_FIELD_RING_GREF, UINT32_MAX,
			       &ref);
	if (rc == 0) {
		g->grant = true;
		g->page = xen_dev_map_grant(d, (uint32_t)ref,
					    PROT_READ | PROT_WRITE, why,
					    sizeof(why));
	} else if (rc == -ENOENT &&
		   xen_dev_read_uint(d, true, XENKBD_FIELD_RING_REF,
				     UINT64_MAX >> 12, &ref) == 0) {
		g->grant = false;
		g->page = xen_dev_map_frame(d, ref, PROT_READ | PROT_WRITE, why,
					    sizeof(why));
	} else {
		xen_dev_broken(d, "page-gref and page-ref are missing or not "
				  "numbers");
		return -EINVAL;
	}
	if (!g->page) {
		xen_dev_broken(d, "keyboard page: %s", why);
		return -EINVAL;
	}
	if (xen_dev_read_flag(d, true, XENKBD_FIELD_REQ_ABS_POINTER, false,
			      &abs) < 0) {
		xen_dev_broken(d, "request-abs-pointer is not 0 or 1");
		return -EINVAL;
	}
	/* The range the frontend read from our directory at probe. */
	if (xen_dev_read_uint(d, false, XENKBD_FIELD_WIDTH, FB_MAX_DIM, &w) <
		    0 ||
	    w == 0)
		w = XEN_KBD_DEFAULT_WIDTH;
	if (xen_dev_read_uint(d, false, XENKBD_FIELD_HEIGHT, FB_MAX_DIM, &h) <
		    0 ||
	    h == 0)
		h = XEN_KBD_DEFAULT_HEIGHT;
	xen_kbd_sink_attach(&g->sink, g->page, abs, (uint32_t)w, (uint32_t)h);
	log_info("xen-vkbd-connected",
		 "domid=%u dev=%s abs=%d width=%llu height=%llu page=%s",
		 xen_host_domid(xen_dev_host(d)), xen_dev_name(d), abs,
		 (unsigned long long)w, (unsigned long long)h,
		 g->grant ? "grant" : "frame");
	return 0;
}

static void kbd_connected(struct xen_dev *d)
{
	struct kbd_glue *g = xen_dev_ctx(d);
	bool abs;

	/* Older frontends write their request again once connected. */
	if (xen_dev_read_flag(d, true, XENKBD_FIELD_REQ_ABS_POINTER, false,
			      &abs) == 0)
		xen_kbd_sink_set_abs(&g->sink, abs);
}

static void kbd_event(struct xen_dev *d)
{
	struct kbd_glue *g = xen_dev_ctx(d);
	struct xenkbd_page *p = g->page;

	/* No out events are defined: acknowledge whatever is there. */
	if (p)
		__atomic_store_n(
			&p->out_cons,
			__atomic_load_n(&p->out_prod, __ATOMIC_ACQUIRE),
			__ATOMIC_RELEASE);
}

static void kbd_disconnect(struct xen_dev *d)
{
	struct kbd_glue *g = xen_dev_ctx(d);

	xen_kbd_sink_detach(&g->sink);
	xen_dev_unmap_page(d, g->page, g->grant);
	g->page = NULL;
}

static const struct xen_dev_ops kbd_dev_ops = {
	.publish = kbd_publish,
	.connect = kbd_connect,
	.connected = kbd_connected,
	.event = kbd_event,
	.disconnect = kbd_disconnect,
};

/* ---- device nodes (--create-devices) ---- */

static int set_perms(struct xen_host *h, xs_transaction_t t, const char *path,
		     unsigned owner, unsigned reader)
{
	struct xs_permissions perms[2] = {
		{.id = owner, .perms = XS_PERM_NONE},
		{.id = reader, .perms = XS_PERM_READ},
	};

	return xen_host_ops(h)->xs_set_permissions(xen_host_impl(h), t, path,
						   perms, 2)
		       ? 0
		       : -errno;
}

/* Writes one fe/be pair the way libxl lays them out: the frontend
 * directory owned by the guest and readable by us, the backend directory
 * owned by us and readable by the guest. */
static int write_device(struct xen_host *h, xs_transaction_t t, const char *fe,
			const char *be, const char *const *extra)
{
	const struct xen_ops *ops = xen_host_ops(h);
	void *impl = xen_host_impl(h);
	unsigned domid = xen_host_domid(h);
	char path[256], val[32];
	bool ok;

	ok = ops->xs_mkdir(impl, t, fe) && set_perms(h, t, fe, domid, 0) == 0;
	snprintf(path, sizeof(path), "%s/backend", fe);
	ok = ok && xs_write_str(h, t, path, be);
	snprintf(path, sizeof(path), "%s/backend-id", fe);
	ok = ok && xs_write_str(h, t, path, "0");
	snprintf(path, sizeof(path), "%s/state", fe);
	snprintf(val, sizeof(val), "%d", XenbusStateInitialising);
	ok = ok && xs_write_str(h, t, path, val);

	ok = ok && ops->xs_mkdir(impl, t, be) &&
	     set_perms(h, t, be, 0, domid) == 0;
	snprintf(path, sizeof(path), "%s/frontend", be);
	ok = ok && xs_write_str(h, t, path, fe);
	snprintf(path, sizeof(path), "%s/frontend-id", be);
	snprintf(val, sizeof(val), "%u", domid);
	ok = ok && xs_write_str(h, t, path, val);
	snprintf(path, sizeof(path), "%s/online", be);
	ok = ok && xs_write_str(h, t, path, "1");
	snprintf(path, sizeof(path), "%s/state", be);
	snprintf(val, sizeof(val), "%d", XenbusStateInitialising);
	ok = ok && xs_write_str(h, t, path, val);
	for (size_t i = 0; ok && extra[i]; i += 2) {
		snprintf(path, sizeof(path), "%s/%s", be, extra[i]);
		ok = xs_write_str(h, t, path, extra[i + 1]);
	}
	return ok ? 0 : -errno;
}

static int create_device(struct created *c, const char *kind,
			 const char *fe_kind, const char *const *extra,
			 char *why, size_t why_len)
{
	struct xen_host *h = c->host;
	const struct xen_ops *ops = xen_host_ops(h);
	void *impl = xen_host_impl(h);
	unsigned domid = xen_host_domid(h);
	char fe[128], be[128], path[160], *owner;
	int rc = -EAGAIN;

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", domid,
		 fe_kind, c->devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u", kind,
		 domid, c->devid);
	/* A frontend another backend serves (libxl's vfb= with QEMU) is not
	 * ours to replace. */
	snprintf(path, sizeof(path), "%s/backend", fe);
	owner = xs_read_str(h, path);
	if (owner && strcmp(owner, be) != 0) {
		snprintf(why, why_len,
			 "%s already exists for backend %.60s (remove vfb= "
			 "and vkb= from the domain's config, or drop "
			 "--create-devices)",
			 fe, owner);
		free(owner);
		return -EEXIST;
	}
	free(owner);
	/* Whatever a crashed predecessor left behind goes first. */
	ops->xs_rm(impl, XBT_NULL, fe);
	ops->xs_rm(impl, XBT_NULL, be);
	for (int i = 0; i < TX_RETRIES; i++) {
		xs_transaction_t t = ops->xs_transaction_start(impl);

		if (t == XBT_NULL) {
			rc = -errno;
			break;
		}
		rc = write_device(h, t, fe, be, extra);
		if (rc < 0) {
			ops->xs_transaction_end(impl, t, true);
			break;
		}
		if (ops->xs_transaction_end(impl, t, false)) {
			rc = 0;
			break;
		}
		rc = -errno;
		if (errno != EAGAIN)
			break;
	}
	if (rc < 0) {
		snprintf(why, why_len, "cannot create %s: %s", be,
			 strerror(-rc));
		return rc;
	}
	snprintf(c->paths[c->n_paths++], sizeof(c->paths[0]), "%s", fe);
	snprintf(c->paths[c->n_paths++], sizeof(c->paths[0]), "%s", be);
	snprintf(c->kinds[c->n_kinds++], sizeof(c->kinds[0]), "%s", kind);
	log_info("xen-device-created", "domid=%u backend=%s frontend=%s", domid,
		 be, fe);
	return 0;
}

static void remove_created(struct created *c)
{
	const struct xen_ops *ops = xen_host_ops(c->host);
	void *impl = xen_host_impl(c->host);
	unsigned domid = xen_host_domid(c->host);
	char path[128];

	for (unsigned i = 0; i < c->n_paths; i++)
		ops->xs_rm(impl, XBT_NULL, c->paths[i]);
	/* The per-domain directory of each kind, if nothing else is left
	 * in it. */
	for (unsigned i = 0; i < c->n_kinds; i++) {
		unsigned n = 0;
		char **ls;

		snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u",
			 c->kinds[i], domid);
		ls = ops->xs_directory(impl, XBT_NULL, path, &n);
		if (ls && n == 0)
			ops->xs_rm(impl, XBT_NULL, path);
		free(ls);
	}
	if (c->n_paths)
		log_info("xen-devices-removed", "domid=%u", domid);
	c->n_paths = c->n_kinds = 0;
}

/* ---- console/vnc-port for `xl vncviewer` ---- */

/* Our first listening TCP socket: the daemon opens its listeners after
 * the source, so the tick looks for them rather than being told. */
static bool find_listener(char *addr, size_t addr_len, unsigned *port)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	if (!dir)
		return false;
	while (!found && (e = readdir(dir))) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int acc = 0, type = 0, fd = atoi(e->d_name);
		socklen_t ol = sizeof(acc);

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol) < 0 ||
		    !acc)
			continue;
		ol = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol) < 0 ||
		    type != SOCK_STREAM ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
			continue;
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *in = (void *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, addr, addr_len);
			*port = ntohs(in->sin_port);
			found = true;
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (void *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, addr, addr_len);
			*port = ntohs(in6->sin6_port);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

static void on_tick(void *ctx)
{
	struct created *c = ctx;
	char addr[INET6_ADDRSTRLEN], path[96], val[16];
	unsigned port = 0;

	if (options.device_model && !c->dm_running_written) {
		/* libxl waits for this after its QMP queries, which the
		 * daemon answers from the start; the backends are ours from
		 * here on (libxl removes its device-model directory). */
		snprintf(path, sizeof(path),
			 "/local/domain/0/device-model/%u/state",
			 xen_host_domid(c->host));
		if (xs_write_str(c->host, XBT_NULL, path, "running")) {
			c->dm_running_written = true;
			log_info("device-model-running", "domid=%u",
				 xen_host_domid(c->host));
		}
	}
	if (c->vnc_written || c->vnc_tries >= VNC_PORT_TRIES)
		return;
	c->vnc_tries++;
	if (!find_listener(addr, sizeof(addr), &port))
		return;
	/* Never the password: everything here is readable by the guest. */
	snprintf(path, sizeof(path), "/local/domain/%u/console/vnc-port",
		 xen_host_domid(c->host));
	snprintf(val, sizeof(val), "%u", port);
	if (!xs_write_str(c->host, XBT_NULL, path, val))
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/console/vnc-listen",
		 xen_host_domid(c->host));
	xs_write_str(c->host, XBT_NULL, path, addr);
	c->vnc_written = true;
	log_info("xen-vnc-published", "domid=%u vnc-listen=%s vnc-port=%u",
		 xen_host_domid(c->host), addr, port);
}

static void on_teardown(void *ctx)
{
	struct created *c = ctx;
	const struct xen_ops *ops = xen_host_ops(c->host);
	void *impl = xen_host_impl(c->host);
	char path[96];

	if (c->vnc_written) {
		snprintf(path, sizeof(path),
			 "/local/domain/%u/console/vnc-port",
			 xen_host_domid(c->host));
		ops->xs_rm(impl, XBT_NULL, path);
		snprintf(path, sizeof(path),
			 "/local/domain/%u/console/vnc-listen",
			 xen_host_domid(c->host));
		ops->xs_rm(impl, XBT_NULL, path);
	}
	remove_created(c);
	free(c);
}

/* ---- opening ---- */

static int parse_num(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_spec(const char *args, unsigned *domid, unsigned *devid)
{
	const char *colon = strchr(args, ':');
	size_t dlen = colon ? (size_t)(colon - args) : strlen(args);

	*devid = 0;
	if (parse_num(args, dlen, DOMID_MAX, domid) < 0 || *domid == 0)
		return -EINVAL;
	if (colon &&
	    parse_num(colon + 1, strlen(colon + 1), DEVID_MAX, devid) < 0)
		return -EINVAL;
	return 0;
}

/* Warns when the toolstack put a VNC password where the guest reads it. */
static void warn_vncpasswd(struct xen_host *h, unsigned devid)
{
	char path[128], *pw;

	snprintf(path, sizeof(path),
		 "/local/domain/0/backend/vfb/%u/%u/vncpasswd",
		 xen_host_domid(h), devid);
	pw = xs_read_str(h, path);
	if (pw && pw[0])
		log_warn("xen-vncpasswd-exposed",
			 "domid=%u reason=\"vfb vncpasswd= is readable by the "
			 "guest; vfbd ignores it (use --password-file)\"",
			 xen_host_domid(h));
	free(pw);
}

static int create_devices(struct created *c, char *why, size_t why_len)
{
	char w[16], h[16], vram[16];
	uint64_t fb_bytes = (uint64_t)options.width * options.height * 4;
	/* Linux only lowers its own default (2 MiB) with videoram, so ask
	 * for what the suggested mode needs, rounded up to MiB. */
	uint64_t mib = (fb_bytes + (1u << 20) - 1) >> 20;
	const char *vfb_extra[] = {
		"feature-resize", "1",	"width", w, "height", h,
		"videoram",	  vram, NULL};
	const char *kbd_extra[] = {XENKBD_FIELD_FEAT_ABS_POINTER,
				   "1",
				   XENKBD_FIELD_WIDTH,
				   w,
				   XENKBD_FIELD_HEIGHT,
				   h,
				   NULL};
	int rc;

	snprintf(w, sizeof(w), "%u", options.width);
	snprintf(h, sizeof(h), "%u", options.height);
	snprintf(vram, sizeof(vram), "%llu", (unsigned long long)mib);
	rc = create_device(c, "vfb", "vfb", vfb_extra, why, why_len);
	if (rc == 0)
		rc = create_device(c, "vinput", "vkbd", kbd_extra, why,
				   why_len);
	return rc;
}

int xen_pv_open(const char *args, struct opened_source *out, char *why,
		size_t why_len)
{
	struct fb_xen_pv_opts fo;
	struct xen_host *host = NULL;
	struct created *c = NULL;
	struct kbd_glue *g = NULL;
	unsigned domid, devid;
	char kwhy[160];
	int rc;

	if (parse_spec(args, &domid, &devid) < 0) {
		snprintf(why, why_len,
			 "expected xen-pv:DOMID[:DEVID] with DOMID 1..%u and "
			 "DEVID 0..%u",
			 DOMID_MAX, DEVID_MAX);
		return -EINVAL;
	}
	rc = xen_host_open(domid, &host, why, why_len);
	if (rc < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	g = calloc(1, sizeof(*g));
	if (!c || !g) {
		snprintf(why, why_len, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	c->host = host;
	c->devid = devid;
	if (options.create_devices) {
		rc = create_devices(c, why, why_len);
		if (rc < 0)
			goto fail;
	}
	warn_vncpasswd(host, devid);
	fo = (struct fb_xen_pv_opts){
		.devid = devid,
		.fb_max = (uint64_t)options.videoram_mib << 20,
		.width = options.width,
		.height = options.height,
	};
	out->src = fb_xen_pv_new(host, &fo, why, why_len);
	if (!out->src) {
		if (!options.create_devices)
			snprintf(why + strlen(why), why_len - strlen(why),
				 " (without vfb= in the domain's config, run "
				 "vfbd with --create-devices)");
		rc = -ENODEV;
		goto fail;
	}
	/* From here the source owns the host; the hooks clean up after us. */
	xen_host_set_hooks(host, on_tick, on_teardown, c);
	xen_kbd_sink_init(&g->sink, &kbd_sink_ops, g);
	g->src = out->src;
	/* libxl's user-space keyboard kind first (vkb backend-type=linux),
	 * then the classic one. */
	g->dev = xen_host_add_dev(host, "vinput", "vkbd", devid, &kbd_dev_ops,
				  g, kwhy, sizeof(kwhy));
	if (!g->dev)
		g->dev = xen_host_add_dev(host, "vkbd", "vkbd", devid,
					  &kbd_dev_ops, g, kwhy, sizeof(kwhy));
	if (!g->dev)
		log_warn("xen-no-keyboard",
			 "domid=%u reason=\"no vinput or vkbd backend %u: "
			 "input is dropped\"",
			 domid, devid);
	out->sink = &g->sink.sink;
	out->sink_owner = g;
	return 0;
fail:
	if (c)
		remove_created(c);
	free(c);
	free(g);
	xen_host_free(host);
	memset(out, 0, sizeof(*out));
	return rc;
}
