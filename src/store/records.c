/* records: the store's tables as functions: registrations, call detail records, key/value. */
#include <errno.h>
#include <string.h>

#include "store_int.h"

#define LOG_MODULE "store"

/* Binds an address as (ip text, port), or two NULLs when unset. */
static int store_bind_sa(sqlite3_stmt *stmt, int idx, const struct sa *sa, char *buf, size_t size)
{
	int rc;

	if (!sa_isset(sa) || !sa_ntop(sa, buf, size)) {
		rc = sqlite3_bind_null(stmt, idx);
		return rc ? rc : sqlite3_bind_null(stmt, idx + 1);
	}
	rc = sqlite3_bind_text(stmt, idx, buf, -1, SQLITE_STATIC);
	return rc ? rc : sqlite3_bind_int(stmt, idx + 1, sa_port(sa));
}

static void store_column_sa(sqlite3_stmt *stmt, int col, struct sa *sa)
{
	const unsigned char *ip = sqlite3_column_text(stmt, col);

	memset(sa, 0, sizeof(*sa));
	if (ip)
		sa_set_str(sa, (const char *)ip, (uint16_t)sqlite3_column_int(stmt, col + 1));
}

/* Write helpers: every write is begin, bind (when the batch is alive), end. A bind error fails
 * the batch like a failed step would. */
static void store_bind_failed(struct store *st, int rc)
{
	if (rc != SQLITE_OK && !st->batch_err)
		st->batch_err = store_sqlite_err(st, rc, "bind");
}

/* ---------------------------------------------------------------------------------------------
 * Registrations
 */

/* Binds a registration to STORE_REG_PUT or STORE_REG_UPDATE (the same parameters). */
static int store_reg_bind(sqlite3_stmt *stmt, const struct store_reg *r, char *src, char *local)
{
	int rc;

	rc = store_bind_pl(stmt, 1, &r->peer);
	rc = rc ? rc : store_bind_pl(stmt, 2, &r->contact);
	rc = rc ? rc : store_bind_sa(stmt, 3, &r->source, src, SA_STRLEN);
	rc = rc ? rc : store_bind_sa(stmt, 5, &r->local, local, SA_STRLEN);
	rc = rc ? rc : store_bind_pl(stmt, 7, &r->transport);
	rc = rc ? rc : store_bind_pl(stmt, 8, &r->path);
	rc = rc ? rc : store_bind_pl(stmt, 9, &r->instance);
	rc = rc ? rc : sqlite3_bind_int64(stmt, 10, r->reg_id);
	rc = rc ? rc : store_bind_pl(stmt, 11, &r->user_agent);
	rc = rc ? rc : store_bind_pl(stmt, 12, &r->call_id);
	rc = rc ? rc : sqlite3_bind_int64(stmt, 13, r->cseq);
	rc = rc ? rc : sqlite3_bind_int64(stmt, 14, r->expires);
	rc = rc ? rc : sqlite3_bind_int64(stmt, 15, r->registered_at);
	return rc;
}

