/* cfg: loads and checks the whole configuration as one snapshot (see cfg.h). */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "pbx.h"
#include "peer.h"
#include "screen.h"

static void cfg_destroy(void *data)
{
	struct cfg *cfg = data;

	for (size_t i = 0; i < cfg->nphones; i++) {
		free(cfg->phones[i].name);
		explicit_bzero(cfg->phones[i].secret, strlen(cfg->phones[i].secret));
		free(cfg->phones[i].secret);
	}
	free(cfg->phones);
	screen_rules_free(cfg->screen);
	dialplan_free(cfg->dialplan);
	mem_deref(cfg->peers);
	conf_free(cfg->sip);
	conf_free(cfg->extensions);
	conf_free(cfg->mikaka);
	free(cfg->dir);
}

/* Loads DIR/NAME into *confp when it exists. Returns 0, or EINVAL after an error. */
static int load_file(struct conf **confp, const char *dir, const char *name, bool warn_missing,
		     struct conf_diags *diags)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) != 0) {
		if (warn_missing)
			conf_diag_add(diags, CONF_WARNING, path, 0,
				      "not found; using the built-in defaults");
		return 0;
	}
	return conf_load(confp, path, diags) ? EINVAL : 0;
}

/* features.conf (optional): [general] pickupexten (default *8, Asterisk's) and the parking
 * keys (struct cfg_park). Its other keys and sections are Asterisk's in-call features, which
 * mikaka does not have: warnings. */
static bool features_code_ok(const char *v, size_t size)
{
	return *v && strlen(v) < size && strspn(v, "0123456789*#") == strlen(v);
}

static int load_park_key(struct cfg *cfg, const struct conf_var *v, struct conf_diags *diags)
{
	struct cfg_park *pk = &cfg->park;
	const char *file = v->origin.file;
	unsigned line = v->origin.line;

	if (!strcasecmp(v->name, "parkext")) {
		if (*v->value && !features_code_ok(v->value, sizeof(pk->ext))) {
			conf_diag_add(diags, CONF_ERROR, file, line,
				      "[general] parkext: '%s' is not a code of digits, * and #",
				      v->value);
			return EINVAL;
		}
		snprintf(pk->ext, sizeof(pk->ext), "%s", v->value);
	} else if (!strcasecmp(v->name, "parkpos")) {
		unsigned a, b;
		int n = 0;

		if (sscanf(v->value, "%u-%u%n", &a, &b, &n) != 2 || v->value[n] || a == 0 ||
		    b < a || b - a >= CFG_PARK_SPACES_MAX || b > 99999999) {
			conf_diag_add(diags, CONF_ERROR, file, line,
				      "[general] parkpos: '%s' is not FIRST-LAST (at most %u spaces)",
				      v->value, CFG_PARK_SPACES_MAX);
			return EINVAL;
		}
		pk->first = a;
		pk->last = b;
	} else if (!strcasecmp(v->name, "parkingtime")) {
		uint32_t t;

		if (conf_var_u32(v, "general", 1, 86400, &t, diags))
			return EINVAL;
		pk->time_s = t;
	} else if (!strcasecmp(v->name, "context") || !strcasecmp(v->name, "parkingcontext")) {
		if (!*v->value || strlen(v->value) >= sizeof(pk->context) ||
		    strpbrk(v->value, " \t,[]")) {
			conf_diag_add(diags, CONF_ERROR, file, line,
				      "[general] %s: '%s' is not a context name", v->name, v->value);
			return EINVAL;
		}
		snprintf(pk->context, sizeof(pk->context), "%s", v->value);
	} else if (!strcasecmp(v->name, "comebacktoorigin")) {
		if (conf_var_bool(v, "general", &pk->comeback, diags))
			return EINVAL;
	} else {
		return ENOENT;
	}
	return 0;
}

