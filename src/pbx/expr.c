/* expr: the $[ ... ] expression language of Asterisk's dialplan: integer arithmetic, comparisons
 * (numeric when both sides are integers, else by bytes), & | !, the ternary ?:: and the regular
 * expression operators `:` (anchored) and `=~`, evaluated by recursive descent. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Nesting of parentheses and unary operators: a bound on the parser's recursion. */
#define EXPR_DEPTH_MAX 64
/* Regular expressions: size, {m,n} bounds, and how much compiling may multiply them. */
#define EXPR_RE_MAX	  256
#define EXPR_RE_BOUND_MAX 32
#define EXPR_RE_GROWTH	  4096

enum tok {
	T_STR,
	T_OR,
	T_AND,
	T_EQ,
	T_NE,
	T_LT,
	T_GT,
	T_LE,
	T_GE,
	T_PLUS,
	T_MINUS,
	T_MUL,
	T_DIV,
	T_MOD,
	T_NOT,
	T_COLON,
	T_EQTILDE,
	T_LP,
	T_RP,
	T_COND,
	T_COLONCOLON,
	T_END
};

struct token {
	enum tok t;
	const char *p; /* T_STR: the word or the text between quotes */
	size_t l;
};

struct xp {
	struct token *toks;
	size_t n;
	size_t pos;
	unsigned depth;
	int err;
};

/* ---- tokens ---------------------------------------------------------------------------------- */

static bool is_op_char(char c)
{
	return strchr("|&=!<>+-*/%:()?\"", c) != NULL;
}

static int tokenize(const char *s, size_t len, struct xp *x)
{
	size_t i = 0;

	x->toks = malloc((len + 1) * sizeof(*x->toks));
	if (!x->toks)
		return ENOMEM;
	x->n = 0;
	while (i < len) {
		struct token *t = &x->toks[x->n];
		char c = s[i], d = i + 1 < len ? s[i + 1] : '\0';

		if (isspace((unsigned char)c)) {
			i++;
			continue;
		}
		t->p = NULL;
		t->l = 0;
		if (c == '"') {
			const char *q = memchr(s + i + 1, '"', len - i - 1);

			if (!q)
				return EINVAL;
			t->t = T_STR;
			t->p = s + i + 1;
			t->l = (size_t)(q - t->p);
			i = (size_t)(q - s) + 1;
			x->n++;
			continue;
		}
		if (!is_op_char(c)) {
			size_t j = i;

			while (j < len && !isspace((unsigned char)s[j]) && !is_op_char(s[j]))
				j++;
			t->t = T_STR;
			t->p = s + i;
			t->l = j - i;
			i = j;
			x->n++;
			continue;
		}
		i++;
		switch (c) {
		case '|':
			t->t = T_OR;
			break;
		case '&':
			t->t = T_AND;
			break;
		case '=':
			if (d == '=' || d == '~') {
				i++;
				t->t = d == '=' ? T_EQ : T_EQTILDE;
			} else {
				t->t = T_EQ;
			}
			break;
		case '!':
			if (d == '=') {
				i++;
				t->t = T_NE;
			} else {
				t->t = T_NOT;
			}
			break;
		case '<':
			t->t = d == '=' ? T_LE : T_LT;
			i += d == '=';
			break;
		case '>':
			t->t = d == '=' ? T_GE : T_GT;
			i += d == '=';
			break;
		case '+':
			t->t = T_PLUS;
			break;
		case '-':
			t->t = T_MINUS;
			break;
		case '*':
			t->t = T_MUL;
			break;
		case '/':
			t->t = T_DIV;
			break;
		case '%':
			t->t = T_MOD;
			break;
		case ':':
			t->t = d == ':' ? T_COLONCOLON : T_COLON;
			i += d == ':';
			break;
		case '(':
			t->t = T_LP;
			break;
		case ')':
			t->t = T_RP;
			break;
		case '?':
			t->t = T_COND;
			break;
		default:
			return EINVAL;
		}
		x->n++;
	}
	x->toks[x->n].t = T_END;
	return 0;
}

/* ---- values ---------------------------------------------------------------------------------- */

/* Values are malloc'ed strings; NULL means an error happened (x->err is set). */
static char *v_dup(struct xp *x, const char *p, size_t l)
{
	char *s;

	if (x->err)
		return NULL;
	s = malloc(l + 1);
	if (!s) {
		x->err = ENOMEM;
		return NULL;
	}
	memcpy(s, p, l);
	s[l] = '\0';
	return s;
}

static char *v_int(struct xp *x, int64_t n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, n);
	return v_dup(x, buf, strlen(buf));
}

