/* conf: reads the Asterisk configuration dialect (sections, templates, includes, comments) into
 * sections of key/value lines, keeping the file:line of everything it reads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf: the fuzz build compiles this file without the Makefile flags */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "conf.h"

/* Limits that keep a hostile or broken file from exhausting memory or time: real
 * configurations stay far below each of them. */
#define CONF_LINE_MAX 8192		     /* bytes in one line, line ending excluded */
#define CONF_FILE_MAX (16u * 1024 * 1024)  /* bytes in one file */
#define CONF_TOTAL_MAX (64u * 1024 * 1024) /* bytes read by one load, includes counted */
#define CONF_FILES_MAX 1024		     /* files opened by one load */
#define CONF_VARS_MAX (1u << 20)	     /* variables, inherited copies included */
#define CONF_ERRORS_MAX 100		     /* errors before the reader gives up */

/* The public section plus what the reader needs while appending to it. */
struct conf_sec {
	struct conf_section pub; /* first, so a conf_section pointer converts back */
	struct conf_var *tail;
};

/* One name in the section index: inheritance, `+` and conf_section_find() look names up. */
struct conf_name {
	struct conf_name *next;
	const char *name;
	uint32_t hash;
	struct conf_sec *first_template;
	struct conf_sec *first_plain;
	struct conf_sec *last;
};

struct conf {
	struct conf_section *sections;
	struct conf_sec *tail;
	struct conf_name **buckets;
	size_t nbuckets;
	size_t nnames;
	char **files; /* interned file names, referenced by origins */
	size_t nfiles;
	size_t nvars;
};

/* State of one load, shared by the top file and everything it includes. */
struct conf_parser {
	struct conf *conf;
	struct conf_diags *diags;
	struct conf_sec *cur;
	bool skipping; /* after a broken section header: its lines are not reported again */
	bool stop;     /* too many errors or out of memory */
	int err;       /* ENOMEM when memory ran out */
	size_t errors;
	size_t total_bytes;
	size_t nopened;
};

/* State of one file being read. */
struct conf_file {
	const char *name;    /* interned */
	const char *basedir; /* directory for relative #include, NULL for the current one */
	unsigned depth;
	unsigned comment_depth; /* inside `;-- ... --;` */
	unsigned comment_line;
};

static void conf_diag_vadd(struct conf_diags *diags, enum conf_severity sev, const char *file,
			   unsigned line, const char *fmt, va_list ap)
{
	char *msg = NULL;
	const char *fname = NULL;

	if (!diags)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;

	if (file) {
		for (size_t i = 0; i < diags->nfiles; i++) {
			if (!strcmp(diags->files[i], file)) {
				fname = diags->files[i];
				break;
			}
		}
		if (!fname) {
			char **files = realloc(diags->files,
					       (diags->nfiles + 1) * sizeof(*files));
			char *copy = strdup(file);

			if (files)
				diags->files = files;
			if (!files || !copy) {
				free(copy);
				free(msg);
				return;
			}
			diags->files[diags->nfiles++] = copy;
			fname = copy;
		}
	}

	if (diags->count == diags->cap) {
		size_t cap = diags->cap ? diags->cap * 2 : 8;
		struct conf_diag *items = realloc(diags->items, cap * sizeof(*items));

		if (!items) {
			free(msg);
			return;
		}
		diags->items = items;
		diags->cap = cap;
	}
	diags->items[diags->count++] = (struct conf_diag){
		.severity = sev,
		.origin = {.file = fname ? fname : "", .line = line},
		.message = msg,
	};
	if (sev == CONF_ERROR)
		diags->errors++;
}

void conf_diag_add(struct conf_diags *diags, enum conf_severity sev, const char *file,
		   unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(diags, sev, file, line, fmt, ap);
	va_end(ap);
}

int conf_diag_format(const struct conf_diag *diag, char *buf, size_t size)
{
	const char *sev = diag->severity == CONF_ERROR ? "error" : "warning";
	int n;

	if (diag->origin.line)
		n = snprintf(buf, size, "%s:%u: %s: %s", diag->origin.file, diag->origin.line, sev,
			     diag->message);
	else
		n = snprintf(buf, size, "%s: %s: %s", diag->origin.file, sev, diag->message);
	if (n < 0)
		return EINVAL;
	return (size_t)n < size ? 0 : ENOSPC;
}

