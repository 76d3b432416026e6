#include "vfbd/qmp.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* No command libxl sends is anywhere near this. */
#define QMP_MSG_MAX   65536u
#define QMP_REPLY_MAX 1024u

static const char greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
	"\"major\": 7}, \"package\": \"vfbd-dm\"}, \"capabilities\": []}}\r\n";

long qmp_frame(const char *buf, size_t len)
{
	size_t i = 0;
	int depth = 0;
	bool in_string = false, escaped = false;

	while (i < len && (buf[i] == ' ' || buf[i] == '\r' || buf[i] == '\n' ||
			   buf[i] == '\t'))
		i++;
	if (i == len)
		return 0;
	if (buf[i] != '{')
		return -1;
	for (; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return (long)(i + 1);
		if (depth > 64)
			return -1;
	}
	return 0;
}

/* Finds `"key"` followed by ':' at nesting depth 1 of the object and
 * returns a pointer to the value's first character, or NULL. */
static const char *find_key(const char *obj, size_t len, const char *key)
{
	size_t klen = strlen(key);
	int depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = obj[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == '"') {
			if (depth == 1 && i + klen + 1 < len &&
			    memcmp(obj + i + 1, key, klen) == 0 &&
			    obj[i + 1 + klen] == '"') {
				size_t j = i + klen + 2;

				while (j < len &&
				       (obj[j] == ' ' || obj[j] == ':'))
					j++;
				return j < len ? obj + j : NULL;
			}
			in_string = true;
		}
	}
	return NULL;
}

/* Copies a JSON string value (without escapes beyond \" and \\) into
 * out; returns false when it is not a plain string that fits. */
static bool string_value(const char *v, const char *end, char *out,
			 size_t out_len)
{
	size_t n = 0;

	if (!v || v >= end || *v != '"')
		return false;
	for (v++; v < end && *v != '"'; v++) {
		if (*v == '\\') {
			if (++v >= end ||
			    (*v != '"' && *v != '\\' && *v != '/'))
				return false;
		}
		if (n + 1 >= out_len || (unsigned char)*v < 0x20)
			return false;
		out[n++] = *v;
	}
	if (v >= end)
		return false;
	out[n] = '\0';
	return true;
}

/* The raw text of the "id" member, to echo back (QMP allows any JSON
 * value; libxl sends numbers). Only numbers and plain strings are
 * echoed, so nothing the caller sent is reflected unchecked. */
static void id_member(const char *obj, size_t len, char *out, size_t out_len)
{
	const char *v = find_key(obj, len, "id");
	const char *end = obj + len;
	size_t n = 0;

	out[0] = '\0';
	if (!v)
		return;
	if (*v == '"') {
		char s[64];

		if (string_value(v, end, s, sizeof(s)) &&
		    strpbrk(s, "\"\\") == NULL)
			snprintf(out, out_len, ", \"id\": \"%s\"", s);
		return;
	}
	while (v + n < end && n < 20 &&
	       ((v[n] >= '0' && v[n] <= '9') || v[n] == '-'))
		n++;
	if (n)
		snprintf(out, out_len, ", \"id\": %.*s", (int)n, v);
}

void qmp_answer(const struct qmp_ops *ops, void *ctx, const char *cmd,
		size_t len, char *out, size_t out_len)
{
	const char *end = cmd + len;
	char exec[64], id[96];

	id_member(cmd, len, id, sizeof(id));
	if (!string_value(find_key(cmd, len, "execute"), end, exec,
			  sizeof(exec))) {
		snprintf(out, out_len,
			 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
			 "\"expected a command\"}%s}\r\n",
			 id);
		return;
	}
	if (strcmp(exec, "qmp_capabilities") == 0) {
		snprintf(out, out_len, "{\"return\": {}%s}\r\n", id);
	} else if (strcmp(exec, "query-chardev") == 0) {
		snprintf(out, out_len, "{\"return\": []%s}\r\n", id);
	} else if (strcmp(exec, "query-status") == 0) {
		snprintf(out, out_len,
			 "{\"return\": {\"status\": \"running\", "
			 "\"singlestep\": false, \"running\": true}%s}\r\n",
			 id);
	} else if (strcmp(exec, "query-vnc") == 0) {
		char host[64] = "0.0.0.0";
		unsigned port = 0;

		ops->vnc_info(ctx, host, sizeof(host), &port);
		snprintf(out, out_len,
			 "{\"return\": {\"enabled\": true, \"host\": \"%s\", "
			 "\"service\": \"%u\", \"family\": \"%s\", "
			 "\"auth\": \"vnc\", \"clients\": []}%s}\r\n",
			 host, port, strchr(host, ':') ? "ipv6" : "ipv4", id);
	} else if (strcmp(exec, "change-vnc-password") == 0) {
		const char *args = find_key(cmd, len, "arguments");
		char pw[64];

		if (!args || *args != '{' ||
		    !string_value(
			    find_key(args, (size_t)(end - args), "password"),
			    end, pw, sizeof(pw))) {
			snprintf(out, out_len,
				 "{\"error\": {\"class\": \"GenericError\", "
				 "\"desc\": \"expected arguments.password\"}"
				 "%s}\r\n",
				 id);
			return;
		}
		ops->set_password(ctx, pw);
		memset(pw, 0, sizeof(pw));
		snprintf(out, out_len, "{\"return\": {}%s}\r\n", id);
	} else {
		snprintf(out, out_len,
			 "{\"error\": {\"class\": \"CommandNotFound\", "
			 "\"desc\": \"vfbd-dm does not implement %s\"}%s}\r\n",
			 exec, id);
	}
}

