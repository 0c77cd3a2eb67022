/* funcs: Asterisk's string and list dialplan functions (CUT, FIELDQTY, FILTER, REGEX, SHIFT,
 * PUSH, SPRINTF, ...), which household dialplans use to pick numbers apart and walk lists. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Arguments of one function call, split as Asterisk's standard argument parser does. */
#define FUNC_ARGS_MAX 16
struct fargs {
	char *buf; /* the arguments, unescaped in place; freed by fargs_free */
	char *v[FUNC_ARGS_MAX];
	size_t n;
};

/* Splits a[0..n) into at most max arguments at commas outside (parentheses) and "quotes";
 * quotes are dropped and a backslash keeps the next character, so FILTER(0-9\,,${X}) allows
 * the comma. As in Asterisk, the last argument is the rest as written, commas and all. */
static int fargs_split(struct fargs *fa, const char *a, size_t n, size_t max)
{
	char *out;
	int paren = 0;
	bool quote = false;

	memset(fa, 0, sizeof(*fa));
	fa->buf = malloc(n + 1);
	if (!fa->buf)
		return ENOMEM;
	out = fa->buf;
	fa->v[fa->n++] = out;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];

		if (fa->n == max) {
			memcpy(out, a + i, n - i);
			out += n - i;
			break;
		}
		if (c == '\\' && i + 1 < n) {
			*out++ = a[++i];
			continue;
		}
		if (c == '"') {
			quote = !quote;
			continue;
		}
		if (!quote && c == '(')
			paren++;
		else if (!quote && c == ')' && paren)
			paren--;
		else if (!quote && !paren && c == ',' && fa->n < FUNC_ARGS_MAX) {
			*out++ = '\0';
			fa->v[fa->n++] = out;
			continue;
		}
		*out++ = c;
	}
	*out = '\0';
	return 0;
}

static void fargs_free(struct fargs *fa)
{
	free(fa->buf);
}

static const char *fargs_get(const struct fargs *fa, size_t i)
{
	return i < fa->n ? fa->v[i] : "";
}

/* The value of the variable named by an argument (surrounding blanks ignored); "" when unset. */
static const char *var_value(struct pbx_env *env, const char *name)
{
	struct pl nm = pl_from_str(name);
	const char *v;

	pl_trim(&nm);
	v = nm.l ? pbx_env_lookup(env, nm.p, nm.l) : NULL;
	return v ? v : "";
}

/* Sets the variable named by an argument; a dialplan checked without a channel sets nothing. */
static int var_set(struct pbx_env *env, const char *name, const char *value, size_t vlen)
{
	struct pl nm = pl_from_str(name);
	char *n, *v;
	int err;

	pl_trim(&nm);
	if (!env->ch || !nm.l)
		return 0;
	n = pl_strdup(&nm);
	v = strndup(value, vlen);
	if (!n || !v) {
		free(n);
		free(v);
		return ENOMEM;
	}
	err = pbx_chan_set_var(env->ch, n, v);
	if (err && err != ENOMEM) {
		log_warn("cannot set '%s'", n);
		err = 0;
	}
	free(n);
	free(v);
	return err;
}

/* A delimiter argument: its first character, or dflt when empty. */
static char delim_of(const char *s, char dflt)
{
	return s[0] ? s[0] : dflt;
}

/* CUT(varname,delimiter,fields): fields "2", "2-4", "3-", "-2", joined with '&'. */
static int func_cut(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	char d = delim_of(fargs_get(fa, 1), '-');
	const char *spec = fargs_get(fa, 2);
	bool first = true;

	if (fa->n < 3 || !*spec) {
		log_warn("CUT(): expected 'varname,delimiter,fields'");
		return 0;
	}
	while (*spec) {
		const char *amp = strchr(spec, '&');
		size_t sl = amp ? (size_t)(amp - spec) : strlen(spec);
		char item[32];
		long from = 1, to = LONG_MAX;
		char *end;

		snprintf(item, sizeof(item), "%.*s", (int)MIN(sl, sizeof(item) - 1), spec);
		spec += sl + (amp ? 1 : 0);
		if (item[0] == '-') {
			to = strtol(item + 1, &end, 10);
		} else {
			from = strtol(item, &end, 10);
			if (*end == '-') {
				to = end[1] ? strtol(end + 1, &end, 10) : LONG_MAX;
				if (*end == '-')
					end++;
			} else {
				to = from;
			}
		}
		if (*end || end == item) {
			log_warn("CUT(): bad field specification '%s'", item);
			return 0;
		}
		if (from < 1)
			from = 1;
		/* Walk the fields of the value; field numbers start at 1. */
		{
			const char *p = val;
			long k = 1;

			while (k <= to) {
				const char *e = strchr(p, d);
				size_t fl = e ? (size_t)(e - p) : strlen(p);

				if (k >= from) {
					if (!first && mbuf_write(mb, &d, 1))
						return ENOMEM;
					if (mbuf_write(mb, p, fl))
						return ENOMEM;
					first = false;
				}
				if (!e)
					break;
				p = e + 1;
				k++;
			}
		}
	}
	return 0;
}

