/* mail: the e-mail of a new voicemail (Asterisk's emailsubject/emailbody variables, MIME with
 * the WAV base64-attached) and the mailcmd child fed from the loop without blocking it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "vm_int.h"

#define LOG_MODULE "vm"

#define MAIL_MAX	(64u << 20) /* refuse to build mails beyond this (a 300 s WAV is 6 MB) */
#define MAIL_POLL_MS	100

int vm_mail_subst(struct mbuf *out, const char *tmpl, const struct vm_mailvars *v)
{
	int err = 0;

	for (const char *p = tmpl; p && *p && !err; p++) {
		if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't' || p[1] == '\\')) {
			err = mbuf_write_str(out, p[1] == 'n' ? "\n" : p[1] == 't' ? "\t" : "\\");
			p++;
			continue;
		}
		if (p[0] == '$' && p[1] == '{') {
			const char *e = strchr(p + 2, '}');
			size_t l = e ? (size_t)(e - p - 2) : 0;
			const char *k = p + 2;
			char num[16];
			const char *val = NULL;

#define IS(name) (l == sizeof(name) - 1 && !memcmp(k, name, l))
			if (!e)
				val = NULL;
			else if (IS("VM_NAME"))
				val = v->name;
			else if (IS("VM_MAILBOX"))
				val = v->mailbox;
			else if (IS("VM_CALLERID"))
				val = v->callerid;
			else if (IS("VM_CIDNUM"))
				val = v->cidnum;
			else if (IS("VM_CIDNAME"))
				val = v->cidname;
			else if (IS("VM_DATE"))
				val = v->date;
			else if (IS("VM_DUR")) {
				snprintf(num, sizeof(num), "%u:%02u", v->duration / 60,
					 v->duration % 60);
				val = num;
			} else if (IS("VM_MSGNUM")) {
				snprintf(num, sizeof(num), "%u", v->msgnum);
				val = num;
			}
#undef IS
			if (e) {
				/* Unknown variables become empty, as in the dialplan. */
				err = mbuf_write_str(out, val ? val : "");
				p = e;
				continue;
			}
		}
		err = mbuf_write(out, p, 1);
	}
	return err;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 in 76-character lines (RFC 2045). */
static int base64_lines(struct mbuf *out, const uint8_t *p, size_t n)
{
	char line[80];
	size_t ll = 0;
	int err = 0;

	for (size_t i = 0; i < n && !err; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t k = n - i;

		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		line[ll++] = b64[(v >> 18) & 63];
		line[ll++] = b64[(v >> 12) & 63];
		line[ll++] = k > 1 ? b64[(v >> 6) & 63] : '=';
		line[ll++] = k > 2 ? b64[v & 63] : '=';
		if (ll >= 76 || i + 3 >= n) {
			line[ll++] = '\r';
			line[ll++] = '\n';
			err = mbuf_write(out, line, ll);
			ll = 0;
		}
	}
	return err;
}

/* Splits `"Name" <num>` / `num` into name and number. */
static void cid_split(const char *cid, char *name, size_t ns, char *num, size_t nn)
{
	const char *lt = strchr(cid, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	name[0] = num[0] = '\0';
	if (lt && gt) {
		const char *s = cid, *e = lt;

		while (*s == ' ' || *s == '"')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '"'))
			e--;
		snprintf(name, ns, "%.*s", (int)(e - s), s);
		snprintf(num, nn, "%.*s", (int)(gt - lt - 1), lt + 1);
	} else {
		snprintf(num, nn, "%s", cid);
	}
}

