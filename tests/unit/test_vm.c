/* test_vm: voicemail.conf checks with file:line, the spool's numbering, delete with renumbering,
 * move to Old, maxmsg refusal, the SQLite index and its rebuild, the CLI listings, the RFC 3842
 * message-summary body and the e-mail builder (variables, MIME, base64 that decodes back). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "loop.h"
#include "store.h"
#include "vm.h"

static int load(struct vm **vp, const char *text, struct conf_diags *d, const char *statedir)
{
	struct conf *c = NULL;
	int err = conf_load_string(&c, "voicemail.conf", text, d);

	if (err)
		return err;
	err = vm_load(vp, c, statedir, d);
	conf_free(c);
	return err;
}

static bool has_diag(const struct conf_diags *d, const char *what)
{
	char buf[512];

	for (size_t i = 0; i < d->count; i++)
		if (!conf_diag_format(&d->items[i], buf, sizeof(buf)) && strstr(buf, what))
			return true;
	return false;
}

static void test_conf_ok(void **state)
{
	struct conf_diags d = {0};
	struct vm *vm = NULL;
	const struct vm_box *b;

	(void)state;
	assert_int_equal(load(&vm,
			      "[general]\nmaxmsg=5\nmaxsecs=60\nminsecs=2\nattach=no\n"
			      "emailsubject=New ${VM_MSGNUM}\nmailcmd=/bin/cat\nmailtimeout=5\n"
			      "spooldir=/tmp/x\n"
			      "[default]\n801 => 1234,Taro Yamada,taro@example.jp,,attach=yes\n"
			      "802 => 4321,Hanako\n[other]\n801 => 9,Other\n",
			      &d, "/var/lib/mikaka"),
			 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(vm_general(vm)->maxmsg, 5);
	assert_int_equal(vm_general(vm)->maxsecs, 60);
	assert_int_equal(vm_general(vm)->minsecs, 2);
	assert_false(vm_general(vm)->attach);
	assert_string_equal(vm_general(vm)->mailcmd, "/bin/cat");
	assert_int_equal(vm_general(vm)->mailtimeout, 5);
	assert_string_equal(vm_general(vm)->spooldir, "/tmp/x");
	b = vm_box_find(vm, "801", NULL);
	assert_non_null(b);
	assert_string_equal(b->password, "1234");
	assert_string_equal(b->fullname, "Taro Yamada");
	assert_string_equal(b->email, "taro@example.jp");
	assert_true(b->attach); /* the box's option beats [general] */
	b = vm_box_find(vm, "802", "default");
	assert_non_null(b);
	assert_string_equal(b->email, "");
	assert_false(b->attach);
	assert_string_equal(vm_box_find(vm, "801", "other")->fullname, "Other");
	assert_null(vm_box_find(vm, "803", NULL));
	vm_free(vm);
	conf_diags_reset(&d);

	/* Defaults. */
	assert_int_equal(load(&vm, "[default]\n801 => 1\n", &d, "/st"), 0);
	assert_string_equal(vm_general(vm)->spooldir, "/st/voicemail");
	assert_string_equal(vm_general(vm)->mailcmd, "/usr/sbin/sendmail -t");
	assert_int_equal(vm_general(vm)->maxmsg, 100);
	assert_int_equal(vm_general(vm)->mailtimeout, 60);
	assert_true(vm_general(vm)->attach);
	vm_free(vm);
	conf_diags_reset(&d);
}

