/* The simulation's xenstore daemon (see xensim-int.h): a tree with
 * permissions, watches and transactions, served over the xs_wire
 * protocol to vfbd's real libxenstore and used in-process by the guest.
 * Permissions follow xenstored: the owner (first entry) may do anything,
 * others get their ACL entry or the default; nodes inherit their parent's
 * permissions and a guest owns the nodes it creates. A transaction works
 * on a copy and fails with EAGAIN at commit when a node it touched
 * changed meanwhile. */
#include "tests/lib/xensim-int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct node *xsim_node_new(const char *name, const struct node *parent)
{
	struct node *n = xmalloc(sizeof(*n));

	n->name = xstrdup(name);
	n->value = xstrdup("");
	if (parent && parent->nperms) {
		n->nperms = parent->nperms;
		n->perms = xmalloc(sizeof(*n->perms) * parent->nperms);
		memcpy(n->perms, parent->perms,
		       sizeof(*n->perms) * parent->nperms);
	} else {
		n->nperms = 1;
		n->perms = xmalloc(sizeof(*n->perms));
	}
	return n;
}

void xsim_node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		xsim_node_free(n->children);
		free(n->name);
		free(n->value);
		free(n->perms);
		free(n);
		n = next;
	}
}

static struct node *node_copy(const struct node *n)
{
	struct node *c, *head = NULL, **tail = &head;

	for (; n; n = n->next) {
		c = xmalloc(sizeof(*c));
		c->name = xstrdup(n->name);
		c->value = xmalloc(n->vlen + 1);
		memcpy(c->value, n->value, n->vlen);
		c->vlen = n->vlen;
		c->nperms = n->nperms;
		c->perms = xmalloc(sizeof(*c->perms) * n->nperms);
		memcpy(c->perms, n->perms, sizeof(*c->perms) * n->nperms);
		c->gen = n->gen;
		c->children = node_copy(n->children);
		*tail = c;
		tail = &c->next;
	}
	return head;
}

static bool valid_path(const char *p)
{
	size_t len = strlen(p);

	if (p[0] == '@')
		return len > 1;
	if (p[0] != '/' || len >= XENSTORE_ABS_PATH_MAX)
		return false;
	if (len > 1 && p[len - 1] == '/')
		return false;
	return strstr(p, "//") == NULL;
}

/* Walks to `path`; with `parent_out`, also the deepest existing node on
 * the way. */
struct node *xsim_lookup(struct node *root, const char *path,
			 struct node **deepest)
{
	struct node *n = root;
	char comp[XENSTORE_ABS_PATH_MAX];
	const char *p = path + 1;

	if (deepest)
		*deepest = root;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct node *c;

