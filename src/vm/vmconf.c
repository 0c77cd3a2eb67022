/* vmconf: voicemail.conf in Asterisk's format: [general] and the mailbox contexts. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "vm_int.h"

#define LOG_MODULE "vm"

static const char *keep(struct vm *vm, const char *s)
{
	char **n = realloc(vm->strs, (vm->nstrs + 1) * sizeof(*n));
	char *d;

	if (!n)
		return NULL;
	vm->strs = n;
	d = strdup(s ? s : "");
	if (!d)
		return NULL;
	vm->strs[vm->nstrs++] = d;
	return d;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	vm_mail_abandon(vm);
	vm_free(vm->retired);
	for (size_t i = 0; i < vm->nstrs; i++)
		free(vm->strs[i]);
	free(vm->strs);
	free(vm->boxes);
	free(vm);
}

const char *vm_folder_name(enum vm_folder f)
{
	return f == VM_OLD ? "Old" : "INBOX";
}

/* Sections that are not mailbox contexts in Asterisk's file. */
static bool not_context(const char *name)
{
	return !strcasecmp(name, "general") || !strcasecmp(name, "zonemessages");
}

static bool box_name_ok(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == '@' || *s == ',' || *s == ' ' || *s == '.')
			return false;
	return true;
}

static int general_load(struct vm *vm, const struct conf_section *sec, struct conf_diags *diags)
{
	int err = 0;

	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;
		uint32_t *u = NULL, max = 0, min = 0;
		const char **s = NULL;

		if (!strcasecmp(k, "maxmsg"))
			u = &vm->g.maxmsg, min = 1, max = VM_MAXMSG_LIMIT;
		else if (!strcasecmp(k, "maxsecs") || !strcasecmp(k, "maxmessage"))
			u = &vm->g.maxsecs, max = 86400;
		else if (!strcasecmp(k, "minsecs") || !strcasecmp(k, "minmessage"))
			u = &vm->g.minsecs, max = 3600;
		else if (!strcasecmp(k, "maxsilence"))
			u = &vm->g.maxsilence, max = 3600;
		else if (!strcasecmp(k, "silencethreshold"))
			u = &vm->g.silencethreshold, max = 32767;
		else if (!strcasecmp(k, "mailtimeout"))
			u = &vm->g.mailtimeout, min = 1, max = 3600;
		else if (!strcasecmp(k, "mailcmd"))
			s = &vm->g.mailcmd;
		else if (!strcasecmp(k, "serveremail"))
			s = &vm->g.serveremail;
		else if (!strcasecmp(k, "fromstring"))
			s = &vm->g.fromstring;
		else if (!strcasecmp(k, "emailsubject"))
			s = &vm->g.emailsubject;
		else if (!strcasecmp(k, "emailbody"))
			s = &vm->g.emailbody;
		else if (!strcasecmp(k, "spooldir"))
			s = &vm->g.spooldir;
		if (u) {
			if (conf_var_u32(v, "general", min, max, u, diags))
				err = EINVAL;
		} else if (s) {
			if (s == &vm->g.spooldir && v->value[0] != '/') {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[general] spooldir: '%s' is not an absolute path",
					      v->value);
				err = EINVAL;
				continue;
			}
			*s = keep(vm, v->value);
			if (!*s)
				return ENOMEM;
		} else if (!strcasecmp(k, "attach")) {
			if (conf_var_bool(v, "general", &vm->g.attach, diags))
				err = EINVAL;
		} else if (!strcasecmp(k, "format")) {
			/* Asterisk takes "wav49|gsm|wav": the first is the e-mailed one. */
			if (!strstr(v->value, "wav") || strstr(v->value, "wav49") == v->value)
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[general] format=%s: only wav is written; using wav",
					      v->value);
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[general] %s is not implemented; ignored", k);
		}
	}
	return err;
}

/* `box => password,name,email,pager,options` (options: key=value separated by '|'). */
static int box_add(struct vm *vm, const char *ctx, const struct conf_var *v,
		   struct conf_diags *diags)
{
	char buf[1024], *f[5] = {0}, *p;
	struct vm_box *nb, *b;
	size_t nf = 0;

