/* mbuf: a growable byte buffer for building messages; it never truncates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

void mbuf_init(struct mbuf *mb)
{
	mb->buf = NULL;
	mb->size = 0;
	mb->end = 0;
}

void mbuf_reset(struct mbuf *mb)
{
	free(mb->buf);
	mbuf_init(mb);
}

int mbuf_grow(struct mbuf *mb, size_t extra)
{
	size_t need = mb->end + extra;
	size_t size;
	uint8_t *buf;

	if (need < mb->end)
		return EOVERFLOW;
	if (need <= mb->size)
		return 0;
	size = mb->size ? mb->size : 256;
	while (size < need)
		size *= 2;
	buf = realloc(mb->buf, size);
	if (!buf)
		return ENOMEM;
	mb->buf = buf;
	mb->size = size;
	return 0;
}

int mbuf_write_u64(struct mbuf *mb, uint64_t v)
{
	char digits[20];
	const char *p = str_u64_end(digits + sizeof(digits), v);

	return mbuf_write(mb, p, (size_t)(digits + sizeof(digits) - p));
}

int mbuf_vprintf(struct mbuf *mb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	int err;

	va_copy(aq, ap);
	/* Try in the space we already have; grow once to the exact size if it did not fit. */
	n = vsnprintf(mb->buf ? (char *)mb->buf + mb->end : NULL, mb->buf ? mb->size - mb->end : 0,
		      fmt, aq);
	va_end(aq);
	if (n < 0)
		return EINVAL;
	if ((size_t)n < (mb->buf ? mb->size - mb->end : 0)) {
		mb->end += (size_t)n;
		return 0;
	}
	err = mbuf_reserve(mb, (size_t)n + 1);
	if (err)
		return err;
	vsnprintf((char *)mb->buf + mb->end, mb->size - mb->end, fmt, ap);
	mb->end += (size_t)n;
	return 0;
}

int mbuf_printf(struct mbuf *mb, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);
	return err;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int mbuf_write_json(struct mbuf *mb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int err = mbuf_write(mb, "\"", 1);

	for (size_t i = 0; i < n && !err;) {
		size_t l = utf8_len(p + i, n - i);

		if (!l) {
			err = mbuf_write_str(mb, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
		} else if (p[i] == '"' || p[i] == '\\') {
			err = mbuf_printf(mb, "\\%c", p[i]);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			err = mbuf_printf(mb, "\\u%04x", p[i]);
			i++;
		} else {
			err = mbuf_write(mb, p + i, l);
			i += l;
		}
	}
	return err ? err : mbuf_write(mb, "\"", 1);
}
