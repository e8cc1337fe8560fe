/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore's storage layer (docs/keystore.md): keys, passwords, files,
 * limits, persistence, the master key, and what the database alone reveals.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "ks_test.h"

static struct ks_env env;

static int setup(void **state)
{
	(void)state;
	ks_env_init(&env);
	char err[512] = "";
	if (vsm_keystore_open(&env.kc, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ks_env_cleanup(&env);
	return 0;
}

static struct vsm_key_rec rec_of(uint32_t usage, uint32_t index, uint32_t type, uint32_t bits,
				 const char *label)
{
	struct vsm_key_rec r = {.usage = usage, .index = index, .type = type, .bits = bits};
	snprintf(r.label, sizeof(r.label), "%s", label);
	return r;
}

/* Store a random 16-byte KEK at (KEK, index); returns its bytes in k. */
static int put_kek(const char *tenant, uint32_t index, const char *pw, uint8_t k[16])
{
	struct vsm_key_rec r = rec_of(VSM_KU_KEK, index, VSM_KT_SM4, 128, "");
	int detail;
	assert_int_equal(RAND_bytes(k, 16), 1);
	return vsm_keystore_put(tenant, &r, k, 16, NULL, 0, (const uint8_t *)pw,
				pw ? strlen(pw) : 0, &detail);
}

static void expect_secret(const char *tenant, uint32_t usage, uint32_t index, const uint8_t *want,
			  size_t len)
{
	uint8_t *s;
	size_t sl;
	int detail;
	assert_int_equal(
		vsm_keystore_get(tenant, usage, index, false, NULL, 0, NULL, &s, &sl, &detail),
		VSM_S_OK);
	assert_int_equal(sl, len);
	assert_memory_equal(s, want, len);
	vsm_keystore_secret_free(s, sl);
}

static void reopen(void)
{
	char err[512] = "";
	vsm_keystore_close();
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), 0);
}

