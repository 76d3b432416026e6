#include "vfbd/auth-throttle.h"

#include <stdio.h>
#include <string.h>

void auth_throttle_init(struct auth_throttle *t)
{
	memset(t, 0, sizeof(*t));
}

/* Entries hold hosts cut to fit (see auth_throttle_fail), so a longer
 * host is looked up by the same cut. */
static struct auth_throttle_entry *find(const struct auth_throttle *t,
					const char *host)
{
	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (t->slots[i].host[0] &&
		    strncmp(t->slots[i].host, host,
			    sizeof(t->slots[i].host) - 1) == 0)
			return (struct auth_throttle_entry *)&t->slots[i];
	return NULL;
}

uint64_t auth_throttle_blocked_ms(const struct auth_throttle *t,
				  const char *host, uint64_t now_ms)
{
	const struct auth_throttle_entry *e = find(t, host);

	if (!e || e->blocked_until_ms <= now_ms)
		return 0;
	return e->blocked_until_ms - now_ms;
}

uint64_t auth_throttle_fail(struct auth_throttle *t, const char *host,
			    uint64_t now_ms)
{
	struct auth_throttle_entry *e = find(t, host);
	uint64_t block;
	unsigned over;

	if (!e) {
		/* Take a free slot, else the one idle longest. */
		e = &t->slots[0];
		for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
			if (!t->slots[i].host[0]) {
				e = &t->slots[i];
				break;
			}
			if (t->slots[i].last_ms < e->last_ms)
				e = &t->slots[i];
		}
		memset(e, 0, sizeof(*e));
		snprintf(e->host, sizeof(e->host), "%s", host);
	}
	e->failures++;
	e->last_ms = now_ms;
	if (e->failures < AUTH_THROTTLE_FREE)
		return 0;
	over = e->failures - AUTH_THROTTLE_FREE;
	block = AUTH_THROTTLE_BASE_MS;
	while (over-- && block < AUTH_THROTTLE_MAX_MS)
		block *= 2;
	if (block > AUTH_THROTTLE_MAX_MS)
		block = AUTH_THROTTLE_MAX_MS;
	e->blocked_until_ms = now_ms + block;
	return block;
}

void auth_throttle_success(struct auth_throttle *t, const char *host)
{
	struct auth_throttle_entry *e = find(t, host);

	if (e)
		memset(e, 0, sizeof(*e));
}
