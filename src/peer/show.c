/* show: `sip show peers|peer|settings|registry` in Asterisk chan_sip's column layout, so people
 * (and scripts) used to Asterisk read them unchanged; secrets are never printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include "peer_int.h"

/* Formats one line and drops the spaces that fixed-width columns leave before its end. */
static int PRINTF_LIKE(2, 3) row(struct mbuf *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return EINVAL;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\n'))
		n--;
	line[n++] = '\n';
	return mbuf_write(out, line, (size_t)n);
}

static const char *yesno(bool b)
{
	return b ? "Yes" : "No";
}

/* "Yes", "No", "Auto (Yes)", "Auto (No)" as Asterisk's force_rport/comedia columns. */
static const char *nat_string(unsigned nat, unsigned plain, unsigned autoflag, bool detected)
{
	if (nat & autoflag)
		return detected ? "Auto (Yes)" : "Auto (No)";
	return yesno(nat & plain);
}

static const char *insecure_string(unsigned ins)
{
	switch (ins & (PEER_INSECURE_PORT | PEER_INSECURE_INVITE)) {
	case PEER_INSECURE_PORT:
		return "port";
	case PEER_INSECURE_INVITE:
		return "invite";
	case PEER_INSECURE_PORT | PEER_INSECURE_INVITE:
		return "port,invite";
	default:
		return "no";
	}
}

static const char *tp_name(enum peer_transport tp)
{
	return tp == PEER_TP_TLS ? "TLS" : tp == PEER_TP_TCP ? "TCP" : "UDP";
}

static const char *tp_list(unsigned set, char *buf, size_t size)
{
	static const enum peer_transport order[] = {PEER_TP_UDP, PEER_TP_TCP, PEER_TP_TLS};
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (set & order[i])
			o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s", o ? "," : "",
					      tp_name(order[i]));
	}
	return buf;
}

/* "(ulaw|alaw)" as Asterisk 13 prints a codec list; "(nothing)" when empty. */
static const char *codec_list(const struct peer *p, char *buf, size_t size)
{
	size_t n = 0;

	if (!p->ncodecs) {
		snprintf(buf, size, "(nothing)");
		return buf;
	}
	for (size_t i = 0; i < p->ncodecs && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "|" : "(",
				      peer_codec_name((enum peer_codec)p->codecs[i]));
	if (n < size)
		snprintf(buf + n, size - n, ")");
	return buf;
}

/* Asterisk's peer_status(): 1 reachable, 0 not, -1 not monitored. */
static int peer_status(const struct peer *p, const struct peer_live *live, char *buf, size_t size)
{
	if (!p->qualify_ms) {
		snprintf(buf, size, "Unmonitored");
		return -1;
	}
	if (live->lastms < 0) {
		snprintf(buf, size, "UNREACHABLE");
		return 0;
	}
	if (live->lastms > (int)p->qualify_ms) {
		snprintf(buf, size, "LAGGED (%d ms)", live->lastms);
		return 1;
	}
	if (live->lastms > 0) {
		snprintf(buf, size, "OK (%d ms)", live->lastms);
		return 1;
	}
	snprintf(buf, size, "UNKNOWN");
	return 0;
}

/* Where the peer is: its registration, else its fixed host. */
static void peer_where(const struct peer *p, const struct peer_live *live, char *host, size_t hsize,
		       unsigned *port)
{
	if (sa_isset(&live->addr)) {
		sa_ntop(&live->addr, host, hsize);
		*port = sa_port(&live->addr);
	} else if (sa_isset(&p->addr)) {
		sa_ntop(&p->addr, host, hsize);
		*port = sa_port(&p->addr);
	} else if (p->host) {
		snprintf(host, hsize, "%s", p->host);
		*port = p->port;
	} else {
		snprintf(host, hsize, "(Unspecified)");
		*port = 0;
	}
}

/* The transports a peer is registered over, most recent binding's first ("TLS,UDP"). */
static void transports_of(const struct peer_live *live, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!live->nbindings) {
		snprintf(buf, size, "%s", live->transport ? live->transport : "");
		return;
	}
	for (unsigned i = 0; i < live->nbindings && i < PEER_LIVE_BINDINGS; i++) {
		const char *t = live->bindings[i].transport;
		bool seen = false;

		for (unsigned j = 0; j < i; j++)
			seen |= !strcmp(live->bindings[j].transport, t);
		if (!seen && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", t);
	}
}

#define PEERS_FORMAT "%-25.25s %-39.39s %-3.3s %-10.10s %-10.10s %-3.3s %-8s %-11s %-32.32s\n"

