/* blf: dialog and presence subscriptions to hints, their state from the registrar and the call
 * engine, and the CLI listings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "astdb.h"
#include "blf.h"
#include "call.h"
#include "cfg.h"
#include "evsub.h"
#include "loop.h"
#include "pbx.h"
#include "peer.h"
#include "reg.h"
#include "sip.h"
#include "store.h"

#define LOG_MODULE "blf"

/* What a subscription watches: evsub_user() holds the state last sent plus one (0: none). */

struct blf {
	struct loop *loop;
	struct sip_stack *stack;
	struct reg *reg;
	struct call_eng *calls;
	blf_auth_h *auth;
	void *auth_arg;
	struct cfg *cfg; /* referenced */
	struct evsub_set *subs;
	struct loop_timer tmr; /* coalesces changes: one pass per loop turn */
	struct store *store;   /* custom device states (NULL: none) */
};

/* ---- states --------------------------------------------------------------------------------- */

#define CUSTOM_PREFIX "Custom:"
#define CUSTOM_PLEN   (sizeof(CUSTOM_PREFIX) - 1)

/* Custom:NAME's state as last set (UNKNOWN when never set, as Asterisk's). */
static enum blf_devstate custom_state(const struct blf *b, const char *name, size_t len)
{
	enum blf_devstate st = BLF_DEV_UNKNOWN;
	char nm[ASTDB_KEY_MAX + 1];
	struct mbuf v;

	if (!b->store || len >= sizeof(nm))
		return st;
	memcpy(nm, name, len);
	nm[len] = '\0';
	mbuf_init(&v);
	if (astdb_get(b->store, BLF_CUSTOM_FAMILY, nm, &v) == 0 && !mbuf_write(&v, "", 1) &&
	    blf_devstate_parse((const char *)v.buf, &st))
		st = BLF_DEV_UNKNOWN;
	mbuf_reset(&v);
	return st;
}

static enum blf_devstate device_state(const struct blf *b, const char *dev, size_t len)
{
	const char *sl = memchr(dev, '/', len);
	const struct peer *p;
	char name[64];
	bool reachable;

	if (len > CUSTOM_PLEN && !strncasecmp(dev, CUSTOM_PREFIX, CUSTOM_PLEN))
		return custom_state(b, dev + CUSTOM_PLEN, len - CUSTOM_PLEN);

	if (!dialplan_hint_tech_ok(dev, len) || !sl)
		return BLF_DEV_INVALID;
	if ((size_t)(dev + len - sl - 1) >= sizeof(name))
		return BLF_DEV_INVALID;
	snprintf(name, sizeof(name), "%.*s", (int)(dev + len - sl - 1), sl + 1);
	p = b->cfg ? peer_find(b->cfg->peers, name) : NULL;
	if (!p)
		return BLF_DEV_INVALID;
	/* A fixed host= is there as far as we know (Asterisk says the same without qualify). */
	reachable = !p->dynamic || (b->reg && reg_contact_count(b->reg, p->name) > 0);
	return blf_device_state(true, reachable, call_eng_peer_busy(b->calls, p->name));
}

unsigned blf_hint_state(const struct blf *b, const char *devices)
{
	enum blf_devstate st[BLF_DEVICES_MAX];
	size_t n = 0;

	for (const char *p = devices; p && *p && n < BLF_DEVICES_MAX;) {
		size_t len = strcspn(p, "&");
		struct pl dev = pl_from(p, len);

		pl_trim(&dev);
		st[n++] = device_state(b, dev.p, dev.l);
		p += len;
		if (*p == '&')
			p++;
	}
	return blf_aggregate(st, n);
}

/* The state of what s watches now (Unavailable when its hint is gone). */
static unsigned sub_state(const struct blf *b, const struct evsub *s)
{
	const char *h = b->cfg ? dialplan_hint(b->cfg->dialplan, evsub_ctx(s), evsub_res(s)) : NULL;

	return h ? blf_hint_state(b, h) : BLF_EXT_UNAVAILABLE;
}