int store_reg_put(struct store *st, const struct store_reg *r, store_done_h *done, void *arg)
{
	char src[SA_STRLEN], local[SA_STRLEN];
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !r || !pl_isset(&r->peer) || !pl_isset(&r->contact))
		return EINVAL;
	err = store_write_begin(st, STORE_REG_UPDATE, &stmt);
	if (err)
		return err;
	if (stmt) {
		/* A refresh (the row exists) is this one UPDATE; a new binding finds no row and is
		 * inserted by the upsert, stepped by store_write_end like any write. */
		rc = store_reg_bind(stmt, r, src, local);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(stmt);
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			if (rc != SQLITE_DONE) {
				if (!st->batch_err)
					st->batch_err = store_sqlite_err(st, rc, "write");
			} else if (sqlite3_changes(st->db) == 0) {
				stmt = st->stmt[STORE_REG_PUT];
				rc = store_reg_bind(stmt, r, src, local);
				store_bind_failed(st, rc);
			} else {
				rc = SQLITE_OK;
				stmt = NULL; /* done: store_write_end only records the op */
			}
		} else {
			store_bind_failed(st, rc);
		}
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_reg_del(struct store *st, const struct pl *peer, const struct pl *contact,
		  store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !pl_isset(peer) || !pl_isset(contact))
		return EINVAL;
	err = store_write_begin(st, STORE_REG_DEL, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = store_bind_pl(stmt, 1, peer);
		rc = rc ? rc : store_bind_pl(stmt, 2, contact);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_reg_del_peer(struct store *st, const struct pl *peer, store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !pl_isset(peer))
		return EINVAL;
	err = store_write_begin(st, STORE_REG_DEL_PEER, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = store_bind_pl(stmt, 1, peer);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_reg_expire(struct store *st, int64_t now, store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st)
		return EINVAL;
	err = store_write_begin(st, STORE_REG_EXPIRE, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = sqlite3_bind_int64(stmt, 1, now);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_reg_load_all(struct store *st, int64_t now, store_reg_h *each, void *arg)
{
	sqlite3_stmt *stmt;
	int rc, err = 0;

	if (!st || !each)
		return EINVAL;
	stmt = st->stmt[STORE_REG_LOAD];
	rc = sqlite3_bind_int64(stmt, 1, now);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_reg r = {
		    .peer = store_column_pl(stmt, 0),
		    .contact = store_column_pl(stmt, 1),
		    .transport = store_column_pl(stmt, 6),
		    .path = store_column_pl(stmt, 7),
		    .instance = store_column_pl(stmt, 8),
		    .reg_id = (uint32_t)sqlite3_column_int64(stmt, 9),
		    .user_agent = store_column_pl(stmt, 10),
		    .call_id = store_column_pl(stmt, 11),
		    .cseq = (uint32_t)sqlite3_column_int64(stmt, 12),
		    .expires = sqlite3_column_int64(stmt, 13),
		    .registered_at = sqlite3_column_int64(stmt, 14),
		};

		store_column_sa(stmt, 2, &r.source);
		store_column_sa(stmt, 4, &r.local);
		err = each(&r, arg);
		if (err)
			break;
		rc = SQLITE_OK;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlite_err(st, rc, "loading registrations");
	sqlite3_reset(stmt);
	if (err)
		return err;
	/* Expired rows are useless after a restart; drop them with the first batch. */
	return store_reg_expire(st, now, NULL, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Call detail records
 */

static const char *const store_disp_names[] = {
    [STORE_CDR_ANSWERED] = "ANSWERED",
    [STORE_CDR_NO_ANSWER] = "NO ANSWER",
    [STORE_CDR_BUSY] = "BUSY",
    [STORE_CDR_FAILED] = "FAILED",
};

const char *store_cdr_disp_name(enum store_cdr_disp d)
{
	if ((size_t)d >= ARRAY_SIZE(store_disp_names))
		return "FAILED";
	return store_disp_names[d];
}

static enum store_cdr_disp store_cdr_disp_parse(const unsigned char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(store_disp_names); i++) {
		if (strcmp((const char *)s, store_disp_names[i]) == 0)
			return (enum store_cdr_disp)i;
	}
	return STORE_CDR_FAILED;
}

int store_cdr_add(struct store *st, const struct store_cdr *c, store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !c)
		return EINVAL;
	/* Nobody waits for it: it may share a commit with the next records (store_int.h). */
	err = done ? store_write_begin(st, STORE_CDR_ADD, &stmt)
		   : store_write_begin_lazy(st, STORE_CDR_ADD, &stmt);
	if (err)
		return err;
	if (stmt) {
		const struct pl *text[] = {&c->uniqueid,   &c->src,	&c->dst,
					   &c->dcontext,   &c->clid,	&c->channel,
					   &c->dstchannel, &c->lastapp, &c->lastdata};

		for (size_t i = 0; i < ARRAY_SIZE(text) && rc == SQLITE_OK; i++)
			rc = store_bind_pl(stmt, (int)i + 1, text[i]);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 10, c->start_ms);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 11, c->answer_ms);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 12, c->end_ms);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 13, c->duration);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 14, c->billsec);
		rc = rc ? rc
			: sqlite3_bind_text(stmt, 15, store_cdr_disp_name(c->disposition), -1,
					    SQLITE_STATIC);
		rc = rc ? rc : store_bind_pl(stmt, 16, &c->media);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 17, c->hangupcause);
		rc = rc ? rc : store_bind_pl(stmt, 18, &c->callid);
		rc = rc ? rc : store_bind_pl(stmt, 19, &c->dstcallid);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_cdr_list(struct store *st, unsigned limit, store_cdr_h *each, void *arg)
{
	sqlite3_stmt *stmt;
	int rc, err = 0;

	if (!st || !each)
		return EINVAL;
	stmt = st->stmt[STORE_CDR_LIST];
	rc = sqlite3_bind_int64(stmt, 1, limit ? (int64_t)limit : -1);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_cdr c = {
		    .id = sqlite3_column_int64(stmt, 0),
		    .uniqueid = store_column_pl(stmt, 1),
		    .src = store_column_pl(stmt, 2),
		    .dst = store_column_pl(stmt, 3),
		    .dcontext = store_column_pl(stmt, 4),
		    .clid = store_column_pl(stmt, 5),
		    .channel = store_column_pl(stmt, 6),
		    .dstchannel = store_column_pl(stmt, 7),
		    .lastapp = store_column_pl(stmt, 8),
		    .lastdata = store_column_pl(stmt, 9),
		    .start_ms = sqlite3_column_int64(stmt, 10),
		    .answer_ms = sqlite3_column_int64(stmt, 11),
		    .end_ms = sqlite3_column_int64(stmt, 12),
		    .duration = sqlite3_column_int64(stmt, 13),
		    .billsec = sqlite3_column_int64(stmt, 14),
		    .disposition = store_cdr_disp_parse(sqlite3_column_text(stmt, 15)),
		    .media = store_column_pl(stmt, 16),
		    .hangupcause = (unsigned)sqlite3_column_int64(stmt, 17),
		    .callid = store_column_pl(stmt, 18),
		    .dstcallid = store_column_pl(stmt, 19),
		};

		err = each(&c, arg);
		if (err)
			break;
		rc = SQLITE_OK;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlite_err(st, rc, "listing call records");
	sqlite3_reset(stmt);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Key/value
 */

int store_kv_set(struct store *st, const char *key, const struct pl *value, store_done_h *done,
		 void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !key || !value || (!value->p && value->l))
		return EINVAL;
	err = store_write_begin(st, STORE_KV_SET, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
		/* A zero-length blob, not NULL, for an empty value. */
		rc = rc ? rc
			: sqlite3_bind_blob64(stmt, 2, value->p ? value->p : "", value->l,
					      SQLITE_STATIC);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_kv_del(struct store *st, const char *key, store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !key)
		return EINVAL;
	err = store_write_begin(st, STORE_KV_DEL, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_kv_get(struct store *st, const char *key, struct mbuf *mb)
{
	sqlite3_stmt *stmt;
	int rc, err;

	if (!st || !key || !mb)
		return EINVAL;
	stmt = st->stmt[STORE_KV_GET];
	rc = sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(stmt, 0);
		size_t n = (size_t)sqlite3_column_bytes(stmt, 0);

		err = n ? mbuf_write(mb, p, n) : 0;
	} else if (rc == SQLITE_DONE)
		err = ENOENT;
	else
		err = store_sqlite_err(st, rc, "reading a key");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return err;
}

int store_kv_list(struct store *st, const char *prefix, store_kv_h *each, void *arg)
{
	sqlite3_stmt *stmt;
	char hi[256];
	size_t n;
	int rc, err = 0;

	if (!st || !prefix || !each || !(n = strlen(prefix)) || n >= sizeof(hi))
		return EINVAL;
	/* The keys from prefix up to (not including) prefix with its last byte incremented. */
	memcpy(hi, prefix, n + 1);
	hi[n - 1] = (char)(hi[n - 1] + 1);
	stmt = st->stmt[STORE_KV_LIST];
	rc = sqlite3_bind_text(stmt, 1, prefix, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(stmt, 2, hi, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct pl k = store_column_pl(stmt, 0);
		struct pl v = pl_from(sqlite3_column_blob(stmt, 1),
				      (size_t)sqlite3_column_bytes(stmt, 1));

		if (!v.p)
			v = pl_from("", 0);
		err = each(&k, &v, arg);
		if (err)
			break;
		rc = SQLITE_OK;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlite_err(st, rc, "listing keys");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return err;
}

/* ---- voicemail index ---------------------------------------------------------------------- */

int store_vm_put(struct store *st, const struct store_vm_msg *m, store_done_h *done, void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !m || !m->context || !m->mailbox || !m->folder)
		return EINVAL;
	err = store_write_begin(st, STORE_VM_PUT, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = sqlite3_bind_text(stmt, 1, m->context, -1, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_text(stmt, 2, m->mailbox, -1, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_text(stmt, 3, m->folder, -1, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 4, m->msgnum);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 5, m->origtime);
		rc = rc ? rc : sqlite3_bind_int64(stmt, 6, m->duration);
		rc = rc		   ? rc
		     : m->callerid ? sqlite3_bind_text(stmt, 7, m->callerid, -1, SQLITE_STATIC)
				   : sqlite3_bind_null(stmt, 7);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

int store_vm_clear(struct store *st, const char *context, const char *mailbox, store_done_h *done,
		   void *arg)
{
	sqlite3_stmt *stmt;
	int err, rc = SQLITE_OK;

	if (!st || !context || !mailbox)
		return EINVAL;
	err = store_write_begin(st, STORE_VM_CLEAR, &stmt);
	if (err)
		return err;
	if (stmt) {
		rc = sqlite3_bind_text(stmt, 1, context, -1, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_text(stmt, 2, mailbox, -1, SQLITE_STATIC);
		store_bind_failed(st, rc);
	}
	store_write_end(st, rc ? NULL : stmt, done, arg);
	return 0;
}

long store_vm_count(struct store *st, const char *context, const char *mailbox, const char *folder)
{
	sqlite3_stmt *stmt;
	long n = -1;
	int rc;

	if (!st || !context || !mailbox || !folder)
		return -1;
	stmt = st->stmt[STORE_VM_COUNT];
	rc = sqlite3_bind_text(stmt, 1, context, -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_text(stmt, 2, mailbox, -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_text(stmt, 3, folder, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return n;
}

int store_vm_list(struct store *st, store_vm_h *each, void *arg)
{
	sqlite3_stmt *stmt;
	int rc, err = 0;

	if (!st || !each)
		return EINVAL;
	stmt = st->stmt[STORE_VM_LIST];
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_vm_msg m = {
		    .context = (const char *)sqlite3_column_text(stmt, 0),
		    .mailbox = (const char *)sqlite3_column_text(stmt, 1),
		    .folder = (const char *)sqlite3_column_text(stmt, 2),
		    .msgnum = (uint32_t)sqlite3_column_int64(stmt, 3),
		    .origtime = sqlite3_column_int64(stmt, 4),
		    .duration = (uint32_t)sqlite3_column_int64(stmt, 5),
		    .callerid = (const char *)sqlite3_column_text(stmt, 6),
		};

		if (!m.context || !m.mailbox || !m.folder)
			continue;
		err = each(&m, arg);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlite_err(st, rc, "listing voicemail");
	sqlite3_reset(stmt);
	return err;
}