static int load_features(struct cfg *cfg, const char *dir, struct conf_diags *diags)
{
	struct conf *fc = NULL;
	int err;

	snprintf(cfg->pickupexten, sizeof(cfg->pickupexten), "*8");
	cfg->park = (struct cfg_park){"700", 701, 720, 45, "parkedcalls", true};
	err = load_file(&fc, dir, "features.conf", false, diags);
	if (err || !fc)
		return err;
	for (const struct conf_section *s = conf_sections(fc); s; s = s->next) {
		if (strcasecmp(s->name, "general")) {
			conf_diag_add(diags, CONF_WARNING, s->origin.file, s->origin.line,
				      "[%s]: in-call features are not implemented; ignored",
				      s->name);
			continue;
		}
		for (const struct conf_var *v = s->vars; v; v = v->next) {
			int perr = load_park_key(cfg, v, diags);

			if (perr != ENOENT) {
				err |= perr;
				continue;
			}
			if (strcasecmp(v->name, "pickupexten")) {
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[general] %s: not implemented; ignored", v->name);
				continue;
			}
			if (strlen(v->value) >= sizeof(cfg->pickupexten) ||
			    strspn(v->value, "0123456789*#") != strlen(v->value)) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[general] pickupexten: '%s' is not a code of digits, "
					      "* and # (at most %zu)",
					      v->value, sizeof(cfg->pickupexten) - 1);
				err = EINVAL;
				continue;
			}
			snprintf(cfg->pickupexten, sizeof(cfg->pickupexten), "%s", v->value);
		}
	}
	conf_free(fc);
	return err;
}

/* The parking lot's context as Asterisk makes it (extensions.conf includes it): parkext runs
 * Park(), each space ParkedCall(space). */
static int park_context(const struct cfg *cfg, struct conf **confp, struct conf_diags *diags)
{
	const struct cfg_park *pk = &cfg->park;
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	mbuf_printf(&mb, "[%s]\n", pk->context);
	if (pk->ext[0])
		mbuf_printf(&mb, "exten => %s,1,Park()\n", pk->ext);
	for (unsigned s = pk->first; s && s <= pk->last; s++)
		mbuf_printf(&mb, "exten => %u,1,ParkedCall(%u)\n", s, s);
	mbuf_write(&mb, "", 1);
	err = conf_load_string(confp, "features.conf", (const char *)mb.buf, diags);
	mbuf_reset(&mb);
	return err;
}

/* The contexts calls can enter the dialplan by: [general] context= and every peer's; and the
 * subscribecontext= where busy-lamp SUBSCRIBEs find their hints. */
static int entry_contexts(const struct sipcfg *peers, const struct screen_rules *screen,
			  const char ***listp, size_t *np)
{
	size_t n = sipcfg_peer_count(peers);
	const char **list = calloc(2 * n + 2, sizeof(*list));
	size_t k = 0;

	if (!list)
		return ENOMEM;
	if (sipcfg_general(peers)->context)
		list[k++] = sipcfg_general(peers)->context;
	for (size_t i = 0; i < n; i++) {
		const struct peer *p = sipcfg_peer_at(peers, i);
		if (p->context)
			list[k++] = p->context;
		if (p->subscribecontext)
			list[k++] = p->subscribecontext;
	}
	/* screening: calls enter the voicemail target's context too */
	if (screen)
		list[k++] = screen_voicemail_context(screen);
	*listp = list;
	*np = k;
	return 0;
}

/* Most phones one range ("801-899 =") may name. */
#define CFG_RANGE_MAX 100

/* A phone name must be a SIP user part, a sip.conf section name and a dialplan extension at
 * once, and must not take the name of a section the native form writes itself. */
static bool phone_name_ok(const char *name)
{
	static const char *const reserved[] = {"general", "authentication", "line", "phone"};

	if (!name[0] || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++) {
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == '.' || *c == '-'))
			return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		if (!strcasecmp(name, reserved[i]))
			return false;
	}
	return true;
}

/* "FIRST-LAST", both decimal: sets the bounds and the width (FIRST's length, so 0801-0805 keeps
 * its zero). Returns false for anything else. */
static bool phone_range(const char *key, unsigned long *first, unsigned long *last, int *width)
{
	const char *dash = strchr(key, '-');
	char *end;

	if (!dash || dash == key || !dash[1] || strspn(key, "0123456789") != (size_t)(dash - key) ||
	    strspn(dash + 1, "0123456789") != strlen(dash + 1) || dash - key > 9 ||
	    strlen(dash + 1) > 9)
		return false;
	*first = strtoul(key, &end, 10);
	*last = strtoul(dash + 1, &end, 10);
	*width = (int)(dash - key);
	return true;
}

