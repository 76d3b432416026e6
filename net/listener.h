/* Listening sockets: TCP on IPv4 or IPv6 and unix stream sockets. */
#ifndef VFBD_NET_LISTENER_H
#define VFBD_NET_LISTENER_H

#include <stddef.h>
#include <uv.h>

struct listener;

/* Called for each pending connection; accept it with conn_accept(). */
typedef void listener_cb(uv_stream_t *server, void *user);

/* Binds and listens on `spec`: "HOST:PORT", "[V6ADDR]:PORT" or
 * "unix:PATH". Port 0 lets the kernel choose. On success stores the
 * address really bound ("127.0.0.1:41234", "unix:/run/x.sock") in
 * `bound`. Returns 0 or -errno; on -EINVAL `*why` says what is wrong with
 * the spec. */
int listener_open(uv_loop_t *loop, const char *spec, listener_cb *cb,
		  void *user, struct listener **out, char *bound,
		  size_t bound_len, const char **why);

/* Splits "HOST:PORT" / "[V6]:PORT"; returns 0 or -EINVAL. */
int listener_split(const char *spec, char *host, size_t host_len,
		   unsigned *port);

/* Accepts one pending connection from `server` and closes it at once:
 * when a connection cannot be served, it must still be taken off the
 * queue, or libuv stops accepting. */
void listener_drop_pending(uv_stream_t *server);

/* Closes the socket (a unix socket file is removed) and frees `l` once
 * libuv has let go of it. */
void listener_close(struct listener *l);

#endif
