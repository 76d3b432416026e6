#include "vfbd/control.h"
#include "vfbd/base/buf.h"
#include "vfbd/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_LINE_MAX 256

struct control {
	uv_pipe_t pipe;
	struct session *session;
	char path[108];
};

struct control_conn {
	uv_pipe_t pipe;
	uv_write_t write_req;
	struct control *ctl;
	char line[CONTROL_LINE_MAX];
	size_t len;
	struct buf reply;
	bool answered;
};

static void on_conn_closed(uv_handle_t *h)
{
	struct control_conn *cc = h->data;

	buf_fini(&cc->reply);
	free(cc);
}

static void on_reply_written(uv_write_t *req, int status)
{
	struct control_conn *cc = req->data;

	uv_close((uv_handle_t *)&cc->pipe, on_conn_closed);
}

static void answer(struct control_conn *cc)
{
	struct session *s = cc->ctl->session;
	char *arg;
	uv_buf_t b;

	cc->answered = true;
	uv_read_stop((uv_stream_t *)&cc->pipe);
	if (strcmp(cc->line, "status") == 0) {
		session_status_json(s, &cc->reply);
	} else if (strcmp(cc->line, "reset-stats") == 0) {
		session_reset_stats(s);
		buf_append(&cc->reply, "ok", 2);
	} else if (strncmp(cc->line, "kick ", 5) == 0) {
		unsigned long id = strtoul(cc->line + 5, &arg, 10);

		if (*arg == '\0' && session_kick_client(s, (unsigned)id) == 0)
			buf_append(&cc->reply, "ok", 2);
		else
			buf_append(&cc->reply, "error: no such client", 21);
	} else {
		static const char usage[] =
			"error: commands are: status, kick ID, reset-stats";

		buf_append(&cc->reply, usage, sizeof(usage) - 1);
	}
	buf_put_u8(&cc->reply, '\n');
	b = uv_buf_init((char *)cc->reply.data, (unsigned)cc->reply.len);
	cc->write_req.data = cc;
	if (uv_write(&cc->write_req, (uv_stream_t *)&cc->pipe, &b, 1,
		     on_reply_written) < 0)
		uv_close((uv_handle_t *)&cc->pipe, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct control_conn *cc = h->data;

	(void)suggested;
	out->base = cc->line + cc->len;
	out->len = sizeof(cc->line) - 1 - cc->len;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct control_conn *cc = st->data;
	char *nl;

	(void)b;
	if (cc->answered)
		return;
	if (n < 0 || (n == 0 && cc->len == sizeof(cc->line) - 1)) {
		uv_close((uv_handle_t *)&cc->pipe, on_conn_closed);
		return;
	}
	cc->len += (size_t)n;
	cc->line[cc->len] = '\0';
	nl = strchr(cc->line, '\n');
	if (nl) {
		*nl = '\0';
		if (nl > cc->line && nl[-1] == '\r')
			nl[-1] = '\0';
		answer(cc);
	} else if (cc->len == sizeof(cc->line) - 1) {
		uv_close((uv_handle_t *)&cc->pipe, on_conn_closed);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct control *ctl = server->data;
	struct control_conn *cc;

	if (status < 0)
		return;
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return;
	cc->ctl = ctl;
	buf_init(&cc->reply);
	uv_pipe_init(server->loop, &cc->pipe, 0);
	cc->pipe.data = cc;
	if (uv_accept(server, (uv_stream_t *)&cc->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&cc->pipe, on_alloc, on_read) < 0)
		uv_close((uv_handle_t *)&cc->pipe, on_conn_closed);
}

int control_open(uv_loop_t *loop, const char *path, struct session *s,
		 struct control **out)
{
	struct control *c;
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->session = s;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	uv_pipe_init(loop, &c->pipe, 0);
	c->pipe.data = c;
	rc = uv_pipe_bind(&c->pipe, path);
	if (rc == 0) {
		/* Status shows peers and kick closes sessions: owner only. */
		chmod(path, 0600);
		rc = uv_listen((uv_stream_t *)&c->pipe, 16, on_connection);
	}
	if (rc < 0) {
		c->path[0] = '\0';
		control_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void control_close(struct control *c)
{
	if (!c)
		return;
	if (c->path[0])
		unlink(c->path);
	uv_close((uv_handle_t *)&c->pipe, on_closed);
}
