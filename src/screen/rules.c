/* rules: mikaka.conf [screening] and [screening:NUMBER] read and checked, and the decision for
 * one call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "screen_int.h"

#define SCREEN_NUMBERS_MAX 8 /* the line's main number and up to 7 additional ones (203) */

struct screen_numrule {
	char num[SCREEN_NUM_MAX];
	enum screen_action act[SCREEN_R_COUNT];
	bool set[SCREEN_R_COUNT];
	char *phones; /* "801&802" or NULL */
};

/* Combines errors: ENOMEM wins over EINVAL (errno values are not bit masks). */
static int worst(int a, int b)
{
	return a == ENOMEM || b == ENOMEM ? ENOMEM : a ? a : b;
}

struct screen_rules {
	enum screen_action act[SCREEN_R_COUNT];
	struct numset block;
	struct numset allow;
	struct screen_numrule nums[SCREEN_NUMBERS_MAX];
	size_t nnums;
	char featurecode[8];
	char language[16];
	char vm_context[80];
};

void screen_rules_free(struct screen_rules *r)
{
	if (!r)
		return;
	numset_reset(&r->block);
	numset_reset(&r->allow);
	for (size_t i = 0; i < r->nnums; i++)
		free(r->nums[i].phones);
	free(r);
}

static int reason_key(const char *k)
{
	for (int i = SCREEN_R_WITHHELD; i < SCREEN_R_COUNT; i++) {
		if (!strcasecmp(k, screen_reason_name((enum screen_reason)i)))
			return i;
	}
	/* Asterisk-ish and Japanese-documentation aliases. */
	if (!strcasecmp(k, "anonymous"))
		return SCREEN_R_WITHHELD;
	if (!strcasecmp(k, "coin") || !strcasecmp(k, "payphone_line"))
		return SCREEN_R_PAYPHONE;
	return -1;
}

static int action_of(const struct conf_var *v, const char *sec, enum screen_action *a,
		     struct conf_diags *diags)
{
	if (!strcasecmp(v->value, "allow")) {
		*a = SCREEN_ALLOW;
	} else if (!strcasecmp(v->value, "reject")) {
		*a = SCREEN_REJECT;
	} else if (!strcasecmp(v->value, "voicemail")) {
		*a = SCREEN_VOICEMAIL;
	} else {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[%s] %s: '%s' is not allow, reject or voicemail", sec, v->name,
			      v->value);
		return EINVAL;
	}
	return 0;
}

static int list_add(struct numset *s, const struct conf_var *v, const char *sec,
		    struct conf_diags *diags)
{
	char buf[SCREEN_NUM_MAX + 1];
	int err = 0;
	char *copy = strdup(v->value), *save = NULL;

	if (!copy)
		return ENOMEM;
	/* Several per line, comma-separated, or one per line. */
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		if (screen_spec_norm(t, buf, sizeof(buf)) || buf[0] == '*') {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[%s] %s: '%s' is not a number or a prefix like 0120*", sec,
				      v->name, t);
			err = EINVAL;
			continue;
		}
		if (numset_add(s, buf, NULL, 0, NULL)) {
			err = ENOMEM;
			break;
		}
	}
	free(copy);
	return err;
}

static int load_general(struct screen_rules *r, const struct conf_section *sec,
			struct conf_diags *diags)
{
	int err = 0;

	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;
		int rk = reason_key(k);

