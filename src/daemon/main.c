/* mikakad: the daemon's entry point: options, the configuration snapshot and its reload, the
 * modules wired together, and the event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astdb.h" /* Asterisk database */
#include "blf.h"  /* busy lamps */
#include "call.h" /* calls */
#include "cfg.h"
#include "conf.h"
#include "ctl.h"
#include "evsub.h"
#include "im.h"
#include "line.h" /* line discovery */
#include "loop.h"
#include "media.h" /* media */
#include "notify.h" /* notifications */
#include "pbx.h"
#include "peer.h"
#include "reg.h" /* registrar */
#include "screen.h" /* screening */
#include "server.h"
#include "store.h"
#include "svc.h" /* service: sd_notify, exit codes, backup */
#include "web.h" /* web console */
#include "mwi.h" /* voicemail: message waiting */
#include "vm.h"  /* voicemail */

#define LOG_MODULE "mikakad"
#define DEFAULT_CONFDIR "/etc/mikaka"
#define DEFAULT_DB "/var/lib/mikaka/mikaka.db"

struct daemon {
	struct loop *loop;
	struct server *server;
	struct ctl *ctl;
	struct store *store;
	struct line *line; /* line discovery */
	struct call_eng *calls; /* calls */
	struct vm *vm;		/* voicemail */
	struct mwi *mwi;	/* voicemail: message waiting */
	struct blf *blf;	/* busy lamps: hints, dialog/presence subscriptions */
	struct im *im;		/* MESSAGE between phones */
	struct media *media;	/* media */
	struct reg *reg;	/* registrar */
	struct reg_settings regset; /* registrar: mikaka.conf [registrar] */
	struct call_settings callset; /* calls: mikaka.conf [calls] */
	struct web *web;   /* web console */
	struct screen_db *screen; /* screening: block list and phonebook */
	struct notify *notify;	  /* notifications: mikaka.conf [notify] (NULL: none yet) */
	struct cfg *cfg;   /* the configuration in force (one reference) */
	struct cfg_secrets *secrets; /* generated phone secrets (STATEDIR/phones.secrets) */
	const char *confdir;
	const char *dbpath;
	const char *ctlpath;
	time_t started;
	time_t reloaded;
	struct loop_timer trim_tmr; /* svc_release_startup() once start-up is over */
	enum log_level verbosity;   /* the log level set at start (-v, -q) */
};

/* How long after the loop starts the start-up pages are given back: the first turns (READY=1,
 * the store's first commit) are over by then, and `bench/run.sh` reads idle RSS at 1 s. */
#define STARTUP_TRIM_MS 200

static void startup_trim_h(void *arg)
{
	(void)arg;
	log_debug("memory: start-up done, %zu KiB of start-up mappings released",
		  svc_release_startup() / 1024);
}

/* Every call holds four relay sockets (RTP and RTCP on both legs) and each TCP connection one
 * descriptor: take all the kernel allows this process (the soft limit is often 1024 while the
 * hard one is far higher; systemd: LimitNOFILE=). A hard limit below FD_LIMIT_WANT (room for
 * 10,000 calls and 1,280 others is 41,280) is raised to it when the process may (root with
 * CAP_SYS_RESOURCE, e.g. started by hand or from a container whose default is low); otherwise
 * the soft limit goes up to the hard one. Done before the configuration is read, since the
 * default [calls] maxcalls follows from it. Says what it got. */
#define FD_LIMIT_WANT 65536
static void raise_fd_limit(bool quiet)
{
	struct rlimit rl;
	rlim_t was, hard_was;
	bool hard_refused = false;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	was = rl.rlim_cur;
	hard_was = rl.rlim_max;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < FD_LIMIT_WANT) {
		struct rlimit want = {FD_LIMIT_WANT, FD_LIMIT_WANT};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
		else
			hard_refused = true; /* EPERM without CAP_SYS_RESOURCE: the soft one, below */
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
			rl.rlim_cur = 1048576;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			if (!quiet)
				log_warn("open files: cannot raise the limit from %lu to %lu: %s",
					 (unsigned long)was, (unsigned long)rl.rlim_cur,
					 strerror(errno));
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (quiet)
		return;
	if (rl.rlim_max != hard_was)
		log_notice("open files: hard limit raised from %lu to %lu", (unsigned long)hard_was,
			   (unsigned long)rl.rlim_max);
	log_notice("open files: limit %lu (was %lu, hard limit %lu): room for about %lu "
		   "calls with the relay, 4 sockets each",
		   (unsigned long)rl.rlim_cur, (unsigned long)was, (unsigned long)rl.rlim_max,
		   rl.rlim_cur > 1280 ? (unsigned long)(rl.rlim_cur - 1280) / 4 : 0ul);
	if (hard_refused)
		log_notice("open files: the hard limit %lu could not be raised to %d (needs "
			   "CAP_SYS_RESOURCE; systemd: LimitNOFILE=%d, or ulimit -Hn before start)",
			   (unsigned long)hard_was, FD_LIMIT_WANT, FD_LIMIT_WANT);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mikakad [-C CONFDIR] [-s CTLSOCKET] [-d DBFILE] [-t] [-v] [-q] [-V]\n"
		   "       mikakad [-d DBFILE] --restore BACKUP\n"
		   "  -C DIR   configuration directory (sip.conf, extensions.conf, mikaka.conf);\n"
		   "           default " DEFAULT_CONFDIR "\n"
		   "  -s PATH  control socket for the mikaka client; default " CTL_DEFAULT_PATH "\n"
		   "  -d FILE  state database (SQLite); default " DEFAULT_DB "\n"
		   "  -t       check the configuration, print problems, exit 0 (good) or 1\n"
		   "  -v / -q  more / less logging\n"
		   "  -V       print the version and exit\n"
		   "  --restore BACKUP  replace the database with a `mikaka backup` file (checked\n"
		   "           first; refused while a daemon uses the database)\n");
}

/* The line's values as dialplan globals: discovered ones when discovery runs. */
static struct pbx_vars *line_vars(const struct daemon *d)
{
	static const char *const names[] = {"LINE_NUMBER", "LINE_NUMBERS", "LINE_DOMAIN",
					    "LINE_SERVER", "LINE_ADDRESS"};
	struct pbx_vars *vars = NULL;
	char buf[512];

