/* call cli: the control-socket commands of the call engine and the call records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "ctl.h"
#include "store.h"

struct cdr_out {
	struct mbuf *out;
	bool csv;
	unsigned n;
};

static void fmt_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		buf[0] = '\0';
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A CSV field in double quotes, quotes doubled (Asterisk's Master.csv quotes every text). */
static void csv_field(struct mbuf *out, const struct pl *v, bool last)
{
	mbuf_write_str(out, "\"");
	for (size_t i = 0; v->p && i < v->l; i++) {
		if (v->p[i] == '"')
			mbuf_write_str(out, "\"");
		mbuf_write(out, &v->p[i], 1);
	}
	mbuf_write_str(out, last ? "\"\n" : "\",");
}

static int cdr_each(const struct store_cdr *c, void *arg)
{
	struct cdr_out *o = arg;
	char st[32], an[32], en[32];

	fmt_time(c->start_ms, st, sizeof(st));
	fmt_time(c->answer_ms, an, sizeof(an));
	fmt_time(c->end_ms, en, sizeof(en));
	if (o->csv) {
		struct pl f[] = {PL(""), c->src, c->dst, c->dcontext, c->clid, c->channel,
				 c->dstchannel, c->lastapp, c->lastdata};

		for (size_t i = 0; i < ARRAY_SIZE(f); i++)
			csv_field(o->out, &f[i], false);
		mbuf_printf(o->out, "\"%s\",\"%s\",\"%s\",%lld,%lld,\"%s\",\"DOCUMENTATION\",",
			    st, an, en, (long long)c->duration, (long long)c->billsec,
			    store_cdr_disp_name(c->disposition));
		csv_field(o->out, &c->uniqueid, false);
		/* Asterisk's userfield slot carries the media statistics; our extra columns follow. */
		csv_field(o->out, &c->media, false);
		mbuf_printf(o->out, "%u,", c->hangupcause);
		csv_field(o->out, &c->callid, false);
		csv_field(o->out, &c->dstcallid, true);
	} else {
		mbuf_printf(o->out,
			    "%-20s %-12.*s %-12.*s %-14.*s %-26.*s %-26.*s %-10s %5lld %5lld %5u "
			    "%.*s %.*s %.*s\n",
			    st, PL_ARG(c->src), PL_ARG(c->dst), PL_ARG(c->dcontext),
			    PL_ARG(c->channel), PL_ARG(c->dstchannel),
			    store_cdr_disp_name(c->disposition), (long long)c->duration,
			    (long long)c->billsec, c->hangupcause, PL_ARG(c->callid),
			    c->dstcallid.l ? (int)c->dstcallid.l : 1,
			    c->dstcallid.l ? c->dstcallid.p : "-", PL_ARG(c->media));
	}
	o->n++;
	return 0;
}

int call_cdr_show(struct store *store, unsigned n, struct mbuf *out)
{
	struct cdr_out o = {out, false, 0};

	if (!store)
		return ENOENT;
	mbuf_printf(out, "%-20s %-12s %-12s %-14s %-26s %-26s %-10s %5s %5s %5s %s\n", "Start",
		    "Src", "Dst", "Context", "Channel", "DstChannel", "Disposition", "Dur", "Bill",
		    "Cause", "CallID DstCallID Media");
	int err = store_cdr_list(store, n, cdr_each, &o);

	mbuf_printf(out, "%u record%s\n", o.n, o.n == 1 ? "" : "s");
	return err;
}

int call_cdr_export_csv(struct store *store, struct mbuf *out)
{
	struct cdr_out o = {out, true, 0};

	if (!store)
		return ENOENT;
	return store_cdr_list(store, 0, cdr_each, &o);
}

struct cli_ctx {
	struct call_eng *eng;
	struct store *store;
};

static struct cli_ctx cli_ctx_static;

static int cmd_channels(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;

	if (argc > 1 || (argc == 1 && strcasecmp(argv[0], "verbose")))
		return EINVAL;
	return call_show_channels(x->eng, argc == 1, out);
}

static int cmd_sip_channels(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;

	return call_show_sip_channels(x->eng, out);
}

static int cmd_hangup(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;

	if (argc != 1)
		return EINVAL;
	return call_hangup_channel(x->eng, argv[0], out);
}