int sipcfg_show_peers(const struct sipcfg *cfg, struct mbuf *out, peer_state_h *state_h, void *arg)
{
	unsigned mon_on = 0, mon_off = 0, unmon_on = 0, unmon_off = 0, total = 0;
	int err;

	err = row(out, PEERS_FORMAT, "Name/username", "Host", "Dyn", "Forcerport", "Comedia", "ACL",
		  "Port", "Status", "Description");
	for (size_t i = 0; i < cfg->npeers && !err; i++) {
		const struct peer *p = cfg->peers[i];
		struct peer_live live;
		char name[256], host[256], status[32], port[8], tps[32];
		const char *user;
		unsigned portno;
		int st;

		if (p->type == PEER_TYPE_USER)
			continue;
		memset(&live, 0, sizeof(live));
		if (state_h)
			state_h(p, &live, arg);
		user = live.username[0] ? live.username : p->defaultuser;
		if (user)
			snprintf(name, sizeof(name), "%s/%s", p->name, user);
		else
			snprintf(name, sizeof(name), "%s", p->name);
		peer_where(p, &live, host, sizeof(host), &portno);
		snprintf(port, sizeof(port), "%u", portno);
		st = peer_status(p, &live, status, sizeof(status));
		if (st == 1)
			mon_on++;
		else if (st == 0)
			mon_off++;
		else if (portno)
			unmon_on++;
		else
			unmon_off++;
		total++;
		transports_of(&live, tps, sizeof(tps));
		err = row(
		    out, PEERS_FORMAT, name, host, p->dynamic ? " D " : "",
		    nat_string(p->nat, PEER_NAT_FORCE_RPORT, PEER_NAT_AUTO_FORCE_RPORT, live.nat),
		    nat_string(p->nat, PEER_NAT_COMEDIA, PEER_NAT_AUTO_COMEDIA, live.nat),
		    p->nacl ? " A " : "", port, status, tps);
	}
	if (!err)
		err = mbuf_printf(out,
				  "%u sip peers [Monitored: %u online, %u offline Unmonitored: %u "
				  "online, %u offline]\n",
				  total, mon_on, mon_off, unmon_on, unmon_off);
	return err;
}

static void acl_rule_string(const struct peer_acl_rule *r, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];

	inet_ntop(r->net.af, r->net.addr, a, sizeof(a));
	inet_ntop(r->net.af, r->net.mask, m, sizeof(m));
	snprintf(buf, size, "%-6s %s/%s", r->permit ? "permit" : "deny", a, m);
}

/* Groups as Asterisk prints them: "1,3,4" (empty when none). */
static const char *group_list(uint64_t set, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned g = 0; g < 64 && n + 4 < size; g++) {
		if (set & ((uint64_t)1 << g))
			n += (size_t)snprintf(buf + n, size - n, "%s%u", n ? "," : "", g);
	}
	return buf;
}

static const char *named_list(const char *names, char *buf, size_t size)
{
	size_t n = names ? strlen(names) : 0;

	/* Stored as ",a,b,": shown without the outer commas. */
	snprintf(buf, size, "%.*s", n > 2 ? (int)(n - 2) : 0, n > 2 ? names + 1 : "");
	return buf;
}