	if (!d->line || pbx_vars_alloc(&vars))
		return vars;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (line_var(d->line, names[i], buf, sizeof(buf)) == 0)
			pbx_vars_set(vars, names[i], buf);
	}
	return vars;
}

/* media: rtp.conf from the configuration directory when present (a missing file: defaults). The
 * port range defaults to even ports in 49152-65534 (the carrier's range; Asterisk's 10000-20000
 * is not accepted there) unless rtp.conf sets rtpstart/rtpend. */
static int media_setup(struct daemon *d)
{
	struct media_config mc;
	struct conf_diags diags = {0};
	struct conf *rc = NULL;
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/rtp.conf", d->confdir);
	err = access(path, F_OK) == 0 ? conf_load(&rc, path, &diags) : 0;
	if (!err)
		err = media_config_load(&mc, rc, &diags);
	if (!err && (!rc || !conf_var_find(conf_section_find(rc, "general"), "rtpend")))
		mc.rtpend = 65534;
	conf_diags_print(&diags);
	conf_diags_reset(&diags);
	conf_free(rc);
	if (err) {
		log_error("%s: %s", path, strerror(err));
		return err;
	}
	err = media_alloc(&d->media, d->loop, &mc);
	if (!err)
		call_eng_set_media(d->calls, d->media);
	return err;
}

struct mbox_check {
	const struct vm *vm;
	const struct peer *p;
	struct conf_diags *diags;
};

static int mbox_check_one(const char *box, const char *ctx, void *arg)
{
	struct mbox_check *mc = arg;
	struct conf_origin o = peer_origin(mc->p, PEER_KEY_MAILBOX);

	if (!vm_box_find(mc->vm, box, ctx))
		conf_diag_add(mc->diags, CONF_WARNING, o.file, o.line,
			      "[%s] mailbox=%s@%s is not in voicemail.conf: its lamp stays off",
			      mc->p->name, box, ctx);
	return 0;
}

/* voicemail: voicemail.conf (file:line errors), and the peers' mailbox= against its boxes
 * (warnings; not for the native form, whose phones all get mailbox=NAME@default). */
static int vm_conf_check(const struct daemon *d, const struct cfg *cfg, struct vm **vmp,
			 struct conf_diags *diags)
{
	char path[PATH_MAX], statedir[PATH_MAX];
	const char *sl = strrchr(d->dbpath, '/');
	struct conf *conf = NULL;
	struct vm *vm = NULL;
	int err = 0;

	snprintf(statedir, sizeof(statedir), "%.*s", sl ? (int)(sl - d->dbpath) : 1,
		 sl ? d->dbpath : ".");
	snprintf(path, sizeof(path), "%s/voicemail.conf", d->confdir);
	if (access(path, F_OK) == 0)
		err = conf_load(&conf, path, diags);
	if (!err)
		err = vm_load(&vm, conf, statedir, diags);
	for (size_t i = 0; !err && cfg && i < sipcfg_peer_count(cfg->peers); i++) {
		const struct peer *p = sipcfg_peer_at(cfg->peers, i);
		struct conf_origin o = peer_origin(p, PEER_KEY_MAILBOX);
		struct mbox_check mc = {vm, p, diags};

		if (!p->mailbox || !o.file || strstr(o.file, "(from mikaka.conf)"))
			continue;
		mwi_mailbox_foreach(p->mailbox, mbox_check_one, &mc);
	}
	if (!err && vmp)
		*vmp = vm; /* the caller applies it */
	else
		vm_free(vm);
	conf_free(conf);
	return err;
}

/* Loads and checks a new snapshot; problems go to diags. Installs it only when it is clean and
 * no phone is waiting for a generated secret (see apply_config). */
static int apply_config_pass(struct daemon *d, struct conf_diags *diags)
{
	struct pbx_vars *vars = line_vars(d);
	struct notify_cfg *ncfg = NULL; /* notifications */
	struct vm *nvm = NULL;		/* voicemail: the new voicemail.conf */
	struct cfg *cfg = NULL;
	int err;

	err = cfg_load_secrets(&cfg, d->confdir, vars, d->secrets, diags);
	pbx_vars_free(vars);
	/* line discovery: [line] is checked with the rest (it is applied at start only) */
	{
		struct line_config lc;

		if (cfg && line_config_load(&lc, cfg->mikaka, diags))
			err = EINVAL;
	}
	/* registrar: its settings are checked with the rest (errors refuse the snapshot) */
	{
		struct reg_settings rs;

		if (reg_settings_load(&rs, cfg ? cfg->mikaka : NULL, diags)) {
			err = EINVAL;
		} else if (!err) {
			rs.line_discovery = d->regset.line_discovery; /* set once at start */
			d->regset = rs;
		}
	}
	/* notifications: [notify] is checked with the rest; a reload applies it below */
	if (cfg && notify_cfg_load(&ncfg, cfg->mikaka, diags))
		err = EINVAL;
	/* calls: [calls] settings, checked with the rest */
	{
		struct call_settings cs;

		if (call_settings_load(&cs, cfg ? cfg->mikaka : NULL, diags)) {
			err = EINVAL;
		} else if (!err) {
			/* INVITEs are challenged as REGISTERs are ([registrar] digest_*) */
			cs.digest = d->regset.digest;
			/* localmedia: relative Record/MixMonitor names go beside the state */
			if (!cs.monitor_dir[0]) {
				const char *sl = strrchr(d->dbpath, '/');
				int dl = sl ? (int)(sl - d->dbpath) : 1;
				snprintf(cs.monitor_dir, sizeof(cs.monitor_dir), "%.*s/monitor", dl,
					 sl ? d->dbpath : ".");
			}
			d->callset = cs;
		}
		/* voicemail: voicemail.conf checked with the rest; a reload applies it below */
		if (vm_conf_check(d, cfg, &nvm, diags))
			err = EINVAL;
		/* localmedia: musiconhold.conf checked with the rest */
		if (call_moh_check(d->confdir, &cs, cfg ? cfg->peers : NULL, diags))
			err = EINVAL;
	}
	if (err || cfg_secrets_pending(d->secrets)) {
		notify_cfg_free(ncfg);
		vm_free(nvm);
		mem_deref(cfg);
		return err;
	}
	/* notifications: at a reload (the loop runs) the sender takes the new [notify]; one is
	 * started (libcurl loaded) when [notify] appears; at start main() does it. */
	if (d->loop && d->notify) {
		notify_set_cfg(d->notify, ncfg);
	} else if (d->loop && ncfg) {
		if (notify_alloc(&d->notify, d->loop, ncfg) == 0)
			call_eng_set_notify(d->calls, d->notify);
		else
			notify_cfg_free(ncfg);
	} else {
		notify_cfg_free(ncfg);
	}
	/* Calls and registrations hold their own references to the old snapshot. */
	mem_deref(d->cfg);
	d->cfg = cfg;
	d->reloaded = time(NULL);
	call_eng_set_cfg(d->calls, cfg); /* calls */
	blf_set_cfg(d->blf, cfg);	 /* busy lamps: the new hints and peers */
	mwi_set_peers(d->mwi, cfg->peers); /* voicemail: the peers' mailbox= */
	/* voicemail: at a reload the running boxes take the new file (messages stay, lamps
	 * follow through the change handler); at start vm_setup loads it. */
	if (d->vm)
		vm_reconfigure(d->vm, nvm);
	else
		vm_free(nvm);
	call_eng_set_settings(d->calls, &d->callset);
	if (d->reg) /* registrar */
		reg_reconfigure(d->reg, cfg->peers, &d->regset);
	return 0;
}

