/* reg: the registration module's object: settings from mikaka.conf [registrar], start, reload,
 * the live state shown by `sip show peers|peer|registry`, the discovered line, and the ban's
 * control commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#define LOG_MODULE "reg"
#include "ctl.h"
#include "line.h"
#include "reg_int.h"

#define PURGE_MS 60000

/* ---------------------------------------------------------------------------------------------
 * Settings.
 */
void reg_settings_default(struct reg_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->ban_failures = 10;
	set->ban_window = 60;
	set->ban_time = 900;
	set->ban_max = 65536;
	set->max_contacts = 10;
	reg_digest_set_default(&set->digest);
	set->backoff_min = 30;
	set->backoff_max = 1800;
	set->resolve = reg_resolve_getaddrinfo;
}

static int parse_algorithms(const struct conf_var *v, struct reg_settings *set,
			    struct conf_diags *diags)
{
	const char *p = v->value;
	unsigned algs = 0;
	bool first_seen = false;

	while (*p) {
		size_t n = strcspn(p, ", \t");

		if ((n == 7 && !strncasecmp(p, "sha-256", 7)) ||
		    (n == 6 && !strncasecmp(p, "sha256", 6))) {
			algs |= REG_ALG_SHA256;
			if (!first_seen)
				set->digest.sha256_first = true;
			first_seen = true;
		} else if (n == 3 && !strncasecmp(p, "md5", 3)) {
			algs |= REG_ALG_MD5;
			if (!first_seen)
				set->digest.sha256_first = false;
			first_seen = true;
		} else if (n) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[registrar] digest_algorithms: '%.*s' is not md5 or sha-256",
				      (int)n, p);
			return EINVAL;
		}
		p += n;
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
	}
	if (!algs) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[registrar] digest_algorithms: name at least one of md5, sha-256");
		return EINVAL;
	}
	set->digest.algorithms = algs;
	return 0;
}

int reg_settings_load(struct reg_settings *set, const struct conf *mikakaconf,
		      struct conf_diags *diags)
{
	const struct conf_section *sec;
	int err = 0;

	reg_settings_default(set);
	sec = mikakaconf ? conf_section_find(mikakaconf, "registrar") : NULL;
	if (!sec)
		return 0;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;

		if (!strcasecmp(k, "ban_failures"))
			err |= conf_var_u32(v, "registrar", 0, 1000000, &set->ban_failures, diags);
		else if (!strcasecmp(k, "ban_window"))
			err |= conf_var_u32(v, "registrar", 1, 86400, &set->ban_window, diags);
		else if (!strcasecmp(k, "ban_time"))
			err |= conf_var_u32(v, "registrar", 1, 86400 * 30, &set->ban_time, diags);
		else if (!strcasecmp(k, "ban_max"))
			err |= conf_var_u32(v, "registrar", 16, 10000000, &set->ban_max, diags);
		else if (!strcasecmp(k, "nonce_lifetime"))
			err |= conf_var_u32(v, "registrar", 5, 86400, &set->digest.nonce_lifetime,
					    diags);
		else if (!strcasecmp(k, "max_contacts"))
			err |= conf_var_u32(v, "registrar", 1, 100, &set->max_contacts, diags);
		else if (!strcasecmp(k, "register_backoff_min"))
			err |= conf_var_u32(v, "registrar", 1, 3600, &set->backoff_min, diags);
		else if (!strcasecmp(k, "register_backoff_max"))
			err |= conf_var_u32(v, "registrar", 1, 86400, &set->backoff_max, diags);
		else if (!strcasecmp(k, "digest_algorithms"))
			err |= parse_algorithms(v, set, diags);
		else if (!strcasecmp(k, "line_number")) {
			if (strlen(v->value) >= sizeof(set->line_number) || !*v->value ||
			    strspn(v->value, "0123456789") != strlen(v->value)) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[registrar] line_number: '%s' is not a telephone "
					      "number (digits)",
					      v->value);
				err |= EINVAL;
			} else {
				snprintf(set->line_number, sizeof(set->line_number), "%s",
					 v->value);
			}
		} else
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[registrar] unknown key '%s'; ignored", k);
	}
	if (set->backoff_max < set->backoff_min) {
		conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[registrar] register_backoff_max (%u) is below register_backoff_min "
			      "(%u)",
			      set->backoff_max, set->backoff_min);
		err |= EINVAL;
	}
	return err ? EINVAL : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Object.
 */