void conf_diags_print(const struct conf_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->count; i++) {
		const struct conf_diag *d = &diags->items[i];
		const char *sev = d->severity == CONF_ERROR ? "error" : "warning";
		const char *pri =
		    log_journal_prefix(d->severity == CONF_ERROR ? LOG_ERROR : LOG_WARN);

		if (d->origin.line)
			fprintf(stderr, "%s%s:%u: %s: %s\n", pri, d->origin.file, d->origin.line,
				sev, d->message);
		else
			fprintf(stderr, "%s%s: %s: %s\n", pri, d->origin.file, sev, d->message);
	}
}

void conf_diags_reset(struct conf_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->count; i++)
		free(diags->items[i].message);
	for (size_t i = 0; i < diags->nfiles; i++)
		free(diags->files[i]);
	free(diags->items);
	free(diags->files);
	memset(diags, 0, sizeof(*diags));
}

/* Reports a problem and counts errors even when the caller passed no diags. */
static void conf_report(struct conf_parser *p, enum conf_severity sev, const char *file,
			unsigned line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conf_report(struct conf_parser *p, enum conf_severity sev, const char *file,
			unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (p->stop)
		return;
	va_start(ap, fmt);
	conf_diag_vadd(p->diags, sev, file, line, fmt, ap);
	va_end(ap);
	if (sev != CONF_ERROR)
		return;
	if (++p->errors >= CONF_ERRORS_MAX) {
		conf_diag_add(p->diags, CONF_ERROR, file, line, "too many errors; giving up");
		p->stop = true;
	}
}

static void conf_oom(struct conf_parser *p)
{
	p->err = ENOMEM;
	p->stop = true;
}

static const char *conf_intern(struct conf_parser *p, const char *file)
{
	struct conf *conf = p->conf;
	char **files;
	char *copy;

	for (size_t i = 0; i < conf->nfiles; i++) {
		if (!strcmp(conf->files[i], file))
			return conf->files[i];
	}
	files = realloc(conf->files, (conf->nfiles + 1) * sizeof(*files));
	if (!files)
		goto oom;
	conf->files = files;
	copy = strdup(file);
	if (!copy)
		goto oom;
	conf->files[conf->nfiles++] = copy;
	return copy;

oom:
	conf_oom(p);
	return NULL;
}

static struct conf_name *conf_name_get(const struct conf *conf, const char *name, size_t len)
{
	uint32_t h;

	if (!conf->nbuckets)
		return NULL;
	h = hash_bytes(name, len);
	for (struct conf_name *n = conf->buckets[h & (conf->nbuckets - 1)]; n; n = n->next) {
		if (n->hash == h && !strncmp(n->name, name, len) && n->name[len] == '\0')
			return n;
	}
	return NULL;
}

static int conf_name_grow(struct conf *conf)
{
	size_t nb = conf->nbuckets ? conf->nbuckets * 2 : 64;
	struct conf_name **b = calloc(nb, sizeof(*b));

	if (!b)
		return ENOMEM;
	for (size_t i = 0; i < conf->nbuckets; i++) {
		struct conf_name *n = conf->buckets[i];

		while (n) {
			struct conf_name *next = n->next;

			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(conf->buckets);
	conf->buckets = b;
	conf->nbuckets = nb;
	return 0;
}

/* Records a new section under its name in the index. */
static int conf_name_add(struct conf *conf, struct conf_sec *sec)
{
	const char *name = sec->pub.name;
	size_t len = strlen(name);
	struct conf_name *n = conf_name_get(conf, name, len);

	if (!n) {
		if (conf->nnames >= conf->nbuckets && conf_name_grow(conf))
			return ENOMEM;
		n = calloc(1, sizeof(*n));
		if (!n)
			return ENOMEM;
		n->name = name;
		n->hash = hash_bytes(name, len);
		n->next = conf->buckets[n->hash & (conf->nbuckets - 1)];
		conf->buckets[n->hash & (conf->nbuckets - 1)] = n;
		conf->nnames++;
	}
	if (sec->pub.is_template && !n->first_template)
		n->first_template = sec;
	if (!sec->pub.is_template && !n->first_plain)
		n->first_plain = sec;
	n->last = sec;
	return 0;
}

static void conf_section_destroy(struct conf_sec *sec)
{
	struct conf_var *v = sec->pub.vars;

	while (v) {
		struct conf_var *next = v->next;

		free(v);
		v = next;
	}
	for (size_t i = 0; i < sec->pub.ntemplates; i++)
		free((char *)sec->pub.templates[i]);
	free(sec->pub.templates);
	free((char *)sec->pub.name);
	free(sec);
}

void conf_free(struct conf *conf)
{
	struct conf_section *s;

	if (!conf)
		return;
	s = conf->sections;
	while (s) {
		struct conf_section *next = s->next;

		conf_section_destroy((struct conf_sec *)s);
		s = next;
	}
	for (size_t i = 0; i < conf->nbuckets; i++) {
		struct conf_name *n = conf->buckets[i];

		while (n) {
			struct conf_name *next = n->next;

			free(n);
			n = next;
		}
	}
	free(conf->buckets);
	for (size_t i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf);
}

/* Name and value live in the same allocation as the variable, so one free() releases all. */
static int conf_var_append(struct conf_parser *p, struct conf_sec *sec, const struct pl *name,
			   const struct pl *value, struct conf_origin origin, bool arrow,
			   bool inherited)
{
	struct conf_var *v;
	char *s;

	if (p->conf->nvars >= CONF_VARS_MAX) {
		conf_report(p, CONF_ERROR, origin.file, origin.line,
			    "too many variables (limit %u)", CONF_VARS_MAX);
		return EOVERFLOW;
	}
	v = malloc(sizeof(*v) + name->l + value->l + 2);
	if (!v) {
		conf_oom(p);
		return ENOMEM;
	}
	s = (char *)(v + 1);
	memcpy(s, name->p, name->l);
	s[name->l] = '\0';
	v->name = s;
	s += name->l + 1;
	memcpy(s, value->p, value->l);
	s[value->l] = '\0';
	v->value = s;
	v->next = NULL;
	v->origin = origin;
	v->arrow = arrow;
	v->inherited = inherited;

	if (sec->tail)
		sec->tail->next = v;
	else
		sec->pub.vars = v;
	sec->tail = v;
	p->conf->nvars++;
	return 0;
}

/* Splits `(a, b, !)` into items; reports what it cannot accept. Returns false on an error. */
static bool conf_header_options(struct conf_parser *p, const struct conf_file *f, unsigned line,
				struct pl opts, bool *is_template, bool *append, struct pl *names,
				size_t *nnames)
{
	bool ok = true;

	*is_template = false;
	*append = false;
	*nnames = 0;
	pl_trim(&opts);
	if (!opts.l)
		return true;

	while (opts.p) {
		const char *comma = pl_chr(&opts, ',');
		struct pl item = pl_from(opts.p, comma ? (size_t)(comma - opts.p) : opts.l);

		if (comma)
			opts = pl_from(comma + 1, opts.l - (size_t)(comma + 1 - opts.p));
		else
			opts.p = NULL;
		pl_trim(&item);

		if (!item.l) {
			conf_report(p, CONF_ERROR, f->name, line, "empty item in section options");
			ok = false;
		} else if (pl_eq_str(&item, "!")) {
			*is_template = true;
		} else if (pl_eq_str(&item, "+")) {
			*append = true;
		} else if (item.l == 1 && !(item.p[0] >= '0' && item.p[0] <= '9') &&
			   !(item.p[0] >= 'A' && item.p[0] <= 'Z') &&
			   !(item.p[0] >= 'a' && item.p[0] <= 'z') && item.p[0] != '_') {
			/* Asterisk knows only `!` and `+`; a lone punctuation mark is a typo or an
			 * option from elsewhere, not a template name. */
			conf_report(p, CONF_ERROR, f->name, line,
				    "unsupported section option '%.*s'", PL_ARG(item));
			ok = false;
		} else {
			names[(*nnames)++] = item;
		}
	}
	return ok;
}

static void conf_section_header(struct conf_parser *p, const struct conf_file *f, unsigned line,
				struct pl text)
{
	struct conf *conf = p->conf;
	const char *close = pl_chr(&text, ']');
	struct pl name, rest, opts = PL_INIT;
	struct pl *names = NULL;
	size_t nnames = 0;
	bool is_template, append;
	struct conf_sec *sec = NULL;
	struct conf_sec **tmpls = NULL;
	bool ok = true;

	/* Until this header is known good, the lines after it belong to no section. */
	p->cur = NULL;
	p->skipping = true;

	if (!close) {
		conf_report(p, CONF_ERROR, f->name, line,
			    "unterminated section header (missing ']')");
		return;
	}
	name = pl_from(text.p + 1, (size_t)(close - text.p - 1));
	pl_trim(&name);
	rest = pl_from(close + 1, text.l - (size_t)(close + 1 - text.p));
	pl_trim(&rest);
	if (!name.l) {
		conf_report(p, CONF_ERROR, f->name, line, "empty section name");
		return;
	}
	if (rest.l) {
		const char *rparen = pl_chr(&rest, ')');

		if (rest.p[0] != '(') {
			conf_report(p, CONF_ERROR, f->name, line,
				    "unexpected text after section header: '%.*s'", PL_ARG(rest));
			return;
		}
		if (!rparen) {
			conf_report(p, CONF_ERROR, f->name, line,
				    "unterminated section options (missing ')')");
			return;
		}
		if (rparen + 1 != rest.p + rest.l) {
			conf_report(p, CONF_ERROR, f->name, line,
				    "unexpected text after section options: '%.*s'",
				    (int)(rest.p + rest.l - rparen - 1), rparen + 1);
			return;
		}
		opts = pl_from(rest.p + 1, (size_t)(rparen - rest.p - 1));
		/* At most one name per two bytes ("a,b,..."), plus one. */
		names = calloc(opts.l / 2 + 1, sizeof(*names));
		if (!names) {
			conf_oom(p);
			return;
		}
	}
	if (!conf_header_options(p, f, line, opts, &is_template, &append, names, &nnames))
		goto out;

	if (append) {
		struct conf_name *n = conf_name_get(conf, name.p, name.l);

		if (is_template || nnames) {
			conf_report(p, CONF_ERROR, f->name, line,
				    "'+' cannot be combined with other section options");
		} else if (!n) {
			conf_report(p, CONF_ERROR, f->name, line,
				    "no earlier section '%.*s' to add to", PL_ARG(name));
		} else {
			p->cur = n->last;
			p->skipping = false;
		}
		goto out;
	}

	if (nnames) {
		tmpls = calloc(nnames, sizeof(*tmpls));
		if (!tmpls) {
			conf_oom(p);
			goto out;
		}
	}
	for (size_t i = 0; i < nnames; i++) {
		struct conf_name *n = conf_name_get(conf, names[i].p, names[i].l);

		/* A template wins over a plain section of the same name; Asterisk lets both
		 * serve as a base. */
		if (n)
			tmpls[i] = n->first_template ? n->first_template : n->first_plain;
		if (!tmpls[i]) {
			conf_report(p, CONF_ERROR, f->name, line, "unknown template '%.*s'",
				    PL_ARG(names[i]));
			ok = false;
		}
	}
	if (!ok)
		goto out;

	sec = calloc(1, sizeof(*sec));
	if (!sec)
		goto oom;
	sec->pub.name = pl_strdup(&name);
	if (!sec->pub.name)
		goto oom;
	sec->pub.origin = (struct conf_origin){.file = f->name, .line = line};
	sec->pub.is_template = is_template;
	if (nnames) {
		sec->pub.templates = calloc(nnames, sizeof(*sec->pub.templates));
		if (!sec->pub.templates)
			goto oom;
		for (size_t i = 0; i < nnames; i++) {
			sec->pub.templates[i] = pl_strdup(&names[i]);
			if (!sec->pub.templates[i])
				goto oom;
			sec->pub.ntemplates++;
		}
	}
	for (size_t i = 0; i < nnames; i++) {
		for (const struct conf_var *v = tmpls[i]->pub.vars; v; v = v->next) {
			struct pl vn = pl_from_str(v->name), vv = pl_from_str(v->value);

			if (conf_var_append(p, sec, &vn, &vv, v->origin, v->arrow, true))
				goto fail;
		}
	}
	if (conf_name_add(conf, sec))
		goto oom;

	if (conf->tail)
		conf->tail->pub.next = &sec->pub;
	else
		conf->sections = &sec->pub;
	conf->tail = sec;
	p->cur = sec;
	p->skipping = false;
	sec = NULL;
	goto out;

oom:
	conf_oom(p);
fail:
	if (sec)
		conf_section_destroy(sec);
out:
	free(tmpls);
	free(names);
}

static void conf_keyvalue(struct conf_parser *p, const struct conf_file *f, unsigned line,
			  struct pl text)
{
	const char *eq = pl_chr(&text, '=');
	struct pl key, value;
	bool arrow = false;

	if (!eq) {
		if (!p->skipping)
			conf_report(p, CONF_ERROR, f->name, line, "expected 'key = value'");
		return;
	}
	key = pl_from(text.p, (size_t)(eq - text.p));
	value = pl_from(eq + 1, text.l - (size_t)(eq + 1 - text.p));
	if (value.l && value.p[0] == '>') {
		arrow = true;
		value.p++;
		value.l--;
	}
	pl_trim(&key);
	pl_trim(&value);
	if (!key.l) {
		conf_report(p, CONF_ERROR, f->name, line, "empty key before '%s'",
			    arrow ? "=>" : "=");
		return;
	}
	if (!p->cur) {
		if (!p->skipping)
			conf_report(p, CONF_ERROR, f->name, line,
				    "'%.*s' outside of any [section]", PL_ARG(key));
		return;
	}
	conf_var_append(p, p->cur, &key, &value, (struct conf_origin){f->name, line}, arrow,
			false);
}

static int conf_read_file(struct conf_parser *p, const char *path, char **bufp, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	if (p->nopened >= CONF_FILES_MAX)
		return EMFILE;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno;
	p->nopened++;
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = ENODEV;
		goto out;
	}
	if ((unsigned long long)st.st_size > CONF_FILE_MAX) {
		err = EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	/* The size may change under us: read what is there, up to the limit. */
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

static const char *conf_strerror(int err)
{
	switch (err) {
	case EFBIG:
		return "file too large (limit 16 MiB)";
	case ENODEV:
		return "not a regular file";
	case EMFILE:
		return "too many files opened by one load";
	default:
		return strerror(err);
	}
}

static void conf_parse(struct conf_parser *p, struct conf_file *f, const char *buf, size_t len);

static void conf_include(struct conf_parser *p, const struct conf_file *f, unsigned line,
			 struct pl target, bool try)
{
	struct conf_file inc = {.depth = f->depth + 1};
	char *path = NULL, *dir = NULL, *buf = NULL;
	const char *slash;
	size_t len = 0;
	int err;

	if (target.l >= 2 && ((target.p[0] == '"' && target.p[target.l - 1] == '"') ||
			      (target.p[0] == '<' && target.p[target.l - 1] == '>'))) {
		target.p++;
		target.l -= 2;
		pl_trim(&target);
	}
	if (!target.l) {
		conf_report(p, CONF_ERROR, f->name, line, "#include needs a file name");
		return;
	}
	if (inc.depth > CONF_INCLUDE_MAX_DEPTH) {
		conf_report(p, CONF_ERROR, f->name, line,
			    "#include nested too deeply (limit %d levels); is there a cycle?",
			    CONF_INCLUDE_MAX_DEPTH);
		return;
	}
	if (target.p[0] == '/' || !f->basedir)
		err = asprintf(&path, "%.*s", PL_ARG(target)) < 0;
	else
		err = asprintf(&path, "%s/%.*s", f->basedir, PL_ARG(target)) < 0;
	if (err) {
		conf_oom(p);
		return;
	}
	if (p->total_bytes >= CONF_TOTAL_MAX) {
		conf_report(p, CONF_ERROR, f->name, line,
			    "cannot read '%s': too much input (limit 64 MiB in all)", path);
		goto out;
	}
	err = conf_read_file(p, path, &buf, &len);
	if (err == ENOENT && try)
		goto out;
	if (err == ENOMEM) {
		conf_oom(p);
		goto out;
	}
	if (err) {
		conf_report(p, CONF_ERROR, f->name, line, "cannot read '%s': %s", path,
			    conf_strerror(err));
		goto out;
	}
	p->total_bytes += len;
	if (p->total_bytes > CONF_TOTAL_MAX) {
		conf_report(p, CONF_ERROR, f->name, line,
			    "cannot read '%s': too much input (limit 64 MiB in all)", path);
		goto out;
	}

	inc.name = conf_intern(p, path);
	if (!inc.name)
		goto out;
	slash = strrchr(path, '/');
	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		if (!dir) {
			conf_oom(p);
			goto out;
		}
	}
	inc.basedir = dir;
	conf_parse(p, &inc, buf, len);
out:
	free(buf);
	free(dir);
	free(path);
}

static void conf_directive(struct conf_parser *p, const struct conf_file *f, unsigned line,
			   struct pl text)
{
	struct pl word = pl_from(text.p, 1), arg;

	while (word.l < text.l && text.p[word.l] != ' ' && text.p[word.l] != '\t')
		word.l++;
	arg = pl_from(text.p + word.l, text.l - word.l);
	pl_trim(&arg);

	if (pl_eq_str(&word, "#include"))
		conf_include(p, f, line, arg, false);
	else if (pl_eq_str(&word, "#tryinclude"))
		conf_include(p, f, line, arg, true);
	else if (pl_eq_str(&word, "#exec") || pl_eq_str(&word, "#tryexec"))
		conf_report(p, CONF_WARNING, f->name, line,
			    "%.*s is not supported; line ignored", PL_ARG(word));
	else
		conf_report(p, CONF_ERROR, f->name, line, "unknown directive '%.*s'",
			    PL_ARG(word));
}

/* Copies a line without its comments into out (CONF_LINE_MAX bytes at least) and returns the
 * length; `\;` becomes `;`. Block comments may span lines, so their state lives in f. */
static size_t conf_strip(struct conf_file *f, unsigned line, const char *in, size_t len,
			 char *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		/* `;---...` is an ordinary line comment (a common separator), hence the check
		 * that a fourth '-' does not follow. */
		bool opens = in[i] == ';' && i + 2 < len && in[i + 1] == '-' && in[i + 2] == '-' &&
			     (i + 3 >= len || in[i + 3] != '-');

		if (f->comment_depth) {
			if (opens) {
				f->comment_depth++;
				i += 3;
			} else if (in[i] == '-' && i + 2 < len && in[i + 1] == '-' &&
				   in[i + 2] == ';') {
				f->comment_depth--;
				i += 3;
			} else {
				i++;
			}
		} else if (in[i] == '\\' && i + 1 < len && in[i + 1] == ';') {
			out[n++] = ';';
			i += 2;
		} else if (opens) {
			f->comment_depth = 1;
			f->comment_line = line;
			i += 3;
		} else if (in[i] == ';') {
			break;
		} else {
			out[n++] = in[i++];
		}
	}
	return n;
}

static void conf_parse(struct conf_parser *p, struct conf_file *f, const char *buf, size_t len)
{
	char *text = malloc(CONF_LINE_MAX + 1);
	size_t pos = 0;
	unsigned line = 0;

	if (!text) {
		conf_oom(p);
		return;
	}
	while (pos < len && !p->stop) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t l = end - pos;
		const char *s = buf + pos;
		struct pl t;

		pos = nl ? end + 1 : len;
		line++;
		if (l && s[l - 1] == '\r')
			l--;
		if (l > CONF_LINE_MAX) {
			conf_report(p, CONF_ERROR, f->name, line, "line too long (limit %d bytes)",
				    CONF_LINE_MAX);
			continue;
		}
		if (memchr(s, '\0', l)) {
			conf_report(p, CONF_ERROR, f->name, line, "NUL byte in line");
			continue;
		}
		t = pl_from(text, conf_strip(f, line, s, l, text));
		pl_trim(&t);
		if (!t.l)
			continue;
		if (t.p[0] == '[')
			conf_section_header(p, f, line, t);
		else if (t.p[0] == '#')
			conf_directive(p, f, line, t);
		else
			conf_keyvalue(p, f, line, t);
	}
	if (f->comment_depth && !p->stop)
		conf_report(p, CONF_WARNING, f->name, f->comment_line,
			    "block comment ';--' is never closed with '--;'");
	free(text);
}

/* Runs one load; `path` names the top file, `basedir` is where its #includes are looked up. */
static int conf_load_buf_dir(struct conf **confp, const char *path, const char *basedir,
			     const char *buf, size_t len, struct conf_diags *diags)
{
	struct conf_parser p = {.diags = diags};
	struct conf_file f = {.basedir = basedir};
	int err = 0;

	p.conf = calloc(1, sizeof(*p.conf));
	if (!p.conf)
		return ENOMEM;
	f.name = conf_intern(&p, path);
	if (!f.name) {
		err = ENOMEM;
		goto out;
	}
	p.total_bytes = len;
	if (len > CONF_FILE_MAX) {
		conf_report(&p, CONF_ERROR, f.name, 0, "%s", conf_strerror(EFBIG));
		err = EINVAL;
		goto out;
	}
	conf_parse(&p, &f, buf, len);
	if (p.err)
		err = p.err;
	else if (p.errors)
		err = EINVAL;
out:
	if (err) {
		conf_free(p.conf);
		return err;
	}
	*confp = p.conf;
	return 0;
}

int conf_load_buf(struct conf **confp, const char *name, const char *buf, size_t len,
		  struct conf_diags *diags)
{
	if (!confp || !name || (!buf && len))
		return EINVAL;
	return conf_load_buf_dir(confp, name, NULL, buf ? buf : "", len, diags);
}

int conf_load_string(struct conf **confp, const char *name, const char *text,
		     struct conf_diags *diags)
{
	if (!text)
		return EINVAL;
	return conf_load_buf(confp, name, text, strlen(text), diags);
}

int conf_load(struct conf **confp, const char *path, struct conf_diags *diags)
{
	struct conf_parser p = {0};
	char *buf = NULL, *dir = NULL;
	const char *slash;
	size_t len = 0;
	int err;

	if (!confp || !path)
		return EINVAL;
	err = conf_read_file(&p, path, &buf, &len);
	if (err == ENOMEM)
		return err;
	if (err) {
		conf_diag_add(diags, CONF_ERROR, path, 0, "cannot read: %s", conf_strerror(err));
		return err == ENOENT ? ENOENT : EINVAL;
	}
	slash = strrchr(path, '/');
	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		if (!dir) {
			err = ENOMEM;
			goto out;
		}
	}
	err = conf_load_buf_dir(confp, path, dir, buf, len, diags);
out:
	free(dir);
	free(buf);
	return err;
}

