/* The control socket (--control PATH): a unix stream socket that answers
 * one command per connection, one line each:
 *   status      -> one line of JSON (see session_status_json)
 *   kick ID     -> "ok" or "error: no client ID"
 * Tests and tools/vfbdctl read these numbers instead of sleeping. */
#ifndef VFBD_CONTROL_H
#define VFBD_CONTROL_H

#include <uv.h>

#include "vfbd/session.h"

struct control;

/* Listens on `path` (an existing socket file is replaced). Returns 0 or
 * -errno. */
int control_open(uv_loop_t *loop, const char *path, struct session *s,
		 struct control **out);

/* Stops listening, removes the socket file; frees itself later. */
void control_close(struct control *c);

#endif
