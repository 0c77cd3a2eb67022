/* subst: variable substitution as the dialplan does it: ${VAR}, ${VAR:offset:length}, nested
 * ${${X}}, the functions (CALLERID(), LEN(), IF(), IFTIME(), STRFTIME(), ISNULL(), EXISTS(),
 * SET(), ...; the string and list ones are in funcs.c) and $[ ] expressions; inner parts are
 * substituted first, results are bounded by PBX_VALUE_MAX. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Nesting of ${ ${ ... } }: bounds recursion on hostile input. */
#define SUBST_DEPTH_MAX 16

/* Appends, cutting what would go past PBX_VALUE_MAX bytes since `start`. */
static int put(struct mbuf *out, size_t start, const char *p, size_t n)
{
	size_t used = out->end - start;

	if (used >= PBX_VALUE_MAX)
		return 0;
	if (n > PBX_VALUE_MAX - used)
		n = PBX_VALUE_MAX - used;
	return n ? mbuf_write(out, p, n) : 0;
}

/* The index of the bracket closing the one opened at in[i + 1], or len when unterminated.
 * Counts every bracket of the same kind, as Asterisk does. */
static size_t find_close(const char *in, size_t len, size_t i)
{
	char open = in[i + 1], close = open == '{' ? '}' : ']';
	unsigned depth = 1;

	for (size_t j = i + 2; j < len; j++) {
		if (in[j] == open) {
			depth++;
		} else if (in[j] == close && --depth == 0) {
			return j;
		}
	}
	return len;
}

const char *pbx_env_lookup(struct pbx_env *env, const char *name, size_t n)
{
	const char *v = NULL;

	if (env->ch) {
		v = pbx_chan_lookup(env->ch, name, n);
		if (!v)
			v = pbx_vars_getn(pbx_chan_globals(env->ch), name, n);
		return v;
	}
	return pbx_vars_getn(env->globals, name, n);
}

static long clamp_atol(const char *s, size_t n)
{
	long v = 0;
	bool neg = false;
	size_t i = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && isdigit((unsigned char)s[i]); i++) {
		if (v < 1000000000)
			v = v * 10 + (s[i] - '0');
	}
	return neg ? -v : v;
}

/* Asterisk's substring rule: a negative offset counts from the end; a negative length leaves
 * that many characters off the end. */
static void substring(const char **pp, size_t *lp, long off, bool has_len, long len)
{
	long lr = (long)*lp, rest;

	if (off < 0) {
		off += lr;
		if (off < 0)
			off = 0;
	}
	if (off >= lr) {
		*lp = 0;
		return;
	}
	rest = lr - off;
	if (has_len) {
		if (len >= 0)
			rest = len < rest ? len : rest;
		else
			rest = rest + len > 0 ? rest + len : 0;
	}
	*pp += off;
	*lp = (size_t)rest;
}

static void callerid_all(struct pbx_chan *ch, struct mbuf *mb)
{
	const char *num = pbx_chan_callerid_num(ch), *name = pbx_chan_callerid_name(ch);

	if (*name && *num)
		mbuf_printf(mb, "\"%s\" <%s>", name, num);
	else if (*name)
		mbuf_write_str(mb, name);
	else
		mbuf_write_str(mb, num);
}

/* STRFTIME([epoch][,timezone[,format]]): the format may hold commas (it is the rest); %q and
 * %1q..%6q are Asterisk's fractions of a second. */
