/* conf: reader for the Asterisk configuration-file dialect (sip.conf, extensions.conf, ...):
 * syntax only; the meaning of keys belongs to the modules that read them. */
#ifndef MIKAKA_CONF_H
#define MIKAKA_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a value (or a problem) comes from. `file` points at a string owned by the struct conf
 * (or the struct conf_diags) it came from and lives as long as it does. Packed to 12 bytes (4-byte
 * aligned): every peer keeps one per sip.conf key (`struct peer`'s origins), 4 bytes of padding
 * each were ~190 bytes a peer. Members are read and written, never addressed. */
struct __attribute__((packed, aligned(4))) conf_origin {
	const char *file;
	unsigned line;
};

/* One `key = value` or `key => value`. Values are trimmed; `\;` has become `;`. */
struct conf_var {
	struct conf_var *next;
	const char *name;
	const char *value;
	struct conf_origin origin;
	bool arrow;	/* written with `=>` */
	bool inherited; /* copied from a template named in the section header */
};

struct conf_section {
	struct conf_section *next;
	const char *name;
	struct conf_origin origin;
	bool is_template;	/* [name](!) */
	const char **templates; /* names given in [name](a,b) in order; ntemplates entries */
	size_t ntemplates;
	struct conf_var *vars; /* inherited variables first (template order), then its own, in order */
};

enum conf_severity { CONF_WARNING, CONF_ERROR };

struct conf_diag {
	enum conf_severity severity;
	struct conf_origin origin; /* origin.file may be the file that could not be opened */
	char *message;
};

/* Problems found while reading; owned by the caller, freed with conf_diags_reset(). */
struct conf_diags {
	struct conf_diag *items;
	size_t count;
	size_t cap;
	size_t errors;
	char **files; /* file names referenced by items */
	size_t nfiles;
};

struct conf;

/* Limits the `#include` nesting (an include cycle stops at this depth with an error). */
#define CONF_INCLUDE_MAX_DEPTH 10

/* Reads `path` and everything it #includes (relative to the including file). Diagnostics are
 * appended to diags (may be NULL). Returns 0 and sets *confp when the file was read with no
 * error; on any error returns EINVAL (ENOENT when `path` itself does not exist) and leaves
 * *confp untouched. Warnings alone do not fail the load. */
int conf_load(struct conf **confp, const char *path, struct conf_diags *diags);
/* Same, from a string; `name` is used as the file name in origins and diagnostics, and
 * #include paths are relative to the current directory. */
int conf_load_string(struct conf **confp, const char *name, const char *text,
		     struct conf_diags *diags);
/* Same as conf_load_string() for `len` bytes that need not be NUL-terminated (a NUL byte inside
 * is reported as an error for its line, as it would be in a file). */
int conf_load_buf(struct conf **confp, const char *name, const char *buf, size_t len,
		  struct conf_diags *diags);
/* Frees the sections, variables and file names; NULL is accepted. */
void conf_free(struct conf *conf);

/* Sections in file order, templates included (check is_template). */
const struct conf_section *conf_sections(const struct conf *conf);
/* The first non-template section with this name (case-sensitive, as Asterisk), or NULL. */
const struct conf_section *conf_section_find(const struct conf *conf, const char *name);
/* The last value of `name` in the section (later lines override earlier ones), or NULL. */
const struct conf_var *conf_var_find(const struct conf_section *sec, const char *name);
/* Shorthand: the value of conf_var_find, or def. */
const char *conf_get(const struct conf_section *sec, const char *name, const char *def);

/* A variable's value as a whole number from min to max: 0, or EINVAL with an error
 * "[section] name: 'value' is not a number from min to max" at its file:line in diags. */
int conf_var_u32(const struct conf_var *v, const char *section, uint32_t min, uint32_t max,
		 uint32_t *out, struct conf_diags *diags);
/* A variable's value as yes/no (also true/false, on/off, 1/0, any case): 0, or EINVAL with an
 * error at its file:line in diags. */
int conf_var_bool(const struct conf_var *v, const char *section, bool *out,
		  struct conf_diags *diags);

/* Appends a diagnostic formatted like printf; `file` is copied. */
void conf_diag_add(struct conf_diags *diags, enum conf_severity sev, const char *file,
		   unsigned line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Formats one as "file:line: error: message" ("file: error: message" when line is 0) into buf;
 * ENOSPC when truncated. */
int conf_diag_format(const struct conf_diag *diag, char *buf, size_t size);
/* Prints each as "file:line: error: message" (or warning) to stderr. */
void conf_diags_print(const struct conf_diags *diags);
void conf_diags_reset(struct conf_diags *diags);

#endif /* MIKAKA_CONF_H */
