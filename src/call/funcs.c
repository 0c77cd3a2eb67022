/* funcs: the dialplan functions a call answers itself: DB() and its family on the state store,
 * SIP_HEADER()/PJSIP_HEADER(), CONFBRIDGE_INFO(), BLACKLIST(), PHONEBOOK(), SCREEN(). */
#include <errno.h>
#include <stdio.h>

#include "call_int.h"
#include "astdb.h"
#include "cfg.h"
#include "screen.h"
#include "vm.h"

#define LOG_MODULE "call"

/* DB(), DB_EXISTS(), DB_DELETE(), DB_KEYS(), DB_KEYCOUNT() on the state store (docs/DIALPLAN.md),
 * then the functions of call_eng_set_funcs; ENOENT for any other name. */
static int db_func_h(struct call *c, struct pbx_chan *ch, const char *name, const char *args,
		     struct mbuf *out)
{
	struct mbuf result;
	bool set = false;
	int err;

	if (!c->eng->store || strncasecmp(name, "DB", 2))
		return c->eng->func_read_h ? c->eng->func_read_h(pbx_chan_context(ch), name, args,
								 out, c->eng->func_arg)
					   : ENOENT;
	mbuf_init(&result);
	err = astdb_func_read(c->eng->store, name, args, out, &result, &set);
	if (!err && set && !mbuf_write(&result, "", 1))
		err = pbx_chan_set_var(ch, "DB_RESULT", (const char *)result.buf);
	mbuf_reset(&result);
	return err;
}

/* Set(DB(family/key)=value), Set(DB_DELETE(family/key)=), DBdel, DBdeltree; then the functions
 * of call_eng_set_funcs (Set(DEVICE_STATE(Custom:NAME)=...)). */
/* ---- GROUP(), GROUP_COUNT(): Asterisk's call counting by group (e.g. at most two calls out at
 * once: Set(GROUP()=out), then GotoIf($[${GROUP_COUNT(out)} > 2]?busy)). A call is in at most
 * one group per category (CALL_GROUPS_MAX categories); a call that ended counts no more. */

/* The call's slot for category (""), or NULL. */
static char *group_slot(struct call *c, const char *cat, bool make)
{
	size_t cl = strlen(cat);

	for (size_t i = 0; i < CALL_GROUPS_MAX; i++) {
		const char *at = strrchr(c->groups[i], '@');

		if (at && strlen(at + 1) == cl && !strcasecmp(at + 1, cat))
			return c->groups[i];
	}
	if (!make)
		return NULL;
	for (size_t i = 0; i < CALL_GROUPS_MAX; i++) {
		if (!c->groups[i][0])
			return c->groups[i];
	}
	return NULL;
}

static int group_write(struct call *c, const char *cat, const char *value, size_t vlen)
{
	char *slot = group_slot(c, cat, vlen > 0);
	size_t cl = strlen(cat);

	if (!vlen) { /* Set(GROUP()=): out of the group */
		if (slot)
			slot[0] = '\0';
		return 0;
	}
	if (!slot) {
		log_warn("GROUP(%s): a call is in at most %d groups; ignored", cat, CALL_GROUPS_MAX);
		return 0;
	}
	if (vlen + 1 + cl >= sizeof(c->groups[0]) || memchr(value, '@', vlen)) {
		log_warn("GROUP(%s): bad group name '%.*s'; ignored", cat, (int)vlen, value);
		return 0;
	}
	memcpy(slot, value, vlen);
	slot[vlen] = '@';
	memcpy(slot + vlen + 1, cat, cl + 1);
	return 0;
}

/* GROUP_COUNT([name][@category]): calls in progress in that group (no name: the call's own
 * group of that category). */
static int group_count(struct call *c, const char *args, struct mbuf *out)
{
	char want[96];
	const char *at = strchr(args, '@');
	size_t n = 0;

	if (at == args || !*args) { /* the call's own group of that category */
		const char *own = group_slot(c, at ? at + 1 : "", false);

		if (!own)
			return mbuf_write_str(out, "0");
		str_copy(want, sizeof(want), own);
	} else if (at) {
		str_copy(want, sizeof(want), args);
	} else {
		str_cat(want, sizeof(want), args, "@", NULL);
	}
	LIST_FOREACH (&c->eng->calls, le) {
		const struct call *x = le->data;

		if (x->state == CALL_ENDING)
			continue;
		for (size_t i = 0; i < CALL_GROUPS_MAX; i++) {
			if (x->groups[i][0] && !strcasecmp(x->groups[i], want)) {
				n++;
				break;
			}
		}
	}
	return mbuf_write_u64(out, n);
}

