/* settings: reads the SIP listening addresses, DSCP, timers and NAT from sip.conf [general]
 * (Asterisk keys udpbindaddr, bindport, tcpenable, tcpbindaddr, tlsenable, tlsbindaddr,
 * tlscertfile, tlsprivatekey, tlscafile, tlscipher, tlsclientmethod, tos_sip, timert1,
 * externaddr, externip, externhost, localnet) and mikaka.conf [sip]. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <unistd.h>

#include "server.h"

static const struct {
	const char *name;
	int dscp;
} dscp_names[] = {
	{"cs0", 0},   {"cs1", 8},   {"cs2", 16},  {"cs3", 24},	{"cs4", 32},  {"cs5", 40},
	{"cs6", 48},  {"cs7", 56},  {"af11", 10}, {"af12", 12}, {"af13", 14}, {"af21", 18},
	{"af22", 20}, {"af23", 22}, {"af31", 26}, {"af32", 28}, {"af33", 30}, {"af41", 34},
	{"af42", 36}, {"af43", 38}, {"ef", 46},
};

int server_tos_parse(const char *text, int *tos)
{
	char *end;
	long v;

	for (size_t i = 0; i < ARRAY_SIZE(dscp_names); i++) {
		if (!strcasecmp(text, dscp_names[i].name)) {
			*tos = dscp_names[i].dscp << 2;
			return 0;
		}
	}
	errno = 0;
	v = strtol(text, &end, 0);
	if (errno || end == text || *end || v < 0 || v > 255)
		return EINVAL;
	*tos = (int)v;
	return 0;
}

static int parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	struct pl pl = pl_from_str(text);
	uint32_t v;

	if (pl_u32(&pl, &v) || v < min || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

static int add_listen(struct server_settings *set, enum sip_transport tp, const struct sa *addr,
		      const struct conf_var *var, struct conf_diags *diags)
{
	if (set->nlisten >= SERVER_LISTEN_MAX) {
		conf_diag_add(diags, CONF_ERROR, var ? var->origin.file : "sip.conf",
			      var ? var->origin.line : 0, "too many listening addresses (at most %d)",
			      SERVER_LISTEN_MAX);
		return EINVAL;
	}
	set->listen[set->nlisten].tp = tp;
	set->listen[set->nlisten].addr = *addr;
	set->nlisten++;
	return 0;
}

/* Reads every value of `key` as an address; none given means `def` on the bind port. */
static int load_addrs(struct server_settings *set, const struct conf_section *gen, const char *key,
		      enum sip_transport tp, uint16_t port, struct conf_diags *diags)
{
	bool any = false;
	int err = 0;
	struct sa sa;

	for (const struct conf_var *v = gen ? gen->vars : NULL; v; v = v->next) {
		if (strcasecmp(v->name, key))
			continue;
		any = true;
		if (sa_decode(&sa, v->value, port)) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "%s: '%s' is not an IPv4 or IPv6 address (ADDR, ADDR:PORT or "
				      "[V6]:PORT)",
				      key, v->value);
			err = EINVAL;
			continue;
		}
		if (add_listen(set, tp, &sa, v, diags))
			err = EINVAL;
	}
	if (!any) {
		sa_set_str(&sa, "0.0.0.0", port);
		err |= add_listen(set, tp, &sa, NULL, diags);
	}
	return err;
}

static void diag_bad(struct conf_diags *diags, const struct conf_var *v, const char *what);

static bool is_yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	       !strcasecmp(v, "on");
}

static bool is_no(const char *v)
{
	return !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
	       !strcasecmp(v, "off");
}

/* A file name into dst; an error when it does not fit. */
static int tls_path(char *dst, size_t size, const struct conf_var *v, struct conf_diags *diags)
{
	if (!v)
		return 0;
	if (!*v->value || strlen(v->value) >= size) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "%s: '%s' is not a file name (1-%zu characters)", v->name, v->value,
			      size - 1);
		return EINVAL;
	}
	snprintf(dst, size, "%s", v->value);
	return 0;
}

/* tlsenable and the files it needs, checked now (mikakad -t too): a certificate that cannot be
 * read, a key that cannot be read or does not match the certificate, a cipher list OpenSSL takes
 * nothing from, a client method below TLS 1.2. */
