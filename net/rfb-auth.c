#include "net/rfb-auth.h"

#include <errno.h>
#include <fcntl.h>
#include <rfb/rfbproto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int rfb_auth_new_challenge(uint8_t challenge[RFB_VNC_CHALLENGE_LEN])
{
	size_t got = 0;

	while (got < RFB_VNC_CHALLENGE_LEN) {
		ssize_t n = getrandom(challenge + got,
				      RFB_VNC_CHALLENGE_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

bool rfb_auth_check(const uint8_t challenge[RFB_VNC_CHALLENGE_LEN],
		    const uint8_t response[RFB_VNC_CHALLENGE_LEN],
		    const char *password)
{
	uint8_t expected[RFB_VNC_CHALLENGE_LEN];
	char key[RFB_AUTH_PASSWORD_MAX + 1] = {0};
	volatile uint8_t diff = 0;

	strncpy(key, password, RFB_AUTH_PASSWORD_MAX);
	memcpy(expected, challenge, sizeof(expected));
	rfbEncryptBytes(expected, key);
	for (size_t i = 0; i < sizeof(expected); i++)
		diff |= expected[i] ^ response[i];
	memset(key, 0, sizeof(key));
	memset(expected, 0, sizeof(expected));
	return diff == 0;
}

static bool looks_obfuscated(const uint8_t *data, size_t len)
{
	size_t text = len;

	if (len != 8 && len != 16)
		return false;
	/* A text password of 7 or 15 characters and its line ending is as
	 * long as a vncpasswd file: a final line ending is text. */
	if (text && data[text - 1] == '\n')
		text--;
	if (text && data[text - 1] == '\r')
		text--;
	/* vncpasswd's output is DES ciphertext: nearly always it holds a
	 * byte no text file would. */
	for (size_t i = 0; i < text; i++)
		if ((data[i] < 0x20 && data[i] != '\n' && data[i] != '\r') ||
		    data[i] > 0x7e)
			return true;
	return false;
}

int rfb_auth_load_password_file(const char *path,
				char out[RFB_AUTH_PASSWORD_MAX + 1],
				const char **why)
{
	uint8_t data[4096];
	size_t len = 0, n;
	ssize_t r;
	int fd;

	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	while (len < sizeof(data)) {
		r = read(fd, data + len, sizeof(data) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);

	if (looks_obfuscated(data, len)) {
		char *plain = rfbDecryptPasswdFromFile((char *)path);

		if (!plain) {
			*why = "cannot decode the vncpasswd file";
			return -EINVAL;
		}
		strncpy(out, plain, RFB_AUTH_PASSWORD_MAX);
		out[RFB_AUTH_PASSWORD_MAX] = '\0';
		memset(plain, 0, strlen(plain));
		free(plain);
	} else {
		for (n = 0; n < len && data[n] != '\n' && data[n] != '\r';)
			n++;
		if (n > RFB_AUTH_PASSWORD_MAX)
			n = RFB_AUTH_PASSWORD_MAX;
		memcpy(out, data, n);
		out[n] = '\0';
	}
	memset(data, 0, sizeof(data));
	if (out[0] == '\0') {
		*why = "the password is empty";
		return -EINVAL;
	}
	return 0;
}