/* An integer with optional sign and surrounding blanks, in range. */
static bool v_num(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || !(isdigit((unsigned char)*s) ||
		     ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return false;
	*out = v;
	return true;
}

/* Asterisk's "zero or null": false for &, |, ! and ?::. */
static bool v_false(const char *s)
{
	int64_t n;

	return !*s || (v_num(s, &n) && n == 0);
}

/* ---- regular expressions --------------------------------------------------------------------- */

/* Refuses patterns that would make glibc's matcher slow or its compiler big: back-references
 * (exponential matching), and repetition that glibc expands when compiling: `x+` becomes `xx*`
 * and `x{m,n}` n copies, so nested ones multiply. Their product (counted as if all were nested)
 * stays under EXPR_RE_GROWTH. */
bool pbx_re_safe(const char *re)
{
	size_t n = strlen(re);
	unsigned long growth = 1;

	if (n > EXPR_RE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (re[i] == '\\' && i + 1 < n) {
			if (re[i + 1] >= '1' && re[i + 1] <= '9')
				return false;
			i++;
			continue;
		}
		if (re[i] == '+') {
			growth *= 2;
		} else if (re[i] == '{') {
			unsigned long v = 0, max = 0;

			for (size_t j = i + 1; j < n && re[j] != '}'; j++) {
				if (isdigit((unsigned char)re[j])) {
					v = v * 10 + (unsigned)(re[j] - '0');
					if (v > EXPR_RE_BOUND_MAX)
						return false;
					max = MAX(max, v);
				} else {
					v = 0;
				}
			}
			growth *= max + 1;
		}
		if (growth > EXPR_RE_GROWTH)
			return false;
	}
	return true;
}

static char *op_regex(struct xp *x, const char *a, const char *b, bool anchored)
{
	regmatch_t m[2];
	regex_t re;
	char *r;
	int rc;

	if (!pbx_re_safe(b) || regcomp(&re, b, REG_EXTENDED)) {
		log_warn("$[ ]: unusable regular expression '%.64s'", b);
		x->err = EINVAL;
		return NULL;
	}
	rc = regexec(&re, a, 2, m, 0);
	if (rc == 0 && (!anchored || m[0].rm_so == 0)) {
		if (re.re_nsub > 0 && m[1].rm_so >= 0)
			r = v_dup(x, a + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
		else if (re.re_nsub > 0)
			r = v_dup(x, "", 0);
		else
			r = v_int(x, m[0].rm_eo - m[0].rm_so);
	} else {
		r = re.re_nsub > 0 ? v_dup(x, "", 0) : v_int(x, 0);
	}
	regfree(&re);
	return r;
}

/* ---- the parser ------------------------------------------------------------------------------ */

static char *p_cond(struct xp *x);

static enum tok peek(const struct xp *x)
{
	return x->toks[x->pos].t;
}

static char *p_primary(struct xp *x)
{
	struct token *t = &x->toks[x->pos];
	char *v;

	if (x->err)
		return NULL;
	if (t->t == T_STR) {
		x->pos++;
		return v_dup(x, t->p, t->l);
	}
	if (t->t == T_LP) {
		if (++x->depth > EXPR_DEPTH_MAX) {
			x->err = EINVAL;
			return NULL;
		}
		x->pos++;
		v = p_cond(x);
		x->depth--;
		if (!v)
			return NULL;
		if (peek(x) != T_RP) {
			free(v);
			x->err = EINVAL;
			return NULL;
		}
		x->pos++;
		return v;
	}
	x->err = EINVAL;
	return NULL;
}

/* The regular expression operators bind tightest, left to right. */
static char *p_regex(struct xp *x)
{
	char *a = p_primary(x);

	while (a && (peek(x) == T_COLON || peek(x) == T_EQTILDE)) {
		bool anchored = peek(x) == T_COLON;
		char *b, *r;

		x->pos++;
		b = p_primary(x);
		if (!b) {
			free(a);
			return NULL;
		}
		r = op_regex(x, a, b, anchored);
		free(a);
		free(b);
		a = r;
	}
	return a;
}

static char *p_unary(struct xp *x)
{
	enum tok t = peek(x);
	char *a, *r;
	int64_t n;

	if (t != T_NOT && t != T_MINUS)
		return p_regex(x);
	if (++x->depth > EXPR_DEPTH_MAX) {
		x->err = EINVAL;
		return NULL;
	}
	x->pos++;
	a = p_unary(x);
	x->depth--;
	if (!a)
		return NULL;
	if (t == T_NOT) {
		r = v_int(x, v_false(a) ? 1 : 0);
	} else if (!v_num(a, &n) || n == INT64_MIN) {
		/* Asterisk negates a non-number to an error. */
		x->err = EINVAL;
		r = NULL;
	} else {
		r = v_int(x, -n);
	}
	free(a);
	return r;
}

static char *arith(struct xp *x, enum tok op, const char *a, const char *b)
{
	int64_t na = 0, nb = 0, r = 0;
	bool ovf = false;

	/* A non-number counts as 0, so "abc + 1" is 1, as Asterisk answers. */
	(void)v_num(a, &na);
	(void)v_num(b, &nb);
	switch (op) {
	case T_PLUS:
		ovf = __builtin_add_overflow(na, nb, &r);
		break;
	case T_MINUS:
		ovf = __builtin_sub_overflow(na, nb, &r);
		break;
	case T_MUL:
		ovf = __builtin_mul_overflow(na, nb, &r);
		break;
	case T_DIV:
	case T_MOD:
		if (nb == 0 || (na == INT64_MIN && nb == -1)) {
			log_warn("$[ ]: division by zero or overflow");
			ovf = true;
			break;
		}
		r = op == T_DIV ? na / nb : na % nb;
		break;
	default:
		ovf = true;
		break;
	}
	if (ovf) {
		x->err = EINVAL;
		return NULL;
	}
	return v_int(x, r);
}

static char *p_mul(struct xp *x)
{
	char *a = p_unary(x);

	while (a && (peek(x) == T_MUL || peek(x) == T_DIV || peek(x) == T_MOD)) {
		enum tok op = peek(x);
		char *b, *r;

		x->pos++;
		b = p_unary(x);
		r = b ? arith(x, op, a, b) : NULL;
		free(a);
		free(b);
		a = r;
	}
	return a;
}

static char *p_add(struct xp *x)
{
	char *a = p_mul(x);

	while (a && (peek(x) == T_PLUS || peek(x) == T_MINUS)) {
		enum tok op = peek(x);
		char *b, *r;

		x->pos++;
		b = p_mul(x);
		r = b ? arith(x, op, a, b) : NULL;
		free(a);
		free(b);
		a = r;
	}
	return a;
}

static bool is_cmp(enum tok t)
{
	return t == T_EQ || t == T_NE || t == T_LT || t == T_GT || t == T_LE || t == T_GE;
}

static char *p_cmp(struct xp *x)
{
	char *a = p_add(x);

	while (a && is_cmp(peek(x))) {
		enum tok op = peek(x);
		int64_t na, nb;
		char *b;
		int c;

		x->pos++;
		b = p_add(x);
		if (!b) {
			free(a);
			return NULL;
		}
		if (v_num(a, &na) && v_num(b, &nb))
			c = na < nb ? -1 : na > nb;
		else
			c = strcmp(a, b);
		free(a);
		free(b);
		switch (op) {
		case T_EQ:
			c = c == 0;
			break;
		case T_NE:
			c = c != 0;
			break;
		case T_LT:
			c = c < 0;
			break;
		case T_GT:
			c = c > 0;
			break;
		case T_LE:
			c = c <= 0;
			break;
		default:
			c = c >= 0;
			break;
		}
		a = v_int(x, c);
	}
	return a;
}

static char *p_and(struct xp *x)
{
	char *a = p_cmp(x);

	while (a && peek(x) == T_AND) {
		char *b;

		x->pos++;
		b = p_cmp(x);
		if (!b) {
			free(a);
			return NULL;
		}
		if (v_false(a) || v_false(b)) {
			free(a);
			a = v_int(x, 0);
		}
		free(b);
	}
	return a;
}

static char *p_or(struct xp *x)
{
	char *a = p_and(x);

	while (a && peek(x) == T_OR) {
		char *b;

		x->pos++;
		b = p_and(x);
		if (!b) {
			free(a);
			return NULL;
		}
		if (v_false(a)) {
			free(a);
			a = b;
		} else {
			free(b);
		}
	}
	return a;
}

/* cond ? a :: b (both branches are evaluated, as in Asterisk's grammar). */
static char *p_cond(struct xp *x)
{
	char *c = p_or(x), *a, *b;

	if (!c || peek(x) != T_COND)
		return c;
	x->pos++;
	a = p_or(x);
	if (!a || peek(x) != T_COLONCOLON) {
		free(c);
		free(a);
		x->err = EINVAL;
		return NULL;
	}
	x->pos++;
	b = p_cond(x);
	if (!b) {
		free(c);
		free(a);
		return NULL;
	}
	if (v_false(c)) {
		free(a);
		a = b;
	} else {
		free(b);
	}
	free(c);
	return a;
}

int pbx_expr_eval(const char *expr, size_t len, struct mbuf *out)
{
	struct xp x = {0};
	char *v = NULL;
	int err;

	err = tokenize(expr, len, &x);
	if (err == ENOMEM)
		goto out;
	if (!err && x.n) {
		v = p_cond(&x);
		if (v && peek(&x) != T_END)
			x.err = EINVAL;
	}
	if (x.err == ENOMEM) {
		err = ENOMEM;
		goto out;
	}
	if (err || x.err || !v) {
		if (x.n || err)
			log_debug("$[%.*s]: syntax error", (int)MIN(len, 200), expr);
		err = 0;
		goto out;
	}
	err = mbuf_write_str(out, v);
out:
	free(v);
	free(x.toks);
	return err;
}

bool pbx_truth(const char *s)
{
	char *end;
	long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	/* Like sscanf("%d"): a leading integer decides, anything else non-empty is true. */
	if (end != s && !errno)
		return v != 0;
	return true;
}