int sipcfg_show_peer(const struct sipcfg *cfg, const char *name, struct mbuf *out,
		     peer_state_h *state_h, void *arg)
{
	const struct peer *p = peer_find(cfg, name);
	struct peer_live live;
	char buf[512], host[256], status[32];
	unsigned port;
	int err = 0;

	if (!p)
		return ENOENT;
	memset(&live, 0, sizeof(live));
	if (state_h)
		state_h(p, &live, arg);

#define KV(key, ...)                                                                               \
	do {                                                                                       \
		if (!err)                                                                          \
			err = row(out, "  %-13s: " key, __VA_ARGS__);                              \
	} while (0)

	err = mbuf_write_str(out, "\n\n");
	KV("%s", "* Name", p->name);
	KV("%s", "Type", peer_type_name(p->type));
	KV("%s:%u", "Defined at", p->origin.file ? p->origin.file : "?", p->origin.line);
	KV("%s", "Secret", p->secret ? "<Set>" : "<Not set>");
	KV("%s", "MD5Secret", p->md5secret ? "<Set>" : "<Not set>");
	KV("%s", "Context", p->context);
	if (p->fromuser)
		KV("%s", "FromUser", p->fromuser);
	if (p->fromdomain)
		KV("%s Port %u", "FromDomain", p->fromdomain, (unsigned)PEER_PORT_DEFAULT);
	if (p->mailbox)
		KV("%s", "Mailbox", p->mailbox);
	if (p->outboundproxy)
		KV("%s:%u", "Outb. proxy", p->outboundproxy,
		   (unsigned)(p->outboundproxy_port ? p->outboundproxy_port : PEER_PORT_DEFAULT));
	KV("%u", "Call limit", p->call_limit);
	if (p->callgroup || p->pickupgroup || p->namedcallgroup || p->namedpickupgroup) {
		/* Asterisk's rows; left out for a peer without any (most, and older outputs). */
		KV("%s", "Callgroup", group_list(p->callgroup, buf, sizeof(buf)));
		KV("%s", "Pickupgroup", group_list(p->pickupgroup, buf, sizeof(buf)));
		KV("%s", "Named Callgr", named_list(p->namedcallgroup, buf, sizeof(buf)));
		KV("%s", "Named Pickupgr", named_list(p->namedpickupgroup, buf, sizeof(buf)));
	}
	KV("%s", "Dynamic", yesno(p->dynamic));
	if (p->cid_name && p->cid_num)
		snprintf(buf, sizeof(buf), "\"%s\" <%s>", p->cid_name, p->cid_num);
	else
		snprintf(buf, sizeof(buf), "%s",
			 p->cid_name  ? p->cid_name
			 : p->cid_num ? p->cid_num
				      : "<unspecified>");
	KV("%s", "Callerid", buf);
	KV("%s", "Insecure", insecure_string(p->insecure));
	KV("%s", "Force rport",
	   nat_string(p->nat, PEER_NAT_FORCE_RPORT, PEER_NAT_AUTO_FORCE_RPORT, live.nat));
	KV("%s", "Symmetric RTP",
	   nat_string(p->nat, PEER_NAT_COMEDIA, PEER_NAT_AUTO_COMEDIA, live.nat));
	KV("%s", "ACL", yesno(p->nacl));
	for (size_t i = 0; i < p->nacl && !err; i++) {
		acl_rule_string(&p->acl[i], buf, sizeof(buf));
		err = row(out, "                 %s", buf);
	}
	KV("%s", "DirectMedia", yesno(p->directmedia));
	KV("%s", "Encryption", yesno(p->encryption));
	KV("%s", "DTMFmode", peer_dtmf_name(p->dtmfmode));
	KV("%s", "ToHost", p->host ? p->host : "");
	peer_where(p, &live, host, sizeof(host), &port);
	if (port)
		KV("%s:%u", "Addr->IP", host, port);
	else
		KV("%s", "Addr->IP", host);
	KV("%s", "Prim.Transp.", tp_name(p->transport));
	KV("%s", "Allowed.Trsp", tp_list(p->transports, buf, sizeof(buf)));
	KV("%s", "Def. Username",
	   live.username[0] ? live.username
	   : p->defaultuser ? p->defaultuser
			    : "");
	KV("%s", "Codecs", codec_list(p, buf, sizeof(buf)));
	peer_status(p, &live, status, sizeof(status));
	KV("%s", "Status", status);
	KV("%s", "Useragent", live.useragent);
	KV("%s", "Reg. Contact", live.contact);
	KV("%u ms", "Qualify Freq", p->qualifyfreq * 1000);
	/* Each registered device (several may share one peer, over different transports). */
	if (live.nbindings)
		KV("%u", "Bindings", live.nbindings);
	for (unsigned i = 0; i < live.nbindings && i < PEER_LIVE_BINDINGS && !err; i++) {
		const struct peer_binding *b = &live.bindings[i];
		char a[SA_STRLEN];

		err = row(out, "  Binding %-5u: %s", i + 1, b->contact);
		KV("%s", "  Transport", b->transport);
		KV("%s", "  Addr->IP", sa_fmt(&b->addr, a, sizeof(a)));
		KV("%s", "  Useragent", b->useragent);
		KV("%lld s", "  Expires in", (long long)b->expires_in);
		if (b->lastms > 0)
			KV("OK (%d ms)", "  Status", b->lastms);
		else
			KV("%s", "  Status", b->lastms < 0 ? "UNREACHABLE" : "Unmonitored");
	}
	if (live.nbindings > PEER_LIVE_BINDINGS && !err)
		err = row(out, "  (%u more bindings not shown)", live.nbindings - PEER_LIVE_BINDINGS);
	if (!err)
		err = mbuf_write_str(out, "\n");
#undef KV
	return err;
}

static const char *overlap_string(enum peer_overlap o)
{
	return o == PEER_OVERLAP_DTMF ? "DTMF" : yesno(o == PEER_OVERLAP_YES);
}