struct qmp_server {
	uv_pipe_t pipe;
	const struct qmp_ops *ops;
	void *ctx;
	char path[108];
};

struct qmp_conn {
	uv_pipe_t pipe;
	struct qmp_server *q;
	char *buf;
	size_t len;
	bool closing;
};

struct qmp_write {
	uv_write_t req;
	char data[];
};

static void conn_closed(uv_handle_t *h)
{
	struct qmp_conn *c = h->data;

	free(c->buf);
	free(c);
}

static void conn_close(struct qmp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void written(uv_write_t *req, int status)
{
	free(req);
}

static void send_text(struct qmp_conn *c, const char *text)
{
	size_t n = strlen(text);
	struct qmp_write *w = malloc(sizeof(*w) + n);
	uv_buf_t b;

	if (!w) {
		conn_close(c);
		return;
	}
	memcpy(w->data, text, n);
	b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, written) < 0) {
		free(w);
		conn_close(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct qmp_conn *c = h->data;

	(void)suggested;
	out->base = c->buf + c->len;
	out->len = QMP_MSG_MAX - c->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct qmp_conn *c = s->data;

	(void)b;
	if (c->closing)
		return;
	if (n < 0 || (n == 0 && c->len == QMP_MSG_MAX)) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	for (;;) {
		char reply[QMP_REPLY_MAX];
		long used = qmp_frame(c->buf, c->len);

		if (used == 0)
			break;
		if (used < 0) {
			log_warn("qmp-error", "reason=\"not a JSON object\"");
			conn_close(c);
			return;
		}
		qmp_answer(c->q->ops, c->q->ctx, c->buf, (size_t)used, reply,
			   sizeof(reply));
		send_text(c, reply);
		memmove(c->buf, c->buf + used, c->len - (size_t)used);
		c->len -= (size_t)used;
	}
	if (c->len == QMP_MSG_MAX)
		conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct qmp_server *q = server->data;
	struct qmp_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->q = q;
	c->buf = malloc(QMP_MSG_MAX);
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (!c->buf || uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0) {
		conn_close(c);
		return;
	}
	send_text(c, greeting);
}

int qmp_open(uv_loop_t *loop, const char *path, const struct qmp_ops *ops,
	     void *ctx, struct qmp_server **out)
{
	struct qmp_server *q;
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof(q->path))
		return -ENAMETOOLONG;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->ops = ops;
	q->ctx = ctx;
	snprintf(q->path, sizeof(q->path), "%s", path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	uv_pipe_init(loop, &q->pipe, 0);
	q->pipe.data = q;
	rc = uv_pipe_bind(&q->pipe, path);
	if (rc == 0) {
		chmod(path, 0600);
		rc = uv_listen((uv_stream_t *)&q->pipe, 4, on_connection);
	}
	if (rc < 0) {
		q->path[0] = '\0';
		qmp_close(q);
		return rc;
	}
	*out = q;
	return 0;
}

static void server_closed(uv_handle_t *h)
{
	free(h->data);
}

void qmp_close(struct qmp_server *q)
{
	if (!q)
		return;
	if (q->path[0])
		unlink(q->path);
	uv_close((uv_handle_t *)&q->pipe, server_closed);
}
