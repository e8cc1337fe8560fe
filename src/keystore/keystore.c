/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore's storage: one SQLite connection behind one mutex. Every call
 * is one BEGIN IMMEDIATE transaction, so a multi-statement change is atomic
 * and a call that returned success survived fsync (WAL, synchronous=FULL).
 * Statements are prepared per call and finalized before the lock is
 * released: no sqlite3_stmt is ever shared between threads. The slow parts
 * (PBKDF2, key generation) run outside the lock.
 */
#include <errno.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "keystore/internal.h"
#include "keystore/keystore.h"

#define SCHEMA_VERSION	1
#define BUSY_TIMEOUT_MS 5000
/* BEGIN/COMMIT retries on SQLITE_BUSY beyond the busy timeout (another process on the file). */
#define BUSY_RETRIES 20
/* set_password re-reads the row if it changed between its two transactions. */
#define PW_RETRIES 5
/* setpw_txn's answer when the row changed under it: roll back and start over. */
#define RETRY_TXN (-2)

static struct {
	pthread_mutex_t lock;
	sqlite3 *db;
	bool enabled;
	struct vsm_keystore_conf conf;
	uint8_t master[KS_KEY_LEN];
} ks = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tenants(name TEXT PRIMARY KEY, skey BLOB NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS keys(tenant TEXT NOT NULL, usage INTEGER NOT NULL,"
	" idx INTEGER NOT NULL, type INTEGER NOT NULL, bits INTEGER NOT NULL,"
	" label TEXT NOT NULL, created INTEGER NOT NULL, kdf_iter INTEGER NOT NULL,"
	" salt BLOB, hash BLOB, secret BLOB NOT NULL, pub BLOB,"
	" PRIMARY KEY(tenant, usage, idx)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS keys_label ON keys(tenant, label);"
	"CREATE TABLE IF NOT EXISTS files(tenant TEXT NOT NULL, name BLOB NOT NULL,"
	" size INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(tenant, name));";

static const uint8_t check_plain[KS_KEY_LEN] = {0};

bool vsm_keystore_enabled(void)
{
	return ks.enabled;
}

const struct vsm_keystore_conf *vsm_keystore_conf(void)
{
	return &ks.conf;
}

const struct vsm_keystore_conf *ks_conf(void)
{
	return &ks.conf;
}

void vsm_keystore_secret_free(uint8_t *secret, size_t len)
{
	if (secret)
		OPENSSL_clear_free(secret, len);
}

/* ---- SQLite helpers ---- */

static int db_fail(sqlite3 *db, const char *what, int *detail)
{
	log_err("keystore: %s: %s", what, sqlite3_errmsg(db));
	*detail = VSM_D_KEYSTORE;
	return VSM_S_ERR;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("keystore: preparing a statement: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* sqlite3_exec, retrying SQLITE_BUSY: the busy handler does not cover every case. */
static int exec_retry(sqlite3 *db, const char *sql)
{
	for (int i = 0;; i++) {
		int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || i >= BUSY_RETRIES)
			return rc;
		sleep_ms(10);
	}
}

static const uint8_t *col_blob(sqlite3_stmt *st, int i, size_t *len)
{
	const uint8_t *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	*len = p && n > 0 ? (size_t)n : 0;
	return p;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* ---- tenant storage keys ---- */

/* 1 found (skey filled), 0 absent, -1 error. */
static int tenant_key(sqlite3 *db, const char *tenant, bool create, uint8_t skey[KS_KEY_LEN])
{
	struct ks_ctx c = {.kind = KS_KIND_TENANT, .tenant = tenant};
	sqlite3_stmt *st = prep(db, "SELECT skey FROM tenants WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int ret = -1;
	if (rc == SQLITE_ROW) {
		size_t wl, kl;
		const uint8_t *w = col_blob(st, 0, &wl);
		uint8_t *k;
		if (ks_unwrap(ks.master, &c, w, wl, &k, &kl) < 0) {
			log_err("keystore: tenant %s's storage key does not unwrap: the "
				"database was altered",
				tenant);
		} else {
			if (kl == KS_KEY_LEN) {
				memcpy(skey, k, KS_KEY_LEN);
				ret = 1;
			}
			vsm_keystore_secret_free(k, kl);
		}
		sqlite3_finalize(st);
		return ret;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (!create)
		return 0;
	uint8_t *w = NULL;
	size_t wl;
	if (RAND_priv_bytes(skey, KS_KEY_LEN) != 1 ||
	    ks_wrap(ks.master, &c, skey, KS_KEY_LEN, &w, &wl) < 0)
		return -1;
	st = prep(db, "INSERT INTO tenants(name, skey, created) VALUES(?, ?, ?)");
	if (st) {
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, w, (int)wl, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 1;
		sqlite3_finalize(st);
	}
	free(w);
	return ret;
}

static bool tenant_ok(const char *tenant)
{
	size_t n = tenant ? strlen(tenant) : 0;
	return n > 0 && n <= VSM_TENANT_NAME_MAX;
}

int ks_txn(const char *tenant, bool create_tenant, ks_txn_fn fn, void *arg, int *detail)
{
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	if (!tenant_ok(tenant)) {
		*detail = VSM_D_RANGE;
		return VSM_S_BADMSG;
	}
	uint8_t skey[KS_KEY_LEN];
	int rc;
	pthread_mutex_lock(&ks.lock);
	sqlite3 *db = ks.db;
	if (exec_retry(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		rc = db_fail(db, "BEGIN", detail);
		goto out;
	}
	int have = tenant_key(db, tenant, create_tenant, skey);
	if (have < 0) {
		*detail = VSM_D_KEYSTORE;
		rc = VSM_S_ERR;
	} else {
		rc = fn(db, have ? skey : NULL, arg, detail);
	}
	if (rc == VSM_S_OK && exec_retry(db, "COMMIT") != SQLITE_OK)
		rc = db_fail(db, "COMMIT", detail);
	if (rc != VSM_S_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&ks.lock);
	OPENSSL_cleanse(skey, sizeof(skey));
	return rc;
}

/* ---- open and close ---- */

/* The parent directory of path, created 0700 if missing (one level, like /var/lib/vsm). */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int meta_check(sqlite3 *db, uint8_t **blob, size_t *len)
{
	*blob = NULL;
	*len = 0;
	sqlite3_stmt *st = prep(db, "SELECT v FROM meta WHERE k = 'check'");
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const uint8_t *p = col_blob(st, 0, len);
		*blob = dup_bytes(p, *len);
		rc = *blob ? 1 : -1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int meta_put(sqlite3 *db, const char *k, const void *v, size_t len)
{
	sqlite3_stmt *st = prep(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int setup(sqlite3 *db, const struct vsm_keystore_conf *kc, char *err, size_t errlen)
{
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	sqlite3_stmt *st = prep(db, "PRAGMA journal_mode=WAL");
	bool wal = st && sqlite3_step(st) == SQLITE_ROW &&
		   !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	if (!wal) {
		snprintf(err, errlen, "%s: cannot use WAL journaling: %s", kc->path,
			 sqlite3_errmsg(db));
		return -1;
	}
	/* secure_delete: freed pages are zeroed, so old wrapped blobs do not linger. */
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    exec_retry(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", kc->path, sqlite3_errmsg(db));
		return -1;
	}
	uint8_t *chk = NULL, *plain = NULL;
	size_t chk_len = 0, plain_len = 0;
	struct ks_ctx c = {.kind = KS_KIND_CHECK};
	int rc = -1, have;
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: creating the schema: %s", kc->path, sqlite3_errmsg(db));
		goto out;
	}
	have = meta_check(db, &chk, &chk_len);
	if (have < 0) {
		snprintf(err, errlen, "%s: %s", kc->path, sqlite3_errmsg(db));
		goto out;
	}
	if (have && !ks_master_exists(kc->master_key)) {
		/* A new master key would only make the stored keys unreadable. */
		snprintf(err, errlen,
			 "master key %s is missing but keystore %s holds keys wrapped under it: "
			 "restore it from backup (docs/keystore.md)",
			 kc->master_key, kc->path);
		goto out;
	}
	if (ks_master_load(kc->master_key, !have, ks.master, err, errlen) < 0)
		goto out;
	if (have) {
		if (ks_unwrap(ks.master, &c, chk, chk_len, &plain, &plain_len) < 0 ||
		    plain_len != sizeof(check_plain)) {
			snprintf(err, errlen, "master key %s does not match keystore %s",
				 kc->master_key, kc->path);
			goto out;
		}
	} else {
		uint32_t v = SCHEMA_VERSION;
		if (ks_wrap(ks.master, &c, check_plain, sizeof(check_plain), &plain, &plain_len) <
			    0 ||
		    meta_put(db, "version", &v, sizeof(v)) < 0 ||
		    meta_put(db, "check", plain, plain_len) < 0) {
			snprintf(err, errlen, "%s: initialising: %s", kc->path, sqlite3_errmsg(db));
			goto out;
		}
	}
	if (exec_retry(db, "COMMIT") != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", kc->path, sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	if (rc && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	free(chk);
	vsm_keystore_secret_free(plain, plain_len);
	return rc;
}

int vsm_keystore_open(const struct vsm_keystore_conf *kc, char *err, size_t errlen)
{
	vsm_keystore_close();
	ks.conf = *kc;
	if (!kc->enabled)
		return 0;
	if (make_parent(kc->path, err, errlen) < 0 || make_parent(kc->master_key, err, errlen) < 0)
		return -1;
	sqlite3 *db = NULL;
	/* Our mutex serialises use of the connection; SQLite's own would be redundant. */
	int rc = sqlite3_open_v2(kc->path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", kc->path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	/* Only wrapped secrets inside, but labels and tenant names are nobody else's business. */
	if (chmod(kc->path, 0600) < 0) {
		snprintf(err, errlen, "chmod %s: %s", kc->path, strerror(errno));
		sqlite3_close(db);
		return -1;
	}
	if (setup(db, kc, err, errlen) < 0) {
		sqlite3_close(db);
		OPENSSL_cleanse(ks.master, sizeof(ks.master));
		return -1;
	}
	pthread_mutex_lock(&ks.lock);
	ks.db = db;
	ks.enabled = true;
	pthread_mutex_unlock(&ks.lock);
	log_info("keystore %s open", kc->path);
	return 0;
}

void vsm_keystore_close(void)
{
	pthread_mutex_lock(&ks.lock);
	if (ks.db)
		sqlite3_close(ks.db);
	ks.db = NULL;
	ks.enabled = false;
	OPENSSL_cleanse(ks.master, sizeof(ks.master));
	pthread_mutex_unlock(&ks.lock);
	ks_pw_cache_clear();
}

/* ---- keys ---- */

/* A key row as read, for the calls that check its password or rewrap it. */
struct row {
	struct vsm_key_rec rec;
	uint32_t kdf_iter;
	uint8_t salt[KS_SALT_LEN], hash[KS_HASH_LEN];
	uint8_t *wrapped, *pub;
	size_t wrapped_len, pub_len;
};

static void row_free(struct row *r)
{
	free(r->wrapped);
	free(r->pub);
	r->wrapped = r->pub = NULL;
}

static void key_ctx(struct ks_ctx *c, const char *tenant, const struct row *r)
{
	*c = (struct ks_ctx){.kind = KS_KIND_KEY,
			     .tenant = tenant,
			     .usage = r->rec.usage,
			     .index = r->rec.index,
			     .type = r->rec.type,
			     .bits = r->rec.bits,
			     .kdf_iter = r->kdf_iter,
			     .salt = r->rec.has_password ? r->salt : NULL,
			     .hash = r->rec.has_password ? r->hash : NULL,
			     .pub = r->pub,
			     .pub_len = r->pub_len};
}

static int check_slot(uint32_t usage, uint32_t index, int *detail)
{
	if (usage < VSM_KU_SIGN || usage >= VSM_KU__MAX || index < 1 || index > ks.conf.max_keys) {
		*detail = VSM_D_RANGE;
		return VSM_S_BADMSG;
	}
	return VSM_S_OK;
}

/* VSM_S_OK with r filled, KEY_REJECTED/NO_KEY, or ERR/KEYSTORE. */
static int read_row(sqlite3 *db, const char *tenant, uint32_t usage, uint32_t index, struct row *r,
		    int *detail)
{
	memset(r, 0, sizeof(*r));
	sqlite3_stmt *st =
		prep(db, "SELECT type, bits, label, created, kdf_iter, salt, hash, "
			 "secret, pub FROM keys WHERE tenant = ? AND usage = ? AND idx = ?");
	if (!st)
		return db_fail(db, "reading a key", detail);
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, usage);
	sqlite3_bind_int64(st, 3, index);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, "reading a key", detail);
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	r->rec.usage = usage;
	r->rec.index = index;
	r->rec.type = (uint32_t)sqlite3_column_int64(st, 0);
	r->rec.bits = (uint32_t)sqlite3_column_int64(st, 1);
	const char *label = (const char *)sqlite3_column_text(st, 2);
	snprintf(r->rec.label, sizeof(r->rec.label), "%s", label ? label : "");
	r->rec.created = sqlite3_column_int64(st, 3);
	r->kdf_iter = (uint32_t)sqlite3_column_int64(st, 4);
	size_t sl, hl;
	const uint8_t *salt = col_blob(st, 5, &sl), *hash = col_blob(st, 6, &hl);
	int ret = VSM_S_OK;
	if (salt || hash) {
		if (sl != KS_SALT_LEN || hl != KS_HASH_LEN) {
			log_err("keystore: a password verifier of tenant %s is damaged", tenant);
			ret = VSM_S_ERR;
		} else {
			r->rec.has_password = true;
			memcpy(r->salt, salt, KS_SALT_LEN);
			memcpy(r->hash, hash, KS_HASH_LEN);
		}
	}
	const uint8_t *w = col_blob(st, 7, &r->wrapped_len);
	const uint8_t *p = col_blob(st, 8, &r->pub_len);
	r->wrapped = dup_bytes(w, r->wrapped_len);
	r->pub = p ? dup_bytes(p, r->pub_len) : NULL;
	if (!r->wrapped || (p && !r->pub))
		ret = VSM_S_ERR;
	sqlite3_finalize(st);
	if (ret != VSM_S_OK) {
		row_free(r);
		*detail = VSM_D_KEYSTORE;
	}
	return ret;
}

static int unwrap_row(const uint8_t skey[KS_KEY_LEN], const char *tenant, const struct row *r,
		      uint8_t **secret, size_t *len, int *detail)
{
	struct ks_ctx c;
	key_ctx(&c, tenant, r);
	if (ks_unwrap(skey, &c, r->wrapped, r->wrapped_len, secret, len) < 0) {
		log_err("keystore: key (%u, %u) of tenant %s does not unwrap: the database was "
			"altered or rows were swapped",
			r->rec.usage, r->rec.index, tenant);
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	return VSM_S_OK;
}

static int count_rows(sqlite3 *db, const char *sql, const char *tenant, int64_t *n)
{
	sqlite3_stmt *st = prep(db, sql);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

struct put_arg {
	const char *tenant;
	struct row r;
	const uint8_t *secret;
	size_t secret_len;
};

static int put_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct put_arg *a = arg;
	struct row *r = &a->r;
	sqlite3_stmt *st =
		prep(db, "SELECT 1 FROM keys WHERE tenant = ? AND usage = ? AND idx = ?");
	if (!st)
		return db_fail(db, "put", detail);
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->rec.usage);
	sqlite3_bind_int64(st, 3, r->rec.index);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		*detail = VSM_D_EXISTS;
		return VSM_S_ERR;
	}
	int64_t n;
	if (rc != SQLITE_DONE ||
	    count_rows(db, "SELECT count(*) FROM keys WHERE tenant = ?", a->tenant, &n) < 0)
		return db_fail(db, "put", detail);
	if (n >= (int64_t)ks.conf.max_keys) {
		*detail = VSM_D_RANGE;
		return VSM_S_NOSPC;
	}
	struct ks_ctx c;
	uint8_t *w;
	size_t wl;
	key_ctx(&c, a->tenant, r);
	if (ks_wrap(skey, &c, a->secret, a->secret_len, &w, &wl) < 0) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	st = prep(db, "INSERT INTO keys(tenant, usage, idx, type, bits, label, created, kdf_iter, "
		      "salt, hash, secret, pub) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st) {
		free(w);
		return db_fail(db, "put", detail);
	}
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->rec.usage);
	sqlite3_bind_int64(st, 3, r->rec.index);
	sqlite3_bind_int64(st, 4, r->rec.type);
	sqlite3_bind_int64(st, 5, r->rec.bits);
	sqlite3_bind_text(st, 6, r->rec.label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->rec.created);
	sqlite3_bind_int64(st, 8, r->kdf_iter);
	if (r->rec.has_password) {
		sqlite3_bind_blob(st, 9, r->salt, KS_SALT_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 10, r->hash, KS_HASH_LEN, SQLITE_STATIC);
	}
	sqlite3_bind_blob(st, 11, w, (int)wl, SQLITE_STATIC);
	if (r->pub)
		sqlite3_bind_blob(st, 12, r->pub, (int)r->pub_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(w);
	return rc == SQLITE_DONE ? VSM_S_OK : db_fail(db, "put", detail);
}

int vsm_keystore_put(const char *tenant, const struct vsm_key_rec *rec, const uint8_t *secret,
		     size_t secret_len, const uint8_t *pub, size_t pub_len, const uint8_t *pw,
		     size_t pw_len, int *detail)
{
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int rc = check_slot(rec->usage, rec->index, detail);
	if (rc)
		return rc;
	if (!secret || secret_len == 0 || secret_len > (1u << 20) || pub_len > (1u << 20) ||
	    (pw_len && !pw) || pw_len > (1u << 20) ||
	    strnlen(rec->label, sizeof(rec->label)) > VSM_KEY_LABEL_MAX) {
		*detail = VSM_D_BAD_LENGTH;
		return VSM_S_BADMSG;
	}
	struct put_arg a = {.tenant = tenant, .secret = secret, .secret_len = secret_len};
	a.r.rec = *rec;
	a.r.rec.label[VSM_KEY_LABEL_MAX] = 0;
	a.r.rec.created = (int64_t)time(NULL);
	a.r.rec.has_password = pw_len > 0;
	a.r.kdf_iter = ks.conf.kdf_iterations;
	a.r.pub = pub && pub_len ? (uint8_t *)pub : NULL;
	a.r.pub_len = a.r.pub ? pub_len : 0;
	/* PBKDF2 takes milliseconds: before the lock, not under it. */
	if (pw_len && ks_pw_make(pw, pw_len, a.r.kdf_iter, a.r.salt, a.r.hash) < 0) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	rc = ks_txn(tenant, true, put_txn, &a, detail);
	OPENSSL_cleanse(a.r.hash, sizeof(a.r.hash));
	return rc;
}

struct get_arg {
	const char *tenant;
	uint32_t usage, index;
	bool want_secret;
	struct row r;
	uint8_t *secret;
	size_t secret_len;
};

static int get_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct get_arg *a = arg;
	if (!skey) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	int rc = read_row(db, a->tenant, a->usage, a->index, &a->r, detail);
	if (rc)
		return rc;
	/* Even for the public key: the unwrap proves the row is the one we stored. */
	rc = unwrap_row(skey, a->tenant, &a->r, &a->secret, &a->secret_len, detail);
	if (rc == VSM_S_OK && !a->want_secret) {
		vsm_keystore_secret_free(a->secret, a->secret_len);
		a->secret = NULL;
		a->secret_len = 0;
	}
	if (rc)
		row_free(&a->r);
	return rc;
}

int vsm_keystore_get(const char *tenant, uint32_t usage, uint32_t index, bool check_pw,
		     const uint8_t *pw, size_t pw_len, struct vsm_key_rec *rec, uint8_t **secret,
		     size_t *secret_len, int *detail)
{
	*secret = NULL;
	*secret_len = 0;
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int rc = check_slot(usage, index, detail);
	if (rc)
		return rc;
	struct get_arg a = {.tenant = tenant, .usage = usage, .index = index, .want_secret = true};
	rc = ks_txn(tenant, false, get_txn, &a, detail);
	if (rc)
		return rc;
	if (check_pw && a.r.rec.has_password &&
	    ks_pw_check(pw, pw_len, a.r.kdf_iter, a.r.salt, a.r.hash) != 0) {
		vsm_keystore_secret_free(a.secret, a.secret_len);
		row_free(&a.r);
		*detail = VSM_D_ACCESS_DENIED;
		return VSM_S_KEY_REJECTED;
	}
	if (rec)
		*rec = a.r.rec;
	*secret = a.secret;
	*secret_len = a.secret_len;
	row_free(&a.r);
	return VSM_S_OK;
}

int vsm_keystore_get_public(const char *tenant, uint32_t usage, uint32_t index,
			    struct vsm_key_rec *rec, uint8_t **pub, size_t *pub_len, int *detail)
{
	*pub = NULL;
	*pub_len = 0;
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int rc = check_slot(usage, index, detail);
	if (rc)
		return rc;
	struct get_arg a = {.tenant = tenant, .usage = usage, .index = index};
	rc = ks_txn(tenant, false, get_txn, &a, detail);
	if (rc)
		return rc;
	if (!a.r.pub) {
		row_free(&a.r);
		*detail = VSM_D_KEY_TYPE;
		return VSM_S_BADMSG;
	}
	if (rec)
		*rec = a.r.rec;
	*pub = a.r.pub;
	*pub_len = a.r.pub_len;
	a.r.pub = NULL;
	row_free(&a.r);
	return VSM_S_OK;
}

struct slot_arg {
	const char *tenant;
	uint32_t usage, index;
};

static int delete_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct slot_arg *a = arg;
	if (!skey) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	sqlite3_stmt *st = prep(db, "DELETE FROM keys WHERE tenant = ? AND usage = ? AND idx = ?");
	if (!st)
		return db_fail(db, "delete", detail);
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->usage);
	sqlite3_bind_int64(st, 3, a->index);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "delete", detail);
	if (sqlite3_changes(db) == 0) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	return VSM_S_OK;
}

int vsm_keystore_delete(const char *tenant, uint32_t usage, uint32_t index, int *detail)
{
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int rc = check_slot(usage, index, detail);
	if (rc)
		return rc;
	struct slot_arg a = {tenant, usage, index};
	return ks_txn(tenant, false, delete_txn, &a, detail);
}

struct list_arg {
	const char *tenant;
	struct vsm_key_rec *recs;
	size_t n;
};

static int list_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct list_arg *a = arg;
	if (!skey)
		return VSM_S_OK;
	sqlite3_stmt *st =
		prep(db, "SELECT usage, idx, type, bits, label, created, salt IS NOT NULL"
			 " FROM keys WHERE tenant = ? ORDER BY usage, idx");
	if (!st)
		return db_fail(db, "list", detail);
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (a->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct vsm_key_rec *p = realloc(a->recs, nc * sizeof(*p));
			if (!p)
				break;
			a->recs = p;
			cap = nc;
		}
		struct vsm_key_rec *r = &a->recs[a->n++];
		memset(r, 0, sizeof(*r));
		r->usage = (uint32_t)sqlite3_column_int64(st, 0);
		r->index = (uint32_t)sqlite3_column_int64(st, 1);
		r->type = (uint32_t)sqlite3_column_int64(st, 2);
		r->bits = (uint32_t)sqlite3_column_int64(st, 3);
		const char *label = (const char *)sqlite3_column_text(st, 4);
		snprintf(r->label, sizeof(r->label), "%s", label ? label : "");
		r->created = sqlite3_column_int64(st, 5);
		r->has_password = sqlite3_column_int(st, 6) != 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "list", detail);
	return VSM_S_OK;
}

int vsm_keystore_list(const char *tenant, struct vsm_key_rec **recs, size_t *n, int *detail)
{
	struct list_arg a = {.tenant = tenant};
	*recs = NULL;
	*n = 0;
	int rc = ks_txn(tenant, false, list_txn, &a, detail);
	if (rc) {
		free(a.recs);
		return rc;
	}
	*recs = a.recs;
	*n = a.n;
	return VSM_S_OK;
}

struct setpw_arg {
	const char *tenant;
	uint32_t usage, index;
	const struct row *old; /* as read in the first transaction */
	struct row nw;	       /* the new verifier */
};

static int setpw_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct setpw_arg *a = arg;
	struct row cur;
	if (!skey) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	int rc = read_row(db, a->tenant, a->usage, a->index, &cur, detail);
	if (rc)
		return rc;
	/* Changed since the password was checked (deleted and re-created, or re-passworded)? */
	if (cur.wrapped_len != a->old->wrapped_len ||
	    memcmp(cur.wrapped, a->old->wrapped, cur.wrapped_len)) {
		row_free(&cur);
		return RETRY_TXN;
	}
	uint8_t *secret, *w = NULL;
	size_t slen, wl;
	rc = unwrap_row(skey, a->tenant, &cur, &secret, &slen, detail);
	if (rc) {
		row_free(&cur);
		return rc;
	}
	struct row nw = cur;
	nw.kdf_iter = a->nw.kdf_iter;
	nw.rec.has_password = a->nw.rec.has_password;
	memcpy(nw.salt, a->nw.salt, KS_SALT_LEN);
	memcpy(nw.hash, a->nw.hash, KS_HASH_LEN);
	struct ks_ctx c;
	key_ctx(&c, a->tenant, &nw);
	int wrc = ks_wrap(skey, &c, secret, slen, &w, &wl);
	vsm_keystore_secret_free(secret, slen);
	row_free(&cur);
	if (wrc < 0) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_ERR;
	}
	sqlite3_stmt *st = prep(db, "UPDATE keys SET kdf_iter = ?, salt = ?, hash = ?, secret = ? "
				    "WHERE tenant = ? AND usage = ? AND idx = ?");
	if (!st) {
		free(w);
		return db_fail(db, "set password", detail);
	}
	sqlite3_bind_int64(st, 1, nw.kdf_iter);
	if (nw.rec.has_password) {
		sqlite3_bind_blob(st, 2, nw.salt, KS_SALT_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, nw.hash, KS_HASH_LEN, SQLITE_STATIC);
	}
	sqlite3_bind_blob(st, 4, w, (int)wl, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, a->usage);
	sqlite3_bind_int64(st, 7, a->index);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(w);
	return rc == SQLITE_DONE ? VSM_S_OK : db_fail(db, "set password", detail);
}

