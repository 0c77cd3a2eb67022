/* spool: the message files as Asterisk stores them (SPOOL/CONTEXT/BOX/INBOX/msg0000.wav + .txt),
 * numbering without gaps, delete with renumbering, the SQLite index, the CLI listings and the
 * message-summary body. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "vm_int.h"

#define LOG_MODULE "vm"

static int pathf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

/* mkdir -p of the directory part of `path` (and of path itself when dir is true). */
static int mkdirs(const char *path, bool dir)
{
	char buf[PATH_MAX];

	if (pathf(buf, sizeof(buf), "%s", path))
		return ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		if (c == '\0' && !dir)
			break;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return errno;
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

int vm_folder_path(const struct vm *vm, const struct vm_box *b, enum vm_folder f, char *buf,
		   size_t size)
{
	return pathf(buf, size, "%s/%s/%s/%s", vm->g.spooldir, b->context, b->box,
		     vm_folder_name(f));
}

int vm_msg_path(const struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		const char *ext, char *buf, size_t size)
{
	return pathf(buf, size, "%s/%s/%s/%s/msg%04u.%s", vm->g.spooldir, b->context, b->box,
		     vm_folder_name(f), num, ext);
}

int vm_greeting_path(const struct vm *vm, const struct vm_box *b, const char *kind, char *buf,
		     size_t size)
{
	return pathf(buf, size, "%s/%s/%s/%s.wav", vm->g.spooldir, b->context, b->box, kind);
}

int vm_tmp_path(const struct vm *vm, const struct vm_box *b, char *buf, size_t size)
{
	static unsigned seq;
	int err = pathf(buf, size, "%s/%s/%s/tmp/rec-%ld-%u.wav", vm->g.spooldir, b->context,
			b->box, (long)getpid(), ++seq);

	return err ? err : mkdirs(buf, false);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

unsigned vm_folder_count(const struct vm *vm, const struct vm_box *b, enum vm_folder f)
{
	char path[PATH_MAX];
	unsigned n = 0;

	/* Messages are numbered without gaps: the count is the first missing number. */
	while (n <= VM_MAXMSG_LIMIT && !vm_msg_path(vm, b, f, n, "wav", path, sizeof(path)) &&
	       exists(path))
		n++;
	return n;
}

int vm_counts(const struct vm *vm, const char *box, const char *context, unsigned *newmsgs,
	      unsigned *oldmsgs)
{
	const struct vm_box *b = vm_box_find(vm, box, context);

	if (!b)
		return ENOENT;
	if (newmsgs)
		*newmsgs = vm_folder_count(vm, b, VM_INBOX);
	if (oldmsgs)
		*oldmsgs = vm_folder_count(vm, b, VM_OLD);
	return 0;
}

void vm_changed(struct vm *vm, const struct vm_box *b)
{
	vm->changes++;
	if (vm->change_h)
		vm->change_h(b, vm_folder_count(vm, b, VM_INBOX), vm_folder_count(vm, b, VM_OLD),
			     vm->change_arg);
}

static int write_txt(const char *path, const struct vm_box *b, const struct vm_msginfo *in)
{
	char tmp[PATH_MAX + 8], date[64];
	struct tm tm;
	time_t t = (time_t)in->origtime;
	FILE *f;
	int err = 0;

	if (pathf(tmp, sizeof(tmp), "%s.tmp", path))
		return ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return errno;
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %r %Z %Y", &tm);
	fprintf(f,
		";\n; Message Information file\n;\n[message]\norigmailbox=%s\ncontext=%s\n"
		"macrocontext=\nexten=%s\nrdnis=unknown\npriority=%u\ncallerchan=%s\n"
		"callerid=%s\norigdate=%s\norigtime=%lld\ncategory=\nflag=\nduration=%u\n",
		in->origmailbox[0] ? in->origmailbox : b->box, in->context, in->exten, in->priority,
		in->callerchan, in->callerid[0] ? in->callerid : "Unknown", date,
		(long long)in->origtime, in->duration);
	if (fflush(f) != 0 || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	return err;
}

int vm_msg_info(const struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		struct vm_msginfo *info)
{
	char path[PATH_MAX];
	struct conf *conf = NULL;
	const struct conf_section *sec;
	int err;

	memset(info, 0, sizeof(*info));
	err = vm_msg_path(vm, b, f, num, "txt", path, sizeof(path));
	if (err)
		return err;
	if (!exists(path))
		return ENOENT;
	err = conf_load(&conf, path, NULL);
	if (err)
		return err;
	sec = conf_section_find(conf, "message");
	if (!sec) {
		conf_free(conf);
		return EINVAL;
	}
	snprintf(info->origmailbox, sizeof(info->origmailbox), "%s",
		 conf_get(sec, "origmailbox", ""));
	snprintf(info->context, sizeof(info->context), "%s", conf_get(sec, "context", ""));
	snprintf(info->exten, sizeof(info->exten), "%s", conf_get(sec, "exten", ""));
	snprintf(info->callerchan, sizeof(info->callerchan), "%s", conf_get(sec, "callerchan", ""));
	snprintf(info->callerid, sizeof(info->callerid), "%s", conf_get(sec, "callerid", ""));
	info->priority = (unsigned)strtoul(conf_get(sec, "priority", "0"), NULL, 10);
	info->origtime = strtoll(conf_get(sec, "origtime", "0"), NULL, 10);
	info->duration = (unsigned)strtoul(conf_get(sec, "duration", "0"), NULL, 10);
	conf_free(conf);
	return 0;
}

int vm_index_box(struct vm *vm, const struct vm_box *b)
{
	int err;

	if (!vm->store)
		return 0;
	err = store_vm_clear(vm->store, b->context, b->box, NULL, NULL);
	for (int f = 0; !err && f < VM_FOLDER_COUNT; f++) {
		unsigned n = vm_folder_count(vm, b, (enum vm_folder)f);

		for (unsigned i = 0; !err && i < n; i++) {
			struct vm_msginfo mi;
			struct store_vm_msg row = {.context = b->context,
						   .mailbox = b->box,
						   .folder = vm_folder_name((enum vm_folder)f),
						   .msgnum = i};

			if (!vm_msg_info(vm, b, (enum vm_folder)f, i, &mi)) {
				row.origtime = mi.origtime;
				row.duration = mi.duration;
				row.callerid = mi.callerid;
			}
			/* The row's strings are bound as static: they must live until the
			 * statement is stepped, which store_vm_put does before returning. */
			err = store_vm_put(vm->store, &row, NULL, NULL);
		}
	}
	if (err)
		log_warn("voicemail index of %s@%s: %s", b->box, b->context, strerror(err));
	return err;
}

int vm_index_rebuild(struct vm *vm)
{
	int err = 0;

	for (size_t i = 0; vm && i < vm->nboxes; i++) {
		int e = vm_index_box(vm, &vm->boxes[i]);
		err = e ? e : err;
	}
	return err;
}

void vm_set_store(struct vm *vm, struct store *st)
{
	if (!vm)
		return;
	vm->store = st;
	vm_index_rebuild(vm);
}

/* Renames msg `from` (wav and txt) to `to` in folder directories. */
static int msg_rename(const struct vm *vm, const struct vm_box *b, enum vm_folder ff, unsigned from,
		      enum vm_folder tf, unsigned to)
{
	static const char *const exts[] = {"wav", "txt"};

	for (size_t i = 0; i < 2; i++) {
		char a[PATH_MAX], z[PATH_MAX];

		if (vm_msg_path(vm, b, ff, from, exts[i], a, sizeof(a)) ||
		    vm_msg_path(vm, b, tf, to, exts[i], z, sizeof(z)))
			return ENAMETOOLONG;
		if (rename(a, z) < 0 && errno != ENOENT)
			return errno;
	}
	return 0;
}

int vm_msg_store(struct vm *vm, const struct vm_box *b, const char *wav,
		 const struct vm_msginfo *info, unsigned *msgnum)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned n;
	int err;

	if (!vm || !b || !wav || !info)
		return EINVAL;
	err = vm_folder_path(vm, b, VM_INBOX, dir, sizeof(dir));
	if (!err)
		err = mkdirs(dir, true);
	if (err) {
		unlink(wav);
		return err;
	}
	n = vm_folder_count(vm, b, VM_INBOX);
	if (n >= vm->g.maxmsg) {
		log_notice("mailbox %s@%s is full (%u messages): message refused", b->box,
			   b->context, n);
		unlink(wav);
		return ENOSPC;
	}
	/* The .txt first: a .wav without its .txt is never listed half-made, since counting
	 * looks at .wav files and the .wav comes last, by rename. */
	err = vm_msg_path(vm, b, VM_INBOX, n, "txt", path, sizeof(path));
	if (!err)
		err = write_txt(path, b, info);
	if (err) {
		unlink(wav);
		return err;
	}
	err = vm_msg_path(vm, b, VM_INBOX, n, "wav", dir, sizeof(dir));
	if (!err && rename(wav, dir) < 0)
		err = errno;
	if (err) {
		unlink(path);
		unlink(wav);
		return err;
	}
	log_info("voicemail: message %u for %s@%s (%u s from %s)", n, b->box, b->context,
		 info->duration, info->callerid);
	if (msgnum)
		*msgnum = n;
	vm_index_box(vm, b);
	vm_changed(vm, b);
	vm_mail_new(vm, b, info, n);
	return 0;
}

/* Closes the gap left at `num` by moving every later message down by one. */
static int renumber(const struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num)
{
	char path[PATH_MAX];
	int err = 0;

	for (unsigned i = num + 1; !err && i <= VM_MAXMSG_LIMIT; i++) {
		if (vm_msg_path(vm, b, f, i, "wav", path, sizeof(path)) || !exists(path))
			break;
		err = msg_rename(vm, b, f, i, f, i - 1);
	}
	return err;
}

int vm_msg_delete(struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num)
{
	char wav[PATH_MAX], txt[PATH_MAX];
	int err;

	if (!vm || !b || f >= VM_FOLDER_COUNT)
		return EINVAL;
	if (vm_msg_path(vm, b, f, num, "wav", wav, sizeof(wav)) ||
	    vm_msg_path(vm, b, f, num, "txt", txt, sizeof(txt)))
		return ENAMETOOLONG;
	if (!exists(wav))
		return ENOENT;
	if (unlink(wav) < 0)
		return errno;
	unlink(txt);
	err = renumber(vm, b, f, num);
	log_info("voicemail: deleted %s message %u of %s@%s", vm_folder_name(f), num, b->box,
		 b->context);
	vm_index_box(vm, b);
	vm_changed(vm, b);
	return err;
}

int vm_msg_move(struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		enum vm_folder to)
{
	char path[PATH_MAX], dir[PATH_MAX];
	unsigned n;
	int err;

	if (!vm || !b || f >= VM_FOLDER_COUNT || to >= VM_FOLDER_COUNT)
		return EINVAL;
	if (f == to)
		return 0;
	if (vm_msg_path(vm, b, f, num, "wav", path, sizeof(path)))
		return ENAMETOOLONG;
	if (!exists(path))
		return ENOENT;
	n = vm_folder_count(vm, b, to);
	if (n >= vm->g.maxmsg)
		return ENOSPC;
	err = vm_folder_path(vm, b, to, dir, sizeof(dir));
	if (!err)
		err = mkdirs(dir, true);
	if (!err)
		err = msg_rename(vm, b, f, num, to, n);
	if (!err)
		err = renumber(vm, b, f, num);
	vm_index_box(vm, b);
	vm_changed(vm, b);
	return err;
}

/* ---- the web console's view --------------------------------------------------------------- */

uint64_t vm_changes(const struct vm *vm)
{
	return vm ? vm->changes : 0;
}

struct list_ctx {
	const struct vm *vm;
	vm_msg_h *each;
	void *arg;
};

static int list_row(const struct store_vm_msg *row, void *arg)
{
	struct list_ctx *c = arg;
	struct vm_msg_entry m = {.msgnum = row->msgnum,
				 .origtime = row->origtime,
				 .duration = row->duration,
				 .callerid = row->callerid ? row->callerid : ""};
	char path[PATH_MAX];
	struct stat sb;

	m.box = vm_box_find(c->vm, row->mailbox, row->context);
	if (!m.box) /* a removed box's rows are cleared; one removed meanwhile is not listed */
		return 0;
	if (!strcmp(row->folder, vm_folder_name(VM_INBOX)))
		m.folder = VM_INBOX;
	else if (!strcmp(row->folder, vm_folder_name(VM_OLD)))
		m.folder = VM_OLD;
	else
		return 0;
	if (vm_msg_path(c->vm, m.box, m.folder, m.msgnum, "wav", path, sizeof(path)) ||
	    stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0; /* the files are the truth: a row without its WAV is not a message */
	m.id = (uint64_t)sb.st_ino;
	return c->each(&m, c->arg);
}

int vm_msg_list(const struct vm *vm, vm_msg_h *each, void *arg)
{
	struct list_ctx c = {vm, each, arg};

	if (!vm || !each)
		return EINVAL;
	if (!vm->store)
		return ENODEV;
	return store_vm_list(vm->store, list_row, &c);
}

struct find_ctx {
	uint64_t id;
	struct vm_msg_entry *out;
};

static int find_h(const struct vm_msg_entry *m, void *arg)
{
	struct find_ctx *f = arg;

	if (m->id != f->id)
		return 0;
	*f->out = *m;
	f->out->callerid = NULL;
	return EEXIST; /* found: stops the walk */
}

int vm_msg_find(const struct vm *vm, uint64_t id, struct vm_msg_entry *out)
{
	struct find_ctx f = {id, out};
	int err;

	if (!id)
		return ENOENT;
	err = vm_msg_list(vm, find_h, &f);
	return err == EEXIST ? 0 : err ? err : ENOENT;
}

/* ---- CLI ------------------------------------------------------------------------------------ */

int vm_show_users(const struct vm *vm, const char *context, struct mbuf *out)
{
	size_t n = 0;

	mbuf_printf(out, "%-10s %-5s %-25s %-10s %6s\n", "Context", "Mbox", "User", "Zone",
		    "NewMsg");
	for (size_t i = 0; vm && i < vm->nboxes; i++) {
		const struct vm_box *b = &vm->boxes[i];

		if (context && strcmp(b->context, context))
			continue;
		mbuf_printf(out, "%-10s %-5s %-25s %-10s %6u\n", b->context, b->box, b->fullname,
			    "", vm_folder_count(vm, b, VM_INBOX));
		n++;
	}
	mbuf_printf(out, "%zu voicemail user%s configured.\n", n, n == 1 ? "" : "s");
	return 0;
}

int vm_show_messages(const struct vm *vm, const char *spec, struct mbuf *out)
{
	char box[64], ctx[64];
	const struct vm_box *b;
	size_t total = 0;

	if (vm_box_parse(spec, box, sizeof(box), ctx, sizeof(ctx))) {
		mbuf_printf(out, "'%s' is not BOX[@CONTEXT]\n", spec ? spec : "");
		return EINVAL;
	}
	b = vm_box_find(vm, box, ctx);
	if (!b) {
		mbuf_printf(out, "No such mailbox %s@%s\n", box, ctx);
		return ENOENT;
	}
	mbuf_printf(out, "%-6s %-4s %-19s %8s  %s\n", "Folder", "Msg", "Date", "Duration",
		    "CallerID");
	for (int f = 0; f < VM_FOLDER_COUNT; f++) {
		unsigned n = vm_folder_count(vm, b, (enum vm_folder)f);

		for (unsigned i = 0; i < n; i++) {
			struct vm_msginfo mi;
			char date[32] = "?";

			if (!vm_msg_info(vm, b, (enum vm_folder)f, i, &mi)) {
				time_t t = (time_t)mi.origtime;
				struct tm tm;

				localtime_r(&t, &tm);
				strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
			}
			mbuf_printf(out, "%-6s %04u %-19s %5u:%02u  %s\n",
				    vm_folder_name((enum vm_folder)f), i, date, mi.duration / 60,
				    mi.duration % 60, mi.callerid);
			total++;
		}
	}
	mbuf_printf(out, "%zu message%s in %s@%s (%u new, %u old).\n", total, total == 1 ? "" : "s",
		    b->box, b->context, vm_folder_count(vm, b, VM_INBOX),
		    vm_folder_count(vm, b, VM_OLD));
	return 0;
}

int vm_summary_body(struct mbuf *out, const char *account, unsigned newmsgs, unsigned oldmsgs)
{
	int err = mbuf_printf(out, "Messages-Waiting: %s\r\n", newmsgs ? "yes" : "no");

	if (!err && account && *account)
		err = mbuf_printf(out, "Message-Account: %s\r\n", account);
	if (!err)
		err = mbuf_printf(out, "Voice-Message: %u/%u (0/0)\r\n", newmsgs, oldmsgs);
	return err;
}