/* Adds one phone; its secret is the one written, or the store's (generated on first use). */
static int phone_add(struct cfg *cfg, size_t *cap, const char *name, const char *secret,
		     const struct conf_var *v, struct cfg_secrets *secrets, bool *store_failed,
		     struct conf_diags *diags)
{
	char ephemeral[CFG_SECRET_LEN + 1];
	struct cfg_phone *p;
	int err;

	for (size_t i = 0; i < cfg->nphones; i++) {
		if (!strcasecmp(cfg->phones[i].name, name)) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[phones] %s: named twice (also at line %u)", name,
				      cfg->phones[i].origin.line);
			return EINVAL;
		}
	}
	if (!secret[0] && secrets) {
		if (*store_failed)
			return EIO; /* reported once, at the first phone */
		if ((err = cfg_secrets_get(secrets, name, &secret))) {
			const char *file = cfg_secrets_file(secrets);
			const char *slash = strrchr(file, '/');
			const struct passwd *pw = getpwuid(geteuid());

			if (err == ENOMEM)
				return ENOMEM;
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[phones] %s: no secret written, and a generated one cannot be "
				      "kept: writing %s: %s (the state directory %.*s must be "
				      "writable by user %s; or name another with mikakad -d)",
				      name, file, strerror(err), slash ? (int)(slash - file) : 1,
				      slash ? file : ".", pw ? pw->pw_name : "mikakad runs as");
			*store_failed = true;
			return EIO;
		}
		if (!secret)
			secret = ""; /* dry mode: a throw-away one, below */
	}
	if (!secret[0]) {
		/* mikakad -t, or a dry run: a secret nobody knows, so the check sees a complete
		 * peer and nobody could register as it. */
		rand_token(ephemeral, CFG_SECRET_LEN);
		secret = ephemeral;
	}
	if (cfg->nphones == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct cfg_phone *np = realloc(cfg->phones, ncap * sizeof(*np));

		if (!np)
			return ENOMEM;
		cfg->phones = np;
		*cap = ncap;
	}
	p = &cfg->phones[cfg->nphones];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->secret = strdup(secret);
	explicit_bzero(ephemeral, sizeof(ephemeral));
	if (!p->name || !p->secret) {
		free(p->name);
		free(p->secret);
		return ENOMEM;
	}
	p->origin = v->origin;
	p->generated = !v->value[0];
	cfg->nphones++;
	return 0;
}

/* mikaka.conf [phones]: NAME = SECRET, NAME = (a secret is generated and kept in the state),
 * FIRST-LAST = (each number of the range, each with its own generated secret). */
static int native_phones(struct cfg *cfg, struct cfg_secrets *secrets, struct conf_diags *diags)
{
	const struct conf_section *sec = conf_section_find(cfg->mikaka, "phones");
	bool store_failed = false;
	size_t cap = 0;
	int err = 0;

	cfg->phones = calloc(1, sizeof(*cfg->phones)); /* non-NULL: the native form is in use */
	if (!cfg->phones)
		return ENOMEM;
	cap = 1;
	for (const struct conf_var *v = sec->vars; v && err != ENOMEM; v = v->next) {
		unsigned long first, last;
		int width, e = 0;

		if (phone_range(v->name, &first, &last, &width)) {
			if (v->value[0]) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[phones] %s: a range takes no secret (each phone gets "
					      "its own generated one); write '%s ='",
					      v->name, v->name);
				e = EINVAL;
			} else if (first > last || last - first >= CFG_RANGE_MAX) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[phones] %s: a range goes from a lower to a higher "
					      "number and names at most %d phones",
					      v->name, CFG_RANGE_MAX);
				e = EINVAL;
			}
			for (unsigned long n = first; !e && n <= last; n++) {
				char name[32];

				snprintf(name, sizeof(name), "%0*lu", width, n);
				e = phone_add(cfg, &cap, name, "", v, secrets, &store_failed,
					      diags);
			}
		} else if (!phone_name_ok(v->name)) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[phones] '%s' is not a phone name (letters, digits, '_', '.', "
				      "'-'; not general, authentication, line or phone) nor a range "
				      "like 803-805",
				      v->name);
			e = EINVAL;
		} else {
			e = phone_add(cfg, &cap, v->name, v->value, v, secrets, &store_failed,
				      diags);
		}
		/* Worst first: ENOMEM, then EIO (the state), then EINVAL. */
		if (e == ENOMEM || (e == EIO && err != ENOMEM) || (e && !err))
			err = e;
	}
	return err;
}