int call_dp_func_write(struct pbx_chan *ch, const char *name, const char *args, const char *value,
		       size_t vlen, void *arg)
{
	struct call *c = arg;
	int err;

	if (!strcasecmp(name, "GROUP"))
		return group_write(c, args, value, vlen);
	err = c->eng->store ? astdb_func_write(c->eng->store, name, args, value, vlen) : ENOENT;

	(void)ch;
	if (err == ENOENT && c->eng->func_write_h)
		err = c->eng->func_write_h(name, args, value, vlen, c->eng->func_arg);
	return err;
}

/* SIP_HEADER(name[,n]) and PJSIP_HEADER(read,name[,n|*]): the n-th (default first) header of
 * that name (long or compact form) in the caller's INVITE; '*' joins them all with ','. */
static int sip_header_read(struct call *c, const char *args, bool pjsip, struct mbuf *out)
{
	const struct sip_msg *inv = c->init_req ? c->init_req : (c->a ? c->a->inv : NULL);
	char buf[256];
	char *f[3] = {NULL, NULL, NULL};
	size_t nf = 0;
	struct pl name;
	enum sip_hdr_id id;
	long want = 1;
	bool all = false;
	long k = 0;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *p = buf, *save = NULL; nf < 3 && (p = strtok_r(p, ",", &save)); p = NULL)
		f[nf++] = p;
	if (pjsip) {
		struct pl act = pl_from_str(f[0] ? f[0] : "");

		pl_trim(&act);
		if (!pl_caseeq_str(&act, "read")) {
			log_warn("PJSIP_HEADER(%s): only 'read' is a read; 'add', 'update' and "
				 "'remove' are written with Set()", args);
			return 0;
		}
		memmove(f, f + 1, 2 * sizeof(*f));
		f[2] = NULL;
	}
	name = pl_from_str(f[0] ? f[0] : "");
	pl_trim(&name);
	if (!name.l) {
		log_warn("%s(): needs a header name", pjsip ? "PJSIP_HEADER" : "SIP_HEADER");
		return 0;
	}
	if (f[1]) {
		struct pl n = pl_from_str(f[1]);

		pl_trim(&n);
		all = pjsip && pl_eq_str(&n, "*");
		want = all ? 0 : (n.l ? strtol(n.p, NULL, 10) : 1);
		if (!all && want < 1)
			return 0;
	}
	if (!inv)
		return 0;
	id = sip_hdr_lookup(&name);
	for (size_t i = 0; i < inv->nhdrs; i++) {
		const struct sip_hdr *h = &inv->hdrs[i];
		bool match = id != SIP_HDR_OTHER ? h->id == id
						 : h->name.l == name.l && !pl_casecmp(&h->name, &name);

		if (!match)
			continue;
		k++;
		if (all) {
			if ((k > 1 && mbuf_write(out, ",", 1)) || mbuf_write_pl(out, &h->value))
				return ENOMEM;
		} else if (k == want) {
			return mbuf_write_pl(out, &h->value);
		}
	}
	return 0;
}

/* VM_INFO(mailbox[@context],attribute[,folder]) as Asterisk 13+: exists (1/0), count (messages
 * in folder, default INBOX), fullname, email, pager, password; language, locale and tz are not
 * kept per box here and read "". MAILBOX_EXISTS(mailbox[@context]) is the older spelling of
 * exists. An unknown box reads "" (count 0, exists 0). */