static void test_put_get_list_delete(void **state)
{
	(void)state;
	uint8_t *secret, *pub, *s, *p;
	size_t sl, pl, gl, ppl;
	int detail;
	assert_int_equal(vsm_keygen(VSM_KT_ECDSA_P256, 0, &secret, &sl, &pub, &pl, &detail),
			 VSM_S_OK);
	struct vsm_key_rec r = rec_of(VSM_KU_SIGN, 3, VSM_KT_ECDSA_P256, 256, "web-signer");
	assert_int_equal(vsm_keystore_put("alice", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_OK);
	/* The slot is taken now, for any key. */
	assert_int_equal(vsm_keystore_put("alice", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_ERR);
	assert_int_equal(detail, VSM_D_EXISTS);

	struct vsm_key_rec got;
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_SIGN, 3, true, NULL, 0, &got, &s, &gl, &detail),
		VSM_S_OK);
	assert_int_equal(gl, sl);
	assert_memory_equal(s, secret, sl);
	assert_int_equal(got.type, VSM_KT_ECDSA_P256);
	assert_int_equal(got.bits, 256);
	assert_string_equal(got.label, "web-signer");
	assert_false(got.has_password);
	assert_true(got.created > 0);
	vsm_keystore_secret_free(s, gl);

	assert_int_equal(vsm_keystore_get_public("alice", VSM_KU_SIGN, 3, NULL, &p, &ppl, &detail),
			 VSM_S_OK);
	assert_int_equal(ppl, pl);
	assert_memory_equal(p, pub, pl);
	free(p);

	/* Another tenant, another usage, another index: all empty. */
	assert_int_equal(
		vsm_keystore_get("bob", VSM_KU_SIGN, 3, false, NULL, 0, NULL, &s, &gl, &detail),
		VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_ENC, 3, false, NULL, 0, NULL, &s, &gl, &detail),
		VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);
	assert_int_equal(vsm_keystore_get_public("alice", VSM_KU_SIGN, 4, NULL, &p, &ppl, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);

	uint8_t kek[16];
	assert_int_equal(put_kek("alice", 1, NULL, kek), VSM_S_OK);
	/* A KEK has no public key. */
	assert_int_equal(vsm_keystore_get_public("alice", VSM_KU_KEK, 1, NULL, &p, &ppl, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_KEY_TYPE);

	uint32_t u, i;
	assert_int_equal(vsm_keystore_find("alice", "web-signer", &u, &i, &detail), VSM_S_OK);
	assert_int_equal(u, VSM_KU_SIGN);
	assert_int_equal(i, 3);
	assert_int_equal(vsm_keystore_find("alice", "nope", &u, &i, &detail), VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);
	assert_int_equal(vsm_keystore_find("bob", "web-signer", &u, &i, &detail),
			 VSM_S_KEY_REJECTED);

	struct vsm_key_rec *recs;
	size_t n;
	assert_int_equal(vsm_keystore_list("alice", &recs, &n, &detail), VSM_S_OK);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0].usage, VSM_KU_SIGN); /* by usage, then index */
	assert_int_equal(recs[0].index, 3);
	assert_int_equal(recs[1].usage, VSM_KU_KEK);
	assert_int_equal(recs[1].bits, 128);
	free(recs);
	assert_int_equal(vsm_keystore_list("bob", &recs, &n, &detail), VSM_S_OK);
	assert_int_equal(n, 0);
	free(recs);

	assert_int_equal(vsm_keystore_delete("alice", VSM_KU_SIGN, 3, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_delete("alice", VSM_KU_SIGN, 3, &detail), VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);
	assert_int_equal(vsm_keystore_delete("bob", VSM_KU_KEK, 1, &detail), VSM_S_KEY_REJECTED);
	expect_secret("alice", VSM_KU_KEK, 1, kek, 16); /* bob's delete did not touch alice */
	assert_int_equal(vsm_keystore_list("alice", &recs, &n, &detail), VSM_S_OK);
	assert_int_equal(n, 1);
	free(recs);
	vsm_keystore_secret_free(secret, sl);
	free(pub);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	uint8_t k[16] = {1};
	int detail;
	struct vsm_key_rec r = rec_of(VSM_KU_KEK, 0, VSM_KT_SM4, 128, "");
	assert_int_equal(vsm_keystore_put("alice", &r, k, 16, NULL, 0, NULL, 0, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	r.index = env.kc.max_keys + 1;
	assert_int_equal(vsm_keystore_put("alice", &r, k, 16, NULL, 0, NULL, 0, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	r.index = 1;
	r.usage = 4;
	assert_int_equal(vsm_keystore_put("alice", &r, k, 16, NULL, 0, NULL, 0, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	r.usage = VSM_KU_KEK;
	assert_int_equal(vsm_keystore_put("alice", &r, k, 0, NULL, 0, NULL, 0, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(vsm_keystore_put("", &r, k, 16, NULL, 0, NULL, 0, &detail), VSM_S_BADMSG);
	assert_int_equal(vsm_keystore_put("a-tenant-name-that-is-far-too-long", &r, k, 16, NULL, 0,
					  NULL, 0, &detail),
			 VSM_S_BADMSG);
	uint8_t *s;
	size_t sl;
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_KEK, 0, false, NULL, 0, NULL, &s, &sl, &detail),
		VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
}

static void test_password(void **state)
{
	(void)state;
	uint8_t kek[16], *s;
	size_t sl;
	int detail;
	struct vsm_key_rec got;
	assert_int_equal(put_kek("alice", 2, "open sesame", kek), VSM_S_OK);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true, (const uint8_t *)"wrong", 5,
					  NULL, &s, &sl, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_ACCESS_DENIED);
	assert_null(s);
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_KEK, 2, true, NULL, 0, NULL, &s, &sl, &detail),
		VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_ACCESS_DENIED);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true,
					  (const uint8_t *)"open sesame", 11, &got, &s, &sl,
					  &detail),
			 VSM_S_OK);
	assert_true(got.has_password);
	assert_memory_equal(s, kek, 16);
	vsm_keystore_secret_free(s, sl);
	/* A prefix is not the password. */
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true, (const uint8_t *)"open", 4,
					  NULL, &s, &sl, &detail),
			 VSM_S_KEY_REJECTED);
	/* Public-only use (check_pw false) needs no password. */
	expect_secret("alice", VSM_KU_KEK, 2, kek, 16);

	/* Changing it needs the old one. */
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 2, (const uint8_t *)"x", 1,
						   (const uint8_t *)"new", 3, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_ACCESS_DENIED);
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 2,
						   (const uint8_t *)"open sesame", 11,
						   (const uint8_t *)"new", 3, &detail),
			 VSM_S_OK);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true,
					  (const uint8_t *)"open sesame", 11, NULL, &s, &sl,
					  &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true, (const uint8_t *)"new", 3,
					  NULL, &s, &sl, &detail),
			 VSM_S_OK);
	assert_memory_equal(s, kek, 16);
	vsm_keystore_secret_free(s, sl);
	/* Empty new password removes it. */
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 2, (const uint8_t *)"new",
						   3, NULL, 0, &detail),
			 VSM_S_OK);
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_KEK, 2, true, NULL, 0, &got, &s, &sl, &detail),
		VSM_S_OK);
	assert_false(got.has_password);
	vsm_keystore_secret_free(s, sl);
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 9, NULL, 0,
						   (const uint8_t *)"p", 1, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_NO_KEY);
	/* Survives a restart. */
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 2, NULL, 0,
						   (const uint8_t *)"again", 5, &detail),
			 VSM_S_OK);
	reopen();
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true, (const uint8_t *)"again", 5,
					  NULL, &s, &sl, &detail),
			 VSM_S_OK);
	vsm_keystore_secret_free(s, sl);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 2, true, (const uint8_t *)"new", 3,
					  NULL, &s, &sl, &detail),
			 VSM_S_KEY_REJECTED);
}