/* The ringing dialog at one of a hint's SIP/PJSIP devices (notifycid=). */
static bool hint_ringing(const struct blf *b, const char *devices, struct blf_ringing *r)
{
	for (const char *p = devices; p && *p;) {
		size_t len = strcspn(p, "&");
		struct pl dev = pl_from(p, len);
		const char *sl;

		pl_trim(&dev);
		sl = pl_chr(&dev, '/');
		if (sl && dialplan_hint_tech_ok(dev.p, dev.l)) {
			char name[64];
			struct call_ringing cr;

			snprintf(name, sizeof(name), "%.*s", (int)(dev.p + dev.l - sl - 1), sl + 1);
			if (call_eng_peer_ringing(b->calls, name, &cr)) {
				r->call_id = cr.call_id;
				r->local_tag = cr.local_tag;
				r->remote_tag = cr.remote_tag;
				r->caller_num = cr.caller_num;
				r->caller_name = cr.caller_name;
				return true;
			}
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return false;
}

/* What watchers are told (notifyringing=, notifyhold=); `core show hints` shows the state
 * itself. */
static unsigned sent_state(const struct blf *b, unsigned st)
{
	const struct sipcfg_general *g = b->cfg ? sipcfg_general(b->cfg->peers) : NULL;

	return g ? blf_notified_state(st, g->notifyringing, g->notifyhold) : st;
}

/* What s is to be told now: the state (and, for a ringing dialog watcher under notifycid=, the
 * ringing dialog in *r), and a key that changes whenever the NOTIFY would (the dialog's tags
 * arrive with the phone's 180, after the lamp went ringing). */
#define KEY_CID 0x100u
static unsigned view_of(const struct blf *b, struct evsub *s, unsigned *st, struct blf_ringing *r,
			bool *has_r)
{
	*st = sent_state(b, sub_state(b, s));
	*has_r = false;
	if ((*st & BLF_EXT_RINGING) && b->cfg && sipcfg_general(b->cfg->peers)->notifycid &&
	    strcmp(evsub_event_name(s), "presence")) {
		const char *h = dialplan_hint(b->cfg->dialplan, evsub_ctx(s), evsub_res(s));

		*has_r = h && hint_ringing(b, h, r);
	}
	return (*st | (*has_r ? KEY_CID : 0)) + 1;
}

static int body_h(struct evsub *s, struct mbuf *body, const char **ctype, void *arg)
{
	struct blf *b = arg;
	struct blf_ringing r;
	unsigned st;
	bool has_r;

	*evsub_user(s) = view_of(b, s, &st, &r, &has_r);
	if (!strcmp(evsub_event_name(s), "presence")) {
		*ctype = "application/pidf+xml";
		return blf_pidf_body(body, evsub_our_uri(s), evsub_res(s), st);
	}
	*ctype = "application/dialog-info+xml";
	return blf_dialog_body_cid(body, evsub_our_uri(s), evsub_res(s), evsub_seq(s), st,
				   has_r ? &r : NULL);
}

static void check_one(struct evsub *s, void *arg)
{
	struct blf *b = arg;
	struct blf_ringing r;
	unsigned st;
	bool has_r;

	if (*evsub_user(s) != view_of(b, s, &st, &r, &has_r))
		evsub_notify(s);
}

static void changed_tmr_h(void *arg)
{
	struct blf *b = arg;

	evsub_foreach(b->subs, check_one, b);
}

/* A device may have changed (a call leg, a registration): looked at once this loop turn is
 * over, and only when someone watches. */
static void changed_h(const char *peer, void *arg)
{
	struct blf *b = arg;

	(void)peer;
	if (!loop_timer_active(&b->tmr) && evsub_count(b->subs, NULL, NULL))
		loop_timer_start(b->loop, &b->tmr, 0, changed_tmr_h, b);
}

/* ---- SUBSCRIBE ------------------------------------------------------------------------------ */

/* Whether the Accept headers (none: the package's default) admit ctype. */
static bool accepts(const struct sip_msg *msg, const char *ctype)
{
	struct sip_hdr_iter it;
	struct pl v;
	bool any = false;

	sip_hdr_iter_init(&it, msg, SIP_HDR_ACCEPT, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		const char *semi = pl_chr(&v, ';');

		if (semi)
			v.l = (size_t)(semi - v.p);
		pl_trim(&v);
		if (!v.l)
			continue;
		any = true;
		if (pl_caseeq_str(&v, ctype) || pl_eq_str(&v, "*/*") ||
		    pl_caseeq_str(&v, "application/*"))
			return true;
	}
	return !any;
}

bool blf_handle_subscribe(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct blf *b = arg;
	const struct peer *p;
	const char *event, *ctype, *context, *hint;
	char exten[80];
	struct pl ev;

	if (!b || !evsub_event(msg, &ev))
		return false;
	if (pl_caseeq_str(&ev, "dialog")) {
		event = "dialog";
		ctype = "application/dialog-info+xml";
	} else if (pl_caseeq_str(&ev, "presence")) {
		event = "presence";
		ctype = "application/pidf+xml";
	} else {
		return false;
	}
	if (pl_isset(&msg->to.tag)) {
		evsub_refresh(b->subs, st, msg);
		return true;
	}
	if (!accepts(msg, ctype)) {
		char extra[80];

		snprintf(extra, sizeof(extra), "Accept: %s\r\n", ctype);
		sip_strans_reply(st, 406, "Not Acceptable", extra, NULL, NULL);
		return true;
	}
	p = b->auth(st, msg, b->auth_arg);
	if (!p)
		return true;
	if (!p->allowsubscribe) {
		log_notice("%s: SUBSCRIBE refused: allowsubscribe=no", p->name);
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return true;
	}
	context = p->subscribecontext ? p->subscribecontext : p->context;
	if (pl_strcpy(&msg->uri.user, exten, sizeof(exten)) || !exten[0]) {
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		return true;
	}
	hint = b->cfg ? dialplan_hint(b->cfg->dialplan, context, exten) : NULL;
	if (!hint) {
		log_notice("%s: SUBSCRIBE to %s: no hint for %s@%s", p->name, event, exten,
			   context);
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		return true;
	}
	evsub_accept(b->subs, st, msg, event, p->name, exten, context,
		     evsub_req_expires(msg, BLF_EXPIRES_DEFAULT));
	return true;
}

/* ---- configuration and life ----------------------------------------------------------------- */

struct gone {
	struct blf *b;
	char res[8][64], ctx[8][64];
	size_t n;
};

static void find_gone(struct evsub *s, void *arg)
{
	struct gone *g = arg;

	if (g->n < 8 && !dialplan_hint(g->b->cfg->dialplan, evsub_ctx(s), evsub_res(s))) {
		snprintf(g->res[g->n], sizeof(g->res[0]), "%s", evsub_res(s));
		snprintf(g->ctx[g->n], sizeof(g->ctx[0]), "%s", evsub_ctx(s));
		g->n++;
	}
}

void blf_set_cfg(struct blf *b, struct cfg *cfg)
{
	struct gone g;

	if (!b)
		return;
	mem_deref(b->cfg);
	b->cfg = cfg ? mem_ref(cfg) : NULL;
	if (!cfg)
		return;
	/* Watchers of a hint that is gone are told the resource is no more (RFC 6665 §4.2.2);
	 * a few at a time, the rest at the next pass. */
	do {
		memset(&g, 0, sizeof(g));
		g.b = b;
		evsub_foreach(b->subs, find_gone, &g);
		for (size_t i = 0; i < g.n; i++)
			evsub_terminate_res(b->subs, g.res[i], g.ctx[i], "noresource");
	} while (g.n == 8);
	changed_h(NULL, b); /* devices may have changed with the peers */
}

int blf_alloc(struct blf **bp, struct loop *loop, struct sip_stack *stack, struct reg *reg,
	      struct call_eng *calls, blf_auth_h *auth, void *auth_arg)
{
	struct blf *b;
	int err;

	if (!bp || !loop || !stack || !auth)
		return EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return ENOMEM;
	b->loop = loop;
	b->stack = stack;
	b->reg = reg;
	b->calls = calls;
	b->auth = auth;
	b->auth_arg = auth_arg;
	loop_timer_init(&b->tmr);
	err = evsub_set_alloc(&b->subs, LOG_MODULE, loop, stack, body_h, b);
	if (err) {
		free(b);
		return err;
	}
	reg_set_change_handler(reg, changed_h, b);
	call_eng_set_change_handler(calls, changed_h, b);
	call_eng_set_funcs(calls, blf_func_read, blf_func_write, b);
	*bp = b;
	return 0;
}

void blf_free(struct blf *b)
{
	if (!b)
		return;
	reg_set_change_handler(b->reg, NULL, NULL);
	call_eng_set_change_handler(b->calls, NULL, NULL);
	call_eng_set_funcs(b->calls, NULL, NULL, NULL);
	loop_timer_cancel(&b->tmr);
	evsub_set_free(b->subs);
	mem_deref(b->cfg);
	free(b);
}

/* ---- custom device states and the dialplan's functions ----------------------------------------
 */

void blf_set_store(struct blf *b, struct store *st)
{
	if (b)
		b->store = st;
}

int blf_custom_set(struct blf *b, const char *name, enum blf_devstate st)
{
	const char *word = blf_devstate_name(st);
	int err;

	if (!b || !name)
		return EINVAL;
	if (!b->store)
		return ENODEV;
	err = astdb_put(b->store, BLF_CUSTOM_FAMILY, name, word, strlen(word));
	if (!err)
		changed_h(NULL, b);
	return err;
}

/* Asterisk's EXTENSION_STATE() words for an extension state. */
static const char *extstate_word(unsigned ext)
{
	switch (ext) {
	case BLF_EXT_NOT_INUSE:
		return "NOT_INUSE";
	case BLF_EXT_INUSE:
		return "INUSE";
	case BLF_EXT_BUSY:
		return "BUSY";
	case BLF_EXT_UNAVAILABLE:
		return "UNAVAILABLE";
	case BLF_EXT_RINGING:
		return "RINGING";
	case BLF_EXT_INUSE | BLF_EXT_RINGING:
		return "RINGINUSE";
	case BLF_EXT_INUSE | BLF_EXT_ONHOLD:
		return "HOLDINUSE";
	case BLF_EXT_ONHOLD:
		return "ONHOLD";
	default:
		return "UNKNOWN";
	}
}

static void trim_copy(char *dst, size_t sz, const char *s, size_t n)
{
	while (n && *s == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;
	snprintf(dst, sz, "%.*s", (int)n, s);
}

int blf_func_read(const char *context, const char *name, const char *args, struct mbuf *out,
		  void *arg)
{
	const struct blf *b = arg;
	char a[256];

	trim_copy(a, sizeof(a), args, strlen(args));
	if (!strcasecmp(name, "DEVICE_STATE"))
		return mbuf_write_str(out, blf_devstate_name(device_state(b, a, strlen(a))));
	if (!strcasecmp(name, "EXTENSION_STATE")) {
		char *at = strchr(a, '@');
		const char *h;

		if (at)
			*at = '\0';
		h = b->cfg ? dialplan_hint(b->cfg->dialplan, at ? at + 1 : context, a) : NULL;
		return mbuf_write_str(out, h ? extstate_word(blf_hint_state(b, h)) : "UNKNOWN");
	}
	return ENOENT;
}

int blf_func_write(const char *name, const char *args, const char *value, size_t vlen, void *arg)
{
	struct blf *b = arg;
	enum blf_devstate st;
	char a[256], v[32];

	if (strcasecmp(name, "DEVICE_STATE"))
		return ENOENT;
	trim_copy(a, sizeof(a), args, strlen(args));
	trim_copy(v, sizeof(v), value, vlen);
	if (strncasecmp(a, CUSTOM_PREFIX, CUSTOM_PLEN) || !a[CUSTOM_PLEN]) {
		log_warn("DEVICE_STATE(%s): only Custom:NAME devices can be set", a);
		return EINVAL;
	}
	if (blf_devstate_parse(v, &st)) {
		log_warn("DEVICE_STATE(%s): '%s' is not a device state", a, v);
		return EINVAL;
	}
	return blf_custom_set(b, a + CUSTOM_PLEN, st);
}

int blf_cmd_devstate_change(struct mbuf *out, int argc, char **argv, void *arg)
{
	enum blf_devstate st;
	int err;

	if (argc != 2 || strncasecmp(argv[0], CUSTOM_PREFIX, CUSTOM_PLEN) ||
	    !argv[0][CUSTOM_PLEN] || blf_devstate_parse(argv[1], &st)) {
		mbuf_write_str(out,
			       "Usage: devstate change <device> <state>\n"
			       "       device: Custom:NAME; state: UNKNOWN NOT_INUSE INUSE BUSY "
			       "INVALID UNAVAILABLE RINGING RINGINUSE ONHOLD\n");
		return EINVAL;
	}
	err = blf_custom_set(arg, argv[0] + CUSTOM_PLEN, st);
	if (err)
		return err;
	return mbuf_printf(out, "Changing %s to %s\n", argv[0], blf_devstate_name(st));
}

struct devlist {
	struct mbuf *out;
};

static int devstate_one(const char *key, const struct pl *value, void *arg)
{
	struct devlist *d = arg;
	const char *name = key + sizeof(BLF_CUSTOM_FAMILY) + 1; /* "/CustomDevstate/" */

	return mbuf_printf(d->out, "--- Name: 'Custom:%s'  State: '%.*s'\n---\n", name,
			   (int)value->l, value->p);
}

int blf_cmd_devstate_list(struct mbuf *out, int argc, char **argv, void *arg)
{
	const struct blf *b = arg;
	struct devlist d = {out};
	int err = 0;

	(void)argc;
	(void)argv;
	mbuf_write_str(out,
		       "\n---------------------------------------------------------------------\n"
		       "--- Custom Device States --------------------------------------------\n"
		       "---------------------------------------------------------------------\n"
		       "---\n");
	if (b->store)
		err = astdb_list(b->store, "/" BLF_CUSTOM_FAMILY, devstate_one, &d);
	mbuf_write_str(out,
		       "---------------------------------------------------------------------\n"
		       "---------------------------------------------------------------------\n\n");
	return err;
}

/* ---- CLI ------------------------------------------------------------------------------------ */

struct hints_ctx {
	const struct blf *b;
	struct mbuf *out;
	size_t n;
};

static int show_hint(const char *context, const char *exten, const char *devices, void *arg)
{
	struct hints_ctx *x = arg;
	char at[160];

	snprintf(at, sizeof(at), "%s@%s", exten, context);
	mbuf_printf(x->out, "%20.20s: %-20.20s  State:%-15.15s Watchers %2zu\n", at, devices,
		    blf_extstate_name(blf_hint_state(x->b, devices)),
		    evsub_count(x->b->subs, exten, context));
	x->n++;
	return 0;
}

int blf_show_hints(const struct blf *b, struct mbuf *out)
{
	struct hints_ctx x = {b, out, 0};

	if (!b || !b->cfg || !b->cfg->dialplan) {
		mbuf_printf(out, "There are no registered dialplan hints\n");
		return 0;
	}
	mbuf_printf(out, "\n    -= Registered Asterisk Dial Plan Hints =-\n");
	dialplan_hint_foreach(b->cfg->dialplan, show_hint, &x);
	mbuf_printf(out, "----------------\n- %zu hints registered\n", x.n);
	return 0;
}

struct subs_ctx {
	const struct blf *b;
	struct mbuf *out;
	size_t n;
};

static void show_sub(struct evsub *s, void *arg)
{
	struct subs_ctx *x = arg;
	const char *ev = evsub_event_name(s), *type, *state = "";
	char addr[SA_STRLEN + 8], ext[140], mbox[140] = "<none>";

	sa_ntop(evsub_source(s), addr, sizeof(addr));
	if (!strcmp(ev, "message-summary")) {
		type = "mwi";
		snprintf(mbox, sizeof(mbox), "%s@%s", evsub_res(s), evsub_ctx(s));
		snprintf(ext, sizeof(ext), "<none>");
	} else {
		type = !strcmp(ev, "presence") ? "pidf+xml" : "dialog-info+xml";
		snprintf(ext, sizeof(ext), "%s@%s", evsub_res(s), evsub_ctx(s));
		if (*evsub_user(s))
			state = blf_extstate_name((*evsub_user(s) - 1) & ~KEY_CID);
	}
	mbuf_printf(x->out, "%-15.15s %-15.15s %-15.15s %-15.15s %-13.13s %-15.15s %-15.15s %6u\n",
		    addr, evsub_peer(s), evsub_callid(s), ext, state, type, mbox,
		    evsub_expires_left(s));
	x->n++;
}

int blf_show_subscriptions(const struct blf *b, struct evsub_set *other, struct mbuf *out)
{
	struct subs_ctx x = {b, out, 0};

	mbuf_printf(out, "%-15.15s %-15.15s %-15.15s %-15.15s %-13.13s %-15.15s %-15.15s %-6.6s\n",
		    "Peer", "User", "Call ID", "Extension", "Last state", "Type", "Mailbox",
		    "Expiry");
	if (b)
		evsub_foreach(b->subs, show_sub, &x);
	evsub_foreach(other, show_sub, &x);
	mbuf_printf(out, "%zu active SIP subscription%s\n", x.n, x.n == 1 ? "" : "s");
	return 0;
}