static int read_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct get_arg *a = arg;
	if (!skey) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	return read_row(db, a->tenant, a->usage, a->index, &a->r, detail);
}

int vsm_keystore_set_password(const char *tenant, uint32_t usage, uint32_t index,
			      const uint8_t *old_pw, size_t old_len, const uint8_t *new_pw,
			      size_t new_len, int *detail)
{
	*detail = VSM_D_NONE;
	if (!ks.enabled) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int rc = check_slot(usage, index, detail);
	if (rc)
		return rc;
	if ((new_len && !new_pw) || new_len > (1u << 20)) {
		*detail = VSM_D_BAD_LENGTH;
		return VSM_S_BADMSG;
	}
	for (int i = 0; i < PW_RETRIES; i++) {
		struct get_arg g = {.tenant = tenant, .usage = usage, .index = index};
		rc = ks_txn(tenant, false, read_txn, &g, detail);
		if (rc)
			return rc;
		if (g.r.rec.has_password &&
		    ks_pw_check(old_pw, old_len, g.r.kdf_iter, g.r.salt, g.r.hash) != 0) {
			row_free(&g.r);
			*detail = VSM_D_ACCESS_DENIED;
			return VSM_S_KEY_REJECTED;
		}
		struct setpw_arg a = {
			.tenant = tenant, .usage = usage, .index = index, .old = &g.r};
		a.nw.kdf_iter = ks.conf.kdf_iterations;
		a.nw.rec.has_password = new_len > 0;
		if (new_len &&
		    ks_pw_make(new_pw, new_len, a.nw.kdf_iter, a.nw.salt, a.nw.hash) < 0) {
			row_free(&g.r);
			*detail = VSM_D_KEYSTORE;
			return VSM_S_ERR;
		}
		rc = ks_txn(tenant, false, setpw_txn, &a, detail);
		row_free(&g.r);
		OPENSSL_cleanse(a.nw.hash, sizeof(a.nw.hash));
		if (rc != RETRY_TXN)
			return rc;
	}
	*detail = VSM_D_KEYSTORE;
	return VSM_S_ERR;
}

