/* pl: comparisons and conversions of pointer-length strings. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

struct pl pl_from_str(const char *s)
{
	return (struct pl){s, s ? strlen(s) : 0};
}

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

bool pl_eq_str(const struct pl *a, const char *s)
{
	struct pl b = pl_from_str(s);
	return pl_cmp(a, &b) == 0;
}

bool pl_caseeq_str(const struct pl *a, const char *s)
{
	struct pl b = pl_from_str(s);
	return pl_casecmp(a, &b) == 0;
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