/* Loads, checks and installs a new snapshot. Phones without a written secret are first given
 * throw-away ones (the store's dry mode); only when that snapshot is clean are their secrets
 * generated and kept, by a second load, so a refused configuration never leaves behind secrets
 * that nobody was shown. The second load repeats the first one's warnings: only its errors
 * (a secret that cannot be kept) are passed on. */
static int apply_config(struct daemon *d, struct conf_diags *diags)
{
	struct conf_diags again = {0};
	size_t pending;
	int err;

	cfg_secrets_set_dry(d->secrets, true);
	err = apply_config_pass(d, diags);
	pending = cfg_secrets_pending(d->secrets);
	cfg_secrets_set_dry(d->secrets, false);
	if (err || !pending)
		return err;
	err = apply_config_pass(d, &again);
	for (size_t i = 0; i < again.count; i++) {
		const struct conf_diag *g = &again.items[i];

		if (g->severity == CONF_ERROR)
			conf_diag_add(diags, CONF_ERROR, g->origin.file, g->origin.line, "%s",
				      g->message);
	}
	conf_diags_reset(&again);
	return err;
}

/* Phones whose secret was generated since the last call: printed once, to stdout (the daemon's
 * output, apart from the log) and to out when given (the `reload` reply). */
static void announce_new_phones(struct daemon *d, struct mbuf *out)
{
	struct mbuf mb;

	mbuf_init(&mb);
	if (!d->cfg || cfg_phones_show(d->cfg, d->secrets, true, &mb) || !mb.end) {
		mbuf_reset(&mb);
		return;
	}
	fprintf(stdout,
		"\n==== New phones: secrets generated now, printed only this once ====\n%.*s"
		"(see them again with: mikaka -s %s phones show)\n\n",
		(int)mb.end, (const char *)mb.buf, d->ctlpath);
	fflush(stdout);
	if (out)
		mbuf_printf(out, "New phones (secrets generated now):\n%.*s", (int)mb.end,
			    (const char *)mb.buf);
	explicit_bzero(mb.buf, mb.size);
	mbuf_reset(&mb);
	cfg_secrets_announced(d->secrets);
}

/* `phones show`: the native form's phones with their secrets and where to register. */
static int cmd_phones_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	if (argc)
		return EINVAL;
	return cfg_phones_show(d->cfg, d->secrets, false, out);
}

/* `core show memory`: what the process holds, like Asterisk's `memory show summary`: the heap
 * in use (live objects: calls, transactions, registrations) and what the allocator took from the
 * system, then the resident size. */
static int cmd_memory(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;
	long rss_kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			rss_kib = strtol(line + 6, NULL, 10);
	}
	if (f)
		fclose(f);
#ifdef __GLIBC__
	{
		struct mallinfo2 mi = mallinfo2();

		mbuf_printf(out, "%-24s%zu bytes\n%-24s%zu bytes\n", "Heap in use:",
			    mi.uordblks + mi.hblkhd, "Heap from the system:", mi.arena + mi.hblkhd);
	}
#endif
	mbuf_printf(out, "%-24s%zu bytes\n", "  of which SQLite:", store_sqlite_memory());
	mbuf_printf(out, "%-24s%ld KiB\n%-24s%zu\n", "Resident (VmRSS):", rss_kib,
		    "Calls:", call_count(d->calls));
	if (d->server) {
		struct sip_stack *stack = server_stack(d->server);

		mbuf_printf(out, "%-24s%zu server, %zu client\n",
			    "SIP transactions:", sip_stack_strans_count(stack),
			    sip_stack_ctrans_count(stack));
	}
	return 0;
}

static int cmd_version(struct mbuf *out, int argc, char **argv, void *arg)
{
	mbuf_printf(out, "mikaka %s\n", MIKAKA_VERSION);
	return 0;
}

static void fmt_duration(struct mbuf *out, const char *label, time_t secs)
{
	long dd = (long)(secs / 86400), h = (long)(secs % 86400 / 3600);
	long m = (long)(secs % 3600 / 60), s = (long)(secs % 60);

	mbuf_printf(out, "%s: ", label);
	if (dd)
		mbuf_printf(out, "%ld day%s, ", dd, dd == 1 ? "" : "s");
	if (dd || h)
		mbuf_printf(out, "%ld hour%s, ", h, h == 1 ? "" : "s");
	if (dd || h || m)
		mbuf_printf(out, "%ld minute%s, ", m, m == 1 ? "" : "s");
	mbuf_printf(out, "%ld second%s\n", s, s == 1 ? "" : "s");
}

static int cmd_uptime(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;
	time_t now = time(NULL);

	fmt_duration(out, "System uptime", now - d->started);
	fmt_duration(out, "Last reload", now - d->reloaded);
	return 0;
}

