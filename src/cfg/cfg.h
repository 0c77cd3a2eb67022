/* cfg: one loaded configuration: sip.conf, extensions.conf and mikaka.conf read, checked and
 * interpreted together (listening settings, peers, the dialplan), refcounted so that calls and
 * registrations keep the snapshot they started with while a reload installs a new one. */
#ifndef MIKAKA_CFG_H
#define MIKAKA_CFG_H

#include "base.h"
#include "conf.h"
#include "server.h"

struct sipcfg;
struct dialplan;
struct pbx_vars;

/* Immutable once loaded. Take a reference with mem_ref(), drop it with mem_deref(). */
struct cfg {
	char *dir;
	struct conf *sip;	 /* NULL when the file is absent */
	struct conf *extensions; /* NULL when absent */
	struct conf *mikaka;	 /* NULL when absent */
	struct server_settings server;
	struct sipcfg *peers;	   /* never NULL (empty when sip.conf is absent) */
	struct dialplan *dialplan; /* never NULL (empty when extensions.conf is absent) */
};

/* Reads DIR/sip.conf, DIR/extensions.conf and DIR/mikaka.conf (each optional; a missing sip.conf
 * is a warning), interprets them and runs the checks of `mikakad -t` (Goto targets, unknown
 * applications, peers without host, unreachable contexts). `line_vars` (may be NULL) are the
 * line's values (LINE_NUMBER, ...) given to the dialplan as globals. Every problem is appended
 * to diags with file:line. Returns 0 and sets *cfgp, or EINVAL when any error was found. */
int cfg_load(struct cfg **cfgp, const char *dir, const struct pbx_vars *line_vars,
	     struct conf_diags *diags);

/* Formats every diagnostic as "file:line: error: message\n" into out. */
void cfg_diags_format(const struct conf_diags *diags, struct mbuf *out);

#endif /* MIKAKA_CFG_H */
