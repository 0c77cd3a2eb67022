/* vars: small name/value lists for channel and global variables (few entries: a linear scan). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static struct pbx_var *vars_lookup(const struct pbx_vars *vars, const char *name, size_t nlen)
{
	for (size_t i = 0; i < vars->n; i++) {
		struct pbx_var *v = &vars->v[i];

		if (strlen(v->name) == nlen && memcmp(v->name, name, nlen) == 0)
			return v;
	}
	return NULL;
}

int pbx_vars_setn(struct pbx_vars *vars, const char *name, size_t nlen, const char *value,
		  size_t vlen)
{
	struct pbx_var *v;
	char *val = NULL;

	if (!nlen)
		return EINVAL;
	v = vars_lookup(vars, name, nlen);
	if (!value) {
		if (v) {
			free(v->name);
			free(v->value);
			*v = vars->v[--vars->n];
		}
		return 0;
	}
	val = dup_n(value, vlen);
	if (!val)
		return ENOMEM;
	if (v) {
		free(v->value);
		v->value = val;
		return 0;
	}
	if (vars->n == vars->cap) {
		size_t cap = vars->cap ? vars->cap * 2 : 8;
		struct pbx_var *nv = realloc(vars->v, cap * sizeof(*nv));

		if (!nv)
			goto nomem;
		vars->v = nv;
		vars->cap = cap;
	}
	v = &vars->v[vars->n];
	v->name = dup_n(name, nlen);
	if (!v->name)
		goto nomem;
	v->value = val;
	vars->n++;
	return 0;

nomem:
	free(val);
	return ENOMEM;
}

const char *pbx_vars_getn(const struct pbx_vars *vars, const char *name, size_t nlen)
{
	const struct pbx_var *v = vars ? vars_lookup(vars, name, nlen) : NULL;

	return v ? v->value : NULL;
}

void pbx_vars_clear(struct pbx_vars *vars)
{
	for (size_t i = 0; i < vars->n; i++) {
		free(vars->v[i].name);
		free(vars->v[i].value);
	}
	free(vars->v);
	memset(vars, 0, sizeof(*vars));
}

int pbx_vars_alloc(struct pbx_vars **varsp)
{
	struct pbx_vars *vars = calloc(1, sizeof(*vars));

	if (!vars)
		return ENOMEM;
	*varsp = vars;
	return 0;
}

void pbx_vars_free(struct pbx_vars *vars)
{
	if (!vars)
		return;
	pbx_vars_clear(vars);
	free(vars);
}

int pbx_vars_set(struct pbx_vars *vars, const char *name, const char *value)
{
	if (!vars || !name)
		return EINVAL;
	return pbx_vars_setn(vars, name, strlen(name), value, value ? strlen(value) : 0);
}

const char *pbx_vars_get(const struct pbx_vars *vars, const char *name)
{
	return name ? pbx_vars_getn(vars, name, strlen(name)) : NULL;
}