int64_t reg_now_unix(const struct reg *reg)
{
	return reg->wall0 + (int64_t)((loop_now(reg->loop) - reg->mono0) / 1000);
}

static void purge_h(void *arg)
{
	struct reg *reg = arg;

	reg_bans_purge(&reg->bans, loop_now(reg->loop));
	loop_timer_start(reg->loop, &reg->purge_tmr, PURGE_MS, purge_h, reg);
}

int reg_alloc(struct reg **rp, struct loop *loop, struct sip_stack *stack, struct store *store,
	      struct sipcfg *cfg, const struct reg_settings *set)
{
	struct reg *reg;
	int err;

	if (!rp || !loop || !stack || !cfg)
		return EINVAL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return ENOMEM;
	reg->loop = loop;
	reg->stack = stack;
	reg->store = store;
	reg->cfg = mem_ref(cfg);
	if (set)
		reg->set = *set;
	else
		reg_settings_default(&reg->set);
	reg_nonce_key_init(&reg->nkey);
	list_init(&reg->pending);
	list_init(&reg->outs);
	reg->wall0 = (int64_t)time(NULL);
	reg->mono0 = loop_now(loop);
	err = reg_bans_init(&reg->bans, reg->set.ban_failures, reg->set.ban_window,
			    reg->set.ban_time, reg->set.ban_max);
	if (!err)
		err = htab_init(&reg->aors, 256);
	if (err)
		goto fail;
	reg_bindings_load(reg);
	sip_transp_set_close_h(sip_stack_transp(stack), reg_flow_closed, reg);
	err = reg_lineid_update(reg, NULL);
	if (!err)
		err = reg_outs_start(reg);
	if (err)
		goto fail;
	loop_timer_start(loop, &reg->purge_tmr, PURGE_MS, purge_h, reg);
	*rp = reg;
	return 0;

fail:
	reg_free(reg);
	return err;
}

void reg_free(struct reg *reg)
{
	if (!reg)
		return;
	/* Writes still queued in the store will call back after this: they only free. */
	while (reg->pending.head) {
		struct reg_pending *p = reg->pending.head->data;

		list_unlink(&p->le);
		p->reg = NULL;
		p->st = NULL;
	}
	if (reg->stack)
		sip_transp_set_close_h(sip_stack_transp(reg->stack), NULL, NULL);
	reg_outs_free(reg);
	reg_lineid_free(reg);
	if (reg->aors.buckets)
		reg_aors_free_all(reg);
	htab_reset(&reg->aors);
	reg_bans_reset(&reg->bans);
	loop_timer_cancel(&reg->purge_tmr);
	mem_deref(reg->cfg);
	free(reg);
}

