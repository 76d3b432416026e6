/* A minimal QMP server for libxl, which talks to its device model over
 * the -chardev sockets it names: the greeting, qmp_capabilities,
 * query-chardev, query-status, query-vnc and change-vnc-password. Other
 * commands get QMP's CommandNotFound error. The VNC password libxl sends
 * is kept in memory only. */
#ifndef VFBD_QMP_H
#define VFBD_QMP_H

#include <stddef.h>
#include <uv.h>

struct qmp_server;

struct qmp_ops {
	/* Fills what query-vnc answers: host and port really listened on. */
	void (*vnc_info)(void *ctx, char *host, size_t host_len,
			 unsigned *port);
	/* change-vnc-password. */
	void (*set_password)(void *ctx, const char *password);
};

/* Listens on the unix socket `path` (replacing a stale one). 0 or
 * -errno. */
int qmp_open(uv_loop_t *loop, const char *path, const struct qmp_ops *ops,
	     void *ctx, struct qmp_server **out);
void qmp_close(struct qmp_server *q);

/* The pure part, for tests and fuzzing: answers one complete JSON object
 * `cmd` (not NUL-terminated, `len` bytes), appending the reply line to
 * `out` (a NUL-terminated string of at most `out_len` bytes). */
void qmp_answer(const struct qmp_ops *ops, void *ctx, const char *cmd,
		size_t len, char *out, size_t out_len);

/* Length of the first complete JSON object at the start of `buf` (after
 * leading whitespace), 0 if it is not complete yet, or -1 if `buf` does
 * not start with one. */
long qmp_frame(const char *buf, size_t len);

#endif