/* Splits the value at any character of delims (Asterisk's FIELDQTY and FIELDNUM use strsep). */
static const char *field_end(const char *p, const char *delims)
{
	return p + strcspn(p, delims);
}

/* FIELDQTY(varname,delimiters): how many fields; 0 for an empty value. */
static int func_fieldqty(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	const char *delims = fargs_get(fa, 1)[0] ? fargs_get(fa, 1) : "-";
	unsigned n = 0;

	if (*val) {
		for (const char *p = val;; p++) {
			p = field_end(p, delims);
			n++;
			if (!*p)
				break;
		}
	}
	return mbuf_printf(mb, "%u", n);
}

/* FIELDNUM(varname,delimiters,field): the 1-based position of the field equal to `field`, or 0. */
static int func_fieldnum(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	const char *delims = fargs_get(fa, 1)[0] ? fargs_get(fa, 1) : "-";
	const char *want = fargs_get(fa, 2);
	size_t wl = strlen(want);
	unsigned k = 1, found = 0;

	if (fa->n < 3) {
		log_warn("FIELDNUM(): expected 'varname,delimiter,field'");
		return 0;
	}
	if (*val) {
		for (const char *p = val;; k++) {
			const char *e = field_end(p, delims);

			if ((size_t)(e - p) == wl && !memcmp(p, want, wl)) {
				found = k;
				break;
			}
			if (!*e)
				break;
			p = e + 1;
		}
	}
	return mbuf_printf(mb, "%u", found);
}