int reg_reconfigure(struct reg *reg, struct sipcfg *newcfg, const struct reg_settings *set)
{
	struct sipcfg *old;
	bool moved = false;
	int err;

	if (!reg || !newcfg)
		return EINVAL;
	old = reg->cfg;
	reg->cfg = mem_ref(newcfg);
	if (set) {
		reg->set = *set;
		reg->bans.failures = set->ban_failures;
		reg->bans.window_ms = (uint64_t)set->ban_window * 1000;
		reg->bans.ban_ms = (uint64_t)set->ban_time * 1000;
		reg->bans.max = set->ban_max ? set->ban_max : 1;
	}
	reg_bindings_prune(reg);
	err = reg_lineid_update(reg, &moved);
	if (!err)
		err = reg_outs_reconfigure(reg);
	if (!err && moved)
		reg_outs_line_changed(reg, true);
	mem_deref(old);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Live state for the peer listings.
 */
void reg_peer_state(const struct peer *peer, struct peer_live *out, void *arg)
{
	struct reg *reg = arg;
	struct reg_aor *aor = reg ? reg_aor_find(reg, peer->name) : NULL;
	const struct reg_contact *c;
	int best = 0;
	bool down = false;

	if (!aor || !aor->contacts.count)
		return;
	c = aor->contacts.head->data; /* the most recent registration */
	out->addr = c->source;
	out->transport = sip_transport_name(c->tp ? c->tp : SIP_TP_UDP);
	snprintf(out->username, sizeof(out->username), "%s", peer->name);
	snprintf(out->useragent, sizeof(out->useragent), "%s", c->user_agent);
	if (aor->contacts.count > 1)
		snprintf(out->contact, sizeof(out->contact), "%s (+%zu more)", c->uri,
			 aor->contacts.count - 1);
	else
		snprintf(out->contact, sizeof(out->contact), "%s", c->uri);
	LIST_FOREACH(&aor->contacts, le)
	{
		const struct reg_contact *x = le->data;

		if (out->nbindings < PEER_LIVE_BINDINGS) {
			struct peer_binding *b = &out->bindings[out->nbindings];

			b->addr = x->source;
			b->transport = sip_transport_name(x->tp ? x->tp : SIP_TP_UDP);
			snprintf(b->useragent, sizeof(b->useragent), "%s", x->user_agent);
			snprintf(b->contact, sizeof(b->contact), "%s", x->uri);
			b->expires_in = x->expires - reg_now_unix(reg);
			if (b->expires_in < 0)
				b->expires_in = 0;
			b->lastms = x->lastms;
		}
		out->nbindings++;
		if (x->lastms > 0 && (best <= 0 || x->lastms < best))
			best = x->lastms;
		else if (x->lastms < 0)
			down = true;
	}
	out->lastms = best > 0 ? best : down ? -1 : 0;
	{
		/* NAT: the Contact names another address than the packets came from. */
		struct sip_uri u;
		struct pl text = pl_from_str(c->uri);
		char ip[SA_STRLEN];

		sa_ntop(&c->source, ip, sizeof(ip));
		out->nat = !sip_uri_decode(&u, &text) &&
			   (!pl_eq_str(&u.host, ip) ||
			    (u.port ? u.port : SIP_PORT_DEFAULT) != sa_port(&c->source));
	}
}

/* ---------------------------------------------------------------------------------------------
 * The discovered line.
 */
/* Discovery's values in, a new decision, the registrations follow. */
static void found_set(struct reg *reg, const struct reg_line_found *f)
{
	bool moved = false;

	if (!f->up && reg->found.up)
		log_notice("line lost: the line is what the configuration names, if anything");
	reg->found = *f;
	if (!reg->found.up)
		memset(&reg->found, 0, sizeof(reg->found));
	if (reg_lineid_update(reg, &moved))
		return;
	reg_outs_line_changed(reg, moved);
}

void reg_line_changed(struct reg *reg, const char *number, const char *domain,
		      const struct sa *server, const struct sa *local_addr)
{
	struct reg_line_found f;

	if (!reg)
		return;
	memset(&f, 0, sizeof(f));
	f.up =
	    domain && *domain && server && sa_isset(server) && local_addr && sa_isset(local_addr);
	if (f.up) {
		if (number && *number) {
			snprintf(f.numbers[0], sizeof(f.numbers[0]), "%s", number);
			f.nnumbers = 1;
		}
		snprintf(f.domain, sizeof(f.domain), "%s", domain);
		f.server = *server;
		if (!sa_port(&f.server))
			sa_set_port(&f.server, SIP_PORT_DEFAULT);
		f.local = *local_addr;
	}
	found_set(reg, &f);
}

void reg_line_change_h(const struct line_info *info, unsigned changes, void *arg)
{
	const struct line_lease *l = &info->lease;
	struct reg_line_found f;

	if (!arg)
		return;
	memset(&f, 0, sizeof(f));
	if (info->bound && !(changes & LINE_CHG_LOST) && l->nsip_servers && l->domain[0] &&
	    l->address.s_addr) {
		f.up = true;
		for (size_t i = 0; i < l->nnumbers && f.nnumbers < REG_LINE_NUMBERS_MAX; i++)
			snprintf(f.numbers[f.nnumbers++], sizeof(f.numbers[0]), "%s",
				 l->numbers[i]);
		snprintf(f.domain, sizeof(f.domain), "%s", l->domain);
		f.server.u.in.sin_family = AF_INET;
		f.server.u.in.sin_addr = l->sip_servers[0];
		f.server.u.in.sin_port = htons(SIP_PORT_DEFAULT);
		f.server.len = sizeof(f.server.u.in);
		f.local = f.server;
		f.local.u.in.sin_addr = l->address;
		f.local.u.in.sin_port = 0;
	}
	found_set(arg, &f);
}

/* ---------------------------------------------------------------------------------------------
 * The ban, for others and the CLI.
 */
bool reg_is_banned(struct reg *reg, const struct sa *addr)
{
	return reg && reg_bans_banned(&reg->bans, addr, loop_now(reg->loop));
}

void reg_auth_failed(struct reg *reg, const struct sa *addr)
{
	char buf[SA_STRLEN];

	if (reg)
		reg->n_auth_failed++;
	if (reg && reg_bans_fail(&reg->bans, addr, loop_now(reg->loop)))
		log_warn("%s banned for %u s after %u failed authentications",
			 sa_ntop(addr, buf, sizeof(buf)), reg->set.ban_time, reg->set.ban_failures);
}

int reg_show_bans(struct reg *reg, struct mbuf *out)
{
	uint64_t now = loop_now(reg->loop);
	size_t banned = 0;

	mbuf_printf(out, "%-40s %-8s %s\n", "Address", "Failures", "Banned for");
	LIST_FOREACH(&reg->bans.order, le)
	{
		const struct reg_ban_entry *e = le->data;
		char ip[SA_STRLEN];
		struct sa sa;

		if (!e->banned_until || e->banned_until <= now)
			continue;
		memset(&sa, 0, sizeof(sa));
		if (!memcmp(e->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			sa.u.in.sin_family = AF_INET;
			memcpy(&sa.u.in.sin_addr, e->addr + 12, 4);
			sa.len = sizeof(sa.u.in);
		} else {
			sa.u.in6.sin6_family = AF_INET6;
			memcpy(&sa.u.in6.sin6_addr, e->addr, 16);
			sa.len = sizeof(sa.u.in6);
		}
		mbuf_printf(out, "%-40s %-8u %llu s\n", sa_ntop(&sa, ip, sizeof(ip)), e->failures,
			    (unsigned long long)((e->banned_until - now + 999) / 1000));
		banned++;
	}
	return mbuf_printf(out,
			   "%zu banned address%s (%zu tracked; %u failures in %u s ban for "
			   "%u s)\n",
			   banned, banned == 1 ? "" : "es", reg_bans_count(&reg->bans),
			   reg->set.ban_failures, reg->set.ban_window, reg->set.ban_time);
}

int reg_unban(struct reg *reg, const char *addr)
{
	struct sa sa;

	if (!addr || sa_set_str(&sa, addr, 0))
		return EINVAL;
	return reg_bans_remove(&reg->bans, &sa);
}

static int cmd_show_bans(struct mbuf *out, int argc, char **argv, void *arg)
{
	return reg_show_bans(arg, out);
}

static int cmd_unban(struct mbuf *out, int argc, char **argv, void *arg)
{
	int err;

	if (argc != 1) {
		mbuf_write_str(out, "usage: sip unban ADDRESS\n");
		return EINVAL;
	}
	err = reg_unban(arg, argv[0]);
	if (err == EINVAL)
		mbuf_printf(out, "'%s' is not an IP address\n", argv[0]);
	else if (err == ENOENT)
		mbuf_printf(out, "%s is not banned\n", argv[0]);
	else
		mbuf_printf(out, "%s unbanned\n", argv[0]);
	return err;
}

int reg_ctl_register(struct ctl *ctl, struct reg *reg)
{
	const struct ctl_cmd cmds[] = {
	    {"sip show bans", "addresses banned for failed authentications", cmd_show_bans, reg},
	    {"sip unban", "lift the ban on an address: sip unban ADDRESS", cmd_unban, reg},
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(ctl, &cmds[i]);
	return err;
}