static int cmd_cdr_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;
	unsigned n = 20;

	if (argc > 1)
		return EINVAL;
	if (argc == 1) {
		char *end;
		unsigned long v = strtoul(argv[0], &end, 10);

		if (*end || v > 1000000)
			return EINVAL;
		n = (unsigned)v;
	}
	return call_cdr_show(x->store, n, out);
}

static int cmd_cdr_export(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;

	if (argc != 1 || strcmp(argv[0], "--csv"))
		return EINVAL;
	return call_cdr_export_csv(x->store, out);
}

/* confbridge list [ROOM]: the rooms with their party counts, or one room's parties
 * (Asterisk's columns, trimmed to what mikaka has). */
static int cmd_confbridge_list(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;
	const char *rooms[64];
	unsigned counts[64];
	size_t nrooms = 0;
	unsigned parties = 0;

	if (argc > 1)
		return EINVAL;
	if (argc == 1)
		mbuf_printf(out, "%-30s %-20s\n", "Channel", "CallerID");
	LIST_FOREACH (&x->eng->calls, le) {
		const struct call *c = le->data;
		const char *room = call_lm_conf_room(c);
		size_t i;

		if (!room)
			continue;
		if (argc == 1) {
			if (strcmp(room, argv[0]))
				continue;
			mbuf_printf(out, "%-30s %-20s\n", c->a ? c->a->name : "?", c->src);
			parties++;
			continue;
		}
		for (i = 0; i < nrooms && strcmp(rooms[i], room); i++)
			;
		if (i == nrooms && nrooms < ARRAY_SIZE(rooms)) {
			rooms[nrooms] = room;
			counts[nrooms++] = 0;
		}
		if (i < nrooms)
			counts[i]++;
	}
	if (argc == 1) {
		if (!parties) {
			mbuf_printf(out, "No conference bridge named '%s' is currently active.\n",
				    argv[0]);
			return ENOENT;
		}
		return mbuf_printf(out, "%u active part%s\n", parties, parties == 1 ? "y" : "ies");
	}
	mbuf_printf(out, "%-30s %-8s\n", "Conference Bridge Name", "Users");
	for (size_t i = 0; i < nrooms; i++)
		mbuf_printf(out, "%-30s %-8u\n", rooms[i], counts[i]);
	return 0;
}

/* core show calls: Asterisk's two lines (calls in progress, calls ended since the start). */
static int cmd_calls(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;
	size_t active = call_count(x->eng);
	unsigned long long done = 0;

	if (argc > 1 || (argc == 1 && strcasecmp(argv[0], "uptime")))
		return EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(x->eng->n_disp); i++)
		done += x->eng->n_disp[i];
	return mbuf_printf(out, "%zu active call%s\n%llu call%s processed\n", active,
			   active == 1 ? "" : "s", done, done == 1 ? "" : "s");
}

/* parkedcalls show (Asterisk 1.8) / parking show (Asterisk 12): the parked calls. */
static int cmd_parked(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct cli_ctx *x = arg;

	(void)argv;
	if (argc > 1)
		return EINVAL;
	return call_park_show(x->eng, out);
}