static void test_conf_errors(void **state)
{
	static const struct {
		const char *text;
		const char *diag;
		bool error;
	} cases[] = {
	    {"[general]\nmaxmsg=0\n", "voicemail.conf:2: error: [general] maxmsg", true},
	    {"[general]\nmailtimeout=0\n", "voicemail.conf:2: error: [general] mailtimeout", true},
	    {"[general]\nmailtimeout=3601\n", "voicemail.conf:2: error: [general] mailtimeout", true},
	    {"[general]\nmaxmsg=10000\n", "voicemail.conf:2: error", true},
	    {"[general]\n\nmaxsecs=abc\n", "voicemail.conf:3: error: [general] maxsecs", true},
	    {"[general]\nattach=maybe\n", "voicemail.conf:2: error", true},
	    {"[general]\nspooldir=rel/dir\n", "voicemail.conf:2: error: [general] spooldir", true},
	    {"[default]\n801 => 1\n801 => 2\n",
	     "voicemail.conf:3: error: [default] mailbox 801 is defined twice", true},
	    {"[default]\n8/01 => 1\n", "voicemail.conf:2: error: [default] '8/01'", true},
	    {"[general]\nfoo=1\n", "voicemail.conf:2: warning: [general] foo is not implemented",
	     false},
	    {"[general]\nformat=gsm\n", "voicemail.conf:2: warning: [general] format=gsm", false},
	    {"[default]\n801 => ,Nobody\n",
	     "voicemail.conf:2: warning: [default] mailbox 801 has no password", false},
	    {"[default]\n801 => 1,N,,,color=red\n",
	     "voicemail.conf:2: warning: [default] mailbox 801: option color", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_diags d = {0};
		struct vm *vm = NULL;
		int err = load(&vm, cases[i].text, &d, "/st");

		if (!has_diag(&d, cases[i].diag)) {
			conf_diags_print(&d);
			fail_msg("case %zu: no '%s'", i, cases[i].diag);
		}
		assert_int_equal(err, cases[i].error ? EINVAL : 0);
		assert_true(cases[i].error ? vm == NULL : vm != NULL);
		vm_free(vm);
		conf_diags_reset(&d);
	}
}

static void test_box_parse(void **state)
{
	char b[16], c[16];

	(void)state;
	assert_int_equal(vm_box_parse("801", b, sizeof(b), c, sizeof(c)), 0);
	assert_string_equal(b, "801");
	assert_string_equal(c, "default");
	assert_int_equal(vm_box_parse("801@home", b, sizeof(b), c, sizeof(c)), 0);
	assert_string_equal(c, "home");
	assert_int_equal(vm_box_parse("@home", b, sizeof(b), c, sizeof(c)), EINVAL);
	assert_int_equal(vm_box_parse("", b, sizeof(b), c, sizeof(c)), EINVAL);
	assert_int_equal(vm_box_parse("../x", b, sizeof(b), c, sizeof(c)), EINVAL);
	assert_int_equal(vm_box_parse("8@../..", b, sizeof(b), c, sizeof(c)), EINVAL);
}

/* ---- spool ---------------------------------------------------------------------------------- */

struct fx {
	char dir[64];
	struct vm *vm;
	struct store *st;
	unsigned changes, last_new, last_old;
};

static void change_h(const struct vm_box *b, unsigned n, unsigned o, void *arg)
{
	struct fx *fx = arg;

	(void)b;
	fx->changes++;
	fx->last_new = n;
	fx->last_old = o;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct conf_diags d = {0};
	char db[128];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_vm.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(
	    load(&fx->vm, "[general]\nmaxmsg=3\n[default]\n801 => 1234,Taro\n", &d, fx->dir), 0);
	conf_diags_reset(&d);
	snprintf(db, sizeof(db), "%s/mikaka.db", fx->dir);
	assert_int_equal(store_open(&fx->st, NULL, db), 0);
	vm_set_store(fx->vm, fx->st);
	vm_set_change_handler(fx->vm, change_h, fx);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	vm_free(fx->vm);
	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* A fake recording: `tag` bytes of payload, so renumbering can be followed. */
static void mkwav(struct fx *fx, const struct vm_box *b, char tag, char *path, size_t size)
{
	FILE *f;

	assert_int_equal(vm_tmp_path(fx->vm, b, path, size), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "RIFF%c", tag);
	fclose(f);
}

static char wav_tag(struct fx *fx, const struct vm_box *b, enum vm_folder fo, unsigned n)
{
	char path[512], buf[8] = {0};
	FILE *f;

	assert_int_equal(vm_msg_path(fx->vm, b, fo, n, "wav", path, sizeof(path)), 0);
	f = fopen(path, "r");
	if (!f)
		return 0;
	assert_int_equal(fread(buf, 1, 5, f), 5);
	fclose(f);
	return buf[4];
}

static void store_one(struct fx *fx, const struct vm_box *b, char tag, unsigned expect)
{
	char wav[512];
	struct vm_msginfo mi = {.origtime = 1700000000 + tag, .duration = 5, .priority = 2};
	unsigned n = 99;

	snprintf(mi.callerid, sizeof(mi.callerid), "\"Caller %c\" <0312345678>", tag);
	snprintf(mi.context, sizeof(mi.context), "from-line");
	snprintf(mi.exten, sizeof(mi.exten), "s");
	snprintf(mi.callerchan, sizeof(mi.callerchan), "SIP/line-0001");
	mkwav(fx, b, tag, wav, sizeof(wav));
	assert_int_equal(vm_msg_store(fx->vm, b, wav, &mi, &n), 0);
	assert_int_equal(n, expect);
	assert_int_equal(access(wav, F_OK), -1); /* moved, not copied */
}

static void test_spool(void **state)
{
	struct fx *fx = *state;
	const struct vm_box *b = vm_box_find(fx->vm, "801", NULL);
	struct vm_msginfo mi;
	char path[512], wav[512];
	unsigned n, o;

	assert_non_null(b);
	assert_int_equal(vm_counts(fx->vm, "801", NULL, &n, &o), 0);
	assert_int_equal(n + o, 0);
	assert_int_equal(vm_counts(fx->vm, "999", NULL, &n, &o), ENOENT);

	store_one(fx, b, 'a', 0);
	store_one(fx, b, 'b', 1);
	store_one(fx, b, 'c', 2);
	assert_int_equal(fx->changes, 3);
	assert_int_equal(fx->last_new, 3);
	/* The layout Asterisk uses. */
	snprintf(path, sizeof(path), "%s/voicemail/default/801/INBOX/msg0002.txt", fx->dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(vm_msg_info(fx->vm, b, VM_INBOX, 1, &mi), 0);
	assert_string_equal(mi.callerid, "\"Caller b\" <0312345678>");
	assert_int_equal(mi.origtime, 1700000000 + 'b');
	assert_int_equal(mi.duration, 5);
	assert_string_equal(mi.context, "from-line");
	assert_string_equal(mi.origmailbox, "801");
	assert_string_equal(mi.callerchan, "SIP/line-0001");
	assert_int_equal(mi.priority, 2);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 3);

	/* maxmsg=3: the fourth is refused and its recording removed. */
	mkwav(fx, b, 'd', wav, sizeof(wav));
	memset(&mi, 0, sizeof(mi));
	assert_int_equal(vm_msg_store(fx->vm, b, wav, &mi, NULL), ENOSPC);
	assert_int_equal(access(wav, F_OK), -1);

	/* Delete the first: the others move down, no gap. */
	assert_int_equal(vm_msg_delete(fx->vm, b, VM_INBOX, 0), 0);
	assert_int_equal(vm_folder_count(fx->vm, b, VM_INBOX), 2);
	assert_int_equal(wav_tag(fx, b, VM_INBOX, 0), 'b');
	assert_int_equal(wav_tag(fx, b, VM_INBOX, 1), 'c');
	assert_int_equal(vm_msg_info(fx->vm, b, VM_INBOX, 0, &mi), 0);
	assert_string_equal(mi.callerid, "\"Caller b\" <0312345678>");
	assert_int_equal(fx->last_new, 2);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 2);
	assert_int_equal(vm_msg_delete(fx->vm, b, VM_INBOX, 7), ENOENT);

	/* Save (9): INBOX -> Old. */
	assert_int_equal(vm_msg_move(fx->vm, b, VM_INBOX, 0, VM_OLD), 0);
	assert_int_equal(wav_tag(fx, b, VM_OLD, 0), 'b');
	assert_int_equal(wav_tag(fx, b, VM_INBOX, 0), 'c');
	assert_int_equal(fx->last_new, 1);
	assert_int_equal(fx->last_old, 1);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "Old"), 1);

	/* Index rebuilt from the files (a file removed behind our back). */
	assert_int_equal(vm_msg_path(fx->vm, b, VM_OLD, 0, "wav", path, sizeof(path)), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "Old"), 1);
	assert_int_equal(vm_index_rebuild(fx->vm), 0);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "Old"), 0);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 1);
}

