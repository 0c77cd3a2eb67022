/* mikakad: the daemon's entry point: options, configuration, and the event loop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "loop.h"
#include "server.h"

#define LOG_MODULE "mikakad"
#define DEFAULT_CONFDIR "/etc/mikaka"
#define DEFAULT_DB "/var/lib/mikaka/mikaka.db"

struct daemon {
	struct loop *loop;
	struct server *server;
	struct ctl *ctl;
	const char *confdir;
	time_t started;
	time_t reloaded;
	bool stopping;
};

/* The configuration files, read together so -t and reload see the same thing. */
struct config_set {
	struct conf *sip;
	struct conf *extensions;
	struct conf *mikaka;
};

/* Each TCP connection costs a descriptor: take all the kernel allows this process (the soft
 * limit is often 1024 while the hard one is far higher). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
			rl.rlim_cur = 1048576;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mikakad [-C CONFDIR] [-s CTLSOCKET] [-d DBFILE] [-t] [-v] [-q] [-V]\n"
		   "  -C DIR   configuration directory (sip.conf, extensions.conf, mikaka.conf);\n"
		   "           default " DEFAULT_CONFDIR "\n"
		   "  -s PATH  control socket for the mikaka client; default " CTL_DEFAULT_PATH "\n"
		   "  -d FILE  state database (SQLite); default " DEFAULT_DB "\n"
		   "  -t       check the configuration, print problems, exit 0 (good) or 1\n"
		   "  -v / -q  more / less logging\n"
		   "  -V       print the version and exit\n");
}

static void config_set_free(struct config_set *cs)
{
	conf_free(cs->sip);
	conf_free(cs->extensions);
	conf_free(cs->mikaka);
	memset(cs, 0, sizeof(*cs));
}

/* Loads one file; a missing optional file is not an error. Returns 0 or EINVAL. */
static int load_one(struct conf **confp, const char *dir, const char *name, bool required,
		    struct conf_diags *diags)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) != 0) {
		if (required)
			conf_diag_add(diags, CONF_WARNING, path, 0,
				      "not found; using the built-in defaults");
		return 0;
	}
	err = conf_load(confp, path, diags);
	return err ? EINVAL : 0;
}

static int config_set_load(struct config_set *cs, const char *dir, struct server_settings *set,
			   struct conf_diags *diags)
{
	int err = 0;

	memset(cs, 0, sizeof(*cs));
	err |= load_one(&cs->sip, dir, "sip.conf", true, diags);
	err |= load_one(&cs->extensions, dir, "extensions.conf", false, diags);
	err |= load_one(&cs->mikaka, dir, "mikaka.conf", false, diags);
	err |= server_settings_load(set, cs->sip, cs->mikaka, diags);
	return err ? EINVAL : 0;
}

static int cmd_version(struct mbuf *out, int argc, char **argv, void *arg)
{
	mbuf_printf(out, "mikaka %s\n", MIKAKA_VERSION);
	return 0;
}

static void fmt_duration(struct mbuf *out, const char *label, time_t secs)
{
	long d = (long)(secs / 86400), h = (long)(secs % 86400 / 3600);
	long m = (long)(secs % 3600 / 60), s = (long)(secs % 60);

	mbuf_printf(out, "%s: ", label);
	if (d)
		mbuf_printf(out, "%ld day%s, ", d, d == 1 ? "" : "s");
	if (d || h)
		mbuf_printf(out, "%ld hour%s, ", h, h == 1 ? "" : "s");
	if (d || h || m)
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
	d->stopping = true;
	loop_stop(d->loop);
	return 0;
}

static void reload(struct daemon *d)
{
	struct conf_diags diags = {0};
	struct server_settings set;
	struct config_set cs;

	/* Checked now, applied by the modules as they learn to reload (listening sockets stay). */
	if (config_set_load(&cs, d->confdir, &set, &diags)) {
		conf_diags_print(&diags);
		log_error("reload: configuration has errors; keeping the running one");
	} else {
		conf_diags_print(&diags);
		log_notice("reload: configuration read");
		d->reloaded = time(NULL);
	}
	config_set_free(&cs);
	conf_diags_reset(&diags);
}

static int cmd_reload(struct mbuf *out, int argc, char **argv, void *arg)
{
	reload(arg);
	mbuf_write_str(out, "Reloaded\n");
	return 0;
}

static void signal_handler(enum loop_signal sig, void *arg)
{
	struct daemon *d = arg;

	if (sig == LOOP_SIG_HUP) {
		log_notice("SIGHUP: reloading");
		reload(d);
		return;
	}
	log_notice("terminating");
	loop_stop(d->loop);
}

int main(int argc, char **argv)
{
	const char *ctlpath = CTL_DEFAULT_PATH;
	const char *dbpath = DEFAULT_DB;
	struct conf_diags diags = {0};
	struct server_settings set;
	struct daemon d = {0};
	struct config_set cs;
	bool check_only = false;
	int verbosity = LOG_INFO;
	int opt, err;

	d.confdir = DEFAULT_CONFDIR;
	while ((opt = getopt(argc, argv, "C:s:d:tvqVh")) != -1) {
		switch (opt) {
		case 'C':
			d.confdir = optarg;
			break;
		case 's':
			ctlpath = optarg;
			break;
		case 'd':
			dbpath = optarg;
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

	err = config_set_load(&cs, d.confdir, &set, &diags);
	conf_diags_print(&diags);
	if (check_only) {
		printf("%s: configuration %s (%zu error%s, %zu warning%s)\n", d.confdir,
		       err ? "has errors" : "OK", diags.errors, diags.errors == 1 ? "" : "s",
		       diags.count - diags.errors, diags.count - diags.errors == 1 ? "" : "s");
		conf_diags_reset(&diags);
		config_set_free(&cs);
		return err ? 1 : 0;
	}
	conf_diags_reset(&diags);
	if (err) {
		log_error("configuration has errors; not starting (check with: mikakad -C %s -t)",
			  d.confdir);
		config_set_free(&cs);
		return 1;
	}
	(void)dbpath; /* the state store arrives with registrations */

	raise_fd_limit();
	d.started = d.reloaded = time(NULL);
	err = loop_alloc(&d.loop);
	if (!err)
		err = loop_signals_listen(d.loop, signal_handler, &d);
	if (!err)
		err = server_alloc(&d.server, d.loop, &set);
	if (!err) {
		err = ctl_alloc(&d.ctl, d.loop, ctlpath);
		if (err)
			log_error("control socket %s: %s", ctlpath, strerror(err));
	}
	if (!err) {
		const struct ctl_cmd cmds[] = {
			{"core show version", "show the version", cmd_version, &d},
			{"core show uptime", "show how long the daemon has run", cmd_uptime, &d},
			{"core stop gracefully", "stop the daemon", cmd_stop, &d},
			{"core stop now", "stop the daemon", cmd_stop, &d},
			{"reload", "re-read the configuration", cmd_reload, &d},
		};
		for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
			err = ctl_register(d.ctl, &cmds[i]);
	}
	if (!err) {
		log_notice("mikakad %s started (config %s, control %s)", MIKAKA_VERSION, d.confdir,
			   ctlpath);
		err = loop_run(d.loop);
	}

	ctl_free(d.ctl);
	server_free(d.server);
	loop_free(d.loop);
	config_set_free(&cs);
	if (err)
		log_error("exiting: %s", strerror(err));
	return err ? 1 : 0;
}