static int load_tls(struct server_settings *set, const struct conf_section *gen,
		    struct conf_diags *diags)
{
	const struct conf_var *en = gen ? conf_var_find(gen, "tlsenable") : NULL;
	const struct conf_var *cert = conf_var_find(gen, "tlscertfile");
	const struct conf_var *key = conf_var_find(gen, "tlsprivatekey");
	const struct conf_var *ca = conf_var_find(gen, "tlscafile");
	const struct conf_var *ciph = conf_var_find(gen, "tlscipher");
	const struct conf_var *meth = conf_var_find(gen, "tlsclientmethod");
	char why[320];
	int err = 0;

	if (!en)
		return 0;
	if (is_no(en->value))
		return 0;
	if (!is_yes(en->value)) {
		diag_bad(diags, en, "yes or no");
		return EINVAL;
	}
	set->tls = true;
	err |= tls_path(set->tls_cert, sizeof(set->tls_cert), cert, diags);
	err |= tls_path(set->tls_key, sizeof(set->tls_key), key, diags);
	err |= tls_path(set->tls_ca, sizeof(set->tls_ca), ca, diags);
	if (err)
		return EINVAL;
	if (key && !cert) {
		conf_diag_add(diags, CONF_ERROR, key->origin.file, key->origin.line,
			      "tlsprivatekey without tlscertfile");
		return EINVAL;
	}
	if (cert && (err = sip_tls_check_files(set->tls_cert, key ? set->tls_key : NULL, why,
					       sizeof(why)))) {
		/* Blame the line of the file that is wrong: the key's when the key is. */
		const struct conf_var *at = err == ENOKEY && key ? key : cert;

		conf_diag_add(diags, CONF_ERROR, at->origin.file, at->origin.line, "%s: %s",
			      at->name, why);
		err = EINVAL;
	}
	if (ca && access(set->tls_ca, R_OK) < 0) {
		conf_diag_add(diags, CONF_ERROR, ca->origin.file, ca->origin.line, "tlscafile: %s: %s",
			      set->tls_ca, strerror(errno));
		err = EINVAL;
	}
	if (ciph) {
		if (strlen(ciph->value) >= sizeof(set->tls_ciphers) ||
		    sip_tls_ciphers_check(ciph->value, why, sizeof(why))) {
			diag_bad(diags, ciph, "an OpenSSL cipher list");
			err = EINVAL;
		} else {
			snprintf(set->tls_ciphers, sizeof(set->tls_ciphers), "%s", ciph->value);
		}
	}
	/* Asterisk's values; mikaka opens no TLS connection itself (phones connect to it), so this
	 * only refuses what it would never speak. */
	if (meth && strcasecmp(meth->value, "tlsv1_2") && strcasecmp(meth->value, "tlsv1_3") &&
	    strcasecmp(meth->value, "tlsv1") && strcasecmp(meth->value, "tlsv1_1") &&
	    strcasecmp(meth->value, "sslv2") && strcasecmp(meth->value, "sslv3")) {
		diag_bad(diags, meth, "tlsv1_2 or tlsv1_3");
		err = EINVAL;
	} else if (meth && strcasecmp(meth->value, "tlsv1_2") && strcasecmp(meth->value, "tlsv1_3")) {
		conf_diag_add(diags, CONF_WARNING, meth->origin.file, meth->origin.line,
			      "tlsclientmethod: '%s' is older than TLS 1.2, which mikaka never speaks; "
			      "TLS 1.2 and 1.3 are used",
			      meth->value);
	}
	return err ? EINVAL : 0;
}

static void diag_bad(struct conf_diags *diags, const struct conf_var *v, const char *what)
{
	conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line, "%s: '%s' is not %s",
		      v->name, v->value, what);
}

/* externaddr=/externip= ADDR[:PORT], externhost= NAME[:PORT] (resolved now: at start and at
 * each reload), localnet= ADDR/PREFIX or ADDR/MASK, repeated. A name that does not resolve is a
 * warning: the daemon serves without NAT rewriting rather than not at all. */