		if (rk > 0) {
			err = worst(err, action_of(v, "screening", &r->act[rk], diags));
		} else if (!strcasecmp(k, "block") || !strcasecmp(k, "blocklist")) {
			err = worst(err, list_add(&r->block, v, "screening", diags));
		} else if (!strcasecmp(k, "allow") || !strcasecmp(k, "allowlist")) {
			err = worst(err, list_add(&r->allow, v, "screening", diags));
		} else if (!strcasecmp(k, "featurecode")) {
			size_t n = strlen(v->value);

			if (n >= sizeof(r->featurecode) || strspn(v->value, "0123456789*#") != n) {
				conf_diag_add(
				    diags, CONF_ERROR, v->origin.file, v->origin.line,
				    "[screening] featurecode: '%s' is not a code of at most "
				    "7 digits, '*' or '#' (empty: off)",
				    v->value);
				err = worst(err, EINVAL);
				continue;
			}
			snprintf(r->featurecode, sizeof(r->featurecode), "%s", v->value);
		} else if (!strcasecmp(k, "language")) {
			if (strcmp(v->value, "ja") && strcmp(v->value, "en") &&
			    strcmp(v->value, "ja,en") && strcmp(v->value, "en,ja")) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[screening] language: '%s' is not ja, en, ja,en or "
					      "en,ja",
					      v->value);
				err = worst(err, EINVAL);
				continue;
			}
			snprintf(r->language, sizeof(r->language), "%s", v->value);
		} else if (!strcasecmp(k, "voicemail_context")) {
			if (!v->value[0] || strlen(v->value) >= sizeof(r->vm_context)) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[screening] voicemail_context: a context name of at "
					      "most %zu characters",
					      sizeof(r->vm_context) - 1);
				err = worst(err, EINVAL);
				continue;
			}
			snprintf(r->vm_context, sizeof(r->vm_context), "%s", v->value);
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[screening] unknown key '%s' ignored", k);
		}
	}
	return err;
}

static int load_number(struct screen_rules *r, const struct conf_section *sec, const char *num,
		       struct conf_diags *diags)
{
	struct screen_numrule *nr;
	char buf[SCREEN_NUM_MAX];
	int err = 0;

	if (screen_number_norm(num, strlen(num), buf, sizeof(buf))) {
		conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[%s]: '%s' is not a number", sec->name, num);
		return EINVAL;
	}
	for (size_t i = 0; i < r->nnums; i++) {
		if (!strcmp(r->nums[i].num, buf)) {
			conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
				      "[%s]: the number has a section already", sec->name);
			return EINVAL;
		}
	}
	if (r->nnums == SCREEN_NUMBERS_MAX) {
		conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[%s]: at most %d numbers (the line's own ones)", sec->name,
			      SCREEN_NUMBERS_MAX);
		return EINVAL;
	}
	nr = &r->nums[r->nnums++];
	snprintf(nr->num, sizeof(nr->num), "%s", buf);
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		int rk = reason_key(v->name);

		if (rk > 0) {
			if (action_of(v, sec->name, &nr->act[rk], diags) == 0)
				nr->set[rk] = true;
			else
				err = EINVAL;
		} else if (!strcasecmp(v->name, "phones")) {
			/* "801, 802" or "801&802": Dial() targets. */
			struct mbuf mb;
			char *copy = strdup(v->value), *save = NULL;
			bool bad = false;

			if (!copy)
				return ENOMEM;
			mbuf_init(&mb);
			for (char *t = strtok_r(copy, ",& \t", &save); t;
			     t = strtok_r(NULL, ",& \t", &save)) {
				if (strspn(t, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
					      "QRSTUVWXYZ_.-") != strlen(t) ||
				    strlen(t) > 64) {
					bad = true;
					break;
				}
				mbuf_printf(&mb, "%s%s", mb.end ? "&" : "", t);
			}
			free(copy);
			if (bad || !mb.end) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[%s] phones: '%s' is not a list of phone names",
					      sec->name, v->value);
				mbuf_reset(&mb);
				err = EINVAL;
				continue;
			}
			mbuf_write(&mb, "", 1);
			free(nr->phones);
			nr->phones = (char *)mb.buf; /* the mbuf's buffer is plain malloc'ed */
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[%s] unknown key '%s' ignored", sec->name, v->name);
		}
	}
	return err;
}

int screen_rules_load(struct screen_rules **rp, const struct conf *mikakaconf,
		      struct conf_diags *diags)
{
	const struct conf_section *gen =
	    mikakaconf ? conf_section_find(mikakaconf, "screening") : NULL;
	struct screen_rules *r;
	int err = 0;