/* LISTFILTER(varname,delimiter,value): the list without the items equal to value. */
static int func_listfilter(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	char d = delim_of(fargs_get(fa, 1), ',');
	const char *drop = fargs_get(fa, 2);
	size_t dl = strlen(drop);
	bool first = true;

	if (!*val)
		return 0;
	for (const char *p = val;;) {
		const char *e = strchr(p, d);
		size_t fl = e ? (size_t)(e - p) : strlen(p);

		if (fl != dl || memcmp(p, drop, dl)) {
			if ((!first && mbuf_write(mb, &d, 1)) || mbuf_write(mb, p, fl))
				return ENOMEM;
			first = false;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* The characters of a set written with ranges: "0-9A-F*#". */
static void charset_build(const char *s, unsigned char set[32])
{
	size_t n = strlen(s);

	memset(set, 0, 32);
	for (size_t i = 0; i < n; i++) {
		unsigned lo = (unsigned char)s[i], hi = lo;

		if (i + 2 < n && s[i + 1] == '-') {
			hi = (unsigned char)s[i + 2];
			i += 2;
			if (hi < lo) {
				unsigned t = lo;

				lo = hi;
				hi = t;
			}
		}
		for (unsigned c = lo; c <= hi; c++)
			set[c / 8] |= (unsigned char)(1u << (c % 8));
	}
}

static bool charset_has(const unsigned char set[32], char c)
{
	unsigned u = (unsigned char)c;

	return set[u / 8] & (1u << (u % 8));
}

/* FILTER(allowed,string): only the allowed characters of string. */
static int func_filter(const struct fargs *fa, struct mbuf *mb)
{
	unsigned char set[32];

	charset_build(fargs_get(fa, 0), set);
	for (const char *p = fargs_get(fa, 1); *p; p++) {
		if (charset_has(set, *p) && mbuf_write(mb, p, 1))
			return ENOMEM;
	}
	return 0;
}

/* REPLACE(varname,find-chars[,replace-char]): each of find-chars replaced, or removed. */
static int func_replace(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	const char *find = fargs_get(fa, 1);
	char with = fargs_get(fa, 2)[0];

	if (!*find) {
		log_warn("REPLACE(): expected 'varname,find-chars[,replace-char]'");
		return 0;
	}
	for (const char *p = val; *p; p++) {
		const char *c = strchr(find, *p) ? (with ? &with : NULL) : p;

		if (c && mbuf_write(mb, c, 1))
			return ENOMEM;
	}
	return 0;
}

/* STRREPLACE(varname,find[,replace[,max]]): each occurrence (at most max, when > 0). */
static int func_strreplace(struct pbx_env *env, const struct fargs *fa, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	const char *find = fargs_get(fa, 1), *with = fargs_get(fa, 2);
	long max = fa->n > 3 ? strtol(fargs_get(fa, 3), NULL, 10) : 0;
	size_t fl = strlen(find);

	if (!fl) {
		log_warn("STRREPLACE(): expected 'varname,find-string[,replace-string[,max]]'");
		return 0;
	}
	for (long done = 0;;) {
		const char *hit = max > 0 && done >= max ? NULL : strstr(val, find);

		if (!hit)
			return mbuf_write_str(mb, val);
		if (mbuf_write(mb, val, (size_t)(hit - val)) || mbuf_write_str(mb, with))
			return ENOMEM;
		val = hit + fl;
		done++;
	}
}

/* REGEX("regular expression" string): 1 when it matches (POSIX extended), else 0. */
static int func_regex(const char *a, size_t n, struct mbuf *mb)
{
	const char *q1 = memchr(a, '"', n), *q2;
	char *re, *str;
	regex_t rx;
	int rc;

	q2 = q1 ? memchr(q1 + 1, '"', n - (size_t)(q1 + 1 - a)) : NULL;
	if (!q2) {
		log_warn("REGEX(): expected '\"regular expression\" string'");
		return 0;
	}
	re = strndup(q1 + 1, (size_t)(q2 - q1 - 1));
	/* One blank after the closing quote separates; the rest is the string. */
	q2++;
	if (q2 < a + n && *q2 == ' ')
		q2++;
	str = strndup(q2, n - (size_t)(q2 - a));
	if (!re || !str) {
		free(re);
		free(str);
		return ENOMEM;
	}
	if (!pbx_re_safe(re)) {
		log_warn("REGEX(): regular expression '%.64s' is over the dialplan's bounds", re);
		free(re);
		free(str);
		return 0;
	}
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128];

		regerror(rc, &rx, why, sizeof(why));
		log_warn("REGEX(): bad regular expression '%.64s': %s", re, why);
		free(re);
		free(str);
		return 0;
	}
	rc = regexec(&rx, str, 0, NULL, 0);
	regfree(&rx);
	free(re);
	free(str);
	return mbuf_write_str(mb, rc == 0 ? "1" : "0");
}

/* RAND([min][,max]): a random integer in [min, max] (defaults 0 and 2147483647). */
static int func_rand(const struct fargs *fa, struct mbuf *mb)
{
	long long lo = fargs_get(fa, 0)[0] ? strtoll(fargs_get(fa, 0), NULL, 10) : 0;
	long long hi = fargs_get(fa, 1)[0] ? strtoll(fargs_get(fa, 1), NULL, 10) : 2147483647;
	unsigned long long span;
	uint64_t r = 0;

	if (lo > hi) {
		long long t = lo;

		lo = hi;
		hi = t;
	}
	span = (unsigned long long)(hi - lo) + 1;
	if (rand_bytes(&r, sizeof(r)))
		return 0;
	return mbuf_printf(mb, "%lld", lo + (long long)(span ? r % span : r));
}

/* QUOTE(string): in double quotes, '"' and '\' escaped with '\'; CSV_QUOTE: '"' doubled. */
static int func_quote(const char *a, size_t n, bool csv, struct mbuf *mb)
{
	if (mbuf_write(mb, "\"", 1))
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (csv && a[i] == '"' && mbuf_write(mb, "\"", 1))
			return ENOMEM;
		if (!csv && (a[i] == '"' || a[i] == '\\') && mbuf_write(mb, "\\", 1))
			return ENOMEM;
		if (mbuf_write(mb, a + i, 1))
			return ENOMEM;
	}
	return mbuf_write(mb, "\"", 1);
}