static int load_nat(struct server_settings *set, const struct conf_section *gen,
		    struct conf_diags *diags)
{
	const struct conf_var *v;
	int err = 0;

	for (v = gen->vars; v; v = v->next) {
		bool hostbits;

		if (strcasecmp(v->name, "localnet"))
			continue;
		if (set->nlocalnet >= SERVER_LOCALNET_MAX) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "too many localnet lines (at most %d)", SERVER_LOCALNET_MAX);
			err = EINVAL;
		} else if (sa_net_parse(&set->localnet[set->nlocalnet], v->value, &hostbits)) {
			diag_bad(diags, v, "ADDR/PREFIX or ADDR/MASK (e.g. 192.168.1.0/24)");
			err = EINVAL;
		} else {
			if (hostbits)
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "localnet: '%s' has host bits outside its mask; they "
					      "are ignored",
					      v->value);
			set->nlocalnet++;
		}
	}
	if ((v = conf_var_find(gen, "externaddr")) || (v = conf_var_find(gen, "externip"))) {
		if (sa_decode(&set->extern_addr, v->value, 0) == 0)
			return err;
		/* Asterisk's externaddr takes a host name too. */
	} else if (!(v = conf_var_find(gen, "externhost"))) {
		return err;
	}
	{
		char host[256];
		const char *colon = strrchr(v->value, ':');
		unsigned long port = 0;
		struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
		int rc;

		snprintf(host, sizeof(host), "%s", v->value);
		if (colon && !strchr(colon + 1, ']') && strchr(v->value, ':') == colon) {
			host[colon - v->value] = '\0';
			port = strtoul(colon + 1, NULL, 10);
			if (!port || port > 65535) {
				diag_bad(diags, v, "HOST or HOST:PORT");
				return EINVAL;
			}
		}
		rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc || !res) {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "%s: '%s' does not resolve (%s); phones outside localnet get "
				      "our own address",
				      v->name, host, rc ? gai_strerror(rc) : "no address");
			return err;
		}
		memset(&set->extern_addr, 0, sizeof(set->extern_addr));
		memcpy(&set->extern_addr.u, res->ai_addr, res->ai_addrlen);
		set->extern_addr.len = (socklen_t)res->ai_addrlen;
		sa_set_port(&set->extern_addr, (uint16_t)port);
		freeaddrinfo(res);
	}
	return err;
}

bool server_nat_extern(const struct server_settings *set, const struct sa *peer, struct sa *ext)
{
	if (!set || !sa_isset(&set->extern_addr) || !peer || !sa_isset(peer) ||
	    sa_af(peer) != sa_af(&set->extern_addr) || sa_is_loopback(peer))
		return false;
	for (size_t i = 0; i < set->nlocalnet; i++) {
		if (sa_net_match(&set->localnet[i], peer))
			return false;
	}
	*ext = set->extern_addr;
	return true;
}

void server_nat_advertise(const struct server_settings *set, const struct sa *local,
			  const struct sa *peer, struct sa *out)
{
	struct sa ext;

	*out = *local;
	if (!server_nat_extern(set, peer, &ext))
		return;
	if (!sa_port(&ext))
		sa_set_port(&ext, sa_port(local));
	*out = ext;
}