/* Run SQL on the database behind the keystore's back (it is closed meanwhile). */
static void tamper(const char *sql)
{
	sqlite3 *db;
	vsm_keystore_close();
	assert_int_equal(sqlite3_open(env.db, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "tamper: %s\n", msg);
	assert_int_equal(rc, SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	sqlite3_close(db);
	reopen();
}

static void expect_altered(const char *tenant, uint32_t usage, uint32_t index)
{
	uint8_t *s;
	size_t sl;
	int detail;
	assert_int_equal(
		vsm_keystore_get(tenant, usage, index, false, NULL, 0, NULL, &s, &sl, &detail),
		VSM_S_ERR);
	assert_int_equal(detail, VSM_D_KEYSTORE);
	assert_null(s);
}

static int get_pw(uint32_t index, const char *pw)
{
	uint8_t *s = NULL;
	size_t sl = 0;
	int detail;
	int st = vsm_keystore_get("alice", VSM_KU_KEK, index, true, (const uint8_t *)pw, strlen(pw),
				  NULL, &s, &sl, &detail);
	if (s)
		vsm_keystore_secret_free(s, sl);
	return st;
}

/*
 * Passwords proven right are remembered so the slow KDF is not paid again;
 * the memory must never accept what the KDF would refuse.
 */
static void test_password_cache(void **state)
{
	(void)state;
	uint8_t k1[16], k2[16];
	int detail;
	assert_int_equal(put_kek("alice", 3, "same pw", k1), VSM_S_OK);
	assert_int_equal(put_kek("alice", 4, "same pw", k2), VSM_S_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(get_pw(3, "same pw"), VSM_S_OK);
	/* Remembered right for 3; still every other answer is the KDF's. */
	assert_int_equal(get_pw(3, "same pW"), VSM_S_KEY_REJECTED);
	assert_int_equal(get_pw(3, ""), VSM_S_KEY_REJECTED);
	assert_int_equal(get_pw(4, "other"), VSM_S_KEY_REJECTED);
	assert_int_equal(get_pw(4, "same pw"), VSM_S_OK);
	/* A new password (new salt) makes the remembered one worthless. */
	assert_int_equal(vsm_keystore_set_password("alice", VSM_KU_KEK, 3,
						   (const uint8_t *)"same pw", 7,
						   (const uint8_t *)"next", 4, &detail),
			 VSM_S_OK);
	assert_int_equal(get_pw(3, "same pw"), VSM_S_KEY_REJECTED);
	assert_int_equal(get_pw(3, "next"), VSM_S_OK);
	/* So does deleting the key and making a new one in its slot. */
	assert_int_equal(vsm_keystore_delete("alice", VSM_KU_KEK, 4, &detail), VSM_S_OK);
	assert_int_equal(put_kek("alice", 4, "fresh", k2), VSM_S_OK);
	assert_int_equal(get_pw(4, "same pw"), VSM_S_KEY_REJECTED);
	assert_int_equal(get_pw(4, "fresh"), VSM_S_OK);
	/* And closing the keystore forgets everything. */
	reopen();
	assert_int_equal(get_pw(4, "fresh"), VSM_S_OK);
	assert_int_equal(get_pw(4, "fresh!"), VSM_S_KEY_REJECTED);
}

static void test_swapped_rows(void **state)
{
	(void)state;
	uint8_t k1[16], k2[16], k3[16], k4[16];
	assert_int_equal(put_kek("alice", 1, NULL, k1), VSM_S_OK);
	assert_int_equal(put_kek("alice", 2, NULL, k2), VSM_S_OK);
	assert_int_equal(put_kek("bob", 1, NULL, k3), VSM_S_OK);
	assert_int_equal(put_kek("alice", 3, "pw", k4), VSM_S_OK);
	expect_secret("alice", VSM_KU_KEK, 2, k2, 16);

	/* alice's key 2 gets key 1's blob: same tenant, same storage key, other row. */
	tamper("UPDATE keys SET secret = (SELECT secret FROM keys WHERE tenant = 'alice' AND "
	       "idx = 1) WHERE tenant = 'alice' AND idx = 2");
	expect_altered("alice", VSM_KU_KEK, 2);
	expect_secret("alice", VSM_KU_KEK, 1, k1, 16);

	/* Moving bob's row to alice's namespace. */
	tamper("UPDATE keys SET tenant = 'alice', idx = 9 WHERE tenant = 'bob'");
	expect_altered("alice", VSM_KU_KEK, 9);

	/* Dropping a key's password in the database does not drop it. */
	tamper("UPDATE keys SET salt = NULL, hash = NULL WHERE tenant = 'alice' AND idx = 3");
	expect_altered("alice", VSM_KU_KEK, 3);

	/* A changed type or size is a changed row too. */
	tamper("UPDATE keys SET bits = 256 WHERE tenant = 'alice' AND idx = 1");
	expect_altered("alice", VSM_KU_KEK, 1);

	/* Tenant storage keys swapped: nothing of either unwraps. */
	uint8_t k5[16];
	assert_int_equal(put_kek("carol", 1, NULL, k5), VSM_S_OK);
	tamper("UPDATE tenants SET skey = (SELECT skey FROM tenants WHERE name = 'alice') "
	       "WHERE name = 'carol'");
	expect_altered("carol", VSM_KU_KEK, 1);
}

/* Does the file at path contain needle anywhere? */
static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	bool found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The SM2 private scalar of a PKCS#8 key. */
static void private_scalar(const uint8_t *der, size_t len, uint8_t out[32])
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
	BIGNUM *bn = NULL;
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, 32), 32);
	BN_clear_free(bn);
	EVP_PKEY_free(pk);
}

