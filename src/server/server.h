/* server: the running daemon's SIP side: listening sockets from sip.conf [general], the stack, and
 * the answers given to requests no other module handles. */
#ifndef MIKAKA_SERVER_H
#define MIKAKA_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"
#include "sip.h"

#define SERVER_LISTEN_MAX 8
#define SERVER_LOCALNET_MAX 16

struct server_listen {
	enum sip_transport tp;
	struct sa addr;
};

/* Everything the SIP side takes from the configuration. */
struct server_settings {
	struct server_listen listen[SERVER_LISTEN_MAX];
	size_t nlisten;
	int tos_sip;	     /* TOS byte (DSCP << 2) */
	uint32_t t1, t2, t4; /* transaction timers, ms */
	struct sip_transp_limits tcp; /* connection cap and timeouts (0 = transport default) */
	char useragent[128];
	/* SIP over TLS (sip.conf tlsenable=yes): files as configured ("" = none; no certificate:
	 * a self-signed one in the state directory, see server_set_state_dir). */
	bool tls;
	char tls_cert[256], tls_key[256], tls_ca[256], tls_ciphers[256];
	/* Behind a NAT (sip.conf externaddr=, externip=, externhost=, localnet=): the public
	 * address told to the phones outside localnet (its port: 0 = ours); unset: none. */
	struct sa extern_addr;
	struct sa_net localnet[SERVER_LOCALNET_MAX];
	size_t nlocalnet;
};

/* Where the self-signed TLS certificate is kept: the directory of dbpath (the daemon's -d). */
void server_set_state_dir(const char *dbpath);
/* That directory (".": none set). */
const char *server_state_dir(void);

/* Fills settings from sip.conf (and mikaka.conf, may be NULL). Problems are appended to diags
 * with the file:line of the offending value; returns EINVAL when any is an error. */
int server_settings_load(struct server_settings *set, const struct conf *sipconf,
			 const struct conf *mikakaconf, struct conf_diags *diags);

/* Whether a party at `peer` is outside the NAT (externaddr set, peer not in a localnet, not
 * loopback, of externaddr's family): then *ext is what to tell it instead of our own address
 * (its port 0: keep ours). The line is never asked: it is reached on its own interface. */
bool server_nat_extern(const struct server_settings *set, const struct sa *peer, struct sa *ext);
/* Our address as told to `peer`: `local`, or externaddr (with local's port unless externaddr
 * names one) when the peer is outside the NAT. */
void server_nat_advertise(const struct server_settings *set, const struct sa *local,
			  const struct sa *peer, struct sa *out);

/* Parses an Asterisk tos value: a number is the TOS byte itself; a name (cs0-cs7, af11-af43, ef)
 * is a DSCP code point, shifted into the TOS byte. */
int server_tos_parse(const char *text, int *tos);

struct server;

/* Opens every listening socket and starts answering. */
int server_alloc(struct server **srvp, struct loop *loop, const struct server_settings *set);
void server_free(struct server *srv);
struct sip_stack *server_stack(struct server *srv);

/* A module that handles one method (the registrar REGISTER, the call engine INVITE, ...). It is
 * offered each request of that method that passed the checks every UAS makes (501, 416, 420);
 * it returns true when it took the request (and answers st, now or later), false to let the
 * server answer as if nobody handled the method (483, 481, 404). ACKs outside any transaction
 * arrive with st == NULL. */
typedef bool(server_method_h)(struct sip_strans *st, const struct sip_msg *msg, void *arg);

int server_route(struct server *srv, enum sip_method method, server_method_h *h, void *arg);

/* `sip set debug` (Asterisk's): every SIP message to or from the chosen side is logged (at
 * notice level) as it is sent or read, SDES keys hidden. Off by default. */
enum server_debug_mode {
	SERVER_DEBUG_OFF,
	SERVER_DEBUG_ALL,  /* sip set debug on */
	SERVER_DEBUG_IP,   /* sip set debug ip ADDR[:PORT] (no port: any) */
	SERVER_DEBUG_PEER, /* sip set debug peer NAME: the peer's host and its bindings */
};
/* Whether addr is where peer is (its fixed host or one of its registrations' sources). */
typedef bool(server_peer_match_h)(const char *peer, const struct sa *addr, void *arg);
void server_debug_set_peer_match(struct server *srv, server_peer_match_h *h, void *arg);
/* EINVAL: IP without an address, PEER without a name; ENOMEM. */
int server_debug_set(struct server *srv, enum server_debug_mode mode, const struct sa *ip,
		     const char *peer);
/* The mode in force and its address or peer name (valid until the next set). */
enum server_debug_mode server_debug_get(struct server *srv, struct sa *ip, const char **peer);

/* The Allow header value this server advertises. */
extern const char server_allow[];

#endif /* MIKAKA_SERVER_H */
