/* pl: comparisons and conversions of pointer-length strings. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int pl_cmp(const struct pl *a, const struct pl *b)
{
	if (a->l != b->l)
		return a->l < b->l ? -1 : 1;
	if (a->l == 0)
		return 0;
	return memcmp(a->p, b->p, a->l);
}

int pl_casecmp(const struct pl *a, const struct pl *b)
{
	if (a->l != b->l)
		return a->l < b->l ? -1 : 1;
	for (size_t i = 0; i < a->l; i++) {
		int ca = tolower((unsigned char)a->p[i]);
		int cb = tolower((unsigned char)b->p[i]);
		if (ca != cb)
			return ca - cb;
	}
	return 0;
}

int pl_u64(const struct pl *pl, uint64_t *out)
{
	uint64_t v = 0;

	if (!pl || !pl->p || pl->l == 0)
		return EINVAL;
	for (size_t i = 0; i < pl->l; i++) {
		unsigned d = (unsigned char)pl->p[i] - '0';
		if (d > 9)
			return EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int pl_u32(const struct pl *pl, uint32_t *out)
{
	uint64_t v;
	int err = pl_u64(pl, &v);

	if (err)
		return err;
	if (v > UINT32_MAX)
		return ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void pl_trim(struct pl *pl)
{
	if (!pl->p)
		return;
	while (pl->l && is_lws(pl->p[0])) {
		pl->p++;
		pl->l--;
	}
	while (pl->l && is_lws(pl->p[pl->l - 1]))
		pl->l--;
}

const char *pl_chr(const struct pl *pl, char c)
{
	if (!pl->p || !pl->l)
		return NULL;
	return memchr(pl->p, c, pl->l);
}

int pl_strcpy(const struct pl *pl, char *dst, size_t size)
{
	if (!size)
		return ENOSPC;
	if (pl->l >= size) {
		dst[0] = '\0';
		return ENOSPC;
	}
	if (pl->l)
		memcpy(dst, pl->p, pl->l);
	dst[pl->l] = '\0';
	return 0;
}

char *pl_strdup(const struct pl *pl)
{
	char *s = malloc(pl->l + 1);

	if (!s)
		return NULL;
	if (pl->l)
		memcpy(s, pl->p, pl->l);
	s[pl->l] = '\0';
	return s;
}

size_t str_catv(char *dst, size_t size, va_list ap)
{
	size_t n = 0;
	const char *s;
	bool full = !dst || !size;

	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t l = strlen(s);

		if (!full) {
			size_t k = MIN(l, size - 1 - n);

			memcpy(dst + n, s, k);
			full = k < l;
		}
		n += l;
	}
	if (dst && size)
		dst[MIN(n, size - 1)] = '\0';
	return n;
}

size_t str_cat(char *dst, size_t size, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, size);
	n = str_catv(dst, size, ap);
	va_end(ap);
	return n;
}

char *str_dupcat(const char *first, ...)
{
	va_list ap;
	size_t n;
	char *s;

	va_start(ap, first);
	n = strlen(first) + str_catv(NULL, 0, ap);
	va_end(ap);
	s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, first, strlen(first) + 1);
	va_start(ap, first);
	str_catv(s + strlen(first), n + 1 - strlen(first), ap);
	va_end(ap);
	return s;
}

const char *str_u64(char *buf, uint64_t v)
{
	char *p = buf + STR_U64_LEN - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

const char *str_x64(char *buf, uint64_t v, unsigned width)
{
	char *p = buf + STR_U64_LEN - 1;
	unsigned n = 0;

	*p = '\0';
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
		n++;
	} while (v || (n < width && n < STR_U64_LEN - 1));
	return p;
}

void str_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!dst || !size)
		return;
	if (!src)
		src = "(null)";
	n = strnlen(src, size - 1);
	memmove(dst, src, n);
	dst[n] = '\0';
}