static void test_master_key(void **state)
{
	(void)state;
	uint8_t k[16], *s;
	size_t sl;
	int detail;
	char err[512];
	struct stat st;
	assert_int_equal(stat(env.master, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(put_kek("alice", 1, "pw", k), VSM_S_OK);
	uint8_t *secret, *pub;
	size_t secl, publ;
	assert_int_equal(vsm_keygen(VSM_KT_SM2, 0, &secret, &secl, &pub, &publ, &detail), VSM_S_OK);
	struct vsm_key_rec r = rec_of(VSM_KU_ENC, 1, VSM_KT_SM2, 256, "");
	assert_int_equal(vsm_keystore_put("alice", &r, secret, secl, pub, publ, NULL, 0, &detail),
			 VSM_S_OK);
	assert_int_equal(vsm_keystore_file_create("alice", (const uint8_t *)"f", 1, 64, &detail),
			 VSM_S_OK);
	static const uint8_t fdata[] = "a file's secret contents, 48 bytes long......";
	assert_int_equal(vsm_keystore_file_write("alice", (const uint8_t *)"f", 1, 0, fdata,
						 sizeof(fdata), &detail),
			 VSM_S_OK);
	vsm_keystore_close();

	/* Neither the database nor its WAL holds a secret in the clear. */
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", env.db);
	assert_false(file_contains(env.db, k, 16));
	assert_false(file_contains(wal, k, 16));
	uint8_t d[32];
	private_scalar(secret, secl, d);
	assert_false(file_contains(env.db, d, 32));
	assert_false(file_contains(wal, d, 32));
	assert_false(file_contains(env.db, fdata, 32));
	assert_false(file_contains(wal, fdata, 32));
	assert_true(file_contains(env.db, pub, publ) || file_contains(wal, pub, publ));

	/* Group-readable: refused, with a message naming the file. */
	assert_int_equal(chmod(env.master, 0640), 0);
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, env.master));
	assert_non_null(strstr(err, "0640"));
	assert_false(vsm_keystore_enabled());
	assert_int_equal(chmod(env.master, 0600), 0);

	/* Keep the real key aside, then try a wrong-sized and a different key. */
	uint8_t real[32];
	int fd = open(env.master, O_RDONLY);
	assert_int_equal(read(fd, real, 32), 32);
	close(fd);
	write_file(env.master, real, 31, 0600);
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "31 bytes"));
	uint8_t other[32];
	assert_int_equal(RAND_bytes(other, 32), 1);
	write_file(env.master, other, 32, 0600);
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(
		vsm_keystore_get("alice", VSM_KU_KEK, 1, false, NULL, 0, NULL, &s, &sl, &detail),
		VSM_S_NOTSUPP);
	assert_int_equal(detail, VSM_D_KEYSTORE);

	/* Deleted: not silently replaced by a new one. */
	unlink(env.master);
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(access(env.master, F_OK), -1);

	/* The real key back: everything is there. */
	write_file(env.master, real, 32, 0600);
	assert_int_equal(vsm_keystore_open(&env.kc, err, sizeof(err)), 0);
	assert_int_equal(vsm_keystore_get("alice", VSM_KU_KEK, 1, true, (const uint8_t *)"pw", 2,
					  NULL, &s, &sl, &detail),
			 VSM_S_OK);
	assert_memory_equal(s, k, 16);
	vsm_keystore_secret_free(s, sl);
	expect_secret("alice", VSM_KU_ENC, 1, secret, secl);
	vsm_keystore_secret_free(secret, secl);
	free(pub);
}