	*rp = NULL;
	if (!gen) {
		for (const struct conf_section *s = mikakaconf ? conf_sections(mikakaconf) : NULL;
		     s; s = s->next) {
			if (!s->is_template && !strncasecmp(s->name, "screening:", 10))
				conf_diag_add(diags, CONF_WARNING, s->origin.file, s->origin.line,
					      "[%s] without [screening]: screening is off; ignored",
					      s->name);
		}
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r || numset_init(&r->block) || numset_init(&r->allow)) {
		if (r)
			numset_reset(&r->block);
		free(r);
		return ENOMEM;
	}
	snprintf(r->featurecode, sizeof(r->featurecode), "144");
	snprintf(r->language, sizeof(r->language), "ja,en");
	snprintf(r->vm_context, sizeof(r->vm_context), "screening-voicemail");
	err = worst(err, load_general(r, gen, diags));
	for (const struct conf_section *s = conf_sections(mikakaconf); s; s = s->next) {
		if (s->is_template || strncasecmp(s->name, "screening:", 10))
			continue;
		err = worst(err, load_number(r, s, s->name + 10, diags));
	}
	if (err) {
		screen_rules_free(r);
		return err == ENOMEM ? ENOMEM : EINVAL;
	}
	*rp = r;
	return 0;
}

static const struct screen_numrule *numrule(const struct screen_rules *r, const char *called)
{
	if (!r || !called)
		return NULL;
	for (size_t i = 0; i < r->nnums; i++) {
		if (!strcmp(r->nums[i].num, called))
			return &r->nums[i];
	}
	return NULL;
}

void screen_decide(const struct screen_rules *r, const struct screen_db *db, const char *called,
		   const char *num, enum screen_reason reason, struct screen_verdict *v)
{
	const struct screen_numrule *nr = numrule(r, called);

	memset(v, 0, sizeof(*v));
	v->action = SCREEN_ALLOW;
	v->why = "allowed";
	if (!r) {
		/* No [screening]: nothing is refused by the engine; the block list is still there
		 * for the dialplan (BLACKLIST()), the Asterisk way. */
		if (num && num[0] && reason == SCREEN_R_NONE && screen_db_blocked(db, num))
			v->why = "blocklist";
		v->vm_context = "screening-voicemail";
		return;
	}
	v->phones = nr ? nr->phones : NULL;
	v->vm_context = r->vm_context;
	if (num && num[0] && reason == SCREEN_R_NONE) {
		if (numset_match(&r->allow, num)) {
			v->why = "allowlist";
			return;
		}
		if (numset_match(&r->block, num) || screen_db_blocked(db, num)) {
			v->action = SCREEN_REJECT;
			v->why = "blocklist";
			v->code = 603;
			return;
		}
		return;
	}
	if (reason == SCREEN_R_NONE)
		reason = SCREEN_R_WITHHELD; /* no number and no reason: treated as withheld */
	v->why = screen_reason_name(reason);
	if (nr && nr->set[reason])
		v->action = nr->act[reason];
	else
		v->action = r->act[reason];
	if (v->action == SCREEN_REJECT)
		v->code = reason == SCREEN_R_WITHHELD ? 433 : 603;
}

const char *screen_feature_code(const struct screen_rules *r)
{
	return r ? r->featurecode : "";
}

const char *screen_number_phones(const struct screen_rules *r, const char *called)
{
	const struct screen_numrule *nr = numrule(r, called);

	return nr ? nr->phones : NULL;
}

const char *screen_number_at(const struct screen_rules *r, size_t i)
{
	return r && i < r->nnums ? r->nums[i].num : NULL;
}

const char *screen_language(const struct screen_rules *r)
{
	return r ? r->language : "ja,en";
}

const char *screen_voicemail_context(const struct screen_rules *r)
{
	return r ? r->vm_context : "screening-voicemail";
}
