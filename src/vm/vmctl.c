/* vmctl: the voicemail commands of the control socket (`mikaka voicemail ...`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "vm_int.h"

static int cmd_users(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct vm *vm = arg;

	if (argc == 2 && !strcasecmp(argv[0], "for"))
		return vm_show_users(vm, argv[1], out);
	if (argc != 0) {
		mbuf_write_str(out, "usage: voicemail show users [for CONTEXT]\n");
		return EINVAL;
	}
	return vm_show_users(vm, NULL, out);
}

static int cmd_messages(struct mbuf *out, int argc, char **argv, void *arg)
{
	if (argc != 1) {
		mbuf_write_str(out, "usage: voicemail show messages BOX[@CONTEXT]\n");
		return EINVAL;
	}
	return vm_show_messages(arg, argv[0], out);
}

/* voicemail delete BOX[@CONTEXT] INBOX|Old MSGNUM|all */
static int cmd_delete(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct vm *vm = arg;
	char box[64], ctx[64], *end;
	const struct vm_box *b;
	enum vm_folder f;
	unsigned long num = 0;
	bool all;
	int err = 0;

	if (argc != 3 || vm_box_parse(argv[0], box, sizeof(box), ctx, sizeof(ctx))) {
		mbuf_write_str(out, "usage: voicemail delete BOX[@CONTEXT] INBOX|Old MSGNUM|all\n");
		return EINVAL;
	}
	b = vm_box_find(vm, box, ctx);
	if (!b) {
		mbuf_printf(out, "No such mailbox %s@%s\n", box, ctx);
		return ENOENT;
	}
	if (!strcasecmp(argv[1], "INBOX"))
		f = VM_INBOX;
	else if (!strcasecmp(argv[1], "Old"))
		f = VM_OLD;
	else {
		mbuf_printf(out, "'%s': the folder is INBOX or Old\n", argv[1]);
		return EINVAL;
	}
	all = !strcasecmp(argv[2], "all");
	if (!all) {
		num = strtoul(argv[2], &end, 10);
		if (!argv[2][0] || *end || num > VM_MAXMSG_LIMIT) {
			mbuf_printf(out, "'%s' is not a message number\n", argv[2]);
			return EINVAL;
		}
	}
	if (all) {
		unsigned n = vm_folder_count(vm, b, f);

		/* From the end: no renumbering work. */
		while (n-- > 0 && !err)
			err = vm_msg_delete(vm, b, f, n);
		if (!err)
			mbuf_printf(out, "Deleted every %s message of %s@%s.\n", vm_folder_name(f),
				    b->box, b->context);
	} else {
		err = vm_msg_delete(vm, b, f, (unsigned)num);
		if (err == ENOENT)
			mbuf_printf(out, "No %s message %lu in %s@%s\n", vm_folder_name(f), num,
				    b->box, b->context);
		else if (!err)
			mbuf_printf(out, "Deleted %s message %lu of %s@%s.\n", vm_folder_name(f),
				    num, b->box, b->context);
	}
	if (err && err != ENOENT)
		mbuf_printf(out, "Delete failed: %s\n", strerror(err));
	return err;
}

int vm_ctl_register(struct ctl *ctl, struct vm *vm)
{
	const struct ctl_cmd cmds[] = {
	    {"voicemail show users",
	     "voicemail show users [for CONTEXT]: the mailboxes and their new messages", cmd_users,
	     vm},
	    {"voicemail show messages",
	     "voicemail show messages BOX[@CONTEXT]: a mailbox's messages", cmd_messages, vm},
	    {"voicemail delete",
	     "voicemail delete BOX[@CONTEXT] INBOX|Old MSGNUM|all: delete messages (the rest are "
	     "renumbered; phones are notified)",
	     cmd_delete, vm},
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(ctl, &cmds[i]);
	return err;
}