static int cmd_stop(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	mbuf_write_str(out, "Stopping mikakad\n");
	svc_stopping(); /* service */
	loop_stop(d->loop);
	return 0;
}

/* web console: the configuration page's reload button does what `reload` does */
static int cmd_reload(struct mbuf *out, int argc, char **argv, void *arg);
static int web_reload(struct mbuf *out, void *arg)
{
	return cmd_reload(out, 0, NULL, arg);
}

/* `reload`: the whole new configuration is checked first; on any error the running one stays
 * and the caller sees every problem with file:line. */
static int cmd_reload(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;
	struct conf_diags diags = {0};
	int err;

	svc_reloading(); /* service */
	err = apply_config(d, &diags);
	svc_reloaded(NULL);
	cfg_diags_format(&diags, out);
	if (err) {
		mbuf_printf(out, "Reload refused: the configuration in %s has errors; the running "
				 "one stays in force.\n",
			    d->confdir);
		log_error("reload refused: configuration has errors");
	} else {
		mbuf_write_str(out, "Configuration reloaded.\n");
		log_notice("configuration reloaded");
		announce_new_phones(d, out);
	}
	conf_diags_reset(&diags);
	return err ? ECANCELED : 0;
}

static int cmd_dialplan_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	if (argc > 1)
		return EINVAL;
	return dialplan_show(d->cfg->dialplan, argc ? argv[0] : NULL, out);
}

static int cmd_sip_show_peers(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	/* registrar: live contact state via its peer_state_h */
	return sipcfg_show_peers(d->cfg->peers, out, reg_peer_state, d->reg);
}

static int cmd_sip_show_peer(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	if (argc != 1)
		return EINVAL;
	return sipcfg_show_peer(d->cfg->peers, argv[0], out, reg_peer_state, d->reg);
}

/* `sip set debug peer NAME`: the peer's fixed host, or where one of its bindings registered
 * from (asked per message, so a phone that moves stays traced). */
struct peer_at {
	const struct sa *addr;
};

static int binding_at_h(const struct reg_contact_info *ci, void *arg)
{
	const struct peer_at *pa = arg;

	return sa_eq(&ci->source, pa->addr) ? 1 : 0;
}

static bool peer_match_h(const char *name, const struct sa *addr, void *arg)
{
	struct daemon *d = arg;
	const struct peer *p = d->cfg ? peer_find(d->cfg->peers, name) : NULL;
	struct peer_at pa = {addr};

	if (p && sa_isset(&p->addr) && sa_eq_addr(&p->addr, addr))
		return true;
	return d->reg && reg_contacts(d->reg, name, binding_at_h, &pa) == 1;
}

/* evsub's NOTIFYs and 200s to SUBSCRIBEs: externaddr for a phone outside the NAT, read from
 * the configuration in force (it changes on reload). */
static void nat_adv_h(const struct sa *local, const struct sa *peer, struct sa *out, void *arg)
{
	struct daemon *d = arg;

	if (d->cfg)
		server_nat_advertise(&d->cfg->server, local, peer, out);
	else
		*out = *local;
}

/* sip set debug on|off|ip ADDR[:PORT]|peer NAME, with Asterisk's replies. */
static int cmd_sip_set_debug(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;
	struct sa ip;
	int err;

	if (argc == 1 && (!strcasecmp(argv[0], "on") || !strcasecmp(argv[0], "off"))) {
		bool on = !strcasecmp(argv[0], "on");

		err = server_debug_set(d->server, on ? SERVER_DEBUG_ALL : SERVER_DEBUG_OFF, NULL,
				       NULL);
		return err ? err
			   : mbuf_printf(out, "SIP Debugging %s\n", on ? "enabled" : "Disabled");
	}
	if (argc == 2 && !strcasecmp(argv[0], "ip")) {
		char buf[64];

		if (sa_decode(&ip, argv[1], 0)) {
			mbuf_printf(out, "sip set debug ip: '%s' is not an address\n", argv[1]);
			return EINVAL;
		}
		err = server_debug_set(d->server, SERVER_DEBUG_IP, &ip, NULL);
		return err ? err
			   : mbuf_printf(out, "SIP Debugging Enabled for IP: %s\n",
					 sa_port(&ip) ? sa_fmt(&ip, buf, sizeof(buf))
						      : sa_ntop(&ip, buf, sizeof(buf)));
	}
	if (argc == 2 && !strcasecmp(argv[0], "peer")) {
		if (!d->cfg || !peer_find(d->cfg->peers, argv[1])) {
			mbuf_printf(out, "No such peer '%s'\n", argv[1]);
			return ENOENT;
		}
		err = server_debug_set(d->server, SERVER_DEBUG_PEER, NULL, argv[1]);
		return err ? err
			   : mbuf_printf(out, "SIP Debugging Enabled for peer %s (its host and "
					      "registrations)\n",
					 argv[1]);
	}
	mbuf_printf(out, "usage: sip set debug on|off|ip ADDR[:PORT]|peer NAME\n");
	return EINVAL;
}

/* core set debug on|off|N, core set verbose N: the daemon's log level at run time (Asterisk's
 * levels are finer; here any debug level means every debug line, verbose 0 hides info). */
static int cmd_core_set(struct mbuf *out, int argc, char **argv, void *arg, bool debug)
{
	struct daemon *d = arg;
	enum log_level lvl;
	char *end = NULL;
	long n;

	if (argc != 1)
		goto usage;
	if (!strcasecmp(argv[0], "on"))
		n = 1;
	else if (!strcasecmp(argv[0], "off"))
		n = 0;
	else if ((n = strtol(argv[0], &end, 10)) < 0 || !end || *end)
		goto usage;
	if (debug)
		lvl = n > 0 ? LOG_DEBUG : (d->verbosity < LOG_INFO ? LOG_INFO : d->verbosity);
	else
		lvl = n > 0 ? LOG_INFO : LOG_NOTICE;
	if (!debug && log_get_level() == LOG_DEBUG && n > 0)
		lvl = LOG_DEBUG; /* verbose does not turn debugging off */
	log_set_level(lvl);
	return mbuf_printf(out, "Core %s is now %s.\n", debug ? "debug" : "verbose",
			   n > 0 ? "on" : "OFF");
usage:
	mbuf_printf(out, "usage: core set %s on|off|LEVEL\n", debug ? "debug" : "verbose");
	return EINVAL;
}