struct find_arg {
	const char *tenant, *label;
	uint32_t usage, index;
};

static int find_txn(sqlite3 *db, const uint8_t *skey, void *arg, int *detail)
{
	struct find_arg *a = arg;
	if (!skey) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	sqlite3_stmt *st = prep(db, "SELECT usage, idx FROM keys WHERE tenant = ? AND label = ? "
				    "ORDER BY usage, idx LIMIT 1");
	if (!st)
		return db_fail(db, "find", detail);
	sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->label, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->usage = (uint32_t)sqlite3_column_int64(st, 0);
		a->index = (uint32_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return VSM_S_OK;
	if (rc != SQLITE_DONE)
		return db_fail(db, "find", detail);
	*detail = VSM_D_NO_KEY;
	return VSM_S_KEY_REJECTED;
}

int vsm_keystore_find(const char *tenant, const char *label, uint32_t *usage, uint32_t *index,
		      int *detail)
{
	*detail = VSM_D_NONE;
	size_t n = label ? strnlen(label, VSM_KEY_LABEL_MAX + 1) : 0;
	if (n == 0 || n > VSM_KEY_LABEL_MAX) {
		*detail = n ? VSM_D_BAD_LENGTH : VSM_D_NO_KEY;
		return n ? VSM_S_BADMSG : VSM_S_KEY_REJECTED;
	}
	struct find_arg a = {.tenant = tenant, .label = label};
	int rc = ks_txn(tenant, false, find_txn, &a, detail);
	if (rc == VSM_S_OK) {
		*usage = a.usage;
		*index = a.index;
	}
	return rc;
}
