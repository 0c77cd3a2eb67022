/* pl: comparisons and conversions of pointer-length strings. */
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

/* The A-Z bytes of w in lower case, every other byte as it is (as tolower() in the C locale):
 * bit 7 of each byte's low seven bits + offset says >= 'A' and > 'Z' without a carry. */
static inline uint64_t fold8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low = w & 0x7f * ones;
	uint64_t ge_a = low + (0x80 - 'A') * ones;
	uint64_t gt_z = low + (0x80 - 'Z' - 1) * ones;

	return w | ((ge_a & ~gt_z & ~w & 0x80 * ones) >> 2);
}

static inline int lower1(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u ? c + 32 : c;
}

int pl_casecmp(const struct pl *a, const struct pl *b)
{
	size_t i = 0;

	if (a->l != b->l)
		return a->l < b->l ? -1 : 1;
	/* Eight bytes at a time while they match (branches and tags are 20-40 bytes, compared
	 * for every response and request matched); the byte loop finds the first difference. */
	for (; i + 8 <= a->l; i += 8) {
		uint64_t wa, wb;

		memcpy(&wa, a->p + i, 8);
		memcpy(&wb, b->p + i, 8);
		if (wa != wb && fold8(wa) != fold8(wb))
			break;
	}
	for (; i < a->l; i++) {
		int ca = (unsigned char)a->p[i], cb = (unsigned char)b->p[i];

		/* Most bytes compared are equal as they are ("UDP", "SIP/2.0", "IN"). */
		if (ca != cb && (ca = lower1((unsigned char)ca)) != (cb = lower1((unsigned char)cb)))
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

	/* Copied byte by byte: the pieces are short ("<sip:", "@", a number, a host), and a
	 * strlen plus a memcpy call per piece cost more than the copy (call set-up joins about
	 * ninety a call). Only what no longer fits is measured. */
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (!full) {
			size_t lim = size - 1;

			while (*s && n < lim)
				dst[n++] = *s++;
			full = *s != '\0';
		}
		if (full)
			n += strlen(s);
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

/* "00".."99": numbers are written two digits per division (a call's messages and record
 * carry about fifty: ports, CSeqs, lengths, times). */
static const char digits2[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
				 "34353637383940414243444546474849505152535455565758596061626364656667"
				 "6869707172737475767778798081828384858687888990919293949596979899";

char *str_u64_end(char *end, uint64_t v)
{
	char *p = end;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		p -= 2;
		p[0] = digits2[d];
		p[1] = digits2[d + 1];
	}
	if (v >= 10) {
		p -= 2;
		p[0] = digits2[v * 2];
		p[1] = digits2[v * 2 + 1];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

const char *str_u64(char *buf, uint64_t v)
{
	char *p = buf + STR_U64_LEN - 1;

	*p = '\0';
	return str_u64_end(p, v);
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