static int func_strftime(const char *args, size_t alen, struct mbuf *mb)
{
	const char *c1 = memchr(args, ',', alen), *c2 = NULL;
	struct pl ep = pl_from(args, c1 ? (size_t)(c1 - args) : alen), zone = PL_INIT;
	struct pl fmt = pl_from("%c", 2);
	const struct pbx_tz *tz = NULL;
	char num[64], f[512], out[1024];
	double secs = 0, frac = 0;
	time_t t;
	struct tm tm;
	size_t n = 0, len;

	if (c1) {
		const char *rest = c1 + 1, *end = args + alen;

		c2 = memchr(rest, ',', (size_t)(end - rest));
		zone = pl_from(rest, (size_t)((c2 ? c2 : end) - rest));
		if (c2 && c2 + 1 < end)
			fmt = pl_from(c2 + 1, (size_t)(end - c2 - 1));
	}
	pl_trim(&ep);
	pl_trim(&zone);
	t = pbx_now();
	if (ep.l) {
		char *end;

		pl_strcpy(&ep, num, sizeof(num));
		secs = strtod(num, &end);
		if (end == num || *end || !(secs > -1e12 && secs < 1e12)) {
			log_warn("STRFTIME(): '%s' is not an epoch; using now", num);
		} else {
			t = (time_t)secs;
			frac = secs - (double)t;
			if (frac < 0)
				frac = 0;
		}
	}
	if (zone.l && pbx_tz_get(zone.p, zone.l, &tz)) {
		log_warn("STRFTIME(): unknown time zone '%.*s'; using local time",
			 (int)MIN(zone.l, 64), zone.p);
		tz = NULL;
	}
	if (pbx_tz_localtime(tz, t, &tm))
		return 0;
	/* Fractions first (strftime does not know them). */
	for (size_t i = 0; i < fmt.l && n + 24 < sizeof(f); i++) {
		char c = fmt.p[i];

		if (c == '%' && i + 1 < fmt.l && fmt.p[i + 1] == '%') {
			f[n++] = '%';
			f[n++] = '%';
			i++;
		} else if (c == '%' && i + 1 < fmt.l && fmt.p[i + 1] == 's') {
			/* strftime's %s reads tm as local time: wrong in another zone */
			n += (size_t)snprintf(f + n, sizeof(f) - n, "%lld", (long long)t);
			i++;
		} else if (c == '%' && i + 1 < fmt.l &&
			   (fmt.p[i + 1] == 'q' ||
			    (fmt.p[i + 1] >= '1' && fmt.p[i + 1] <= '6' && i + 2 < fmt.l &&
			     fmt.p[i + 2] == 'q'))) {
			int digits = fmt.p[i + 1] == 'q' ? 3 : fmt.p[i + 1] - '0';
			long v = (long)(frac * 1e6);

			for (int d = 6; d > digits; d--)
				v /= 10;
			n += (size_t)snprintf(f + n, sizeof(f) - n, "%0*ld", digits, v);
			i += fmt.p[i + 1] == 'q' ? 1 : 2;
		} else {
			f[n++] = c;
		}
	}
	f[n] = '\0';
	len = f[0] ? strftime(out, sizeof(out), f, &tm) : 0;
	return mbuf_write(mb, out, len);
}

/* IFTIME(times,weekdays,mdays,months[,timezone]?[true][:false]) */
static int func_iftime(const char *args, size_t alen, struct mbuf *mb)
{
	const char *q = memchr(args, '?', alen), *t, *c;
	char why[160];
	bool yes = false;

	if (!q) {
		log_warn("IFTIME(): expected 'timespec?true[:false]'");
		return 0;
	}
	if (pbx_timing_check(args, (size_t)(q - args), &yes, why, sizeof(why))) {
		log_warn("IFTIME(): bad time specification '%.*s': %s", (int)MIN(q - args, 128),
			 args, why);
		yes = false;
	}
	t = q + 1;
	c = memchr(t, ':', alen - (size_t)(t - args));
	if (yes)
		return mbuf_write(mb, t, c ? (size_t)(c - t) : alen - (size_t)(t - args));
	return c ? mbuf_write(mb, c + 1, alen - (size_t)(c + 1 - args)) : 0;
}

