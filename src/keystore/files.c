/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-tenant files (SDF_CreateFile and friends): small blobs, wrapped whole
 * under the tenant's storage key like a key's secret. A write rewraps the
 * file in the same transaction that read it, so it is all-or-nothing.
 */
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "keystore/internal.h"
#include "keystore/keystore.h"

struct file_arg {
	const char *tenant;
	const uint8_t *name;
	size_t name_len;
	uint32_t size;	 /* create */
	uint32_t offset; /* read, write */
	const uint8_t *data;
	size_t len;
	uint8_t *out; /* read */
};

static int fail(sqlite3 *db, int *detail)
{
	log_err("keystore: files: %s", sqlite3_errmsg(db));
	*detail = VSM_D_KEYSTORE;
	return VSM_S_ERR;
}

static void file_ctx(struct ks_ctx *c, const struct file_arg *a)
{
	*c = (struct ks_ctx){.kind = KS_KIND_FILE,
			     .tenant = a->tenant,
			     .name = a->name,
			     .name_len = a->name_len};
}

static sqlite3_stmt *prep_name(sqlite3 *db, const char *sql, const struct file_arg *a)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, a->name, (int)a->name_len, SQLITE_STATIC);
	return st;
}

static int store(sqlite3 *db, const uint8_t *skey, const struct file_arg *a, const char *sql,
		 const uint8_t *plain, size_t len, int *detail)
{
	struct ks_ctx c;
	uint8_t *w;
	size_t wl;
	file_ctx(&c, a);
	if (ks_wrap(skey, &c, plain, len, &w, &wl) < 0) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	sqlite3_stmt *st = prep_name(db, sql, a);
	int rc = SQLITE_ERROR;
	if (st) {
		sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
		sqlite3_bind_blob(st, 4, w, (int)wl, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	free(w);
	return rc == SQLITE_DONE ? VSM_S_OK : fail(db, detail);
}

/* The file's plaintext (exactly its size), or NO_FILE. */
static int load(sqlite3 *db, const uint8_t *skey, const struct file_arg *a, uint8_t **plain,
		size_t *len, int *detail)
{
	*plain = NULL;
	if (!skey) {
		*detail = VSM_D_NO_FILE;
		return VSM_S_ERR;
	}
	sqlite3_stmt *st =
		prep_name(db, "SELECT size, data FROM files WHERE tenant = ? AND name = ?", a);
	if (!st)
		return fail(db, detail);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return fail(db, detail);
		*detail = VSM_D_NO_FILE;
		return VSM_S_ERR;
	}
	int64_t size = sqlite3_column_int64(st, 0);
	const uint8_t *w = sqlite3_column_blob(st, 1);
	int wl = sqlite3_column_bytes(st, 1);
	struct ks_ctx c;
	file_ctx(&c, a);
	int ok = w && wl > 0 && ks_unwrap(skey, &c, w, (size_t)wl, plain, len) == 0;
	sqlite3_finalize(st);
	if (!ok || (int64_t)*len != size) {
		vsm_keystore_secret_free(*plain, *len);
		*plain = NULL;
		log_err("keystore: a file of tenant %s does not unwrap: the database was altered",
			a->tenant);
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	return VSM_S_OK;
}

static int create_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct file_arg *a = arg;
	sqlite3_stmt *st = prep_name(db, "SELECT 1 FROM files WHERE tenant = ? AND name = ?", a);
	if (!st)
		return fail(db, detail);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		*detail = VSM_D_EXISTS;
		return VSM_S_ERR;
	}
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM files WHERE tenant = ?", -1, &st, NULL) !=
		    SQLITE_OK)
		return fail(db, detail);
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(db, detail);
	if (n >= (int64_t)ks_conf()->max_files) {
		*detail = VSM_D_RANGE;
		return VSM_S_NOSPC;
	}
	uint8_t *zero = calloc(1, a->size ? a->size : 1);
	if (!zero) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	rc = store(db, skey, a, "INSERT INTO files(tenant, name, size, data) VALUES(?, ?, ?, ?)",
		   zero, a->size, detail);
	free(zero);
	return rc;
}