	if (!box_name_ok(v->name)) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[%s] '%s' is not a mailbox number", ctx, v->name);
		return EINVAL;
	}
	if (vm_box_find(vm, v->name, ctx)) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[%s] mailbox %s is defined twice", ctx, v->name);
		return EINVAL;
	}
	if (strlen(v->value) >= sizeof(buf)) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[%s] mailbox %s: the line is too long", ctx, v->name);
		return EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v->value);
	for (p = buf; nf < 5; nf++) {
		char *c = nf < 4 ? strchr(p, ',') : NULL;

		f[nf] = p;
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	for (size_t i = 0; i < 5; i++) {
		if (!f[i]) {
			f[i] = "";
			continue;
		}
		while (*f[i] == ' ' || *f[i] == '\t')
			f[i]++;
		for (char *e = f[i] + strlen(f[i]); e > f[i] && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
	}
	if (!*f[0])
		conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
			      "[%s] mailbox %s has no password: VoiceMailMain lets anybody in", ctx,
			      v->name);
	nb = realloc(vm->boxes, (vm->nboxes + 1) * sizeof(*nb));
	if (!nb)
		return ENOMEM;
	vm->boxes = nb;
	b = &vm->boxes[vm->nboxes];
	memset(b, 0, sizeof(*b));
	b->context = keep(vm, ctx);
	b->box = keep(vm, v->name);
	b->password = keep(vm, f[0]);
	b->fullname = keep(vm, f[1]);
	b->email = keep(vm, f[2]);
	b->pager = keep(vm, f[3]);
	b->origin.file = keep(vm, v->origin.file);
	b->origin.line = v->origin.line;
	b->attach = vm->g.attach;
	if (!b->context || !b->box || !b->password || !b->fullname || !b->email || !b->pager ||
	    !b->origin.file)
		return ENOMEM;
	for (char *o = f[4], *next; o && *o; o = next) {
		char *eq;
		bool val = false;

		next = strchr(o, '|');
		if (next)
			*next++ = '\0';
		eq = strchr(o, '=');
		if (!eq) {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[%s] mailbox %s: option '%s' is not key=value; ignored", ctx,
				      v->name, o);
			continue;
		}
		*eq++ = '\0';
		val = !strcasecmp(eq, "yes") || !strcasecmp(eq, "true") || !strcmp(eq, "1");
		if (!strcasecmp(o, "attach"))
			b->attach = val;
		else if (!strcasecmp(o, "delete"))
			b->delete_after = val;
		else
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[%s] mailbox %s: option %s is not implemented; ignored", ctx,
				      v->name, o);
	}
	vm->nboxes++;
	return 0;
}

int vm_load(struct vm **vp, const struct conf *conf, const char *statedir, struct conf_diags *diags)
{
	struct vm *vm;
	char spool[PATH_MAX];
	int err = 0;

	if (!vp)
		return EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return ENOMEM;
	vm->g.maxmsg = VM_MAXMSG_DEFAULT;
	vm->g.maxsecs = 300;
	vm->g.maxsilence = 10;
	vm->g.silencethreshold = 128;
	vm->g.attach = true;
	snprintf(spool, sizeof(spool), "%s/voicemail", statedir && *statedir ? statedir : ".");
	vm->g.spooldir = keep(vm, spool);
	vm->g.format = keep(vm, "wav");
	vm->g.mailcmd = keep(vm, VM_MAILCMD_DEFAULT);
	vm->g.mailtimeout = 60;
	vm->g.serveremail = keep(vm, "asterisk");
	vm->g.fromstring = keep(vm, "Voicemail System");
	vm->g.emailsubject = keep(vm, "");
	vm->g.emailbody = keep(vm, "");
	if (!vm->g.emailbody) {
		vm_free(vm);
		return ENOMEM;
	}
	/* [general] first: its attach= is every box's default wherever it is written. */
	for (const struct conf_section *s = conf ? conf_sections(conf) : NULL; s; s = s->next)
		if (!s->is_template && !strcasecmp(s->name, "general")) {
			int e = general_load(vm, s, diags);
			if (e == ENOMEM) {
				vm_free(vm);
				return e;
			}
			err = e ? e : err;
		}
	for (const struct conf_section *s = conf ? conf_sections(conf) : NULL; s; s = s->next) {
		if (s->is_template || not_context(s->name))
			continue;
		if (!box_name_ok(s->name)) {
			conf_diag_add(diags, CONF_ERROR, s->origin.file, s->origin.line,
				      "[%s] is not a usable voicemail context name", s->name);
			err = EINVAL;
			continue;
		}
		for (const struct conf_var *v = s->vars; v; v = v->next) {
			int e = box_add(vm, s->name, v, diags);

			if (e == ENOMEM) {
				vm_free(vm);
				return e;
			}
			err = e ? e : err;
		}
	}
	if (err) {
		vm_free(vm);
		return err;
	}
	*vp = vm;
	return 0;
}