/* SET(name=value): sets a channel variable (or a writable function) and gives the value. */
static int func_set(struct pbx_env *env, const char *args, size_t alen, struct mbuf *mb)
{
	const char *eq = memchr(args, '=', alen);
	char *name, *value;
	int err;

	if (!eq) {
		log_warn("SET(): expected 'name=value'");
		return 0;
	}
	if (!env->ch)
		return 0;
	name = strndup(args, (size_t)(eq - args));
	value = strndup(eq + 1, alen - (size_t)(eq + 1 - args));
	if (!name || !value) {
		free(name);
		free(value);
		return ENOMEM;
	}
	err = pbx_chan_set_var(env->ch, name, value);
	if (err && err != ENOMEM)
		log_warn("SET(%s): cannot set that", name);
	if (err != ENOMEM)
		err = mbuf_write_str(mb, value);
	free(name);
	free(value);
	return err;
}

/* Runs a function; its value goes to mb. */
static int call_func(struct pbx_env *env, const char *name, size_t nlen, const char *args,
		     size_t alen, struct mbuf *mb)
{
	struct pl fn = pl_from(name, nlen), a = pl_from(args, alen);

	pl_trim(&fn);
	if (pl_caseeq_str(&fn, "LEN")) {
		return mbuf_printf(mb, "%zu", alen);
	}
	if (pl_caseeq_str(&fn, "CALLERID")) {
		pl_trim(&a);
		if (!env->ch)
			return 0;
		if (pl_caseeq_str(&a, "num") || pl_caseeq_str(&a, "number"))
			return mbuf_write_str(mb, pbx_chan_callerid_num(env->ch));
		if (pl_caseeq_str(&a, "name"))
			return mbuf_write_str(mb, pbx_chan_callerid_name(env->ch));
		if (pl_caseeq_str(&a, "all")) {
			callerid_all(env->ch, mb);
			return 0;
		}
		log_warn("CALLERID(%.*s): unknown data type", (int)MIN(a.l, 64), a.p);
		return 0;
	}
	if (pl_caseeq_str(&fn, "ISNULL"))
		return mbuf_write_str(mb, alen ? "0" : "1");
	if (pl_caseeq_str(&fn, "EXISTS"))
		return mbuf_write_str(mb, alen ? "1" : "0");
	if (pl_caseeq_str(&fn, "IFTIME"))
		return func_iftime(args, alen, mb);
	if (pl_caseeq_str(&fn, "STRFTIME"))
		return func_strftime(args, alen, mb);
	if (pl_caseeq_str(&fn, "SET"))
		return func_set(env, args, alen, mb);
	if (pl_caseeq_str(&fn, "CALLERPRES")) {
		return env->ch ? mbuf_write_str(mb, pbx_chan_callerpres(env->ch)) : 0;
	}
	if (pl_caseeq_str(&fn, "IF")) {
		/* IF(condition?true[:false]) */
		const char *q = memchr(args, '?', alen), *t, *c;
		size_t tl, fl = 0;
		char *cond;
		bool yes;

		if (!q) {
			log_warn("IF(): expected 'condition?true:false'");
			return 0;
		}
		t = q + 1;
		c = memchr(t, ':', alen - (size_t)(t - args));
		tl = c ? (size_t)(c - t) : alen - (size_t)(t - args);
		if (c)
			fl = alen - (size_t)(c + 1 - args);
		cond = strndup(args, (size_t)(q - args));
		if (!cond)
			return ENOMEM;
		{
			struct pl cp = pl_from_str(cond);

			pl_trim(&cp);
			cond[cp.l + (size_t)(cp.p - cond)] = '\0';
			yes = pbx_truth(cp.p);
		}
		free(cond);
		if (yes)
			return mbuf_write(mb, t, tl);
		return c ? mbuf_write(mb, c + 1, fl) : 0;
	}
	{
		int err = pbx_func_string(env, &fn, args, alen, mb);

		if (err != ENOENT)
			return err;
	}
	if (env->ch) {
		int err = pbx_chan_func_read(env->ch, &fn, &a, mb);

		if (err == ENOENT) {
			/* The host's functions (BLACKLIST(), PHONEBOOK(), SCREEN():
			 * docs/SCREENING.md). */
			char nm[64], *ar = strndup(args, alen);

			if (!ar)
				return ENOMEM;
			pl_strcpy(&fn, nm, sizeof(nm));
			err = pbx_chan_host_func(env->ch, nm, ar, mb);
			free(ar);
		}
		if (err != ENOENT)
			return err;
	}
	log_warn("function '%.*s' is not supported", (int)MIN(fn.l, 64), fn.p);
	return 0;
}