static int cmd_core_set_debug(struct mbuf *out, int argc, char **argv, void *arg)
{
	return cmd_core_set(out, argc, argv, arg, true);
}

static int cmd_core_set_verbose(struct mbuf *out, int argc, char **argv, void *arg)
{
	return cmd_core_set(out, argc, argv, arg, false);
}

static int cmd_sip_show_settings(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;
	struct sip_transp_load ld;
	struct sip_stack *stack;
	int err = sipcfg_show_settings(d->cfg->peers, out);

	if (err || !d->server)
		return err;
	stack = server_stack(d->server);
	sip_transp_load(sip_stack_transp(stack), &ld);
	{
		struct sa ip;
		const char *peer = "";
		char buf[64];
		enum server_debug_mode m = server_debug_get(d->server, &ip, &peer);

		const struct server_settings *ss = &d->cfg->server;

		if (sa_isset(&ss->extern_addr))
			mbuf_printf(out, "\n  %-24s%s", "Externaddr:",
				    sa_port(&ss->extern_addr)
					? sa_fmt(&ss->extern_addr, buf, sizeof(buf))
					: sa_ntop(&ss->extern_addr, buf, sizeof(buf)));
		for (size_t i = 0; i < ss->nlocalnet; i++) {
			char a[64], mk[64];

			inet_ntop(ss->localnet[i].af, ss->localnet[i].addr, a, sizeof(a));
			inet_ntop(ss->localnet[i].af, ss->localnet[i].mask, mk, sizeof(mk));
			mbuf_printf(out, "\n  %-24s%s/%s", "Localnet:", a, mk);
		}
		err = mbuf_printf(out, "\n  %-24s%s%s%s\n", "SIP Debugging:",
				  m == SERVER_DEBUG_OFF ? "Disabled" : "Enabled",
				  m == SERVER_DEBUG_IP ? " for IP " : m == SERVER_DEBUG_PEER ? " for peer " : "",
				  m == SERVER_DEBUG_IP ? sa_fmt(&ip, buf, sizeof(buf))
				  : m == SERVER_DEBUG_PEER ? peer : "");
		if (err)
			return err;
	}
	return mbuf_printf(out,
			   "\nOverload:\n---------\n  %-24s%s\n  %-24s%u.%03u ms\n"
			   "  %-24s%llu (%llu ms in all)\n  %-24s%llu\n",
			   "Overloaded now:", ld.overloaded ? "Yes" : "No", "Queueing delay:",
			   ld.delay_us / 1000, ld.delay_us % 1000, "Overload onsets:",
			   (unsigned long long)ld.onsets, (unsigned long long)ld.overload_ms,
			   "New calls shed (503):", (unsigned long long)sip_stack_shed_count(stack));
}

static int cmd_sip_show_registry(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	if (d->reg) /* registrar: live state, and the line's registration from discovery */
		return reg_show_registry(d->reg, out);
	return sipcfg_show_registry(d->cfg->peers, out, NULL, NULL);
}

/* line discovery */
static int cmd_line_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	return line_show(d->line, out);
}

/* line discovery: a new number, domain or server changes the dialplan's LINE_* globals. */
static void line_changed(const struct line_info *info, unsigned changes, void *arg)
{
	struct daemon *d = arg;
	struct conf_diags diags = {0};

	if (apply_config(d, &diags))
		log_warn("line changed, but the configuration now has errors; LINE_* variables "
			 "keep their old values");
	conf_diags_reset(&diags);
	reg_line_change_h(info, changes, d->reg); /* registrar */
	/* calls: the engine asks the registrar's decision about the line (reg_line) */
}

static void signal_handler(enum loop_signal sig, void *arg)
{
	struct daemon *d = arg;

	if (sig == LOOP_SIG_HUP) {
		struct conf_diags diags = {0};
		int err;

		log_notice("SIGHUP: reloading");
		svc_reloading(); /* service */
		err = apply_config(d, &diags);
		svc_reloaded(NULL);
		if (err) {
			conf_diags_print(&diags);
			log_error("reload refused: configuration has errors; keeping the running one");
		} else {
			conf_diags_print(&diags);
			log_notice("configuration reloaded");
			announce_new_phones(d, NULL);
		}
		conf_diags_reset(&diags);
		return;
	}
	log_notice("terminating");
	svc_stopping(); /* service */
	loop_stop(d->loop);
}

static const struct peer *mwi_auth(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	return call_eng_authenticate(arg, st, msg);
}

static int cmd_mwi_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	(void)argc;
	(void)argv;
	return mwi_show(arg, out);
}

/* voicemail: voicemail.conf from the configuration directory (absent: no mailboxes), the
 * spool beside the state database unless spooldir= says otherwise, its index rebuilt. */
static int vm_setup(struct daemon *d)
{
	char path[PATH_MAX], statedir[PATH_MAX];
	const char *sl = strrchr(d->dbpath, '/');
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	int err = 0;

	snprintf(statedir, sizeof(statedir), "%.*s", sl ? (int)(sl - d->dbpath) : 1,
		 sl ? d->dbpath : ".");
	snprintf(path, sizeof(path), "%s/voicemail.conf", d->confdir);
	if (access(path, F_OK) == 0)
		err = conf_load(&conf, path, &diags);
	if (!err)
		err = vm_load(&d->vm, conf, statedir, &diags);
	conf_free(conf);
	conf_diags_reset(&diags); /* reported by apply_config already */
	if (err) {
		log_error("voicemail.conf: %s", strerror(err));
		return err;
	}
	vm_set_loop(d->vm, d->loop);
	vm_set_store(d->vm, d->store);
	call_eng_set_vm(d->calls, d->vm);
	err = vm_ctl_register(d->ctl, d->vm);
	/* message waiting: SUBSCRIBEs authenticated as calls are; NOTIFYs at every change */
	if (!err)
		err = mwi_alloc(&d->mwi, d->loop, server_stack(d->server), d->reg, d->vm, mwi_auth,
				d->calls);
	if (!err) {
		mwi_set_peers(d->mwi, d->cfg->peers);
		vm_set_change_handler(d->vm, mwi_box_changed, d->mwi);
		reg_set_bound_handler(d->reg, mwi_reg_bound, d->mwi);
	}
	if (!err) {
		const struct ctl_cmd cmd = {"voicemail show subscriptions",
					    "message-summary subscriptions (RFC 3842)",
					    cmd_mwi_show, d->mwi};
		err = ctl_register(d->ctl, &cmd);
	}
	return err;
}