		memcpy(comp, p, len);
		comp[len] = '\0';
		for (c = n->children; c; c = c->next)
			if (strcmp(c->name, comp) == 0)
				break;
		if (!c)
			return NULL;
		n = c;
		if (deepest)
			*deepest = n;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

unsigned xsim_perm_of(const struct node *n, unsigned dom)
{
	if (dom == 0 || n->perms[0].id == dom)
		return PERM_READ | PERM_WRITE;
	for (unsigned i = 1; i < n->nperms; i++)
		if (n->perms[i].id == dom)
			return n->perms[i].perm;
	return n->perms[0].perm;
}

/* Creates `path` and missing parents; new nodes inherit their parent's
 * permissions, and a guest that creates a node owns it. */
static struct node *create(struct xensim *s, struct node *root,
			   const char *path, unsigned dom)
{
	struct node *n = root;
	char comp[XENSTORE_ABS_PATH_MAX];
	const char *p = path + 1;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct node *c;

		memcpy(comp, p, len);
		comp[len] = '\0';
		for (c = n->children; c; c = c->next)
			if (strcmp(c->name, comp) == 0)
				break;
		if (!c) {
			c = xsim_node_new(comp, n);
			if (dom != 0)
				c->perms[0].id = dom;
			c->gen = ++s->gen;
			c->next = n->children;
			n->children = c;
		}
		n = c;
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

static int remove_node(struct node *root, const char *path)
{
	char parent[XENSTORE_ABS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct node *par, **pp;

	if (strcmp(path, "/") == 0)
		return -EINVAL;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	par = xsim_lookup(root, parent[0] ? parent : "/", NULL);
	if (!par)
		return -ENOENT;
	for (pp = &par->children; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, slash + 1) == 0) {
			struct node *victim = *pp;

			*pp = victim->next;
			victim->next = NULL;
			xsim_node_free(victim);
			return 0;
		}
	}
	/* Removing a missing node of an existing parent succeeds. */
	return 0;
}

static int parse_perms(const char *strs, size_t len, struct perm **out,
		       unsigned *n_out)
{
	unsigned n = 0;
	struct perm *p;

	for (size_t i = 0; i < len; i++)
		if (strs[i] == '\0')
			n++;
	if (n == 0)
		return -EINVAL;
	p = xmalloc(sizeof(*p) * n);
	for (unsigned i = 0; i < n; i++) {
		char c = strs[0];
		char *end;
		unsigned long id;

		p[i].perm = c == 'r'   ? PERM_READ
			    : c == 'w' ? PERM_WRITE
			    : c == 'b' ? PERM_READ | PERM_WRITE
				       : 0;
		if (c != 'r' && c != 'w' && c != 'b' && c != 'n') {
			free(p);
			return -EINVAL;
		}
		id = strtoul(strs + 1, &end, 10);
		if (end == strs + 1 || *end) {
			free(p);
			return -EINVAL;
		}
		p[i].id = (unsigned)id;
		strs += strlen(strs) + 1;
	}
	*out = p;
	*n_out = n;
	return 0;
}

static void record_history(struct xensim *s, const char *path,
			   const char *value, unsigned vlen)
{
	struct history *h;
	size_t old;

	for (h = s->histories; h; h = h->next)
		if (strcmp(h->path, path) == 0)
			break;
	if (!h) {
		h = xmalloc(sizeof(*h));
		h->path = xstrdup(path);
		h->values = xstrdup("");
		h->next = s->histories;
		s->histories = h;
	}
	old = strlen(h->values);
	h->values = realloc(h->values, old + vlen + 2);
	if (!h->values)
		abort();
	if (old)
		h->values[old++] = ',';
	memcpy(h->values + old, value, vlen);
	h->values[old + vlen] = '\0';
}

/* ---- operations on a tree (the global one or a transaction's) ---- */

int xsim_do_write(struct xensim *s, struct node *root, unsigned dom,
		  const char *path, const char *value, unsigned vlen)
{
	struct node *deepest, *n = xsim_lookup(root, path, &deepest);

	if (!valid_path(path) || path[0] != '/')
		return -EINVAL;
	if (n ? !(xsim_perm_of(n, dom) & PERM_WRITE)
	      : !(xsim_perm_of(deepest, dom) & PERM_WRITE))
		return -EACCES;
	if (!n)
		n = create(s, root, path, dom);
	free(n->value);
	n->value = xmalloc(vlen + 1);
	memcpy(n->value, value, vlen);
	n->vlen = vlen;
	n->gen = ++s->gen;
	return 0;
}

int xsim_do_mkdir(struct xensim *s, struct node *root, unsigned dom,
		  const char *path)
{
	struct node *deepest, *n = xsim_lookup(root, path, &deepest);

	if (!valid_path(path) || path[0] != '/')
		return -EINVAL;
	if (n)
		return 0;
	if (!(xsim_perm_of(deepest, dom) & PERM_WRITE))
		return -EACCES;
	create(s, root, path, dom);
	return 0;
}

int xsim_do_rm(struct xensim *s, struct node *root, unsigned dom,
	       const char *path)
{
	struct node *n = xsim_lookup(root, path, NULL);

	if (!valid_path(path) || path[0] != '/')
		return -EINVAL;
	if (n && !(xsim_perm_of(n, dom) & PERM_WRITE))
		return -EACCES;
	if (!n) {
		char parent[XENSTORE_ABS_PATH_MAX];
		const char *slash = strrchr(path, '/');

		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
		return xsim_lookup(root, parent[0] ? parent : "/", NULL)
			       ? 0
			       : -ENOENT;
	}
	s->gen++;
	return remove_node(root, path);
}

int xsim_do_set_perms(struct xensim *s, struct node *root, unsigned dom,
		      const char *path, const struct perm *perms,
		      unsigned nperms)
{
	struct node *n = xsim_lookup(root, path, NULL);

	if (!n)
		return -ENOENT;
	if (dom != 0 && n->perms[0].id != dom)
		return -EACCES;
	free(n->perms);
	n->perms = xmalloc(sizeof(*perms) * nperms);
	memcpy(n->perms, perms, sizeof(*perms) * nperms);
	n->nperms = nperms;
	n->gen = ++s->gen;
	return 0;
}

/* Global-tree changes: applied, recorded, watched, reacted to. */
int xsim_global_write(struct xensim *s, unsigned dom, const char *path,
		      const char *value, unsigned vlen)
{
	int rc = xsim_do_write(s, s->root, dom, path, value, vlen);

	if (rc == 0) {
		record_history(s, path, value, vlen);
		xsim_fire(s, path);
	}
	return rc;
}

int xsim_global_rm(struct xensim *s, unsigned dom, const char *path)
{
	bool existed = xsim_lookup(s->root, path, NULL) != NULL;
	int rc = xsim_do_rm(s, s->root, dom, path);

	if (rc == 0 && existed)
		xsim_fire(s, path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* watches and the wire                                                */

static bool is_under(const char *parent, const char *child)
{
	size_t n = strlen(parent);

	return strncmp(parent, child, n) == 0 &&
	       (child[n] == '\0' || child[n] == '/');
}

static void send_msg(struct xensim *s, struct conn *c, uint32_t type,
		     uint32_t req_id, uint32_t tx_id, const void *data,
		     size_t len)
{
	struct xsd_sockmsg h = {type, req_id, tx_id, (uint32_t)len};
	uint8_t buf[sizeof(h) + XENSTORE_PAYLOAD_MAX + XENSTORE_ABS_PATH_MAX];
	size_t off = 0;

	if (c->dead)
		return;
	if (len > sizeof(buf) - sizeof(h))
		len = sizeof(buf) - sizeof(h);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), data, len);
	while (off < sizeof(h) + len) {
		ssize_t n = send(c->fd, buf + off, sizeof(h) + len - off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {c->fd, POLLOUT, 0};

			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0) {
			c->dead = true;
			return;
		}
		off += (size_t)n;
	}
}

static void send_event(struct xensim *s, struct watch *w, const char *path)
{
	char buf[XENSTORE_ABS_PATH_MAX * 2];
	size_t pl = strlen(path) + 1, tl = strlen(w->token) + 1;

	if (!w->conn || pl + tl > sizeof(buf))
		return;
	memcpy(buf, path, pl);
	memcpy(buf + pl, w->token, tl);
	send_msg(s, w->conn, XS_WATCH_EVENT, 0, 0, buf, pl + tl);
}

/* Queues the watch events for a change at `path` (they go out after the
 * reply to the request that caused them). */
void xsim_fire(struct xensim *s, const char *path)
{
	struct pending_event *e = xmalloc(sizeof(*e));

	e->path = xstrdup(path);
	*s->pending_tail = e;
	s->pending_tail = &e->next;
}

void xsim_flush_events(struct xensim *s)
{
	while (s->pending) {
		struct pending_event *e = s->pending;

		s->pending = e->next;
		if (!s->pending)
			s->pending_tail = &s->pending;
		for (struct watch *w = s->watches; w; w = w->next) {
			if (e->path[0] == '@') {
				if (strcmp(w->path, e->path) == 0)
					send_event(s, w, e->path);
			} else if (is_under(w->path, e->path)) {
				send_event(s, w, e->path);
			} else if (is_under(e->path, w->path) &&
				   !xsim_lookup(s->root, w->path, NULL)) {
				/* A removal above the watch reports the
				 * watched path. */
				send_event(s, w, w->path);
			}
		}
		free(e->path);
		free(e);
	}
}

static void send_error(struct xensim *s, struct conn *c,
		       const struct xsd_sockmsg *h, int err)
{
	const char *name = "EINVAL";

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			name = xsd_errors[i].errstring;
	send_msg(s, c, XS_ERROR, h->req_id, h->tx_id, name, strlen(name) + 1);
}

static void send_ok(struct xensim *s, struct conn *c,
		    const struct xsd_sockmsg *h)
{
	send_msg(s, c, h->type, h->req_id, h->tx_id, "OK", 3);
}

static struct tx *find_tx(struct xensim *s, struct conn *c, uint32_t id)
{
	for (struct tx *t = s->txs; t; t = t->next)
		if (t->id == id && t->conn == c)
			return t;
	return NULL;
}

static void tx_free(struct tx *t)
{
	xsim_node_free(t->root);
	while (t->ops) {
		struct tx_op *o = t->ops;

		t->ops = o->next;
		free(o->path);
		free(o->value);
		free(o->perms);
		free(o);
	}
	while (t->accessed) {
		struct tx_access *a = t->accessed;

		t->accessed = a->next;
		free(a->path);
		free(a);
	}
	free(t);
}

static void tx_drop(struct xensim *s, struct tx *t)
{
	for (struct tx **pp = &s->txs; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	tx_free(t);
}

/* Remembers the generation a transaction first saw at `path`. */
static void tx_access(struct tx *t, const char *path)
{
	struct node *n;

	for (struct tx_access *a = t->accessed; a; a = a->next)
		if (strcmp(a->path, path) == 0)
			return;
	n = xsim_lookup(t->root, path, NULL);
	{
		struct tx_access *a = xmalloc(sizeof(*a));

		a->path = xstrdup(path);
		a->gen = n ? n->gen : 0;
		a->next = t->accessed;
		t->accessed = a;
	}
}

static void tx_log(struct tx *t, enum op_type type, const char *path,
		   const char *value, unsigned vlen, const struct perm *perms,
		   unsigned nperms)
{
	struct tx_op *o = xmalloc(sizeof(*o));

	o->type = type;
	o->path = xstrdup(path);
	if (value) {
		o->value = xmalloc(vlen + 1);
		memcpy(o->value, value, vlen);
		o->vlen = vlen;
	}
	if (perms) {
		o->perms = xmalloc(sizeof(*perms) * nperms);
		memcpy(o->perms, perms, sizeof(*perms) * nperms);
		o->nperms = nperms;
	}
	*t->ops_tail = o;
	t->ops_tail = &o->next;
}

static int tx_commit(struct xensim *s, struct tx *t)
{
	for (struct tx_access *a = t->accessed; a; a = a->next) {
		struct node *n = xsim_lookup(s->root, a->path, NULL);

		if ((n ? n->gen : 0) != a->gen)
			return -EAGAIN;
	}
	for (struct tx_op *o = t->ops; o; o = o->next) {
		switch (o->type) {
		case OP_WRITE:
			xsim_global_write(s, 0, o->path, o->value, o->vlen);
			break;
		case OP_MKDIR:
			if (!xsim_lookup(s->root, o->path, NULL)) {
				xsim_do_mkdir(s, s->root, 0, o->path);
				xsim_fire(s, o->path);
			}
			break;
		case OP_RM:
			xsim_global_rm(s, 0, o->path);
			break;
		case OP_PERMS:
			if (xsim_do_set_perms(s, s->root, 0, o->path, o->perms,
					      o->nperms) == 0)
				xsim_fire(s, o->path);
			break;
		}
	}
	return 0;
}

/* The nth NUL-terminated string of a payload, or NULL. */
static const char *nth_str(const char *p, size_t len, unsigned nth)
{
	size_t off = 0;

	for (unsigned i = 0; i < nth; i++) {
		const char *z = memchr(p + off, '\0', len - off);

		if (!z)
			return NULL;
		off = (size_t)(z - p) + 1;
		if (off >= len)
			return NULL;
	}
	return memchr(p + off, '\0', len - off) ? p + off : NULL;
}

static void handle_request(struct xensim *s, struct conn *c,
			   const struct xsd_sockmsg *h, char *body)
{
	struct tx *t = h->tx_id ? find_tx(s, c, h->tx_id) : NULL;
	struct node *root = t ? t->root : s->root;
	const char *path = nth_str(body, h->len, 0);
	char buf[XENSTORE_PAYLOAD_MAX];
	struct node *n;
	int rc = 0;

	if (h->tx_id && !t) {
		send_error(s, c, h, ENOENT);
		return;
	}
	switch (h->type) {
	case XS_READ:
		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		if (t)
			tx_access(t, path);
		n = xsim_lookup(root, path, NULL);
		if (!n) {
			send_error(s, c, h, ENOENT);
			return;
		}
		send_msg(s, c, h->type, h->req_id, h->tx_id, n->value, n->vlen);
		return;
	case XS_WRITE: {
		size_t pl;

		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		pl = strlen(path) + 1;
		if (t) {
			tx_access(t, path);
			rc = xsim_do_write(s, t->root, 0, path, body + pl,
					   (unsigned)(h->len - pl));
			if (rc == 0)
				tx_log(t, OP_WRITE, path, body + pl,
				       (unsigned)(h->len - pl), NULL, 0);
		} else {
			rc = xsim_global_write(s, 0, path, body + pl,
					       (unsigned)(h->len - pl));
		}
		break;
	}
	case XS_MKDIR:
		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		if (t) {
			tx_access(t, path);
			rc = xsim_do_mkdir(s, t->root, 0, path);
			if (rc == 0)
				tx_log(t, OP_MKDIR, path, NULL, 0, NULL, 0);
		} else if (!xsim_lookup(s->root, path, NULL)) {
			rc = xsim_do_mkdir(s, s->root, 0, path);
			if (rc == 0)
				xsim_fire(s, path);
		}
		break;
	case XS_RM:
		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		if (t) {
			tx_access(t, path);
			rc = xsim_do_rm(s, t->root, 0, path);
			if (rc == 0)
				tx_log(t, OP_RM, path, NULL, 0, NULL, 0);
		} else {
			rc = xsim_global_rm(s, 0, path);
		}
		break;
	case XS_DIRECTORY: {
		size_t off = 0;

		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		if (t)
			tx_access(t, path);
		n = xsim_lookup(root, path, NULL);
		if (!n) {
			send_error(s, c, h, ENOENT);
			return;
		}
		for (struct node *ch = n->children; ch; ch = ch->next) {
			size_t l = strlen(ch->name) + 1;

			if (off + l > sizeof(buf)) {
				send_error(s, c, h, E2BIG);
				return;
			}
			memcpy(buf + off, ch->name, l);
			off += l;
		}
		send_msg(s, c, h->type, h->req_id, h->tx_id, buf, off);
		return;
	}
	case XS_GET_PERMS: {
		size_t off = 0;

		if (!path || !(n = xsim_lookup(root, path, NULL))) {
			send_error(s, c, h, ENOENT);
			return;
		}
		for (unsigned i = 0; i < n->nperms; i++) {
			unsigned p = n->perms[i].perm;

			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						"%c%u",
						p == 3	 ? 'b'
						: p == 1 ? 'r'
						: p == 2 ? 'w'
							 : 'n',
						n->perms[i].id) +
			       1;
		}
		send_msg(s, c, h->type, h->req_id, h->tx_id, buf, off);
		return;
	}
	case XS_SET_PERMS: {
		struct perm *perms;
		unsigned np;
		size_t pl;

		if (!path || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		pl = strlen(path) + 1;
		if (parse_perms(body + pl, h->len - pl, &perms, &np) < 0) {
			send_error(s, c, h, EINVAL);
			return;
		}
		if (t) {
			tx_access(t, path);
			rc = xsim_do_set_perms(s, t->root, 0, path, perms, np);
			if (rc == 0)
				tx_log(t, OP_PERMS, path, NULL, 0, perms, np);
		} else {
			rc = xsim_do_set_perms(s, s->root, 0, path, perms, np);
			if (rc == 0)
				xsim_fire(s, path);
		}
		free(perms);
		break;
	}
	case XS_WATCH: {
		const char *token = nth_str(body, h->len, 1);
		struct watch *w;

		if (!path || !token || !valid_path(path)) {
			send_error(s, c, h, EINVAL);
			return;
		}
		for (w = s->watches; w; w = w->next)
			if (w->conn == c && strcmp(w->path, path) == 0 &&
			    strcmp(w->token, token) == 0)
				break;
		if (w) {
			send_error(s, c, h, EEXIST);
			return;
		}
		w = xmalloc(sizeof(*w));
		w->conn = c;
		w->path = xstrdup(path);
		w->token = xstrdup(token);
		w->next = s->watches;
		s->watches = w;
		send_ok(s, c, h);
		/* Every watch fires once when it is set. */
		send_event(s, w, path);
		return;
	}
	case XS_UNWATCH: {
		const char *token = nth_str(body, h->len, 1);

		for (struct watch **pp = &s->watches; *pp; pp = &(*pp)->next) {
			struct watch *w = *pp;

			if (w->conn == c && path && token &&
			    strcmp(w->path, path) == 0 &&
			    strcmp(w->token, token) == 0) {
				*pp = w->next;
				free(w->path);
				free(w->token);
				free(w);
				send_ok(s, c, h);
				return;
			}
		}
		send_error(s, c, h, ENOENT);
		return;
	}
	case XS_TRANSACTION_START: {
		struct tx *nt = xmalloc(sizeof(*nt));
		int len;

		nt->id = ++s->next_tx;
		nt->conn = c;
		nt->root = node_copy(s->root);
		nt->ops_tail = &nt->ops;
		nt->next = s->txs;
		s->txs = nt;
		len = snprintf(buf, sizeof(buf), "%u", nt->id);
		send_msg(s, c, h->type, h->req_id, 0, buf, (size_t)len + 1);
		return;
	}
	case XS_TRANSACTION_END:
		if (!t) {
			send_error(s, c, h, ENOENT);
			return;
		}
		if (path && strcmp(path, "T") == 0)
			rc = tx_commit(s, t);
		tx_drop(s, t);
		break;
	case XS_GET_DOMAIN_PATH: {
		int len;

		if (!path) {
			send_error(s, c, h, EINVAL);
			return;
		}
		len = snprintf(buf, sizeof(buf), "/local/domain/%s", path);
		send_msg(s, c, h->type, h->req_id, h->tx_id, buf,
			 (size_t)len + 1);
		return;
	}
	case XS_IS_DOMAIN_INTRODUCED: {
		bool yes = path && (unsigned)atoi(path) == s->domid &&
			   (s->ctl->domains[0].flags & XEN_SIM_DOM_EXISTS);

		send_msg(s, c, h->type, h->req_id, h->tx_id, yes ? "T" : "F",
			 2);
		return;
	}
	default:
		send_error(s, c, h, ENOSYS);
		return;
	}
	if (rc < 0)
		send_error(s, c, h, -rc);
	else
		send_ok(s, c, h);
}

void xsim_conn_close(struct xensim *s, struct conn *c)
{
	struct watch **pp = &s->watches;
	struct tx *t = s->txs, *next;

	for (unsigned i = 0; i < MAX_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	while (*pp) {
		struct watch *w = *pp;

		if (w->conn == c) {
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
		} else {
			pp = &w->next;
		}
	}
	for (; t; t = next) {
		next = t->next;
		if (t->conn == c)
			tx_drop(s, t);
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

void xsim_conn_readable(struct xensim *s, struct conn *c)
{
	ssize_t n;

	if (c->dead)
		return;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->dead = true;
		return;
	}
	c->in_len += (size_t)n;
	while (!c->dead && c->in_len >= sizeof(struct xsd_sockmsg)) {
		struct xsd_sockmsg h;
		char body[XENSTORE_PAYLOAD_MAX + 1];
		size_t total;

		memcpy(&h, c->in, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			c->dead = true;
			return;
		}
		total = sizeof(h) + h.len;
		if (c->in_len < total)
			break;
		memcpy(body, c->in + sizeof(h), h.len);
		body[h.len] = '\0';
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
		handle_request(s, c, &h, body);
		xsim_flush_events(s);
		xsim_guest_react(s);
		xsim_flush_events(s);
	}
}

void xsim_reap_conns(struct xensim *s)
{
	for (unsigned i = 0; i < MAX_CONNS; i++) {
		struct conn *c = s->conns[i];

		if (c && c->dead) {
			xsim_conn_close(s, c);
			free(c);
		}
	}
}
