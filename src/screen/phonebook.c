/* phonebook: names for numbers from CSV (name,number) and vCard 3.0/4.0 (FN, TEL) files, in
 * UTF-8 or Shift_JIS (both are common in Japanese phone exports); bad lines are reported with
 * file:line and skipped. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "screen_int.h"

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0 && c >= 0xc2)
			k = 1;
		else if ((c & 0xf0) == 0xe0)
			k = 2;
		else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
		}
		i += k + 1;
	}
	return true;
}

/* Shift_JIS (Microsoft's CP932, what Japanese Windows and phones export) to UTF-8; NULL when it
 * is not that either. */
static char *from_sjis(const char *buf, size_t len, size_t *outlen)
{
	iconv_t cd = iconv_open("UTF-8", "CP932");
	size_t cap = len * 3 + 1, left = cap;
	char *out, *o, *in = (char *)buf;
	size_t inleft = len;

	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "SHIFT_JIS");
	if (cd == (iconv_t)-1)
		return NULL;
	out = malloc(cap);
	o = out;
	if (out && iconv(cd, &in, &inleft, &o, &left) == (size_t)-1) {
		free(out);
		out = NULL;
	}
	iconv_close(cd);
	if (out) {
		*outlen = (size_t)(o - out);
		out[*outlen] = '\0';
	}
	return out;
}

struct pb_ctx {
	const char *file;
	screen_pb_h *h;
	void *arg;
	struct mbuf *report;
	long n;
	int err;
	unsigned nbad;
};

/* Reports at most this many bad lines one by one; the rest are counted. */
#define PB_REPORT_MAX 50

static void bad(struct pb_ctx *x, unsigned line, const char *fmt, const char *what)
{
	if (x->nbad++ < PB_REPORT_MAX && x->report) {
		mbuf_printf(x->report, "%s:%u: ", x->file, line);
		mbuf_printf(x->report, fmt, what);
		mbuf_write_str(x->report, "\n");
	}
}

static void give(struct pb_ctx *x, unsigned line, const char *num, const char *name)
{
	char n[SCREEN_NUM_MAX];

	if (screen_number_norm(num, strlen(num), n, sizeof(n))) {
		bad(x, line, "'%s' is not a phone number; skipped", num);
		return;
	}
	if (!name[0]) {
		bad(x, line, "no name for %s; skipped", n);
		return;
	}
	if (!x->err)
		x->err = x->h(n, name, x->arg);
	if (!x->err)
		x->n++;
}

/* One CSV field (RFC 4180 quoting) from *p to the comma or the end; copied into out. */
static const char *csv_field(const char *p, const char *end, char *out, size_t size)
{
	size_t k = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '"') {
		p++;
		while (p < end) {
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"') {
					p++;
				} else {
					p++;
					break;
				}
			}
			if (k + 1 < size)
				out[k++] = *p;
			p++;
		}
		while (p < end && *p != ',')
			p++;
	} else {
		while (p < end && *p != ',') {
			if (k + 1 < size)
				out[k++] = *p;
			p++;
		}
		while (k && (out[k - 1] == ' ' || out[k - 1] == '\t'))
			k--;
	}
	out[k] = '\0';
	return p < end ? p + 1 : NULL;
}

static bool is_number(const char *s)
{
	char n[SCREEN_NUM_MAX];

	return screen_number_norm(s, strlen(s), n, sizeof(n)) == 0;
}

static void parse_csv(struct pb_ctx *x, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;

	while (p < end && !x->err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		char f1[256], f2[256];
		const char *q;

		line++;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p || *p == '#') {
			p = nl ? nl + 1 : end;
			continue;
		}
		q = csv_field(p, le, f1, sizeof(f1));
		if (!q) {
			bad(x, line, "%s: expected name,number", "one field");
		} else {
			csv_field(q, le, f2, sizeof(f2));
			if (is_number(f2))
				give(x, line, f2, f1);
			else if (is_number(f1) && f2[0])
				give(x, line, f1, f2); /* number,name */
			else if (line == 1)
				; /* a header line */
			else
				bad(x, line, "'%s' is not a phone number; skipped", f2);
		}
		p = nl ? nl + 1 : end;
	}
}

/* vCard text value: \, \; \\ \n unescaped. */
static void vc_unescape(char *s)
{
	char *o = s;

	for (char *i = s; *i; i++) {
		if (*i == '\\' && i[1]) {
			i++;
			*o++ = *i == 'n' || *i == 'N' ? ' ' : *i;
		} else {
			*o++ = *i;
		}
	}
	*o = '\0';
}

#define VC_TELS_MAX 16