/* Header-safe copy: CR/LF would let a caller name inject headers. */
static void hdr_clean(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

static int read_file(const char *path, uint8_t **bufp, size_t *lenp)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > MAIL_MAX) {
		close(fd);
		return EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	while (got < (size_t)st.st_size && (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	*bufp = buf;
	*lenp = got;
	return 0;
}

int vm_mail_build(struct mbuf *out, const struct vm_general *g, const struct vm_box *b,
		  const struct vm_msginfo *info, unsigned msgnum, const char *wav,
		  const char *boundary)
{
	char name[128], num[128], date[64], bnd[64], subj[512], from[256];
	struct vm_mailvars v;
	struct mbuf tmp;
	struct tm tm;
	time_t t = (time_t)info->origtime;
	int err = 0;

	cid_split(info->callerid[0] ? info->callerid : "Unknown", name, sizeof(name), num,
		  sizeof(num));
	hdr_clean(name);
	hdr_clean(num);
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%A, %B %d, %Y at %r", &tm);
	v = (struct vm_mailvars){.name = b->fullname,
				 .mailbox = b->box,
				 .callerid = info->callerid[0] ? info->callerid : "Unknown",
				 .cidnum = num,
				 .cidname = name,
				 .date = date,
				 .duration = info->duration,
				 .msgnum = msgnum + 1};
	if (boundary)
		snprintf(bnd, sizeof(bnd), "%s", boundary);
	else
		snprintf(bnd, sizeof(bnd), "----voicemail_%u%ld%d", msgnum, (long)t, (int)getpid());

	mbuf_init(&tmp);
	if (g->emailsubject && *g->emailsubject)
		err = vm_mail_subst(&tmp, g->emailsubject, &v);
	else
		err = mbuf_printf(&tmp, "[PBX]: New message %u in mailbox %s", msgnum + 1, b->box);
	snprintf(subj, sizeof(subj), "%.*s", (int)tmp.end, tmp.buf ? (char *)tmp.buf : "");
	hdr_clean(subj);
	mbuf_reset(&tmp);
	snprintf(from, sizeof(from), "%s", g->fromstring);
	hdr_clean(from);

	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	err = err ? err
		  : mbuf_printf(out,
				"Date: %s\r\nFrom: \"%s\" <%s>\r\nTo: \"%s\" <%s>\r\n"
				"Subject: %s\r\nMIME-Version: 1.0\r\n"
				"Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
				"This is a multi-part message in MIME format.\r\n\r\n"
				"--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
				"Content-Transfer-Encoding: 8bit\r\n\r\n",
				date, from, g->serveremail, b->fullname, b->email, subj, bnd, bnd);
	strftime(date, sizeof(date), "%A, %B %d, %Y at %r", &tm);
	if (!err && g->emailbody && *g->emailbody)
		err = vm_mail_subst(out, g->emailbody, &v);
	else if (!err)
		err =
		    mbuf_printf(out,
				"Dear %s:\n\n\tjust wanted to let you know you were just left a "
				"%u:%02u long message (number %u)\nin mailbox %s from %s, on %s "
				"so you might\nwant to check it when you get a chance.  Thanks!\n\n"
				"\t\t\t\t--Asterisk\n",
				b->fullname, info->duration / 60, info->duration % 60, msgnum + 1,
				b->box, v.callerid, date);
	if (!err)
		err = mbuf_write_str(out, "\r\n\r\n");
	if (!err && wav) {
		uint8_t *data = NULL;
		size_t len = 0;

		err = read_file(wav, &data, &len);
		if (!err)
			err = mbuf_printf(
			    out,
			    "--%s\r\nContent-Type: audio/x-wav; name=\"msg%04u.wav\"\r\n"
			    "Content-Transfer-Encoding: base64\r\n"
			    "Content-Disposition: attachment; filename=\"msg%04u.wav\"\r\n"
			    "\r\n",
			    bnd, msgnum, msgnum);
		if (!err)
			err = base64_lines(out, data, len);
		if (!err)
			err = mbuf_write_str(out, "\r\n");
		free(data);
	}
	if (!err)
		err = mbuf_printf(out, "--%s--\r\n", bnd);
	return err;
}

/* ---- the mailcmd child ---------------------------------------------------------------------- */

struct mailjob {
	struct mailjob *next;
	struct vm *vm;
	struct loop *loop;
	struct loop_timer tmr;
	uint8_t *buf;
	size_t len, off;
	int fd;
	pid_t pid;
	uint64_t waited_ms, timeout_ms;
	char cmd[256];
};

static void job_free(struct mailjob *j)
{
	for (struct mailjob **pp = &j->vm->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	loop_timer_cancel(&j->tmr);
	if (j->fd >= 0) {
		loop_fd_remove(j->loop, j->fd);
		close(j->fd);
	}
	free(j->buf);
	free(j);
}

/* Reaps the child; kills its process group when it hangs past [general] mailtimeout. */
static void job_poll(void *arg)
{
	struct mailjob *j = arg;
	int status;
	pid_t r = waitpid(j->pid, &status, WNOHANG);

	if (r == j->pid) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			log_info("voicemail e-mail sent (%zu bytes) through '%s'", j->len, j->cmd);
		else
			log_warn("voicemail e-mail: '%s' failed (%s %d); the message stays in the "
				 "spool",
				 j->cmd, WIFEXITED(status) ? "exit status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		job_free(j);
		return;
	}
	j->waited_ms += MAIL_POLL_MS;
	if (j->waited_ms >= j->timeout_ms) {
		log_warn("voicemail e-mail: '%s' did not finish in %u s; killed (the message stays "
			 "in the spool)",
			 j->cmd, (unsigned)(j->timeout_ms / 1000));
		/* The whole group: a shell's children (sendmail, a pipeline) go with it. */
		kill(-j->pid, SIGKILL);
		kill(j->pid, SIGKILL);
		waitpid(j->pid, &status, 0);
		job_free(j);
		return;
	}
	loop_timer_start(j->loop, &j->tmr, MAIL_POLL_MS, job_poll, j);
}

/* write() to the child's pipe without a SIGPIPE when it has gone (EPIPE instead), whatever the
 * process's disposition of SIGPIPE: blocked for the call, a pending one taken back. */
static ssize_t pipe_write(int fd, const void *p, size_t n)
{
	sigset_t set, old;
	ssize_t w;
	int e;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	w = write(fd, p, n);
	e = errno;
	if (w < 0 && e == EPIPE) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

static void job_write(int fd, uint32_t events, void *arg)
{
	struct mailjob *j = arg;

	(void)events;
	while (j->off < j->len) {
		ssize_t w = pipe_write(fd, j->buf + j->off, j->len - j->off);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w < 0) {
			log_warn("voicemail e-mail: writing to '%s': %s", j->cmd, strerror(errno));
			break;
		}
		j->off += (size_t)w;
	}
	loop_fd_remove(j->loop, fd);
	close(fd);
	j->fd = -1;
}

int vm_mail_send(struct vm *vm, const struct mbuf *msg)
{
	struct mailjob *j;
	int pfd[2];
	int err;

	if (!vm || !msg)
		return EINVAL;
	if (!vm->loop)
		return ENOTCONN;
	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	loop_timer_init(&j->tmr);
	j->vm = vm;
	j->loop = vm->loop;
	j->fd = -1;
	snprintf(j->cmd, sizeof(j->cmd), "%s", vm->g.mailcmd);
	j->timeout_ms = (uint64_t)(vm->g.mailtimeout ? vm->g.mailtimeout : 60) * 1000;
	j->buf = malloc(msg->end ? msg->end : 1);
	if (!j->buf) {
		free(j);
		return ENOMEM;
	}
	memcpy(j->buf, msg->buf, msg->end);
	j->len = msg->end;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		err = errno;
		job_free(j);
		return err;
	}
	j->pid = fork();
	if (j->pid < 0) {
		err = errno;
		close(pfd[0]);
		close(pfd[1]);
		job_free(j);
		log_warn("voicemail e-mail: fork: %s", strerror(err));
		return err;
	}
	if (j->pid == 0) {
		/* The child: stdin from the pipe, the rest of our descriptors closed by exec. */
		sigset_t none;

		/* The loop takes its signals through a signalfd, blocked: not for the command. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Its own process group, so that a timeout kills what the shell started too. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(pfd[0], 0) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", j->cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(j->pid, j->pid); /* as the child does: no race with the kill */
	close(pfd[0]);
	j->next = vm->jobs;
	vm->jobs = j;
	j->fd = pfd[1];
	fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
	err = loop_fd_listen(vm->loop, j->fd, LOOP_WRITE, job_write, j);
	if (err) {
		close(j->fd);
		j->fd = -1;
	}
	loop_timer_start(vm->loop, &j->tmr, MAIL_POLL_MS, job_poll, j);
	return 0;
}

void vm_mail_new(struct vm *vm, const struct vm_box *b, const struct vm_msginfo *info,
		 unsigned msgnum)
{
	char wav[PATH_MAX];
	struct mbuf mb;
	int err;

	if (!b->email[0])
		return;
	if (vm_msg_path(vm, b, VM_INBOX, msgnum, "wav", wav, sizeof(wav)))
		return;
	mbuf_init(&mb);
	err = vm_mail_build(&mb, &vm->g, b, info, msgnum, b->attach ? wav : NULL, NULL);
	if (!err)
		err = vm_mail_send(vm, &mb);
	if (err && err != ENOTCONN)
		log_warn("voicemail e-mail to %s for %s@%s: %s", b->email, b->box, b->context,
			 strerror(err));
	mbuf_reset(&mb);
}

void vm_mail_abandon(struct vm *vm)
{
	while (vm->jobs) {
		struct mailjob *j = vm->jobs;
		int status;

		log_warn("voicemail e-mail: '%s' still running at exit: stopped, the mail is lost "
			 "(the message stays in the spool)",
			 j->cmd);
		kill(-j->pid, SIGKILL);
		kill(j->pid, SIGKILL);
		waitpid(j->pid, &status, 0);
		job_free(j);
	}
}