const struct conf_section *conf_sections(const struct conf *conf)
{
	return conf ? conf->sections : NULL;
}

const struct conf_section *conf_section_find(const struct conf *conf, const char *name)
{
	const struct conf_name *n;

	if (!conf || !name)
		return NULL;
	n = conf_name_get(conf, name, strlen(name));
	return n && n->first_plain ? &n->first_plain->pub : NULL;
}

const struct conf_var *conf_var_find(const struct conf_section *sec, const char *name)
{
	const struct conf_var *found = NULL;

	if (!sec || !name)
		return NULL;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		if (!strcmp(v->name, name))
			found = v;
	}
	return found;
}

const char *conf_get(const struct conf_section *sec, const char *name, const char *def)
{
	const struct conf_var *v = conf_var_find(sec, name);

	return v ? v->value : def;
}

int conf_var_u32(const struct conf_var *v, const char *section, uint32_t min, uint32_t max,
		 uint32_t *out, struct conf_diags *diags)
{
	char *end;
	unsigned long long u;

	errno = 0;
	u = strtoull(v->value, &end, 10);
	if (errno || end == v->value || *end || v->value[0] == '-' || u < min || u > max) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "[%s] %s: '%s' is not a number from %u to %u", section, v->name,
			      v->value, min, max);
		return EINVAL;
	}
	*out = (uint32_t)u;
	return 0;
}

int conf_var_bool(const struct conf_var *v, const char *section, bool *out,
		  struct conf_diags *diags)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v->value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v->value, no[i])) {
			*out = false;
			return 0;
		}
	}
	conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
		      "[%s] %s: '%s' is not yes or no", section, v->name, v->value);
	return EINVAL;
}
