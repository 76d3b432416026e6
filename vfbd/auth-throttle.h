/* Per-source-address throttling of VNC authentication failures: after
 * AUTH_THROTTLE_FREE failures an address is refused for a while, the
 * while doubling with each further failure. Other addresses are not
 * affected, so a guesser never locks the rightful user out. The table is
 * bounded; the stalest entry makes room. */
#ifndef VFBD_AUTH_THROTTLE_H
#define VFBD_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_THROTTLE_FREE    5	    /* failures allowed before blocking */
#define AUTH_THROTTLE_BASE_MS 10000 /* first block */
#define AUTH_THROTTLE_MAX_MS  (3600u * 1000u)
#define AUTH_THROTTLE_SLOTS   256

struct auth_throttle_entry {
	char host[56];
	unsigned failures;
	uint64_t blocked_until_ms;
	uint64_t last_ms;
};

struct auth_throttle {
	struct auth_throttle_entry slots[AUTH_THROTTLE_SLOTS];
};

void auth_throttle_init(struct auth_throttle *t);

/* Milliseconds `host` stays blocked at `now_ms` (0: may try). */
uint64_t auth_throttle_blocked_ms(const struct auth_throttle *t,
				  const char *host, uint64_t now_ms);

/* Records a failure; returns the block now in force (0 if none). */
uint64_t auth_throttle_fail(struct auth_throttle *t, const char *host,
			    uint64_t now_ms);

/* A success forgets the address's failures. */
void auth_throttle_success(struct auth_throttle *t, const char *host);

#endif