/* The native form: no sip.conf, and mikaka.conf names the phones ([phones] NAME = SECRET) and
 * the line ([line] interface = ...). The Asterisk files it stands for are written here as text
 * and read by the same code as hand-written ones, so `dialplan show` and `sip show peers` show
 * exactly what runs. Calls from the line ring every phone at once; phones call each other by
 * name and call out through the line with 0..., 1.. (110, 118, 119, 117, 184/186 prefixes).
 * [sip] bind = ADDR[:PORT] (repeatable) becomes udpbindaddr. */
static int native_files(const struct cfg *cfg, const struct pbx_vars *line_vars,
			struct mbuf *sip, struct mbuf *ext, struct conf_diags *diags)
{
	const struct conf_section *msip = conf_section_find(cfg->mikaka, "sip");
	const char *server = line_vars ? pbx_vars_get(line_vars, "LINE_SERVER") : NULL;
	const char *number = line_vars ? pbx_vars_get(line_vars, "LINE_NUMBER") : NULL;
	int err = 0, bad = 0;

	err |= mbuf_printf(sip, "; generated from mikaka.conf [phones] and [line]\n"
				"[general]\ncontext=from_line\nallowguest=no\nalwaysauthreject=yes\n");
	for (const struct conf_var *v = msip ? msip->vars : NULL; v; v = v->next) {
		struct sa sa;

		if (strcasecmp(v->name, "bind"))
			continue;
		if (sa_decode(&sa, v->value, SIP_PORT_DEFAULT)) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[sip] bind: '%s' is not an address (ADDR, ADDR:PORT or "
				      "[V6]:PORT)",
				      v->value);
			bad = EINVAL;
			continue;
		}
		err |= mbuf_printf(sip, "udpbindaddr=%s\n", v->value);
	}
	/* One household: every phone may pick up a call ringing at any other (*8, or **NAME for
	 * that phone: docs/CALLS.md, Call pickup). */
	err |= mbuf_printf(sip, "[phone](!)\ntype=friend\nhost=dynamic\ncontext=from_phone\n"
				"dtmfmode=rfc2833\nnat=force_rport,comedia\nqualify=yes\n"
				"disallow=all\nallow=ulaw,alaw\ncallgroup=1\npickupgroup=1\n");
	err |= mbuf_printf(ext, "; generated from mikaka.conf [phones] and [line]\n"
				"[from_phone]\n");
	for (size_t i = 0; i < cfg->nphones; i++) {
		const char *name = cfg->phones[i].name;

		/* mailbox=: a voicemail.conf box named like the phone gets message waiting. */
		err |= mbuf_printf(sip,
				   "[%s](phone)\nsecret=%s\ncallerid=\"%s\" <%s>\n"
				   "mailbox=%s@default\n",
				   name, cfg->phones[i].secret, name, name, name);
		err |= mbuf_printf(ext, "exten => %s,1,Dial(SIP/%s,30)\n same => n,Hangup()\n",
				   name, name);
	}
	/* Voicemail: the caller's own mailbox (voicemail.conf [default] box named like the
	 * phone), by *97 (Asterisk's custom) and 1417 (the carrier's voicemail number, answered
	 * here instead). */
	err |= mbuf_printf(ext, "exten => *97,1,VoiceMailMain(${CALLERID(num)}@default)\n"
				" same => n,Hangup()\n"
				"exten => 1417,1,VoiceMailMain(${CALLERID(num)}@default)\n"
				" same => n,Hangup()\n");
	/* Directed pickup: **NAME takes the call ringing at phone NAME (the common code). */
	err |= mbuf_printf(ext, "exten => _**.,1,PickupChan(SIP/${EXTEN:2},p)\n"
				" same => n,Hangup(21)\n");
	/* Toll-fraud guards: international and premium-rate prefixes are refused unless the
	 * user writes a dialplan of their own (these come before _0. and so win). */
	err |= mbuf_printf(ext, "exten => _010.,1,Log(WARNING,international call to ${EXTEN} "
				"refused)\n same => n,Congestion()\n"
				"exten => _0570.,1,Log(WARNING,premium-rate call to ${EXTEN} refused)\n"
				" same => n,Congestion()\n"
				"exten => _0990.,1,Log(WARNING,premium-rate call to ${EXTEN} refused)\n"
				" same => n,Congestion()\n"
				"exten => _0180.,1,Log(WARNING,premium-rate call to ${EXTEN} refused)\n"
				" same => n,Congestion()\n");
	if (server) {
		/* The carrier: calls come only from its address; no OPTIONS toward it (405). */
		err |= mbuf_printf(sip,
				   "[line]\ntype=peer\nhost=%s\nport=5060\ncontext=from_line\n"
				   "insecure=port,invite\nqualify=no\ndtmfmode=inband\n"
				   "disallow=all\nallow=ulaw\ndirectmedia=no\n",
				   server);
		err |= mbuf_printf(ext,
				   "exten => _0.,1,Set(CALLERID(num)=%s)\n"
				   " same => n,Dial(SIP/line/${EXTEN})\n same => n,Hangup()\n"
				   "exten => _1XX,1,Set(CALLERID(num)=%s)\n"
				   " same => n,Dial(SIP/line/${EXTEN})\n same => n,Hangup()\n"
				   "exten => _18[46]X.,1,Set(CALLERID(num)=%s)\n"
				   " same => n,Dial(SIP/line/${EXTEN})\n same => n,Hangup()\n",
				   number ? number : "", number ? number : "", number ? number : "");
	}
	err |= mbuf_printf(ext, "[from_line]\n");
	/* screening: an additional number with phones of its own ([screening:NUMBER] phones). */
	for (size_t i = 0; screen_number_at(cfg->screen, i); i++) {
		const char *num = screen_number_at(cfg->screen, i);
		const char *ph = screen_number_phones(cfg->screen, num);
		char *copy = ph ? strdup(ph) : NULL, *save = NULL;

		if (!ph)
			continue;
		if (!copy)
			return ENOMEM;
		err |= mbuf_printf(ext, "exten => %s,1,Dial(", num);
		for (char *t = strtok_r(copy, "&", &save), *first = t; t;
		     t = strtok_r(NULL, "&", &save))
			err |= mbuf_printf(ext, "%sSIP/%s", t == first ? "" : "&", t);
		err |= mbuf_printf(ext, ",60)\n same => n,Hangup()\n");
		free(copy);
	}
	if (cfg->nphones) {
		err |= mbuf_printf(ext, "exten => _X.,1,Dial(");
		for (size_t i = 0; i < cfg->nphones; i++)
			err |= mbuf_printf(ext, "%sSIP/%s", i ? "&" : "", cfg->phones[i].name);
		err |= mbuf_printf(ext, ",60)\n same => n,Hangup()\n");
	} else {
		err |= mbuf_printf(ext, "exten => _X.,1,Hangup()\n");
	}
	err |= mbuf_write(sip, "", 1);
	err |= mbuf_write(ext, "", 1);
	return err ? ENOMEM : bad;
}