/* SUBSCRIBE: dialog and presence to the busy lamps, message-summary to voicemail, 489 for the
 * rest (with every package served in Allow-Events). */
static bool subscribe_route(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct daemon *d = arg;
	struct pl ev;

	if (blf_handle_subscribe(st, msg, d->blf))
		return true;
	if (d->mwi && evsub_event(msg, &ev) && pl_caseeq_str(&ev, "message-summary"))
		return mwi_handle_subscribe(st, msg, d->mwi);
	sip_strans_reply(st, 489, "Bad Event",
			 "Allow-Events: message-summary, " BLF_ALLOW_EVENTS "\r\n", NULL, NULL);
	return true;
}

static int cmd_show_hints(struct mbuf *out, int argc, char **argv, void *arg)
{
	(void)argc;
	(void)argv;
	return blf_show_hints(((struct daemon *)arg)->blf, out);
}

static int cmd_sip_show_subscriptions(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct daemon *d = arg;

	(void)argc;
	(void)argv;
	return blf_show_subscriptions(d->blf, mwi_subscriptions(d->mwi), out);
}

/* busy lamps: SUBSCRIBEs authenticated as calls are; NOTIFYs at every change of a hint. */
static int blf_setup(struct daemon *d)
{
	const struct ctl_cmd cmds[] = {
	    {"core show hints", "the dialplan hints: devices, state, watchers", cmd_show_hints, d},
	    {"sip show subscriptions", "dialog, presence and message-summary subscriptions",
	     cmd_sip_show_subscriptions, d},
	    {"devstate change", "devstate change Custom:NAME STATE: set a custom device state",
	     blf_cmd_devstate_change, NULL},
	    {"devstate list", "the custom device states", blf_cmd_devstate_list, NULL},
	};
	int err = blf_alloc(&d->blf, d->loop, server_stack(d->server), d->reg, d->calls, mwi_auth,
			    d->calls);

	if (!err) {
		blf_set_cfg(d->blf, d->cfg);
		blf_set_store(d->blf, d->store);
		err = server_route(d->server, SIP_METHOD_SUBSCRIBE, subscribe_route, d);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++) {
		struct ctl_cmd c = cmds[i];

		if (!c.arg)
			c.arg = d->blf; /* known only now */
		err = ctl_register(d->ctl, &c);
	}
	return err;
}

/* MESSAGE between phones: authenticated as calls are, relayed to the named phone. */
static bool im_peer_exists(const char *name, void *arg)
{
	struct daemon *d = arg;

	return d->cfg && peer_find(d->cfg->peers, name);
}

static int im_setup(struct daemon *d)
{
	int err = im_alloc(&d->im, server_stack(d->server), d->reg, mwi_auth, d->calls);

	if (!err)
		im_set_peer_exists(d->im, im_peer_exists, d);
	return err ? err : server_route(d->server, SIP_METHOD_MESSAGE, im_handle, d->im);
}

