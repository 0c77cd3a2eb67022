/* server: opens the listening sockets and answers what no other module handles yet: OPTIONS,
 * and the RFC 3261 §8.2 checks every UAS makes (501, 416, 420, 483, 481, 404). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "loop.h"
#include "server_int.h"

#define LOG_MODULE "server"

const char server_allow[] = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, "
			    "REFER, NOTIFY, SUBSCRIBE, MESSAGE";

/* Option tags this server implements are SIP_SUPPORTED_TAGS (sip.h); a Require naming any other
 * gets 420 (RFC 3261 §8.2.2.3). */

struct server_route_entry {
	server_method_h *h;
	void *arg;
};

struct server {
	struct loop *loop;
	struct server_route_entry routes[SIP_METHOD_PUBLISH + 1];
	struct sip_stack *stack;
	struct server_settings set;
	/* Header blocks built once: answering an OPTIONS flood should cost no formatting. */
	char hdr_plain[160];	/* Server */
	char hdr_allow[400];	/* Server, Allow */
	char hdr_options[600];	/* Server, Allow, Accept, Accept-Encoding, ... */
	struct server_debug *debug; /* sip set debug (debug.c); NULL until first used */
};

struct server_debug *server_debug_state(struct server *srv)
{
	if (srv && !srv->debug)
		srv->debug = server_debug_alloc();
	return srv ? srv->debug : NULL;
}

static bool method_allowed(enum sip_method m)
{
	switch (m) {
	case SIP_METHOD_INVITE:
	case SIP_METHOD_ACK:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_BYE:
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_REGISTER:
	case SIP_METHOD_PRACK:
	case SIP_METHOD_UPDATE:
	case SIP_METHOD_INFO:
	case SIP_METHOD_REFER:
	case SIP_METHOD_NOTIFY:
	case SIP_METHOD_SUBSCRIBE: /* message-summary (src/mwi); other packages get 489 */
	case SIP_METHOD_MESSAGE:   /* between phones (src/im) */
		return true;
	default:
		return false;
	}
}