/* ${text}: text is already substituted. */
static int resolve(struct pbx_env *env, const char *s, size_t n, struct mbuf *out, size_t start)
{
	size_t name_end = n, paren = 0;
	long off = 0, len = 0;
	bool has_sub = false, has_len = false;
	const char *open = NULL;
	struct mbuf fv;
	const char *val = NULL;
	size_t vlen = 0;
	int err = 0;

	/* The name ends at the first ':' outside parentheses. */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '(') {
			if (!paren++ && !open)
				open = s + i;
		} else if (s[i] == ')' && paren) {
			paren--;
		} else if (s[i] == ':' && !paren) {
			const char *c2;

			name_end = i;
			has_sub = true;
			c2 = memchr(s + i + 1, ':', n - i - 1);
			off = clamp_atol(s + i + 1, (c2 ? (size_t)(c2 - s) : n) - i - 1);
			if (c2) {
				has_len = true;
				len = clamp_atol(c2 + 1, n - (size_t)(c2 + 1 - s));
				/* ${X:1:} means "to the end", as an absent length. */
				if ((size_t)(c2 + 1 - s) == n)
					has_len = false;
			}
			break;
		}
	}
	mbuf_init(&fv);
	if (open && (size_t)(open - s) < name_end) {
		const char *close = NULL;

		for (size_t i = name_end; i > (size_t)(open - s); i--) {
			if (s[i - 1] == ')') {
				close = s + i - 1;
				break;
			}
		}
		if (!close) {
			log_warn("${%.*s}: missing ')'", (int)MIN(n, 64), s);
			return 0;
		}
		err = call_func(env, s, (size_t)(open - s), open + 1, (size_t)(close - open - 1),
				&fv);
		if (err)
			goto out;
		val = fv.buf ? (const char *)fv.buf : "";
		vlen = fv.end;
	} else {
		val = pbx_env_lookup(env, s, name_end);
		vlen = val ? strlen(val) : 0;
	}
	if (val && has_sub)
		substring(&val, &vlen, off, has_len, len);
	if (val)
		err = put(out, start, val, vlen);
out:
	mbuf_reset(&fv);
	return err;
}

int pbx_subst(struct pbx_env *env, const char *in, size_t len, struct mbuf *out)
{
	size_t start = out->end, i = 0;
	int err = 0;

	if (env->depth >= SUBST_DEPTH_MAX)
		return put(out, start, in, len);
	env->depth++;
	while (i < len && !err) {
		const char *d = memchr(in + i, '$', len - i);
		size_t close;
		struct mbuf inner;

		if (!d) {
			err = put(out, start, in + i, len - i);
			break;
		}
		if ((size_t)(d - in) + 1 >= len || (d[1] != '{' && d[1] != '[')) {
			err = put(out, start, in + i, (size_t)(d - in) + 1 - i);
			i = (size_t)(d - in) + 1;
			continue;
		}
		err = put(out, start, in + i, (size_t)(d - in) - i);
		if (err)
			break;
		i = (size_t)(d - in);
		close = find_close(in, len, i);
		if (close == len) {
			/* Unterminated: kept as written. */
			err = put(out, start, in + i, len - i);
			break;
		}
		mbuf_init(&inner);
		err = pbx_subst(env, in + i + 2, close - i - 2, &inner);
		if (!err) {
			const char *s = inner.buf ? (const char *)inner.buf : "";

			if (in[i + 1] == '{') {
				err = resolve(env, s, inner.end, out, start);
			} else {
				struct mbuf r;

				mbuf_init(&r);
				err = pbx_expr_eval(s, inner.end, &r);
				if (!err && r.end)
					err = put(out, start, (const char *)r.buf, r.end);
				mbuf_reset(&r);
			}
		}
		mbuf_reset(&inner);
		i = close + 1;
	}
	env->depth--;
	return err;
}
