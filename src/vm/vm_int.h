/* vm_int: the voicemail module's private state shared by its files and the unit tests. */
#ifndef MIKAKA_VM_INT_H
#define MIKAKA_VM_INT_H

#include "vm.h"

struct vm {
	struct vm_general g;
	struct vm_box *boxes; /* in file order */
	size_t nboxes;
	char **strs; /* every string the config owns */
	size_t nstrs;
	struct store *store;
	struct loop *loop;
	vm_change_h *change_h;
	struct mailjob *jobs; /* mailcmd children still running (mail.c) */
	void *change_arg;
	uint64_t changes; /* vm_changes */
	struct vm *retired; /* configurations replaced by vm_reconfigure: their boxes and strings
			     * stay valid for the calls that hold them, freed by vm_free */
};

struct mailjob;
/* Ends the mailcmd children still running (vm_free): killed, their mails lost, logged. */
void vm_mail_abandon(struct vm *vm);
/* Rewrites the index rows of one box from its files. */
int vm_index_box(struct vm *vm, const struct vm_box *b);
/* Builds and sends the e-mail of a new message when the box has an address. */
void vm_mail_new(struct vm *vm, const struct vm_box *b, const struct vm_msginfo *info,
		 unsigned msgnum);
/* Calls the change handler with the box's counts. */
void vm_changed(struct vm *vm, const struct vm_box *b);

#endif /* MIKAKA_VM_INT_H */