struct listed {
	size_t n;
	uint64_t id[8];
	char tag[8];
	enum vm_folder folder[8];
	unsigned msgnum[8];
	char cid[8][64];
};

static int list_h(const struct vm_msg_entry *m, void *arg)
{
	struct listed *l = arg;

	assert_true(l->n < 8);
	l->id[l->n] = m->id;
	l->folder[l->n] = m->folder;
	l->msgnum[l->n] = m->msgnum;
	snprintf(l->cid[l->n], sizeof(l->cid[0]), "%s", m->callerid);
	l->n++;
	return 0;
}

static void listed(struct fx *fx, struct listed *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(vm_msg_list(fx->vm, list_h, l), 0);
}

/* The console's view: newest first from the index, ids (inodes) that stay with a message through
 * renumbering and the move to Old, found again by id; a change counter for the live updates. */
static void test_list_ids(void **state)
{
	struct fx *fx = *state;
	const struct vm_box *b = vm_box_find(fx->vm, "801", NULL);
	struct vm_msg_entry m;
	struct listed l, l2;
	uint64_t c0 = vm_changes(fx->vm), ida, idb, idc;

	listed(fx, &l);
	assert_int_equal(l.n, 0);
	store_one(fx, b, 'a', 0);
	store_one(fx, b, 'b', 1);
	store_one(fx, b, 'c', 2);
	assert_int_equal(vm_changes(fx->vm), c0 + 3);
	listed(fx, &l);
	assert_int_equal(l.n, 3);
	/* newest first: origtime is 1700000000 + tag */
	assert_string_equal(l.cid[0], "\"Caller c\" <0312345678>");
	assert_string_equal(l.cid[2], "\"Caller a\" <0312345678>");
	assert_int_equal(l.msgnum[0], 2);
	idc = l.id[0], idb = l.id[1], ida = l.id[2];
	assert_true(ida && idb && idc && ida != idb && idb != idc);
	assert_int_equal(vm_msg_find(fx->vm, idb, &m), 0);
	assert_int_equal(m.msgnum, 1);
	assert_int_equal(m.folder, VM_INBOX);
	assert_ptr_equal(m.box, b);
	assert_null(m.callerid);
	assert_int_equal(vm_msg_find(fx->vm, 0, &m), ENOENT);
	assert_int_equal(vm_msg_find(fx->vm, idc + 1000000, &m), ENOENT);

	/* a is deleted: b and c are renumbered down, their ids stay */
	assert_int_equal(vm_msg_delete(fx->vm, b, VM_INBOX, 0), 0);
	assert_int_equal(vm_msg_find(fx->vm, ida, &m), ENOENT);
	assert_int_equal(vm_msg_find(fx->vm, idb, &m), 0);
	assert_int_equal(m.msgnum, 0);
	/* c heard: to Old, the same id */
	assert_int_equal(vm_msg_find(fx->vm, idc, &m), 0);
	assert_int_equal(m.msgnum, 1);
	assert_int_equal(vm_msg_move(fx->vm, b, VM_INBOX, 1, VM_OLD), 0);
	assert_int_equal(vm_msg_find(fx->vm, idc, &m), 0);
	assert_int_equal(m.folder, VM_OLD);
	assert_int_equal(m.msgnum, 0);
	assert_int_equal(vm_changes(fx->vm), c0 + 5);
	listed(fx, &l2);
	assert_int_equal(l2.n, 2);
	assert_int_equal(l2.id[0], idc);
	assert_int_equal(l2.folder[0], VM_OLD);
	assert_int_equal(l2.id[1], idb);

	/* a row whose WAV went behind our back is not listed (the files are the truth) */
	{
		char path[512];

		assert_int_equal(vm_msg_path(fx->vm, b, VM_INBOX, 0, "wav", path, sizeof(path)), 0);
		assert_int_equal(unlink(path), 0);
	}
	listed(fx, &l2);
	assert_int_equal(l2.n, 1);
	assert_int_equal(l2.id[0], idc);
	assert_int_equal(vm_msg_list(NULL, list_h, &l2), EINVAL);
}