int server_settings_load(struct server_settings *set, const struct conf *sipconf,
			 const struct conf *mikakaconf, struct conf_diags *diags)
{
	const struct conf_section *gen = sipconf ? conf_section_find(sipconf, "general") : NULL;
	const struct conf_section *msip = mikakaconf ? conf_section_find(mikakaconf, "sip") : NULL;
	const struct conf_var *v;
	uint32_t port = SIP_PORT_DEFAULT;
	bool tcp = false;
	int err = 0;

	memset(set, 0, sizeof(*set));
	set->tos_sip = 32 << 2; /* DSCP 32 (CS4): what the NGN expects on signalling. */
	set->t1 = SIP_T1_DEFAULT;
	set->t2 = SIP_T2_DEFAULT;
	set->t4 = SIP_T4_DEFAULT;
	snprintf(set->useragent, sizeof(set->useragent), "mikaka/%s", MIKAKA_VERSION);

	if ((v = gen ? conf_var_find(gen, "bindport") : NULL) &&
	    parse_u32(v->value, 1, 65535, &port)) {
		diag_bad(diags, v, "a port number (1-65535)");
		err = EINVAL;
	}
	if ((v = gen ? conf_var_find(gen, "tcpenable") : NULL)) {
		if (!strcasecmp(v->value, "yes") || !strcasecmp(v->value, "true") ||
		    !strcmp(v->value, "1") || !strcasecmp(v->value, "on")) {
			tcp = true;
		} else if (strcasecmp(v->value, "no") && strcasecmp(v->value, "false") &&
			   strcmp(v->value, "0") && strcasecmp(v->value, "off")) {
			diag_bad(diags, v, "yes or no");
			err = EINVAL;
		}
	}
	if ((v = gen ? conf_var_find(gen, "tos_sip") : NULL) &&
	    server_tos_parse(v->value, &set->tos_sip)) {
		diag_bad(diags, v, "a TOS value (cs0-cs7, af11-af43, ef or 0-255)");
		err = EINVAL;
	}
	if ((v = gen ? conf_var_find(gen, "timert1") : NULL) &&
	    parse_u32(v->value, 100, 10000, &set->t1)) {
		diag_bad(diags, v, "a T1 in milliseconds (100-10000)");
		err = EINVAL;
	}
	if ((v = gen ? conf_var_find(gen, "useragent") : NULL))
		snprintf(set->useragent, sizeof(set->useragent), "%s", v->value);
	if ((v = msip ? conf_var_find(msip, "timert2") : NULL) &&
	    parse_u32(v->value, 1000, 60000, &set->t2)) {
		diag_bad(diags, v, "a T2 in milliseconds (1000-60000)");
		err = EINVAL;
	}
	if ((v = msip ? conf_var_find(msip, "timert4") : NULL) &&
	    parse_u32(v->value, 1000, 60000, &set->t4)) {
		diag_bad(diags, v, "a T4 in milliseconds (1000-60000)");
		err = EINVAL;
	}

	if ((v = msip ? conf_var_find(msip, "tcp_max_connections") : NULL)) {
		uint32_t n;
		if (parse_u32(v->value, 1, 1000000, &n)) {
			diag_bad(diags, v, "a number of connections (1-1000000)");
			err = EINVAL;
		} else {
			set->tcp.max_conns = n;
		}
	}
	if ((v = msip ? conf_var_find(msip, "tcp_idle_timeout") : NULL)) {
		uint32_t secs;
		if (parse_u32(v->value, 1, 86400, &secs)) {
			diag_bad(diags, v, "a time in seconds (1-86400)");
			err = EINVAL;
		} else {
			set->tcp.idle_timeout_ms = secs * 1000;
		}
	}
	if ((v = msip ? conf_var_find(msip, "tcp_frame_timeout") : NULL)) {
		uint32_t secs;
		if (parse_u32(v->value, 1, 3600, &secs)) {
			diag_bad(diags, v, "a time in seconds (1-3600)");
			err = EINVAL;
		} else {
			set->tcp.frame_timeout_ms = secs * 1000;
		}
	}

	if ((v = msip ? conf_var_find(msip, "tcp_max_connections_per_address") : NULL)) {
		uint32_t n;
		if (parse_u32(v->value, 1, 1000000, &n)) {
			diag_bad(diags, v, "a number of connections (1-1000000)");
			err = EINVAL;
		} else {
			set->tcp.max_conns_per_addr = n;
		}
	}

	if (gen && load_nat(set, gen, diags))
		err = EINVAL;
	err |= load_addrs(set, gen, "udpbindaddr", SIP_TP_UDP, (uint16_t)port, diags);
	if (tcp)
		err |= load_addrs(set, gen, "tcpbindaddr", SIP_TP_TCP, (uint16_t)port, diags);
	if (gen && load_tls(set, gen, diags))
		err = EINVAL;
	/* Asterisk's default TLS port, whatever bindport says. */
	if (set->tls)
		err |= load_addrs(set, gen, "tlsbindaddr", SIP_TP_TLS, SIP_TLS_PORT_DEFAULT, diags);
	return err ? EINVAL : 0;
}