static int read_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct file_arg *a = arg;
	uint8_t *plain;
	size_t len;
	int rc = load(db, skey, a, &plain, &len, detail);
	if (rc)
		return rc;
	if ((uint64_t)a->offset + a->len > len) {
		*detail = VSM_D_RANGE;
		rc = VSM_S_BADMSG;
	} else if (a->len) {
		memcpy(a->out, plain + a->offset, a->len);
	}
	vsm_keystore_secret_free(plain, len);
	return rc;
}

static int write_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct file_arg *a = arg;
	uint8_t *plain;
	size_t len;
	int rc = load(db, skey, a, &plain, &len, detail);
	if (rc)
		return rc;
	if ((uint64_t)a->offset + a->len > len) {
		*detail = VSM_D_RANGE;
		rc = VSM_S_BADMSG;
	} else {
		if (a->len)
			memcpy(plain + a->offset, a->data, a->len);
		rc = store(db, skey, a,
			   "UPDATE files SET size = ?3, data = ?4 WHERE tenant = ?1 AND name = ?2",
			   plain, len, detail);
	}
	vsm_keystore_secret_free(plain, len);
	return rc;
}

static int delete_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct file_arg *a = arg;
	if (!skey) {
		*detail = VSM_D_NO_FILE;
		return VSM_S_ERR;
	}
	sqlite3_stmt *st = prep_name(db, "DELETE FROM files WHERE tenant = ? AND name = ?", a);
	if (!st)
		return fail(db, detail);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(db, detail);
	if (sqlite3_changes(db) == 0) {
		*detail = VSM_D_NO_FILE;
		return VSM_S_ERR;
	}
	return VSM_S_OK;
}

static int check_name(const uint8_t *name, size_t len, int *detail)
{
	if (!name || len == 0 || len > VSM_FILE_NAME_MAX) {
		*detail = VSM_D_BAD_LENGTH;
		return VSM_S_BADMSG;
	}
	return VSM_S_OK;
}

int vsm_keystore_file_create(const char *tenant, const uint8_t *name, size_t name_len,
			     uint32_t size, int *detail)
{
	*detail = VSM_D_NONE;
	int rc = check_name(name, name_len, detail);
	if (rc)
		return rc;
	if (vsm_keystore_enabled() && (size == 0 || size > ks_conf()->max_file_size)) {
		*detail = VSM_D_RANGE;
		return VSM_S_BADMSG;
	}
	struct file_arg a = {.tenant = tenant, .name = name, .name_len = name_len, .size = size};
	return ks_txn(tenant, true, create_txn, &a, detail);
}

int vsm_keystore_file_read(const char *tenant, const uint8_t *name, size_t name_len,
			   uint32_t offset, uint32_t len, uint8_t *out, int *detail)
{
	*detail = VSM_D_NONE;
	int rc = check_name(name, name_len, detail);
	if (rc)
		return rc;
	if (len && !out) {
		*detail = VSM_D_BAD_LENGTH;
		return VSM_S_BADMSG;
	}
	struct file_arg a = {.tenant = tenant,
			     .name = name,
			     .name_len = name_len,
			     .offset = offset,
			     .len = len,
			     .out = out};
	return ks_txn(tenant, false, read_txn, &a, detail);
}

int vsm_keystore_file_write(const char *tenant, const uint8_t *name, size_t name_len,
			    uint32_t offset, const uint8_t *data, size_t len, int *detail)
{
	*detail = VSM_D_NONE;
	int rc = check_name(name, name_len, detail);
	if (rc)
		return rc;
	if (len && !data) {
		*detail = VSM_D_BAD_LENGTH;
		return VSM_S_BADMSG;
	}
	struct file_arg a = {.tenant = tenant,
			     .name = name,
			     .name_len = name_len,
			     .offset = offset,
			     .data = data,
			     .len = len};
	return ks_txn(tenant, false, write_txn, &a, detail);
}

int vsm_keystore_file_delete(const char *tenant, const uint8_t *name, size_t name_len, int *detail)
{
	*detail = VSM_D_NONE;
	int rc = check_name(name, name_len, detail);
	if (rc)
		return rc;
	struct file_arg a = {.tenant = tenant, .name = name, .name_len = name_len};
	return ks_txn(tenant, false, delete_txn, &a, detail);
}