int cfg_load(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
	     struct conf_diags *diags)
{
	return cfg_load_secrets(cfgp, dir, line_vars, NULL, diags);
}

int cfg_load_secrets(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
		     struct cfg_secrets *secrets, struct conf_diags *diags)
{
	struct conf *empty_sip = NULL, *empty_ext = NULL, *parkctx = NULL;
	const char **entries = NULL;
	size_t nentries = 0;
	struct cfg *cfg;
	int err = 0, serr = 0;

	cfg = mem_zalloc(sizeof(*cfg), cfg_destroy);
	if (!cfg)
		return ENOMEM;
	cfg->dir = strdup(dir);
	if (!cfg->dir) {
		mem_deref(cfg);
		return ENOMEM;
	}
	err |= load_file(&cfg->mikaka, dir, "mikaka.conf", false, diags);
	/* screening: [screening] rules (the native form's dialplan uses their phones); an error
	 * refuses the snapshot once the rest has been checked too */
	if (!err) {
		serr = screen_rules_load(&cfg->screen, cfg->mikaka, diags);
		if (serr == ENOMEM) {
			err = ENOMEM;
			goto out;
		}
	}
	if (cfg->mikaka && conf_section_find(cfg->mikaka, "phones")) {
		char path[PATH_MAX];
		struct mbuf sip, ext;

		snprintf(path, sizeof(path), "%s/sip.conf", dir);
		if (access(path, F_OK) == 0) {
			conf_diag_add(diags, CONF_ERROR, path, 0,
				      "both sip.conf and mikaka.conf [phones] exist: use one");
			err = EINVAL;
			goto out;
		}
		err = native_phones(cfg, secrets, diags);
		if (err)
			goto out;
		mbuf_init(&sip);
		mbuf_init(&ext);
		err = native_files(cfg, line_vars, &sip, &ext, diags);
		if (!err && conf_load_string(&cfg->sip, "sip.conf (from mikaka.conf)",
					     (const char *)sip.buf, diags))
			err = EINVAL;
		if (!err && conf_load_string(&cfg->extensions,
					     "extensions.conf (from mikaka.conf)",
					     (const char *)ext.buf, diags))
			err = EINVAL;
		if (sip.buf)
			explicit_bzero(sip.buf, sip.size); /* it holds the secrets */
		mbuf_reset(&sip);
		mbuf_reset(&ext);
	} else {
		const struct conf_section *msip =
		    cfg->mikaka ? conf_section_find(cfg->mikaka, "sip") : NULL;
		const struct conf_var *bind = msip ? conf_var_find(msip, "bind") : NULL;

		if (bind)
			conf_diag_add(diags, CONF_WARNING, bind->origin.file, bind->origin.line,
				      "[sip] bind is for the [phones] form; with a sip.conf, use its "
				      "[general] udpbindaddr; ignored");
		err |= load_file(&cfg->sip, dir, "sip.conf", true, diags);
		err |= load_file(&cfg->extensions, dir, "extensions.conf", false, diags);
	}
	err |= load_features(cfg, dir, diags);
	if (serr && !err)
		err = EINVAL;
	if (err)
		goto out; /* syntax errors: the meaning would only repeat them */

