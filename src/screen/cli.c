/* cli: the control-socket commands of the block list and the phonebook. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "screen_int.h"

/* The words after the number, joined by spaces (the socket splits on blanks). */
static void join(char *buf, size_t size, int argc, char **argv)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < argc && k + 1 < size; i++) {
		int n = snprintf(buf + k, size - k, "%s%s", i ? " " : "", argv[i]);

		if (n < 0)
			break;
		k += (size_t)n;
	}
}

static int cmd_block_add(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct screen_db *db = arg;
	char note[200];
	int err;

	if (argc < 1) {
		mbuf_printf(out, "usage: block add NUMBER [note]\n");
		return EINVAL;
	}
	join(note, sizeof(note), argc - 1, argv + 1);
	err = screen_db_block_add(db, argv[0], note);
	if (err == EINVAL)
		mbuf_printf(out, "'%s' is not a number or a prefix like 0120*\n", argv[0]);
	else if (!err)
		mbuf_printf(out, "blocked %s (%zu blocked numbers)\n", argv[0],
			    screen_db_block_count(db));
	return err;
}

static int cmd_block_del(struct mbuf *out, int argc, char **argv, void *arg)
{
	int err;

	if (argc != 1) {
		mbuf_printf(out, "usage: block del NUMBER\n");
		return EINVAL;
	}
	err = screen_db_block_del(arg, argv[0]);
	if (err == ENOENT)
		mbuf_printf(out, "%s is not in the block list\n", argv[0]);
	else if (err == EINVAL)
		mbuf_printf(out, "'%s' is not a number\n", argv[0]);
	else
		mbuf_printf(out, "unblocked %s\n", argv[0]);
	return err;
}

static int cmd_block_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	(void)argc;
	(void)argv;
	screen_db_block_show(arg, out);
	return 0;
}

/* `block last [note]`: blocks the last caller (what 144 then 2 does from a phone). */
static int cmd_block_last(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct screen_db *db = arg;
	char note[200], num[SCREEN_NUM_MAX];
	int err;

	snprintf(num, sizeof(num), "%s", screen_db_last(db));
	if (!num[0]) {
		mbuf_printf(out, "no caller with a number yet\n");
		return ENOENT;
	}
	join(note, sizeof(note), argc, argv);
	err = screen_db_block_add(db, num, note[0] ? note : "last caller (CLI)");
	if (!err)
		mbuf_printf(out, "blocked %s, the last caller (%zu blocked numbers)\n", num,
			    screen_db_block_count(db));
	return err;
}

static int cmd_block_undo(struct mbuf *out, int argc, char **argv, void *arg)
{
	char num[SCREEN_NUM_MAX + 2];

	(void)argc;
	(void)argv;
	if (screen_db_block_undo(arg, num, sizeof(num))) {
		mbuf_printf(out, "the block list is empty\n");
		return ENOENT;
	}
	mbuf_printf(out, "unblocked %s (the last entry)\n", num);
	return 0;
}

static int cmd_block_clear(struct mbuf *out, int argc, char **argv, void *arg)
{
	(void)argc;
	(void)argv;
	mbuf_printf(out, "%zu entries removed\n", screen_db_block_clear(arg));
	return 0;
}

static int cmd_pb_import(struct mbuf *out, int argc, char **argv, void *arg)
{
	if (argc != 1) {
		mbuf_printf(out, "usage: phonebook import FILE (CSV name,number or vCard)\n");
		return EINVAL;
	}
	return screen_db_pb_import(arg, argv[0], out);
}

static int cmd_pb_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	(void)argc;
	(void)argv;
	screen_db_pb_show(arg, out);
	return 0;
}

static int cmd_pb_del(struct mbuf *out, int argc, char **argv, void *arg)
{
	int err;

	if (argc != 1) {
		mbuf_printf(out, "usage: phonebook del NUMBER|all\n");
		return EINVAL;
	}
	if (!strcmp(argv[0], "all")) {
		mbuf_printf(out, "%zu entries removed\n", screen_db_pb_clear(arg));
		return 0;
	}
	err = screen_db_pb_del(arg, argv[0]);
	if (err)
		mbuf_printf(out, "%s is not in the phonebook\n", argv[0]);
	else
		mbuf_printf(out, "removed %s\n", argv[0]);
	return err;
}

int screen_ctl_register(struct ctl *ctl, struct screen_db *db)
{
	const struct ctl_cmd cmds[] = {
	    {"block add", "block add NUMBER [note]: refuse calls from NUMBER (0120* a prefix)",
	     cmd_block_add, db},
	    {"block del", "block del NUMBER: remove NUMBER from the block list", cmd_block_del, db},
	    {"block show", "the block list", cmd_block_show, db},
	    {"block last", "block last [note]: block the last caller of the line", cmd_block_last,
	     db},
	    {"block undo", "remove the entry added last", cmd_block_undo, db},
	    {"block clear", "empty the block list", cmd_block_clear, db},
	    {"phonebook import", "phonebook import FILE: names from CSV (name,number) or vCard",
	     cmd_pb_import, db},
	    {"phonebook show", "the phonebook", cmd_pb_show, db},
	    {"phonebook del", "phonebook del NUMBER|all", cmd_pb_del, db},
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(ctl, &cmds[i]);
	return err;
}
