/* cfg: loads and checks the whole configuration as one snapshot (see cfg.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "pbx.h"
#include "peer.h"

static void cfg_destroy(void *data)
{
	struct cfg *cfg = data;

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

/* The contexts calls can enter the dialplan by: [general] context= and every peer's. */
static int entry_contexts(const struct sipcfg *peers, const char ***listp, size_t *np)
{
	size_t n = sipcfg_peer_count(peers);
	const char **list = calloc(n + 1, sizeof(*list));
	size_t k = 0;

	if (!list)
		return ENOMEM;
	if (sipcfg_general(peers)->context)
		list[k++] = sipcfg_general(peers)->context;
	for (size_t i = 0; i < n; i++) {
		const struct peer *p = sipcfg_peer_at(peers, i);
		if (p->context)
			list[k++] = p->context;
	}
	*listp = list;
	*np = k;
	return 0;
}

/* The native form: no sip.conf, and mikaka.conf names the phones ([phones] NAME = SECRET) and
 * the line ([line] interface = ...). The Asterisk files it stands for are written here as text
 * and read by the same code as hand-written ones, so `dialplan show` and `sip show peers` show
 * exactly what runs. Calls from the line ring every phone at once; phones call each other by
 * name and call out through the line with 0..., 1.. (110, 118, 119, 117, 184/186 prefixes). */
static int native_files(const struct conf *mikaka, const struct pbx_vars *line_vars,
			struct mbuf *sip, struct mbuf *ext)
{
	const struct conf_section *phones = conf_section_find(mikaka, "phones");
	const char *server = line_vars ? pbx_vars_get(line_vars, "LINE_SERVER") : NULL;
	const char *number = line_vars ? pbx_vars_get(line_vars, "LINE_NUMBER") : NULL;
	int err = 0;

	err |= mbuf_printf(sip,
			   "; generated from mikaka.conf [phones] and [line]\n"
			   "[general]\ncontext=from_line\nallowguest=no\nalwaysauthreject=yes\n"
			   "[phone](!)\ntype=friend\nhost=dynamic\ncontext=from_phone\n"
			   "dtmfmode=rfc2833\nnat=force_rport,comedia\nqualify=yes\n"
			   "disallow=all\nallow=ulaw,alaw\n");
	err |= mbuf_printf(ext, "; generated from mikaka.conf [phones] and [line]\n"
				"[from_phone]\n");
	for (const struct conf_var *v = phones->vars; v; v = v->next) {
		err |= mbuf_printf(sip, "[%s](phone)\nsecret=%s\ncallerid=\"%s\" <%s>\n", v->name,
				   v->value, v->name, v->name);
		err |= mbuf_printf(ext, "exten => %s,1,Dial(SIP/%s,30)\n same => n,Hangup()\n",
				   v->name, v->name);
	}
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
	err |= mbuf_printf(ext, "[from_line]\nexten => _X.,1,Dial(");
	for (const struct conf_var *v = phones->vars; v; v = v->next)
		err |= mbuf_printf(ext, "%sSIP/%s", v == phones->vars ? "" : "&", v->name);
	err |= mbuf_printf(ext, ",60)\n same => n,Hangup()\n");
	err |= mbuf_write(sip, "", 1);
	err |= mbuf_write(ext, "", 1);
	return err ? ENOMEM : 0;
}

int cfg_load(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
	     struct conf_diags *diags)
{
	struct conf *empty_sip = NULL, *empty_ext = NULL;
	const char **entries = NULL;
	size_t nentries = 0;
	struct cfg *cfg;
	int err = 0;

	cfg = mem_zalloc(sizeof(*cfg), cfg_destroy);
	if (!cfg)
		return ENOMEM;
	cfg->dir = strdup(dir);
	if (!cfg->dir) {
		mem_deref(cfg);
		return ENOMEM;
	}
	err |= load_file(&cfg->mikaka, dir, "mikaka.conf", false, diags);
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
		mbuf_init(&sip);
		mbuf_init(&ext);
		err = native_files(cfg->mikaka, line_vars, &sip, &ext);
		if (!err && conf_load_string(&cfg->sip, "sip.conf (from mikaka.conf)",
					     (const char *)sip.buf, diags))
			err = EINVAL;
		if (!err && conf_load_string(&cfg->extensions,
					     "extensions.conf (from mikaka.conf)",
					     (const char *)ext.buf, diags))
			err = EINVAL;
		mbuf_reset(&sip);
		mbuf_reset(&ext);
	} else {
		err |= load_file(&cfg->sip, dir, "sip.conf", true, diags);
		err |= load_file(&cfg->extensions, dir, "extensions.conf", false, diags);
	}
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
	if (dialplan_load(&cfg->dialplan, cfg->extensions ? cfg->extensions : empty_ext, line_vars,
			  diags))
		err = EINVAL;
	if (cfg->peers && cfg->dialplan) {
		if (entry_contexts(cfg->peers, &entries, &nentries)) {
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
	if (err) {
		mem_deref(cfg);
		return err == ENOMEM ? ENOMEM : EINVAL;
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