static int vm_info_read(struct call *c, const char *args, bool exists_only, struct mbuf *out)
{
	char spec[160], box[80], ctx[80];
	const char *attr = "exists", *folder = "";
	char *comma;
	const struct vm_box *b = NULL;

	snprintf(spec, sizeof(spec), "%s", args);
	if ((comma = strchr(spec, ','))) {
		*comma = '\0';
		attr = comma + 1;
		if ((comma = strchr(comma + 1, ','))) {
			*comma = '\0';
			folder = comma + 1;
		}
	}
	while (*attr == ' ')
		attr++;
	if (exists_only)
		attr = "exists";
	if (c->eng->vm && vm_box_parse(spec, box, sizeof(box), ctx, sizeof(ctx)) == 0)
		b = vm_box_find(c->eng->vm, box, ctx);
	if (!strcasecmp(attr, "exists"))
		return mbuf_write_str(out, b ? "1" : "0");
	if (!strcasecmp(attr, "count")) {
		enum vm_folder f = VM_INBOX;
		char n[16];

		if (*folder && !strcasecmp(folder, vm_folder_name(VM_OLD)))
			f = VM_OLD;
		else if (*folder && strcasecmp(folder, vm_folder_name(VM_INBOX))) {
			log_warn("VM_INFO: folder '%s' is not kept (INBOX and Old are); counting 0",
				 folder);
			return mbuf_write_str(out, "0");
		}
		snprintf(n, sizeof(n), "%u", b ? vm_folder_count(c->eng->vm, b, f) : 0);
		return mbuf_write_str(out, n);
	}
	if (!b)
		return 0;
	if (!strcasecmp(attr, "fullname"))
		return mbuf_write_str(out, b->fullname ? b->fullname : "");
	if (!strcasecmp(attr, "email"))
		return mbuf_write_str(out, b->email ? b->email : "");
	if (!strcasecmp(attr, "pager"))
		return mbuf_write_str(out, b->pager ? b->pager : "");
	if (!strcasecmp(attr, "password"))
		return mbuf_write_str(out, b->password ? b->password : "");
	if (strcasecmp(attr, "language") && strcasecmp(attr, "locale") && strcasecmp(attr, "tz"))
		log_warn("VM_INFO: unknown attribute '%s'", attr);
	return 0;
}

/* BLACKLIST(), PHONEBOOK([number]), SCREEN() for extensions.conf; then the database's. */
int call_dp_func_read(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out,
		      void *arg)
{
	struct call *c = arg;
	const char *num = pbx_chan_callerid_num(ch);

	if (!strcasecmp(name, "CONFBRIDGE_INFO"))
		return call_conf_info(c->eng, args, out);
	if (!strcasecmp(name, "VM_INFO") || !strcasecmp(name, "MAILBOX_EXISTS"))
		return vm_info_read(c, args, name[0] == 'M' || name[0] == 'm', out);
	if (!strcasecmp(name, "GROUP")) {
		const char *g = group_slot(c, args, false);

		return g ? mbuf_write(out, g, (size_t)(strrchr(g, '@') - g)) : 0;
	}
	if (!strcasecmp(name, "GROUP_COUNT"))
		return group_count(c, args, out);
	if (!strcasecmp(name, "SIP_HEADER") || !strcasecmp(name, "PJSIP_HEADER"))
		return sip_header_read(c, args, name[0] == 'P' || name[0] == 'p', out);
	if (!strcasecmp(name, "BLACKLIST")) {
		/* Asterisk's: 1 when the caller's number is in the block list. */
		struct screen_verdict v;

		char n[SCREEN_NUM_MAX];

		(void)v;
		return mbuf_write_str(out, screen_number_norm(num, strlen(num), n, sizeof(n)) == 0 &&
						   screen_db_blocked(c->eng->screen, n)
					       ? "1"
					       : "0");
	}
	if (!strcasecmp(name, "PHONEBOOK")) {
		char n[SCREEN_NUM_MAX];
		const char *nm = NULL;

		if (screen_number_norm(args[0] ? args : num, strlen(args[0] ? args : num), n,
				       sizeof(n)) == 0)
			nm = screen_db_name(c->eng->screen, n);
		return nm ? mbuf_write_str(out, nm) : 0;
	}
	if (!strcasecmp(name, "SCREEN")) {
		/* SCREEN(): allow, reject or voicemail for this call under [screening];
		 * SCREEN(reason): the caller's reason; SCREEN(why): why that verdict. */
		struct screen_verdict v;

		screen_decide(c->cfg->screen, c->eng->screen, c->called, c->reason ? "" : num,
			      (enum screen_reason)c->reason, &v);
		if (!strcasecmp(args, "reason"))
			return mbuf_write_str(out, screen_reason_name((enum screen_reason)c->reason));
		if (!strcasecmp(args, "why"))
			return mbuf_write_str(out, v.why);
		return mbuf_write_str(out, v.action == SCREEN_REJECT	  ? "reject"
					   : v.action == SCREEN_VOICEMAIL ? "voicemail"
									  : "allow");
	}
	return db_func_h(c, ch, name, args, out);
}

