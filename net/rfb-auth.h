/* VNC authentication: challenges, response checks, password files. */
#ifndef VFBD_NET_RFB_AUTH_H
#define VFBD_NET_RFB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/rfb-proto.h"

/* VNC auth uses at most 8 password characters. */
#define RFB_AUTH_PASSWORD_MAX 8

/* Fills a fresh random challenge from the kernel; 0 or -errno. */
int rfb_auth_new_challenge(uint8_t challenge[RFB_VNC_CHALLENGE_LEN]);

/* True when `response` is the challenge DES-encrypted with `password`
 * (libvncserver's rfbEncryptBytes). The comparison takes the same time
 * whatever the bytes. */
bool rfb_auth_check(const uint8_t challenge[RFB_VNC_CHALLENGE_LEN],
		    const uint8_t response[RFB_VNC_CHALLENGE_LEN],
		    const char *password);

/* Reads a password file: the 8-byte obfuscated format vncpasswd writes
 * (8 or 16 bytes, binary), or text whose first line is the password.
 * Writes at most RFB_AUTH_PASSWORD_MAX characters plus NUL to `out`.
 * Returns 0, or -errno with `*why` set ("empty password", ...). */
int rfb_auth_load_password_file(const char *path,
				char out[RFB_AUTH_PASSWORD_MAX + 1],
				const char **why);

#endif