int vm_check(const char *confdir, struct conf_diags *diags)
{
	char path[PATH_MAX];
	struct conf *conf = NULL;
	struct vm *vm = NULL;
	int err;

	if (!confdir)
		return 0;
	snprintf(path, sizeof(path), "%s/voicemail.conf", confdir);
	if (access(path, F_OK) != 0)
		return 0;
	err = conf_load(&conf, path, diags);
	if (err)
		return err;
	err = vm_load(&vm, conf, NULL, diags);
	vm_free(vm);
	conf_free(conf);
	return err;
}

int vm_reconfigure(struct vm *vm, struct vm *nvm)
{
	struct vm *old;
	const char *spool;

	if (!vm || !nvm) {
		vm_free(nvm);
		return EINVAL;
	}
	old = calloc(1, sizeof(*old));
	if (!old) {
		vm_free(nvm);
		return ENOMEM;
	}
	/* The old strings and boxes move to `old`, which stays on the retired chain. */
	old->strs = vm->strs;
	old->nstrs = vm->nstrs;
	old->boxes = vm->boxes;
	old->nboxes = vm->nboxes;
	old->retired = vm->retired;
	spool = vm->g.spooldir; /* in old->strs: lives as long as vm */
	if (strcmp(spool, nvm->g.spooldir))
		log_warn("voicemail.conf: spooldir=%s is applied at the next start; %s stays in "
			 "use", nvm->g.spooldir, spool);
	vm->g = nvm->g;
	vm->g.spooldir = spool;
	vm->strs = nvm->strs;
	vm->nstrs = nvm->nstrs;
	vm->boxes = nvm->boxes;
	vm->nboxes = nvm->nboxes;
	vm->retired = old;
	nvm->strs = NULL;
	nvm->nstrs = 0;
	nvm->boxes = NULL;
	nvm->nboxes = 0;
	vm_free(nvm);
	/* Removed boxes: their index rows go, their lamps go off; their files stay. */
	for (size_t i = 0; i < old->nboxes; i++) {
		const struct vm_box *b = &old->boxes[i];

		if (vm_box_find(vm, b->box, b->context))
			continue;
		log_info("voicemail: mailbox %s@%s removed (its messages stay in the spool)", b->box,
			 b->context);
		if (vm->store)
			store_vm_clear(vm->store, b->context, b->box, NULL, NULL);
		vm->changes++;
		if (vm->change_h)
			vm->change_h(b, 0, 0, vm->change_arg);
	}
	vm_index_rebuild(vm);
	for (size_t i = 0; i < vm->nboxes; i++)
		vm_changed(vm, &vm->boxes[i]);
	return 0;
}

const struct vm_general *vm_general(const struct vm *vm)
{
	return vm ? &vm->g : NULL;
}

const struct vm_box *vm_box_find(const struct vm *vm, const char *box, const char *context)
{
	if (!vm || !box)
		return NULL;
	if (!context || !*context)
		context = VM_CONTEXT_DEFAULT;
	for (size_t i = 0; i < vm->nboxes; i++)
		if (!strcmp(vm->boxes[i].box, box) && !strcmp(vm->boxes[i].context, context))
			return &vm->boxes[i];
	return NULL;
}

int vm_box_parse(const char *spec, char *box, size_t bsize, char *ctx, size_t csize)
{
	const char *at;
	size_t bl;

	if (!spec || !*spec)
		return EINVAL;
	at = strchr(spec, '@');
	bl = at ? (size_t)(at - spec) : strlen(spec);
	if (!bl || bl >= bsize)
		return EINVAL;
	memcpy(box, spec, bl);
	box[bl] = '\0';
	if (at && at[1]) {
		if (strlen(at + 1) >= csize)
			return EINVAL;
		snprintf(ctx, csize, "%s", at + 1);
	} else {
		snprintf(ctx, csize, "%s", VM_CONTEXT_DEFAULT);
	}
	if (!box_name_ok(box) || !box_name_ok(ctx))
		return EINVAL;
	return 0;
}