int sipcfg_show_settings(const struct sipcfg *cfg, struct mbuf *out)
{
	const struct sipcfg_general *g = &cfg->general;
	const struct peer *d = &cfg->defaults;
	char buf[256], tos[16];
	int err = 0;

#define S(label, ...)                                                                              \
	do {                                                                                       \
		if (!err)                                                                          \
			err = row(out, "  %-24s" label, __VA_ARGS__);                              \
	} while (0)

	err = mbuf_write_str(out, "\n\nGlobal Settings:\n----------------\n");
	S("%s", "Allow unknown access:", yesno(g->allowguest));
	S("%s", "Allow overlap dialing:", overlap_string(g->allowoverlap));
	S("%s", "Our auth realm", g->realm);
	S("%s", "Always auth rejects:", yesno(g->alwaysauthreject));
	S("%s", "User Agent:", g->useragent);
	if (!err)
		err = mbuf_write_str(out, "\nNetwork QoS Settings:\n---------------------------\n");
	S("%s", "IP ToS SIP:", peer_tos_name(g->tos_sip, tos, sizeof(tos)));
	S("%s", "IP ToS RTP audio:", peer_tos_name(g->tos_audio, tos, sizeof(tos)));
	if (!err)
		err = mbuf_write_str(
		    out, "\nGlobal Signalling Settings:\n---------------------------\n");
	S("%s", "Codecs:", codec_list(d, buf, sizeof(buf)));
	S("%s", "DNS SRV lookup:", yesno(g->srvlookup));
	S("%u secs", "Reg. min duration", g->minexpiry);
	S("%u secs", "Reg. max duration:", g->maxexpiry);
	S("%u secs", "Reg. default duration:", g->defaultexpiry);
	if (!err)
		err = mbuf_write_str(out, "\nDefault Settings:\n-----------------\n");
	S("%s", "Allowed transports:", tp_list(d->transports, buf, sizeof(buf)));
	S("%s", "Outbound transport:", tp_name(d->transport));
	S("%s", "Context:", d->context);
	S("%s", "Force rport:",
	  nat_string(d->nat, PEER_NAT_FORCE_RPORT, PEER_NAT_AUTO_FORCE_RPORT, false));
	S("%s", "DTMF:", peer_dtmf_name(d->dtmfmode));
	S("%u", "Qualify:", d->qualify_ms);
	if (!err)
		err = mbuf_write_str(out, "\n----\n");
#undef S
	return err;
}

#define REG_FORMAT "%-39.39s %-6.6s %-12.12s  %8.8s %-20.20s %-25.25s\n"

int sipcfg_show_registry(const struct sipcfg *cfg, struct mbuf *out, sipcfg_reg_state_h *state_h,
			 void *arg)
{
	int err =
	    row(out, REG_FORMAT, "Host", "dnsmgr", "Username", "Refresh", "State", "Reg.Time");

	for (size_t i = 0; i < cfg->nregs && !err; i++) {
		const struct sipcfg_register *r = &cfg->regs[i];
		struct sipcfg_reg_live live;
		char host[300], user[300], when[64] = "", refresh[16];
		size_t n;

		memset(&live, 0, sizeof(live));
		if (state_h)
			state_h(r, &live, arg);
		snprintf(host, sizeof(host), "%s:%u", r->host, r->port);
		n = (size_t)snprintf(user, sizeof(user), "%s", r->user);
		if (r->domain && n < sizeof(user))
			n += (size_t)snprintf(user + n, sizeof(user) - n, "@%s", r->domain);
		if (r->domainport && n < sizeof(user))
			snprintf(user + n, sizeof(user) - n, ":%u", r->domainport);
		if (live.regtime) {
			time_t t = (time_t)live.regtime;
			struct tm tm;
			if (localtime_r(&t, &tm))
				strftime(when, sizeof(when), "%a, %d %b %Y %T", &tm);
		}
		snprintf(refresh, sizeof(refresh), "%u", live.refresh ? live.refresh : r->expiry);
		err = row(out, REG_FORMAT, host, "N", user, refresh,
			  live.state[0] ? live.state : "Unregistered", when);
	}
	if (!err)
		err = mbuf_printf(out, "%zu SIP registrations.\n", cfg->nregs);
	return err;
}

const char *peer_tos_name(int tos, char *buf, size_t size)
{
	static const struct {
		const char *name;
		int dscp;
	} names[] = {
	    {"CS0", 0},	  {"CS1", 8},	{"CS2", 16},  {"CS3", 24},  {"CS4", 32},  {"CS5", 40},
	    {"CS6", 48},  {"CS7", 56},	{"AF11", 10}, {"AF12", 12}, {"AF13", 14}, {"AF21", 18},
	    {"AF22", 20}, {"AF23", 22}, {"AF31", 26}, {"AF32", 28}, {"AF33", 30}, {"AF41", 34},
	    {"AF42", 36}, {"AF43", 38}, {"EF", 46},
	};

	if (!(tos & 3)) {
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			if (names[i].dscp == tos >> 2) {
				snprintf(buf, size, "%s", names[i].name);
				return buf;
			}
		}
	}
	snprintf(buf, size, "%d", tos);
	return buf;
}
