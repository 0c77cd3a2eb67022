/* ctl: the control socket (a UNIX stream socket) that the `mikaka` command-line client talks to,
 * and the table of commands it answers. */
#ifndef MIKAKA_CTL_H
#define MIKAKA_CTL_H

#include "base.h"

struct loop;
struct ctl;

/* Protocol: the client writes one command line ending in '\n'; the daemon answers with a status
 * line "200 OK" or "4xx/5xx reason", then the output, then closes the connection. */
#define CTL_DEFAULT_PATH "/run/mikaka/mikaka.ctl"

/* A command handler writes its output to `out` and returns 0, or an errno value (the client then
 * exits non-zero): EINVAL for bad arguments, ENOENT for nothing found, ECANCELED for a request
 * refused (a reload of a broken configuration). argv holds the words after the command's own
 * words. */
typedef int(ctl_cmd_h)(struct mbuf *out, int argc, char **argv, void *arg);

struct ctl_cmd {
	const char *words; /* "core show version" */
	const char *help;
	ctl_cmd_h *h;
	void *arg;
};

/* Creates the socket at path (parent directory created when missing), mode 0660. */
int ctl_alloc(struct ctl **ctlp, struct loop *loop, const char *path);
/* Removes the socket file and closes every connection. */
void ctl_free(struct ctl *ctl);
/* Registers a command; words are matched case-insensitively, longest match first. */
int ctl_register(struct ctl *ctl, const struct ctl_cmd *cmd);

/* Runs one command line as if it came from the socket (tests, and the built-in `help`). Writes
 * the status line and output into out. Returns the handler's result. */
int ctl_execute(struct ctl *ctl, const char *line, struct mbuf *out);

#endif /* MIKAKA_CTL_H */