int vm_box_foreach(const struct vm *vm, const char *context, vm_box_h *each, void *arg)
{
	for (size_t i = 0; vm && i < vm->nboxes; i++) {
		int r;

		if (context && strcmp(vm->boxes[i].context, context))
			continue;
		r = each(&vm->boxes[i], arg);
		if (r)
			return r;
	}
	return 0;
}

void vm_set_change_handler(struct vm *vm, vm_change_h *h, void *arg)
{
	if (!vm)
		return;
	vm->change_h = h;
	vm->change_arg = arg;
}

void vm_set_loop(struct vm *vm, struct loop *loop)
{
	if (vm)
		vm->loop = loop;
}

/* Replaces the password field of the `BOX => password,...` line at `line` in text (len bytes)
 * with pw into out. ESTALE when that line is no longer the box's. */
static int pw_line_replace(struct mbuf *out, const char *text, size_t len, unsigned line,
			   const char *box, const char *pw)
{
	const char *p = text, *end = text + len, *ls, *le, *v, *ve;
	size_t blen = strlen(box);
	unsigned n = 1;

	while (n < line && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return ESTALE;
		p = nl + 1;
		n++;
	}
	ls = p;
	le = memchr(ls, '\n', (size_t)(end - ls));
	if (!le)
		le = end;
	while (ls < le && (*ls == ' ' || *ls == '\t'))
		ls++;
	if ((size_t)(le - ls) <= blen || memcmp(ls, box, blen))
		return ESTALE;
	v = ls + blen;
	while (v < le && (*v == ' ' || *v == '\t'))
		v++;
	if (v >= le || *v != '=')
		return ESTALE;
	v++;
	if (v < le && *v == '>')
		v++;
	while (v < le && (*v == ' ' || *v == '\t'))
		v++;
	/* The password: up to the first ',' (or a comment, or the end of the line). */
	for (ve = v; ve < le && *ve != ',' && *ve != ';' && *ve != '\r'; ve++)
		;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	if (mbuf_write(out, text, (size_t)(v - text)) ||
	    mbuf_write_str(out, pw) || mbuf_write(out, ve, (size_t)(end - ve)))
		return ENOMEM;
	return 0;
}

int vm_box_set_password(struct vm *vm, const struct vm_box *b, const char *pw)
{
	char tmp[PATH_MAX + 8];
	struct vm_box *nb = NULL;
	struct mbuf mb;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	const char *np;
	FILE *f;
	int err = 0;

	if (!vm || !b || !pw || !*pw || strlen(pw) > 15 || strspn(pw, "0123456789") != strlen(pw))
		return EINVAL;
	for (size_t i = 0; i < vm->nboxes; i++)
		if (&vm->boxes[i] == b)
			nb = &vm->boxes[i];
	if (!nb || !b->origin.file || !b->origin.line)
		return ENOENT; /* a box a reload retired */
	f = fopen(b->origin.file, "r");
	if (!f)
		return errno;
	if (fstat(fileno(f), &st) < 0 || st.st_size > 1024 * 1024) {
		fclose(f);
		return EFBIG;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		fclose(f);
		return ENOMEM;
	}
	len = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	mbuf_init(&mb);
	err = pw_line_replace(&mb, text, len, b->origin.line, b->box, pw);
	free(text);
	/* Written beside it and renamed: a crash leaves the old file or the new one. */
	if (!err && snprintf(tmp, sizeof(tmp), "%s.new", b->origin.file) >= (int)sizeof(tmp))
		err = ENAMETOOLONG;
	if (!err) {
		f = fopen(tmp, "w");
		if (!f) {
			err = errno;
		} else {
			if (fwrite(mb.buf, 1, mb.end, f) != mb.end || fflush(f) != 0)
				err = errno ? errno : EIO;
			fchmod(fileno(f), st.st_mode & 07777);
			if (fclose(f) != 0 && !err)
				err = errno;
			if (!err && rename(tmp, b->origin.file) < 0)
				err = errno;
			if (err)
				unlink(tmp);
		}
	}
	mbuf_reset(&mb);
	if (err)
		return err;
	np = keep(vm, pw);
	if (!np)
		return ENOMEM;
	nb->password = np;
	log_info("voicemail: password of %s@%s changed (%s:%u)", b->box, b->context,
		 b->origin.file, b->origin.line);
	return 0;
}
