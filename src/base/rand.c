/* rand: unpredictable tokens (tags, branches, Call-IDs, nonces) from OpenSSL's CSPRNG. */
#include <errno.h>
#include <openssl/rand.h>

#include "base.h"

int rand_bytes(void *buf, size_t n)
{
	if (n > INT32_MAX)
		return EINVAL;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : EIO;
}

void rand_token(char *buf, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint8_t raw[64] = {0};

	while (n) {
		size_t chunk = MIN(n, sizeof(raw));
		if (rand_bytes(raw, chunk)) {
			/* OpenSSL never fails once seeded; keep going with the bytes we have. */
		}
		for (size_t i = 0; i < chunk; i++)
			*buf++ = alphabet[raw[i] % 36];
		n -= chunk;
	}
	*buf = '\0';
}