	err |= server_settings_load(&cfg->server, cfg->sip, cfg->mikaka, diags);

	/* An absent file means an empty one: no peers, no contexts. */
	if (!cfg->sip && conf_load_string(&empty_sip, "sip.conf", "", diags) != 0) {
		err = ENOMEM;
		goto out;
	}
	if (sipcfg_load(&cfg->peers, cfg->sip ? cfg->sip : empty_sip, diags))
		err = EINVAL;
	if (!cfg->extensions && conf_load_string(&empty_ext, "extensions.conf", "", diags) != 0) {
		err = ENOMEM;
		goto out;
	}
	if (park_context(cfg, &parkctx, diags)) {
		err = ENOMEM;
		goto out;
	}
	if (dialplan_load_builtin(&cfg->dialplan, cfg->extensions ? cfg->extensions : empty_ext,
				  parkctx, line_vars, diags))
		err = EINVAL;
	if (cfg->peers && cfg->dialplan) {
		if (entry_contexts(cfg->peers, cfg->screen, &entries, &nentries)) {
			err = ENOMEM;
			goto out;
		}
		if (dialplan_check(cfg->dialplan, entries, nentries, diags))
			err = EINVAL;
	}

out:
	free(entries);
	conf_free(empty_sip);
	conf_free(empty_ext);
	conf_free(parkctx);
	if (err) {
		mem_deref(cfg);
		return err == ENOMEM || err == EIO ? err : EINVAL;
	}
	*cfgp = cfg;
	return 0;
}

void cfg_diags_format(const struct conf_diags *diags, struct mbuf *out)
{
	for (size_t i = 0; i < diags->count; i++) {
		char line[1200];

		conf_diag_format(&diags->items[i], line, sizeof(line));
		mbuf_printf(out, "%s\n", line);
	}
}