static void test_disabled(void **state)
{
	(void)state;
	struct vsm_keystore_conf kc = env.kc;
	kc.enabled = false;
	char err[64];
	int detail;
	uint8_t k[16];
	assert_int_equal(vsm_keystore_open(&kc, err, sizeof(err)), 0);
	assert_false(vsm_keystore_enabled());
	assert_int_equal(put_kek("alice", 1, NULL, k), VSM_S_NOTSUPP);
	assert_int_equal(vsm_keystore_file_create("alice", (const uint8_t *)"f", 1, 8, &detail),
			 VSM_S_NOTSUPP);
	assert_int_equal(detail, VSM_D_KEYSTORE);
}

static void test_limits(void **state)
{
	(void)state;
	env.kc.max_keys = 3;
	env.kc.max_files = 2;
	env.kc.max_file_size = 100;
	reopen();
	uint8_t k[16];
	int detail;
	assert_int_equal(put_kek("alice", 1, NULL, k), VSM_S_OK);
	assert_int_equal(put_kek("alice", 2, NULL, k), VSM_S_OK);
	assert_int_equal(put_kek("alice", 4, NULL, k), VSM_S_BADMSG);
	uint8_t *secret, *pub;
	size_t sl, pl;
	assert_int_equal(vsm_keygen(VSM_KT_ED25519, 0, &secret, &sl, &pub, &pl, &detail), VSM_S_OK);
	struct vsm_key_rec r = rec_of(VSM_KU_SIGN, 1, VSM_KT_ED25519, 256, "");
	assert_int_equal(vsm_keystore_put("alice", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_OK);
	/* Three keys: the tenant is full, whichever slot. */
	r.index = 2;
	assert_int_equal(vsm_keystore_put("alice", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_NOSPC);
	assert_int_equal(detail, VSM_D_RANGE);
	/* Another tenant has its own quota. */
	assert_int_equal(vsm_keystore_put("bob", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_OK);
	assert_int_equal(vsm_keystore_delete("alice", VSM_KU_KEK, 1, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_put("alice", &r, secret, sl, pub, pl, NULL, 0, &detail),
			 VSM_S_OK);
	vsm_keystore_secret_free(secret, sl);
	free(pub);

	const uint8_t *n1 = (const uint8_t *)"one", *n2 = (const uint8_t *)"two",
		      *n3 = (const uint8_t *)"three";
	assert_int_equal(vsm_keystore_file_create("alice", n1, 3, 101, &detail), VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	assert_int_equal(vsm_keystore_file_create("alice", n1, 3, 0, &detail), VSM_S_BADMSG);
	assert_int_equal(vsm_keystore_file_create("alice", n1, 3, 100, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_file_create("alice", n2, 3, 1, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_file_create("alice", n3, 5, 1, &detail), VSM_S_NOSPC);
	assert_int_equal(detail, VSM_D_RANGE);
	assert_int_equal(vsm_keystore_file_create("bob", n3, 5, 1, &detail), VSM_S_OK);
}

static void test_files(void **state)
{
	(void)state;
	const uint8_t *name = (const uint8_t *)"config.bin";
	uint8_t buf[64], zero[64] = {0};
	int detail;
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 0, 1, buf, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_NO_FILE);
	assert_int_equal(vsm_keystore_file_create("alice", name, 10, 64, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_file_create("alice", name, 10, 8, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_EXISTS);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 0, 64, buf, &detail), VSM_S_OK);
	assert_memory_equal(buf, zero, 64); /* created zero-filled */
	assert_int_equal(
		vsm_keystore_file_write("alice", name, 10, 60, (const uint8_t *)"abcd", 4, &detail),
		VSM_S_OK);
	assert_int_equal(
		vsm_keystore_file_write("alice", name, 10, 61, (const uint8_t *)"abcd", 4, &detail),
		VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	assert_int_equal(vsm_keystore_file_write("alice", name, 10, UINT32_MAX,
						 (const uint8_t *)"a", 1, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 58, 6, buf, &detail), VSM_S_OK);
	assert_memory_equal(buf, "\0\0abcd", 6);
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 60, 5, buf, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_RANGE);
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, UINT32_MAX, 2, buf, &detail),
			 VSM_S_BADMSG);
	/* Names are bytes, not C strings; tenants do not share files. */
	assert_int_equal(vsm_keystore_file_read("alice", name, 9, 0, 1, buf, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_NO_FILE);
	assert_int_equal(vsm_keystore_file_read("bob", name, 10, 0, 1, buf, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_NO_FILE);
	uint8_t longname[VSM_FILE_NAME_MAX + 1];
	memset(longname, 'x', sizeof(longname));
	assert_int_equal(vsm_keystore_file_create("alice", longname, sizeof(longname), 1, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(vsm_keystore_file_create("alice", longname, VSM_FILE_NAME_MAX, 1, &detail),
			 VSM_S_OK);
	assert_int_equal(vsm_keystore_file_create("alice", name, 0, 1, &detail), VSM_S_BADMSG);

	reopen();
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 60, 4, buf, &detail), VSM_S_OK);
	assert_memory_equal(buf, "abcd", 4);

	/* Swapping two files' contents is caught like swapping keys. */
	tamper("UPDATE files SET data = (SELECT data FROM files WHERE length(name) = 128) "
	       "WHERE name = CAST('config.bin' AS BLOB)");
	assert_int_equal(vsm_keystore_file_read("alice", name, 10, 0, 1, buf, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_KEYSTORE);

	assert_int_equal(vsm_keystore_file_delete("alice", name, 10, &detail), VSM_S_OK);
	assert_int_equal(vsm_keystore_file_delete("alice", name, 10, &detail), VSM_S_ERR);
	assert_int_equal(detail, VSM_D_NO_FILE);
}

static void test_persistence(void **state)
{
	(void)state;
	uint8_t k[20][16];
	int detail;
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(put_kek(i % 2 ? "alice" : "bob", i + 1, i % 3 ? NULL : "pw", k[i]),
				 VSM_S_OK);
	assert_int_equal(vsm_keystore_delete("alice", VSM_KU_KEK, 2, &detail), VSM_S_OK);
	reopen();
	reopen();
	for (uint32_t i = 0; i < 20; i++) {
		uint8_t *s;
		size_t sl;
		int rc = vsm_keystore_get(i % 2 ? "alice" : "bob", VSM_KU_KEK, i + 1, true,
					  (const uint8_t *)"pw", 2, NULL, &s, &sl, &detail);
		if (i == 1) {
			assert_int_equal(rc, VSM_S_KEY_REJECTED);
			continue;
		}
		assert_int_equal(rc, VSM_S_OK);
		assert_memory_equal(s, k[i], 16);
		vsm_keystore_secret_free(s, sl);
	}
	struct vsm_key_rec *recs;
	size_t n;
	assert_int_equal(vsm_keystore_list("alice", &recs, &n, &detail), VSM_S_OK);
	assert_int_equal(n, 9);
	free(recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