/* A reload: new passwords, boxes and [general] apply, messages stay, the replaced box stays
 * readable for a call that holds it, a removed box's lamp goes off. */
static void test_reconfigure(void **state)
{
	struct fx *fx = *state;
	const struct vm_box *b = vm_box_find(fx->vm, "801", NULL), *nb;
	struct conf_diags d = {0};
	struct vm *nvm = NULL;
	unsigned n, o;

	store_one(fx, b, 'a', 0);
	store_one(fx, b, 'b', 1);
	assert_int_equal(load(&nvm,
			      "[general]\nmaxmsg=7\nspooldir=/elsewhere\n[default]\n"
			      "801 => 9999,Taro\n802 => 1,Hanako\n",
			      &d, fx->dir),
			 0);
	conf_diags_reset(&d);
	fx->changes = 0;
	assert_int_equal(vm_reconfigure(fx->vm, nvm), 0);
	assert_int_equal(vm_general(fx->vm)->maxmsg, 7);
	/* spooldir is applied at start only */
	assert_non_null(strstr(vm_general(fx->vm)->spooldir, fx->dir));
	nb = vm_box_find(fx->vm, "801", NULL);
	assert_non_null(nb);
	assert_string_equal(nb->password, "9999");
	assert_string_equal(b->password, "1234"); /* the retired box is still readable */
	assert_non_null(vm_box_find(fx->vm, "802", NULL));
	assert_int_equal(vm_counts(fx->vm, "801", NULL, &n, &o), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 2);
	assert_int_equal(fx->changes, 2); /* every box's lamp */

	/* 801 removed: its lamp goes off (0, 0), its index rows go, its files stay. */
	assert_int_equal(load(&nvm, "[default]\n802 => 1,Hanako\n", &d, fx->dir), 0);
	conf_diags_reset(&d);
	fx->changes = 0;
	fx->last_new = 99;
	assert_int_equal(vm_reconfigure(fx->vm, nvm), 0);
	assert_null(vm_box_find(fx->vm, "801", NULL));
	assert_int_equal(fx->changes, 2);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 0);
	assert_int_equal(vm_general(fx->vm)->maxmsg, 100);
	/* Back again: the messages are there. */
	assert_int_equal(load(&nvm, "[default]\n801 => 1,Taro\n", &d, fx->dir), 0);
	conf_diags_reset(&d);
	assert_int_equal(vm_reconfigure(fx->vm, nvm), 0);
	assert_int_equal(vm_counts(fx->vm, "801", NULL, &n, &o), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_vm_count(fx->st, "default", "801", "INBOX"), 2);
}