int call_ctl_register(struct ctl *ctl, struct call_eng *eng, struct store *store)
{
	struct cli_ctx *x = &cli_ctx_static; /* one engine per daemon */
	int err = 0;

	x->eng = eng;
	x->store = store;
	const struct ctl_cmd cmds[] = {
		{"core show channels", "core show channels [verbose]: calls in progress",
		 cmd_channels, x},
		{"sip show channels", "SIP dialogs in progress", cmd_sip_channels, x},
		{"core show calls", "core show calls: calls in progress and calls ended so far",
		 cmd_calls, x},
		{"channel request hangup", "channel request hangup NAME|all: end calls", cmd_hangup,
		 x},
		{"cdr show", "cdr show [N]: the last N call records", cmd_cdr_show, x},
		{"cdr export", "cdr export --csv: every call record as Master.csv", cmd_cdr_export,
		 x},
		{"confbridge list", "confbridge list [ROOM]: conference rooms, or one room's parties",
		 cmd_confbridge_list, x},
		{"parkedcalls show", "parkedcalls show: calls waiting in a parking space",
		 cmd_parked, x},
		{"parking show", "parking show: calls waiting in a parking space (as parkedcalls "
		 "show)", cmd_parked, x},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(ctl, &cmds[i]);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * CLI
 */

static const char *leg_state_name(const struct call_leg *leg)
{
	switch (leg->state) {
	case LEG_CALLING:
		return leg->uac ? "Ring" : "Ring";
	case LEG_EARLY:
		return leg->uac ? "Ringing" : "Ring";
	case LEG_CONFIRMED:
		return "Up";
	default:
		return "Down";
	}
}

int call_show_channels(struct call_eng *eng, bool verbose, struct mbuf *out)
{
	size_t nch = 0;

	if (verbose)
		mbuf_printf(out, "%-28s %-20s %-7s %-20s %-16s %-10s %s\n", "Channel",
			    "Context", "State", "Application(Data)", "CallerID", "Duration",
			    "Peer/Call-ID");
	else
		mbuf_printf(out, "%-28s %-28s %-7s %s\n", "Channel", "Location", "State",
			    "Application(Data)");
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;
		int64_t dur = (call_wall_ms() - c->start_ms) / 1000;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;
			char loc[128], app[300];

			if (leg->uac) {
				snprintf(loc, sizeof(loc), "(None)");
				snprintf(app, sizeof(app), "AppDial((Outgoing Line))");
			} else {
				snprintf(loc, sizeof(loc), "%s@%s:%u", pbx_chan_exten(c->chan),
					 pbx_chan_context(c->chan), pbx_chan_priority(c->chan));
				snprintf(app, sizeof(app), "%s(%s)",
					 call_str_or(c->lastapp, "(None)"), c->lastdata);
			}
			if (verbose)
				mbuf_printf(out, "%-28s %-20s %-7s %-20s %-16s %02lld:%02lld:%02lld %s\n",
					    leg->name, leg->uac ? "" : pbx_chan_context(c->chan),
					    leg_state_name(leg), app, c->cid_num,
					    (long long)(dur / 3600), (long long)(dur / 60 % 60),
					    (long long)(dur % 60), leg->call_id);
			if (verbose) {
				call_media_show(leg, out);
				call_lm_show(leg, out);
				if (leg == c->a && call_vm_state(c))
					mbuf_printf(out, "  voicemail: %s\n", call_vm_state(c));
			} else
				mbuf_printf(out, "%-28s %-28s %-7s %s\n", leg->name, loc,
					    leg_state_name(leg), app);
			nch++;
		}
	}
	mbuf_printf(out, "%zu active channel%s\n%zu active call%s\n", nch, nch == 1 ? "" : "s",
		    list_count(&eng->calls), list_count(&eng->calls) == 1 ? "" : "s");
	return 0;
}

int call_show_sip_channels(struct call_eng *eng, struct mbuf *out)
{
	size_t n = 0;

	mbuf_printf(out, "%-16s %-12s %-32s %-10s %-7s %s\n", "Peer", "User/ANR", "Call ID",
		    "Format", "Hold", "Last Message");
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;
			char a[SA_STRLEN];

			mbuf_printf(out, "%-16s %-12s %-32.32s %-10s %-7s %s\n",
				    sa_ntop(&leg->dst, a, sizeof(a)), leg->peer, leg->call_id,
				    "ulaw", "No", leg_state_name(leg));
			n++;
		}
	}
	mbuf_printf(out, "%zu active SIP dialog%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int call_hangup_channel(struct call_eng *eng, const char *name, struct mbuf *out)
{
	bool all = !strcasecmp(name, "all");
	bool found = false;
	struct le *le = eng->calls.head;

	while (le) {
		struct call *c = le->data;
		bool hit = all;

		le = le->next;
		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (!strcmp(leg->name, name))
				hit = true;
		}
		if (!hit)
			continue;
		found = true;
		mbuf_printf(out, "Requested Hangup on channel '%s'\n",
			    all ? "all" : name);
		/* le may be freed by the hangup when it is the next call: none of ours is. */
		call_hangup(c, 16);
	}
	if (!found && !all) {
		mbuf_printf(out, "%s is not a known channel\n", name);
		return ENOENT;
	}
	return 0;
}
