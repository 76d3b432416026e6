#include "net/listener.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A connect burst must not overflow the accept queue: each drop costs the
 * client a one-second SYN retry. */
#define LISTEN_BACKLOG SOMAXCONN

struct listener {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} sock;
	listener_cb *cb;
	void *user;
	char unix_path[108];
};

int listener_split(const char *spec, char *host, size_t host_len,
		   unsigned *port)
{
	const char *colon, *hs = spec, *he;
	char *end;
	unsigned long p;

	if (spec[0] == '[') {
		he = strchr(spec, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		hs = spec + 1;
		colon = he + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
			return -EINVAL;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= host_len)
		return -EINVAL;
	/* strtoul would also take a sign or leading blanks: digits only. */
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno || p > 65535)
		return -EINVAL;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (unsigned)p;
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;

	/* A failed accept (e.g. EMFILE) affects one connection only. */
	if (status < 0)
		return;
	l->cb(server, l->user);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_dropped(uv_handle_t *h)
{
	free(h);
}

void listener_drop_pending(uv_stream_t *server)
{
	union {
		uv_handle_t handle;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} *s = malloc(sizeof(*s));

	if (!s)
		return;
	if (server->type == UV_TCP)
		uv_tcp_init(server->loop, &s->tcp);
	else
		uv_pipe_init(server->loop, &s->pipe, 0);
	uv_accept(server, (uv_stream_t *)&s->handle);
	uv_close(&s->handle, on_dropped);
}

void listener_close(struct listener *l)
{
	if (!l)
		return;
	if (l->unix_path[0])
		unlink(l->unix_path);
	uv_close(&l->sock.handle, on_closed);
}

static int open_unix(uv_loop_t *loop, struct listener *l, const char *path,
		     char *bound, size_t bound_len, const char **why)
{
	struct stat st;
	int rc;

	if (strlen(path) == 0 || strlen(path) >= sizeof(l->unix_path)) {
		*why = "unix socket path empty or too long";
		return -EINVAL;
	}
	/* A socket left by a previous run would make bind fail. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	rc = uv_pipe_init(loop, &l->sock.pipe, 0);
	if (rc < 0)
		return rc;
	l->sock.handle.data = l;
	rc = uv_pipe_bind(&l->sock.pipe, path);
	if (rc == 0)
		snprintf(l->unix_path, sizeof(l->unix_path), "%s", path);
	if (rc == 0)
		rc = uv_listen(&l->sock.stream, LISTEN_BACKLOG, on_connection);
	if (rc < 0)
		return rc;
	snprintf(bound, bound_len, "unix:%s", path);
	return 0;
}

static int open_tcp(uv_loop_t *loop, struct listener *l, const char *spec,
		    char *bound, size_t bound_len, const char **why)
{
	char host[256], name[INET6_ADDRSTRLEN];
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage ss;
	unsigned port;
	int rc, len = sizeof(ss);

	if (listener_split(spec, host, sizeof(host), &port) < 0) {
		*why = "expected HOST:PORT, [IPV6]:PORT or unix:PATH";
		return -EINVAL;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, "0", &hints, &ai) != 0 || !ai) {
		*why = "cannot resolve the host";
		return -EINVAL;
	}
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	rc = uv_tcp_init(loop, &l->sock.tcp);
	if (rc < 0)
		return rc;
	l->sock.handle.data = l;
	rc = uv_tcp_bind(&l->sock.tcp, (struct sockaddr *)&ss,
			 ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen(&l->sock.stream, LISTEN_BACKLOG, on_connection);
	if (rc < 0)
		return rc;
	rc = uv_tcp_getsockname(&l->sock.tcp, (struct sockaddr *)&ss, &len);
	if (rc < 0)
		return rc;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, name, sizeof(name));
		snprintf(bound, bound_len, "[%s]:%u", name,
			 ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		uv_ip4_name(a, name, sizeof(name));
		snprintf(bound, bound_len, "%s:%u", name, ntohs(a->sin_port));
	}
	return 0;
}

int listener_open(uv_loop_t *loop, const char *spec, listener_cb *cb,
		  void *user, struct listener **out, char *bound,
		  size_t bound_len, const char **why)
{
	struct listener *l = calloc(1, sizeof(*l));
	int rc;

	*why = NULL;
	if (!l)
		return -ENOMEM;
	l->cb = cb;
	l->user = user;
	l->sock.handle.data = l;
	l->sock.handle.type = UV_UNKNOWN_HANDLE;
	if (strncmp(spec, "unix:", 5) == 0)
		rc = open_unix(loop, l, spec + 5, bound, bound_len, why);
	else
		rc = open_tcp(loop, l, spec, bound, bound_len, why);
	if (rc < 0) {
		if (l->sock.handle.type != UV_UNKNOWN_HANDLE)
			uv_close(&l->sock.handle, on_closed);
		else
			free(l);
		return rc;
	}
	*out = l;
	return 0;
}