static int register_commands(struct daemon *d)
{
	const struct ctl_cmd cmds[] = {
		{"core show version", "show the version", cmd_version, d},
		{"core show memory", "heap in use, from the system, resident size", cmd_memory, d},
		{"core show uptime", "show how long the daemon has run", cmd_uptime, d},
		{"core stop gracefully", "stop the daemon", cmd_stop, d},
		{"core stop now", "stop the daemon", cmd_stop, d},
		{"reload", "re-read and check the configuration; apply it if it has no error",
		 cmd_reload, d},
		{"dialplan show", "dialplan show [[EXTEN@]CONTEXT]: show the dialplan",
		 cmd_dialplan_show, d},
		{"sip show peers", "list the sip.conf peers", cmd_sip_show_peers, d},
		{"sip show peer", "sip show peer NAME: one peer in detail", cmd_sip_show_peer, d},
		{"sip show settings", "the [general] settings", cmd_sip_show_settings, d},
		{"sip show registry", "outbound registrations", cmd_sip_show_registry, d},
		{"sip set debug", "sip set debug on|off|ip ADDR[:PORT]|peer NAME: log SIP messages",
		 cmd_sip_set_debug, d},
		{"core set debug", "core set debug on|off|LEVEL: debug lines in the log",
		 cmd_core_set_debug, d},
		{"core set verbose", "core set verbose LEVEL: 0 hides the info lines",
		 cmd_core_set_verbose, d},
		{"sip reload", "as reload", cmd_reload, d},
		{"dialplan reload", "as reload", cmd_reload, d},
		{"core reload", "as reload", cmd_reload, d},
		{"module reload", "as reload", cmd_reload, d},
		{"line show", "show the discovered line", cmd_line_show, d}, /* line discovery */
		{"phones show", "the [phones] of mikaka.conf: user names, secrets, where to register",
		 cmd_phones_show, d},
		/* Asterisk's database (DB() in the dialplan), in the state store */
		{"database show", "database show [family [keytree]]: the entries, in key order",
		 astdb_cmd_show, d->store},
		{"database showkey", "database showkey KEYTREE: entries of every family with that key",
		 astdb_cmd_showkey, d->store},
		{"database get", "database get FAMILY KEY", astdb_cmd_get, d->store},
		{"database put", "database put FAMILY KEY VALUE", astdb_cmd_put, d->store},
		{"database del", "database del FAMILY KEY", astdb_cmd_del, d->store},
		{"database deltree", "database deltree FAMILY [KEYTREE]", astdb_cmd_deltree,
		 d->store},
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(d->ctl, &cmds[i]);
	return err;
}

int main(int argc, char **argv)
{
	const char *ctlpath = CTL_DEFAULT_PATH;
	struct conf_diags diags = {0};
	struct line_config line_cfg; /* line discovery */
	struct web_settings web_set; /* web console: mikaka.conf [web], read at start */
	struct daemon d = {0};
	bool check_only = false;
	int verbosity = LOG_INFO;
	int opt, err, status = 1;
	/* service: --restore */
	static const struct option longopts[] = {{"restore", required_argument, NULL, 'R'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	const char *restore = NULL;

	d.confdir = DEFAULT_CONFDIR;
	d.dbpath = DEFAULT_DB;
	d.ctlpath = ctlpath;
	while ((opt = getopt_long(argc, argv, "C:s:d:tvqVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'R': /* service */
			restore = optarg;
			break;
		case 'C':
			d.confdir = optarg;
			break;
		case 's':
			ctlpath = d.ctlpath = optarg;
			break;
		case 'd':
			d.dbpath = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			if (verbosity > LOG_DEBUG)
				verbosity--;
			break;
		case 'q':
			if (verbosity < LOG_ERROR)
				verbosity++;
			break;
		case 'V':
			printf("mikakad %s\n", MIKAKA_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_level((enum log_level)verbosity);
	d.verbosity = (enum log_level)verbosity;
	if (restore) /* service: before any configuration is read */
		return svc_restore_main(restore, d.dbpath);
	if (svc_check_confdir(d.confdir)) /* service: a missing /etc/mikaka is an error */
		return check_only ? 1 : SVC_EXIT_CONFIG;

	/* Generated phone secrets are state: read (and, for a new phone, written) beside the
	 * database. -t writes nothing. */
	if (!check_only) {
		char spath[PATH_MAX];

		cfg_secrets_path(spath, sizeof(spath), d.dbpath);
		if (cfg_secrets_open(&d.secrets, spath, &diags)) {
			conf_diags_print(&diags);
			conf_diags_reset(&diags);
			log_error("not starting: %s cannot be read (nothing was changed)", spath);
			return SVC_EXIT_CONFIG; /* service: a restart cannot help */
		}
	}
	raise_fd_limit(check_only);
	err = apply_config(&d, &diags);
	/* line discovery: [line] in mikaka.conf (checked, and reported, by apply_config) */
	memset(&line_cfg, 0, sizeof(line_cfg));
	if (d.cfg) {
		struct conf_diags again = {0}; /* reported by apply_config already */

		if (line_config_load(&line_cfg, d.cfg->mikaka, &again))
			err = EINVAL;
		conf_diags_reset(&again);
	}
	d.regset.line_discovery = line_cfg.ifname[0] != '\0'; /* registrar: domains from the lease */
	/* registrar: with -t and no discovery, which peer is the line and whether every host name
	 * resolves (warnings with file:line; with discovery the domain is only known from the
	 * lease, so the daemon logs the same when it has one). */
	if (check_only && d.cfg && !err && !line_cfg.ifname[0]) {
		struct reg_line_view v;

		if (reg_line_decide(&v, d.cfg->peers, &d.regset, NULL, d.regset.resolve,
				    d.regset.resolve_arg, &diags) == 0) {
			const struct reg_line *l = &v.line;
			char sb[SA_STRLEN];

			if (l->known)
				printf("the line: %s; server %s, domain %s, number %s, peer %s\n",
				       l->source,
				       sa_isset(&l->server) ? sa_fmt(&l->server, sb, sizeof(sb))
							    : "not resolvable now",
				       l->domain[0] ? l->domain : "unknown",
				       l->nnumbers ? l->numbers[0] : "unknown",
				       l->peer[0] ? l->peer : "none");
			else
				printf("the line: none (no register => line for it, no peer named "
				       "line, no [line] discovery)\n");
			reg_line_view_reset(&v);
		}
	}
	if (web_settings_load(&web_set, d.cfg ? d.cfg->mikaka : NULL, &diags)) /* web console */
		err = EINVAL;
	conf_diags_print(&diags);
	if (check_only) {
		printf("%s: configuration %s (%zu error%s, %zu warning%s)\n", d.confdir,
		       err ? "has errors" : "OK", diags.errors, diags.errors == 1 ? "" : "s",
		       diags.count - diags.errors, diags.count - diags.errors == 1 ? "" : "s");
		conf_diags_reset(&diags);
		mem_deref(d.cfg);
		return err ? 1 : 0;
	}
	conf_diags_reset(&diags);
	if (err == EIO) {
		log_error("not starting: the state directory of %s cannot keep the phones' "
			  "generated secrets (see above); nothing stored was changed",
			  d.dbpath);
		cfg_secrets_free(d.secrets);
		return SVC_EXIT_CANTCREAT; /* service: 73, the state cannot be written */
	}
	if (err) {
		log_error("configuration has errors; not starting (check with: mikakad -C %s -t)",
			  d.confdir);
		mem_deref(d.cfg);
		cfg_secrets_free(d.secrets);
		return SVC_EXIT_CONFIG; /* service: 78, a restart cannot help */
	}

	d.started = d.reloaded = time(NULL);
	err = loop_alloc(&d.loop);
	if (!err)
		err = loop_signals_listen(d.loop, signal_handler, &d);
	if (!err) {
		const struct store_opts so = {.lock = true}; /* service: one daemon per database */

		err = store_open_opts(&d.store, d.loop, d.dbpath, &so);
		if (err) {
			log_error("state database %s: %s", d.dbpath, strerror(err));
			status = svc_exit_for(err); /* service */
		}
	}
	if (!err) {
		server_set_state_dir(d.dbpath); /* tls: the self-signed certificate lives there */
		err = server_alloc(&d.server, d.loop, &d.cfg->server);
		if (!err)
			server_debug_set_peer_match(d.server, peer_match_h, &d);
		evsub_set_nat(nat_adv_h, &d);
	}
	if (!err) {
		err = ctl_alloc(&d.ctl, d.loop, ctlpath);
		if (err)
			log_error("control socket %s: %s", ctlpath, strerror(err));
	}
	if (!err)
		err = register_commands(&d);
	if (!err) /* service: `backup FILE` */
		err = svc_ctl_register(d.ctl, d.store);
	if (!err) /* web console: users and token commands; the server when [web] is there */
		err = web_ctl_register(d.ctl, d.store);
	if (!err && web_set.enabled && web_set.tls && !web_set.certfile[0]) {
		/* web console: HTTPS without its own files takes SIP's (sip.conf tlscertfile),
		 * else the self-signed certificate SIP over TLS makes in the state directory */
		const struct server_settings *ss = &d.cfg->server;

		if (ss->tls_cert[0]) {
			snprintf(web_set.certfile, sizeof(web_set.certfile), "%s", ss->tls_cert);
			snprintf(web_set.keyfile, sizeof(web_set.keyfile), "%s", ss->tls_key);
		} else {
			char why[320] = "";

			err = sip_tls_self_signed(server_state_dir(), web_set.certfile,
						  sizeof(web_set.certfile), web_set.keyfile,
						  sizeof(web_set.keyfile), why, sizeof(why));
			if (err)
				log_error("web console: %s", why[0] ? why : strerror(err));
		}
	}
	if (!err && web_set.enabled)
		err = web_alloc(&d.web, d.loop, d.store, &web_set);
	/* registrar: stored bindings loaded, `register =>` lines started, REGISTER routed */
	if (!err) {
		err = reg_alloc(&d.reg, d.loop, server_stack(d.server), d.store, d.cfg->peers,
				&d.regset);
		if (!err)
			err = server_route(d.server, SIP_METHOD_REGISTER, reg_handle_register, d.reg);
		if (!err)
			err = reg_ctl_register(d.ctl, d.reg);
	}
	/* calls: the B2BUA takes INVITEs and every in-dialog request (d.reg: registered
	 * contacts and the authentication ban). */
	if (!err)
		err = call_eng_alloc(&d.calls, d.loop, server_stack(d.server), d.store, d.reg, d.cfg,
				     &d.callset);
	if (!err) {
		static const enum sip_method call_methods[] = {
			SIP_METHOD_INVITE, SIP_METHOD_ACK,  SIP_METHOD_BYE,   SIP_METHOD_PRACK,
			SIP_METHOD_UPDATE, SIP_METHOD_INFO, SIP_METHOD_REFER,
		};

		for (size_t i = 0; i < ARRAY_SIZE(call_methods) && !err; i++)
			err = server_route(d.server, call_methods[i], call_handle_request, d.calls);
		if (!err)
			err = call_ctl_register(d.ctl, d.calls, d.store);
	}
	/* screening: the block list and phonebook from the store, their commands */
	if (!err)
		err = screen_db_alloc(&d.screen, d.store);
	if (!err)
		err = screen_ctl_register(d.ctl, d.screen);
	if (!err)
		call_eng_set_screen(d.calls, d.screen);
	if (!err)
		web_set_screen(d.web, d.screen);
	/* notifications: libcurl is loaded only when [notify] exists */
	if (!err && d.cfg->mikaka && conf_section_find(d.cfg->mikaka, "notify")) {
		struct notify_cfg *nc = NULL;
		struct conf_diags again = {0}; /* reported by apply_config already */

		if (notify_cfg_load(&nc, d.cfg->mikaka, &again) == 0 && nc &&
		    notify_alloc(&d.notify, d.loop, nc) == 0)
			call_eng_set_notify(d.calls, d.notify);
		else
			notify_cfg_free(nc); /* logged; calls go on without notifications */
		conf_diags_reset(&again);
	}
	if (!err) /* media */
		err = media_setup(&d);
	if (!err) /* voicemail */
		err = vm_setup(&d);
	if (!err) /* busy lamps */
		err = blf_setup(&d);
	if (!err)
		err = im_setup(&d);
	if (!err) { /* web console: what /metrics and /api/status report on; the config page */
		const char *check_argv[] = {"/proc/self/exe", "-C", d.confdir, "-d", d.dbpath,
					    "-t", NULL};

		web_set_sources(d.web, d.calls, d.reg, server_stack(d.server));
		web_set_vm(d.web, d.vm);
		web_set_admin(d.web, check_argv, web_reload, &d);
	}
	/* line discovery: start the DHCP client (or lease-file reader). */
	if (!err && line_cfg.ifname[0]) {
		if (!line_cfg.state_file[0])
			line_state_path(line_cfg.state_file, sizeof(line_cfg.state_file), d.dbpath,
					line_cfg.ifname);
		err = line_alloc(&d.line, d.loop, &line_cfg, line_changed, &d);
		if (err)
			log_error("line discovery on %s: %s", line_cfg.ifname, strerror(err));
	}
	if (!err) {
		log_notice("mikakad %s started (config %s, control %s, database %s)",
			   MIKAKA_VERSION, d.confdir, ctlpath, d.dbpath);
		announce_new_phones(&d, NULL);
		/* service: READY=1 on the first turn: SIP is listening and the store is open */
		err = svc_start(d.loop, "SIP listening, store open");
		/* memory: once the first turns are over (the store's first commit included),
		 * what only start-up ran leaves the resident set (svc_release_startup) */
		if (!err)
			err = loop_timer_start(d.loop, &d.trim_tmr, STARTUP_TRIM_MS, startup_trim_h,
					       &d);
		/* memory: freed messages kept for reuse on this, the loop's, thread (base/mem.c) */
		mem_cache_enable(true);
		if (!err)
			err = loop_run(d.loop);
	}
	svc_stopping(); /* service */
	svc_stop();
	loop_timer_cancel(&d.trim_tmr);

	web_free(d.web);	/* web console */
	blf_free(d.blf);	/* busy lamps: before the calls and the registrar it listens to */
	im_free(d.im);		/* messages: before the stack that carries them */
	call_eng_free(d.calls); /* calls */
	notify_free(d.notify);	/* notifications: after the calls that send them */
	screen_db_free(d.screen); /* screening */
	mwi_free(d.mwi);	/* voicemail: its NOTIFY transactions, before the stack */
	vm_free(d.vm);		/* voicemail: after the calls that use it */
	media_free(d.media);	/* media: after the calls that hold its legs */
	line_free(d.line); /* line discovery */
	reg_free(d.reg);   /* registrar: before the stack and the store it uses */
	ctl_free(d.ctl);
	server_free(d.server);
	store_close(d.store);
	loop_free(d.loop);
	mem_deref(d.cfg);
	cfg_secrets_free(d.secrets);
	mem_cache_enable(false); /* what is kept is freed */
	if (err)
		log_error("exiting: %s", strerror(err));
	return err ? status : 0;
}