/* SHIFT(varname[,delimiter]) and POP(): the first (last) item, which leaves the list. */
static int func_shift_pop(struct pbx_env *env, const struct fargs *fa, bool pop, struct mbuf *mb)
{
	const char *val = var_value(env, fargs_get(fa, 0));
	char d = delim_of(fargs_get(fa, 1), ',');
	const char *cut = pop ? strrchr(val, d) : strchr(val, d);
	char *copy;
	int err;

	if (!*val)
		return 0;
	/* The variable's storage changes when it is set: copy first. */
	copy = strdup(val);
	if (!copy)
		return ENOMEM;
	if (!cut) {
		err = mbuf_write_str(mb, copy);
		if (!err)
			err = var_set(env, fargs_get(fa, 0), "", 0);
	} else {
		size_t at = (size_t)(cut - val);

		if (pop)
			err = mbuf_write_str(mb, copy + at + 1);
		else
			err = mbuf_write(mb, copy, at);
		if (!err)
			err = pop ? var_set(env, fargs_get(fa, 0), copy, at)
				  : var_set(env, fargs_get(fa, 0), copy + at + 1,
					    strlen(copy + at + 1));
	}
	free(copy);
	return err;
}

/* INC(varname), DEC(varname): the variable plus (minus) one, set and given. */
static int func_incdec(struct pbx_env *env, const struct fargs *fa, long by, struct mbuf *mb)
{
	long long v = strtoll(var_value(env, fargs_get(fa, 0)), NULL, 10) + by;
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);
	int err = var_set(env, fargs_get(fa, 0), num, (size_t)n);

	return err ? err : mbuf_write(mb, num, (size_t)n);
}

/* SPRINTF(format,arg1,...): printf's conversions d i o u x X c e E f g G s with flags, width and
 * precision; '*' widths are not supported, as in Asterisk. */
static int func_sprintf(const struct fargs *fa, struct mbuf *mb)
{
	const char *f = fargs_get(fa, 0);
	size_t ai = 1;

	while (*f) {
		char spec[32], out[512];
		size_t sl = 0;
		int n = 0;

		if (*f != '%') {
			const char *pct = strchr(f, '%');
			size_t l = pct ? (size_t)(pct - f) : strlen(f);

			if (mbuf_write(mb, f, l))
				return ENOMEM;
			f += l;
			continue;
		}
		if (f[1] == '%') {
			if (mbuf_write(mb, "%", 1))
				return ENOMEM;
			f += 2;
			continue;
		}
		spec[sl++] = *f++;
		while (*f && strchr("#0- +'", *f) && sl < 10)
			spec[sl++] = *f++;
		while (isdigit((unsigned char)*f) && sl < 20)
			spec[sl++] = *f++;
		if (*f == '.') {
			spec[sl++] = *f++;
			while (isdigit((unsigned char)*f) && sl < 28)
				spec[sl++] = *f++;
		}
		if (!*f || !strchr("diouxXceEfgGs", *f)) {
			log_warn("SPRINTF(): unsupported conversion in '%s'", fargs_get(fa, 0));
			return 0;
		}
		{
			char conv = *f++;
			const char *arg = fargs_get(fa, ai++);

			if (strchr("diouxXc", conv)) {
				/* ll before the conversion: every integer is read as long long. */
				spec[sl++] = 'l';
				spec[sl++] = 'l';
				spec[sl++] = conv == 'c' ? 'd' : conv;
				spec[sl] = '\0';
				if (conv == 'c') {
					out[0] = arg[0];
					n = arg[0] ? 1 : 0;
				} else {
					n = snprintf(out, sizeof(out), spec,
						     strtoll(arg, NULL, 10));
				}
			} else if (conv == 's') {
				spec[sl++] = 's';
				spec[sl] = '\0';
				n = snprintf(out, sizeof(out), spec, arg);
			} else {
				spec[sl++] = conv;
				spec[sl] = '\0';
				n = snprintf(out, sizeof(out), spec, strtod(arg, NULL));
			}
		}
		if (n > 0 && mbuf_write(mb, out, MIN((size_t)n, sizeof(out) - 1)))
			return ENOMEM;
	}
	return 0;
}

/* How many arguments a function takes: its last one gets the rest. */
static size_t fargs_max(const struct pl *fn)
{
	static const struct {
		const char *name;
		size_t max;
	} t[] = {{"CUT", 3},	{"FIELDQTY", 2}, {"FIELDNUM", 3},   {"LISTFILTER", 3},
		 {"FILTER", 2}, {"REPLACE", 3},	 {"STRREPLACE", 4}, {"RAND", 2},
		 {"SHIFT", 2},	{"POP", 2},	 {"INC", 1},	    {"DEC", 1}};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (pl_caseeq_str(fn, t[i].name))
			return t[i].max;
	}
	return FUNC_ARGS_MAX;
}

int pbx_func_string(struct pbx_env *env, const struct pl *fn, const char *args, size_t alen,
		    struct mbuf *mb)
{
	struct fargs fa;
	int err;