static void parse_vcard(struct pb_ctx *x, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0, begin_line = 0;
	char fn[SCREEN_NAME_MAX] = "", nname[SCREEN_NAME_MAX] = "";
	char tels[VC_TELS_MAX][64];
	unsigned tel_lines[VC_TELS_MAX];
	size_t ntels = 0;
	bool in = false;
	struct mbuf ln;

	mbuf_init(&ln);
	while (p < end && !x->err) {
		const char *nl, *le;
		char *s, *colon, *semi;

		/* One logical line: continuation lines start with a space or a tab. */
		ln.end = 0;
		line++;
		{
			unsigned first = line;

			for (;;) {
				nl = memchr(p, '\n', (size_t)(end - p));
				le = nl ? nl : end;
				if (le > p && le[-1] == '\r')
					le--;
				mbuf_write(&ln, p, (size_t)(le - p));
				p = nl ? nl + 1 : end;
				if (p < end && (*p == ' ' || *p == '\t')) {
					p++;
					line++;
					continue;
				}
				break;
			}
			mbuf_write(&ln, "", 1);
			s = (char *)ln.buf;
			line = line > first ? line : first;
		}
		if (!s || !*s)
			continue;
		colon = strchr(s, ':');
		if (!colon) {
			if (in)
				bad(x, line, "'%.40s': not a vCard property; skipped", s);
			continue;
		}
		*colon = '\0';
		semi = strchr(s, ';');
		if (semi)
			*semi = '\0';
		/* Group prefixes (item1.TEL) are dropped. */
		{
			char *dot = strrchr(s, '.');

			if (dot)
				s = dot + 1;
		}
		if (!strcasecmp(s, "BEGIN") && !strcasecmp(colon + 1, "VCARD")) {
			in = true;
			begin_line = line;
			fn[0] = nname[0] = '\0';
			ntels = 0;
		} else if (!in) {
			continue;
		} else if (!strcasecmp(s, "END")) {
			const char *name = fn[0] ? fn : nname;

			if (!ntels)
				bad(x, begin_line, "a card without TEL (%s); skipped",
				    name[0] ? name : "no name");
			for (size_t i = 0; i < ntels && !x->err; i++)
				give(x, tel_lines[i], tels[i], name);
			in = false;
		} else if (!strcasecmp(s, "FN")) {
			snprintf(fn, sizeof(fn), "%s", colon + 1);
			vc_unescape(fn);
		} else if (!strcasecmp(s, "N") && !nname[0]) {
			/* N:Family;Given;...: "Family Given" when there is no FN. */
			char *v = colon + 1, *sc = strchr(v, ';');

			if (sc) {
				char *sc2;

				*sc = '\0';
				sc2 = strchr(sc + 1, ';');
				if (sc2)
					*sc2 = '\0';
				snprintf(nname, sizeof(nname), "%s%s%s", v, sc[1] ? " " : "",
					 sc + 1);
			} else {
				snprintf(nname, sizeof(nname), "%s", v);
			}
			vc_unescape(nname);
		} else if (!strcasecmp(s, "TEL")) {
			char *v = colon + 1;

			if (!strncasecmp(v, "tel:", 4))
				v += 4; /* vCard 4.0 VALUE=uri */
			{
				char *sc = strchr(v, ';'); /* ;ext=... of a tel: URI */

				if (sc)
					*sc = '\0';
			}
			if (ntels < VC_TELS_MAX) {
				snprintf(tels[ntels], sizeof(tels[ntels]), "%s", v);
				tel_lines[ntels++] = line;
			}
		}
	}
	if (in && !x->err)
		bad(x, begin_line, "%s", "a card without END:VCARD; skipped");
	mbuf_reset(&ln);
}

long screen_pb_parse(const char *file, const char *buf, size_t len, screen_pb_h *h, void *arg,
		     struct mbuf *report)
{
	struct pb_ctx x = {file ? file : "phonebook", h, arg, report, 0, 0, 0};
	char *conv = NULL;

	if (!buf || !h) {
		errno = EINVAL;
		return -1;
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	if (!utf8_valid((const unsigned char *)buf, len)) {
		size_t n = 0;

		conv = from_sjis(buf, len, &n);
		if (!conv) {
			if (report)
				mbuf_printf(report, "%s: neither UTF-8 nor Shift_JIS text\n",
					    x.file);
			errno = EILSEQ;
			return -1;
		}
		buf = conv;
		len = n;
	}
	{
		bool vcard = false;

		for (size_t i = 0; i + 11 <= len && i < 4096; i++) {
			if (!strncasecmp(buf + i, "BEGIN:VCARD", 11)) {
				vcard = true;
				break;
			}
		}
		if (vcard)
			parse_vcard(&x, buf, len);
		else
			parse_csv(&x, buf, len);
	}
	free(conv);
	if (x.nbad > PB_REPORT_MAX && report)
		mbuf_printf(report, "%s: %u more lines skipped\n", x.file, x.nbad - PB_REPORT_MAX);
	if (x.err) {
		errno = x.err;
		return -1;
	}
	return x.n;
}