static bool option_supported(const struct pl *tag)
{
	const char *p = SIP_SUPPORTED_TAGS;

	while (*p) {
		size_t n = strcspn(p, ", ");

		if (n && tag->l == n && !strncasecmp(tag->p, p, n))
			return true;
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

/* Collects the Require tags we do not support into mb as "a, b"; returns how many. */
static size_t unsupported_requires(const struct sip_msg *msg, struct mbuf *mb)
{
	struct sip_hdr_iter it;
	struct pl tag;
	size_t n = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_REQUIRE, NULL);
	while (sip_hdr_iter_next(&it, &tag)) {
		if (!tag.l || option_supported(&tag))
			continue;
		/* RFC 5626: the registrar keeps flows (reg-id, Flow-Timer). */
		if (msg->mid == SIP_METHOD_REGISTER && pl_caseeq_str(&tag, "outbound"))
			continue;
		if (n)
			mbuf_write_str(mb, ", ");
		mbuf_write_pl(mb, &tag);
		n++;
	}
	return n;
}

/* Answers with a header block; non-INVITE answers are stateless (sip.h explains why). */
static void reply(struct server *srv, struct sip_strans *st, uint16_t code, const char *reason,
		  const char *hdrs)
{
	int err = sip_strans_reply_stateless(st, code, reason, hdrs ? hdrs : srv->hdr_plain, NULL,
					     NULL);

	if (err)
		log_warn("could not send %u %s: %s", code, reason, strerror(err));
}

static void request_handler(struct sip_stack *stack, struct sip_strans *st,
			    const struct sip_msg *msg, void *arg)
{
	struct server *srv = arg;
	struct mbuf mb;

	(void)stack;
	if (!st) {
		/* An ACK outside any transaction (for a 2xx): the call engine's, if any. */
		if (srv->routes[SIP_METHOD_ACK].h)
			srv->routes[SIP_METHOD_ACK].h(NULL, msg, srv->routes[SIP_METHOD_ACK].arg);
		return;
	}

	/* RFC 3261 §8.2.1: method inspection first. */
	if (!method_allowed(msg->mid)) {
		reply(srv, st, 501, "Not Implemented", srv->hdr_allow);
		return;
	}
	/* §8.2.2.1: a Request-URI scheme we cannot handle. */
	if (!msg->uri_ok || (msg->uri.scheme != SIP_URI_SIP && msg->uri.scheme != SIP_URI_SIPS &&
			     msg->uri.scheme != SIP_URI_TEL)) {
		reply(srv, st, 416, "Unsupported URI Scheme", NULL);
		return;
	}
	/* §26.2.2, RFC 5630 §3.1.3: a sips: request must have come over TLS; we would carry on in
	 * clear what the sender asked to be secure end to end. */
	if (msg->uri.scheme == SIP_URI_SIPS && msg->tp != SIP_TP_TLS) {
		reply(srv, st, 416, "Unsupported URI Scheme", NULL);
		return;
	}
	/* §8.2.2.3: Require. */
	mbuf_init(&mb);
	if (msg->mid != SIP_METHOD_CANCEL && unsupported_requires(msg, &mb)) {
		struct mbuf hdr;

		mbuf_init(&hdr);
		mbuf_printf(&hdr, "%sUnsupported: %.*s\r\n", srv->hdr_plain, (int)mb.end,
			    (const char *)mb.buf);
		mbuf_write(&hdr, "", 1);
		reply(srv, st, 420, "Bad Extension", (const char *)hdr.buf);
		mbuf_reset(&hdr);
		mbuf_reset(&mb);
		return;
	}
	mbuf_reset(&mb);

	if (msg->mid != SIP_METHOD_OTHER && srv->routes[msg->mid].h &&
	    srv->routes[msg->mid].h(st, msg, srv->routes[msg->mid].arg))
		return;

	if (msg->mid == SIP_METHOD_OPTIONS) {
		/* An endpoint answers OPTIONS even with Max-Forwards 0 (RFC 4475 §3.3.14). */
		reply(srv, st, 200, "OK", srv->hdr_options);
		return;
	}
	if (msg->max_forwards == 0) {
		reply(srv, st, 483, "Too Many Hops", NULL);
		return;
	}
	if (msg->to_ok && pl_isset(&msg->to.tag)) {
		reply(srv, st, 481, "Call/Transaction Does Not Exist", NULL);
		return;
	}
	reply(srv, st, 404, "Not Found", NULL);
}

static char state_dir[4096] = ".";

void server_set_state_dir(const char *dbpath)
{
	const char *slash = dbpath ? strrchr(dbpath, '/') : NULL;

	if (!slash)
		snprintf(state_dir, sizeof(state_dir), ".");
	else if (slash == dbpath)
		snprintf(state_dir, sizeof(state_dir), "/");
	else
		snprintf(state_dir, sizeof(state_dir), "%.*s", (int)(slash - dbpath), dbpath);
}

const char *server_state_dir(void)
{
	return state_dir;
}

int server_alloc(struct server **srvp, struct loop *loop, const struct server_settings *set)
{
	struct sip_stack_config cfg;
	struct server *srv;
	char buf[SA_STRLEN];
	int err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ENOMEM;
	srv->loop = loop;
	srv->set = *set;
	snprintf(srv->hdr_plain, sizeof(srv->hdr_plain), "Server: %s\r\n", set->useragent);
	snprintf(srv->hdr_allow, sizeof(srv->hdr_allow), "%sAllow: %s\r\n", srv->hdr_plain,
		 server_allow);
	snprintf(srv->hdr_options, sizeof(srv->hdr_options),
		 "%sAccept: application/sdp\r\nAccept-Encoding: identity\r\n"
		 "Accept-Language: en\r\nSupported: " SIP_SUPPORTED_TAGS "\r\n",
		 srv->hdr_allow);

	memset(&cfg, 0, sizeof(cfg));
	cfg.t1 = set->t1;
	cfg.t2 = set->t2;
	cfg.t4 = set->t4;
	cfg.allow = server_allow;
	err = sip_stack_alloc(&srv->stack, loop, &cfg, request_handler, srv);
	if (err)
		goto fail;

	{
		/* Every connection is a descriptor: keep the cap below the descriptor limit (with
		 * room for listeners, the store and the control socket), or a flood would make
		 * accept() fail before the cap ever refuses anyone. */
		struct sip_transp_limits lim = set->tcp;
		struct rlimit rl;

		if (!lim.max_conns)
			lim.max_conns = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur > 128 && lim.max_conns > rl.rlim_cur - 64) {
			log_warn("tcp_max_connections lowered from %zu to %lu by the descriptor "
				 "limit (ulimit -n %lu)",
				 lim.max_conns, (unsigned long)(rl.rlim_cur - 64),
				 (unsigned long)rl.rlim_cur);
			lim.max_conns = rl.rlim_cur - 64;
		}
		sip_transp_set_limits(sip_stack_transp(srv->stack), &lim);
	}

	if (set->tls) {
		const struct sip_tls_opts o = {
		    .certfile = set->tls_cert[0] ? set->tls_cert : NULL,
		    .keyfile = set->tls_key[0] ? set->tls_key : NULL,
		    .cafile = set->tls_ca[0] ? set->tls_ca : NULL,
		    .ciphers = set->tls_ciphers[0] ? set->tls_ciphers : NULL,
		    .statedir = state_dir,
		};
		char why[320] = "";

		err = sip_transp_tls(sip_stack_transp(srv->stack), &o, why, sizeof(why));
		if (err) {
			log_error("tls: %s", why[0] ? why : strerror(err));
			goto fail;
		}
	}

	for (size_t i = 0; i < set->nlisten; i++) {
		const struct server_listen *l = &set->listen[i];

		err = sip_transp_listen(sip_stack_transp(srv->stack), l->tp, &l->addr, set->tos_sip);
		if (err) {
			log_error("cannot listen on %s %s: %s", sip_transport_name(l->tp),
				  sa_fmt(&l->addr, buf, sizeof(buf)), strerror(err));
			goto fail;
		}
		log_notice("listening on %s %s", sip_transport_name(l->tp),
			   sa_fmt(&l->addr, buf, sizeof(buf)));
	}
	*srvp = srv;
	return 0;

fail:
	server_free(srv);
	return err;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	if (srv->stack)
		sip_stack_free(srv->stack);
	free(srv->debug);
	free(srv);
}

int server_route(struct server *srv, enum sip_method method, server_method_h *h, void *arg)
{
	if (!srv || method <= SIP_METHOD_OTHER || method > SIP_METHOD_PUBLISH)
		return EINVAL;
	srv->routes[method].h = h;
	srv->routes[method].arg = arg;
	return 0;
}

struct sip_stack *server_stack(struct server *srv)
{
	return srv->stack;
}