static void test_cli(void **state)
{
	struct fx *fx = *state;
	const struct vm_box *b = vm_box_find(fx->vm, "801", NULL);
	struct mbuf mb;

	store_one(fx, b, 'a', 0);
	mbuf_init(&mb);
	assert_int_equal(vm_show_users(fx->vm, NULL, &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "Context    Mbox  User"));
	assert_non_null(strstr((char *)mb.buf, "default    801   Taro"));
	assert_non_null(strstr((char *)mb.buf, "1 voicemail user configured."));
	mbuf_reset(&mb);
	assert_int_equal(vm_show_users(fx->vm, "nothere", &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "0 voicemail users configured."));
	mbuf_reset(&mb);
	assert_int_equal(vm_show_messages(fx->vm, "801@default", &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "INBOX  0000"));
	assert_non_null(strstr((char *)mb.buf, "0:05  \"Caller a\" <0312345678>"));
	assert_non_null(strstr((char *)mb.buf, "1 message in 801@default (1 new, 0 old)."));
	mbuf_reset(&mb);
	assert_int_equal(vm_show_messages(fx->vm, "802", &mb), ENOENT);
	mbuf_reset(&mb);
}

static char *slurp(const char *path)
{
	static char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* VoiceMailMain's options 5: the password line of voicemail.conf rewritten in place, the rest
 * of the file (comments, other boxes, the other fields) untouched. */
static void test_set_password(void **state)
{
	static const char text[] = "; my boxes\n[general]\nmaxmsg=3\n[default]\n"
				   "801 => 1234,Taro,taro@example.jp ; the first\n"
				   "  802 =>  4321 , Hanako\n803 => ,Nobody\n";
	static const struct {
		const char *box, *pw;
		int err;
		const char *line; /* the box's line afterwards */
	} cases[] = {
	    {"801", "9876", 0, "801 => 9876,Taro,taro@example.jp ; the first\n"},
	    {"802", "55", 0, "  802 =>  55 , Hanako\n"},
	    {"803", "1", 0, "803 => 1,Nobody\n"},
	    {"801", "12a", EINVAL, "801 => 9876,Taro"},
	    {"801", "", EINVAL, "801 => 9876,Taro"},
	    {"801", "1234567890123456", EINVAL, "801 => 9876,Taro"},
	};
	struct fx *fx = *state;
	struct conf_diags d = {0};
	struct conf *c = NULL;
	struct vm *vm = NULL;
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/voicemail.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(conf_load(&c, path, &d), 0);
	assert_int_equal(vm_load(&vm, c, fx->dir, &d), 0);
	conf_free(c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vm_box *b = vm_box_find(vm, cases[i].box, NULL);

		assert_int_equal(vm_box_set_password(vm, b, cases[i].pw), cases[i].err);
		assert_non_null(strstr(slurp(path), cases[i].line));
		if (!cases[i].err)
			assert_string_equal(b->password, cases[i].pw);
	}
	assert_non_null(strstr(slurp(path), "; my boxes\n[general]\nmaxmsg=3\n[default]\n801"));
	/* The file edited since: the line is not the box's any more. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[default]\n", f);
	fclose(f);
	assert_int_equal(vm_box_set_password(vm, vm_box_find(vm, "802", NULL), "1"), ESTALE);
	assert_int_equal(vm_box_set_password(vm, NULL, "1"), EINVAL);
	vm_free(vm);
	conf_diags_reset(&d);
}

static void test_summary(void **state)
{
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(vm_summary_body(&mb, "sip:801@127.0.0.1", 1, 0), 0);
	mbuf_write(&mb, "", 1);
	assert_string_equal((char *)mb.buf, "Messages-Waiting: yes\r\n"
					    "Message-Account: sip:801@127.0.0.1\r\n"
					    "Voice-Message: 1/0 (0/0)\r\n");
	mbuf_reset(&mb);
	assert_int_equal(vm_summary_body(&mb, NULL, 0, 2), 0);
	mbuf_write(&mb, "", 1);
	assert_string_equal((char *)mb.buf, "Messages-Waiting: no\r\nVoice-Message: 0/2 (0/0)\r\n");
	mbuf_reset(&mb);
}

static void test_mail_subst(void **state)
{
	struct vm_mailvars v = {.name = "Taro",
				.mailbox = "801",
				.callerid = "\"A\" <03>",
				.cidnum = "03",
				.cidname = "A",
				.date = "today",
				.duration = 65,
				.msgnum = 3};
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(vm_mail_subst(&mb,
				       "${VM_NAME}|${VM_MAILBOX}|${VM_CALLERID}|${VM_CIDNUM}|"
				       "${VM_CIDNAME}|${VM_DATE}|${VM_DUR}|${VM_MSGNUM}|${NOPE}|"
				       "a\\nb\\tc|${VM_NAME",
				       &v),
			 0);
	mbuf_write(&mb, "", 1);
	assert_string_equal((char *)mb.buf,
			    "Taro|801|\"A\" <03>|03|A|today|1:05|3||a\nb\tc|${VM_NAME");
	mbuf_reset(&mb);
}

/* Decodes base64 lines (the attachment) back to bytes. */
static size_t unb64(const char *s, uint8_t *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '-'; s++) {
		const char *p = strchr(t, *s);

		if (!p || !*s)
			continue;
		acc = acc << 6 | (uint32_t)(p - t);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

static void test_mail_build(void **state)
{
	struct fx *fx = *state;
	const struct vm_box *b = vm_box_find(fx->vm, "801", NULL);
	struct vm_general g = *vm_general(fx->vm);
	struct vm_msginfo mi = {.origtime = 1700000000, .duration = 7};
	struct vm_box bx = *b;
	char wav[512];
	uint8_t data[1000], got[1100];
	struct mbuf mb;
	const char *att;
	FILE *f;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	snprintf(wav, sizeof(wav), "%s/a.wav", fx->dir);
	f = fopen(wav, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, sizeof(data), f), sizeof(data));
	fclose(f);
	snprintf(mi.callerid, sizeof(mi.callerid), "\"Evil\r\nBcc: x\" <0311112222>");
	bx.email = "taro@example.jp";
	g.emailsubject = "New message ${VM_MSGNUM} from ${VM_CIDNUM}";
	g.emailbody = "Hi ${VM_NAME}, ${VM_DUR} from ${VM_CIDNAME}\\n";
	mbuf_init(&mb);
	assert_int_equal(vm_mail_build(&mb, &g, &bx, &mi, 0, wav, "BOUNDARY"), 0);
	mbuf_write(&mb, "", 1);
	const char *m = (const char *)mb.buf;
	assert_non_null(strstr(m, "To: \"Taro\" <taro@example.jp>\r\n"));
	assert_non_null(strstr(m, "From: \"Voicemail System\" <asterisk>\r\n"));
	assert_non_null(strstr(m, "Subject: New message 1 from 0311112222\r\n"));
	assert_non_null(strstr(m, "Content-Type: multipart/mixed; boundary=\"BOUNDARY\""));
	assert_null(strstr(m, "\r\nBcc:")); /* no header injection from the caller name */
	assert_non_null(strstr(m, "Hi Taro, 0:07 from Evil"));
	att = strstr(m, "filename=\"msg0000.wav\"\r\n\r\n");
	assert_non_null(att);
	assert_non_null(strstr(m, "--BOUNDARY--\r\n"));
	assert_int_equal(unb64(att + strlen("filename=\"msg0000.wav\"\r\n\r\n"), got),
			 sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	/* base64 lines are at most 76 characters. */
	for (const char *l = att; (l = strstr(l, "\r\n")); l += 2) {
		const char *e = strstr(l + 2, "\r\n");
		if (!e)
			break;
		assert_true(e - (l + 2) <= 76);
	}
	mbuf_reset(&mb);
	/* No attachment. */
	assert_int_equal(vm_mail_build(&mb, &g, &bx, &mi, 0, NULL, "B"), 0);
	mbuf_write(&mb, "", 1);
	assert_null(strstr((char *)mb.buf, "audio/x-wav"));
	mbuf_reset(&mb);
}

/* The mailcmd child: a 1 MB mail (far beyond a pipe's buffer) arrives whole through the
 * non-blocking feed; a failing command and one that never reads are reaped, nothing leaks. */
static void run_loop(struct loop *loop, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++)
		loop_run_once(loop, 10);
}

static void test_mail_send(void **state)
{
	struct fx *fx = *state;
	struct conf_diags d = {0};
	struct loop *loop = NULL;
	struct vm *vm = NULL;
	char text[512], out[128];
	struct mbuf msg;
	FILE *f;
	long size = -1;

	snprintf(out, sizeof(out), "%s/mail.out", fx->dir);
	snprintf(text, sizeof(text), "[general]\nmailcmd=cat >%s\n[default]\n801 => 1\n", out);
	assert_int_equal(load(&vm, text, &d, fx->dir), 0);
	conf_diags_reset(&d);
	assert_int_equal(loop_alloc(&loop), 0);
	mbuf_init(&msg);
	assert_int_equal(vm_mail_send(vm, &msg), ENOTCONN); /* no loop: not sent */
	vm_set_loop(vm, loop);
	for (int i = 0; i < 1000000 / 10; i++)
		mbuf_write(&msg, "0123456789", 10);
	assert_int_equal(vm_mail_send(vm, &msg), 0);
	run_loop(loop, 3000);
	f = fopen(out, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	assert_int_equal(size, 1000000);
	vm_free(vm);

	/* A command that fails at once: the write side sees EPIPE, the child is reaped. */
	assert_int_equal(load(&vm, "[general]\nmailcmd=exit 3\n", &d, fx->dir), 0);
	conf_diags_reset(&d);
	vm_set_loop(vm, loop);
	assert_int_equal(vm_mail_send(vm, &msg), 0);
	run_loop(loop, 1500);
	vm_free(vm);
	mbuf_reset(&msg);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_ok),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_box_parse),
	    cmocka_unit_test_setup_teardown(test_spool, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_list_ids, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reconfigure, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cli, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_set_password, fx_setup, fx_teardown),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_mail_subst),
	    cmocka_unit_test_setup_teardown(test_mail_build, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_mail_send, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
