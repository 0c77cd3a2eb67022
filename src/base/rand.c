/* rand: unpredictable tokens (tags, branches, Call-IDs, nonces) from the kernel's CSPRNG.
 * getrandom() is drawn 4 KiB at a time: one system call serves about thirty B2BUA calls' tags,
 * branches and Call-IDs (about 133 bytes a call; 1 KiB served eight). The pool is per thread:
 * the relay thread draws SSRCs for the sounds it plays while the loop draws tags, and one pool
 * shared without a lock could hand the same bytes to both. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base.h"

static _Thread_local uint8_t pool[4096];
static _Thread_local size_t pool_left;

static int fill(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int rand_bytes(void *buf, size_t n)
{
	uint8_t *out = buf;

	if (n > sizeof(pool))
		return fill(buf, n);
	while (n) {
		size_t take;

		if (!pool_left) {
			int err = fill(pool, sizeof(pool));
			if (err)
				return err;
			pool_left = sizeof(pool);
		}
		take = MIN(n, pool_left);
		memcpy(out, pool + sizeof(pool) - pool_left, take);
		/* Bytes handed out are wiped from the pool so they are never given twice. */
		memset(pool + sizeof(pool) - pool_left, 0, take);
		pool_left -= take;
		out += take;
		n -= take;
	}
	return 0;
}

void rand_token(char *buf, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint8_t raw[64] = {0};

	while (n) {
		size_t chunk = MIN(n, sizeof(raw));

		/* getrandom() on Linux >= 3.17 does not fail once the pool is initialised. */
		(void)rand_bytes(raw, chunk);
		for (size_t i = 0; i < chunk; i++) {
			/* 252 = 7 * 36: reject the top bytes so every character is equally likely. */
			while (raw[i] >= 252)
				(void)rand_bytes(&raw[i], 1);
			*buf++ = alphabet[raw[i] % 36];
		}
		n -= chunk;
	}
	*buf = '\0';
}