	/* These take their argument whole (a regular expression or text may hold commas). */
	if (pl_caseeq_str(fn, "REGEX"))
		return func_regex(args, alen, mb);
	if (pl_caseeq_str(fn, "QUOTE") || pl_caseeq_str(fn, "CSV_QUOTE"))
		return func_quote(args, alen, fn->l == 9, mb);
	if (pl_caseeq_str(fn, "TOUPPER") || pl_caseeq_str(fn, "TOLOWER")) {
		bool up = fn->p[2] == 'U' || fn->p[2] == 'u';

		for (size_t i = 0; i < alen; i++) {
			char c = (char)(up ? toupper((unsigned char)args[i])
					   : tolower((unsigned char)args[i]));

			if (mbuf_write(mb, &c, 1))
				return ENOMEM;
		}
		return 0;
	}
	if (!pl_caseeq_str(fn, "CUT") && !pl_caseeq_str(fn, "FIELDQTY") &&
	    !pl_caseeq_str(fn, "FIELDNUM") && !pl_caseeq_str(fn, "LISTFILTER") &&
	    !pl_caseeq_str(fn, "FILTER") && !pl_caseeq_str(fn, "REPLACE") &&
	    !pl_caseeq_str(fn, "STRREPLACE") && !pl_caseeq_str(fn, "RAND") &&
	    !pl_caseeq_str(fn, "SHIFT") && !pl_caseeq_str(fn, "POP") && !pl_caseeq_str(fn, "INC") &&
	    !pl_caseeq_str(fn, "DEC") && !pl_caseeq_str(fn, "SPRINTF"))
		return ENOENT;
	err = fargs_split(&fa, args, alen, fargs_max(fn));
	if (err)
		return err;
	if (pl_caseeq_str(fn, "CUT"))
		err = func_cut(env, &fa, mb);
	else if (pl_caseeq_str(fn, "FIELDQTY"))
		err = func_fieldqty(env, &fa, mb);
	else if (pl_caseeq_str(fn, "FIELDNUM"))
		err = func_fieldnum(env, &fa, mb);
	else if (pl_caseeq_str(fn, "LISTFILTER"))
		err = func_listfilter(env, &fa, mb);
	else if (pl_caseeq_str(fn, "FILTER"))
		err = func_filter(&fa, mb);
	else if (pl_caseeq_str(fn, "REPLACE"))
		err = func_replace(env, &fa, mb);
	else if (pl_caseeq_str(fn, "STRREPLACE"))
		err = func_strreplace(env, &fa, mb);
	else if (pl_caseeq_str(fn, "RAND"))
		err = func_rand(&fa, mb);
	else if (pl_caseeq_str(fn, "SHIFT") || pl_caseeq_str(fn, "POP"))
		err = func_shift_pop(env, &fa, fn->l == 3, mb);
	else if (pl_caseeq_str(fn, "INC") || pl_caseeq_str(fn, "DEC"))
		err = func_incdec(env, &fa, pl_caseeq_str(fn, "INC") ? 1 : -1, mb);
	else
		err = func_sprintf(&fa, mb);
	fargs_free(&fa);
	return err;
}

int pbx_func_string_write(struct pbx_chan *ch, const struct pl *fn, const char *args, size_t alen,
			  const char *value, size_t vlen)
{
	struct pbx_env env = {ch, NULL, 0};
	struct fargs fa;
	struct mbuf nv;
	const char *cur;
	char d;
	bool push;
	int err;

	if (!pl_caseeq_str(fn, "PUSH") && !pl_caseeq_str(fn, "UNSHIFT"))
		return ENOENT;
	push = fn->l == 4;
	err = fargs_split(&fa, args, alen, 2);
	if (err)
		return err;
	cur = var_value(&env, fargs_get(&fa, 0));
	d = delim_of(fargs_get(&fa, 1), ',');
	mbuf_init(&nv);
	/* PUSH(list)=x appends ",x" (or "x" to an empty list); UNSHIFT prepends "x,". */
	if (push)
		err = mbuf_write_str(&nv, cur) || (*cur && mbuf_write(&nv, &d, 1)) ||
		      mbuf_write(&nv, value, vlen);
	else
		err = mbuf_write(&nv, value, vlen) || (*cur && mbuf_write(&nv, &d, 1)) ||
		      mbuf_write_str(&nv, cur);
	err = err ? ENOMEM : var_set(&env, fargs_get(&fa, 0), nv.buf ? (char *)nv.buf : "", nv.end);
	mbuf_reset(&nv);
	fargs_free(&fa);
	return err;
}
