/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 8 threads hammer one keystore for a few seconds (VSM_KS_STRESS_SECONDS,
 * default 3): put/get/list/delete/set-password on a tenant of their own,
 * whose state each thread knows exactly, and on one shared tenant, where
 * only EXISTS/NO_KEY races are allowed. No SQLITE_BUSY (ERR/KEYSTORE) may
 * leak out, and at the end, and after a reopen, every acknowledged key reads
 * back as it was written.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <openssl/rand.h>

#include "ks_test.h"

#define THREADS	     8
#define OWN_SLOTS    24
#define SHARED_SLOTS 16

static atomic_int failures;
static atomic_ulong total_ops;
static double deadline;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			atomic_fetch_add(&failures, 1);                                            \
		}                                                                                  \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
	int id;
	char tenant[16];
	bool present[OWN_SLOTS + 1];
	bool has_pw[OWN_SLOTS + 1];
	uint8_t key[OWN_SLOTS + 1][16];
	uint64_t seed;
};

static uint32_t rnd(struct worker *w, uint32_t n)
{
	w->seed = w->seed * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(w->seed >> 33) % n;
}

static void put_secret(uint8_t k[16], int tid)
{
	RAND_bytes(k, 16);
	k[0] = (uint8_t)tid; /* the shared tenant's readers check this */
}

static int put(const char *tenant, uint32_t index, const uint8_t k[16], const char *pw, int *det)
{
	struct vsm_key_rec r = {
		.usage = VSM_KU_KEK, .index = index, .type = VSM_KT_AES, .bits = 128};
	return vsm_keystore_put(tenant, &r, k, 16, NULL, 0, (const uint8_t *)pw,
				pw ? strlen(pw) : 0, det);
}

static void own_step(struct worker *w)
{
	uint32_t i = 1 + rnd(w, OWN_SLOTS);
	int det, st;
	uint8_t *s;
	size_t sl;
	switch (rnd(w, 5)) {
	case 0: {
		uint8_t k[16];
		put_secret(k, w->id);
		bool pw = rnd(w, 4) == 0;
		st = put(w->tenant, i, k, pw ? "pw" : NULL, &det);
		if (w->present[i]) {
			CHECK(st == VSM_S_ERR && det == VSM_D_EXISTS, "put over a key: %d/%d", st,
			      det);
		} else {
			CHECK(st == VSM_S_OK, "put: %d/%d", st, det);
			if (st == VSM_S_OK) {
				w->present[i] = true;
				w->has_pw[i] = pw;
				memcpy(w->key[i], k, 16);
			}
		}
		break;
	}
	case 1:
		st = vsm_keystore_get(w->tenant, VSM_KU_KEK, i, true, (const uint8_t *)"pw", 2,
				      NULL, &s, &sl, &det);
		if (w->present[i]) {
			CHECK(st == VSM_S_OK && sl == 16 && !memcmp(s, w->key[i], 16),
			      "get %s/%u: %d/%d", w->tenant, i, st, det);
			vsm_keystore_secret_free(s, sl);
		} else {
			CHECK(st == VSM_S_KEY_REJECTED && det == VSM_D_NO_KEY, "get absent: %d/%d",
			      st, det);
		}
		break;
	case 2:
		st = vsm_keystore_delete(w->tenant, VSM_KU_KEK, i, &det);
		CHECK(st == (w->present[i] ? VSM_S_OK : VSM_S_KEY_REJECTED), "delete: %d/%d", st,
		      det);
		w->present[i] = false;
		break;
	case 3: {
		struct vsm_key_rec *recs;
		size_t n, want = 0;
		for (int j = 1; j <= OWN_SLOTS; j++)
			want += w->present[j];
		st = vsm_keystore_list(w->tenant, &recs, &n, &det);
		CHECK(st == VSM_S_OK && n == want, "list: %d/%d, %zu keys, want %zu", st, det, n,
		      want);
		free(recs);
		break;
	}
	default:
		if (!w->present[i])
			break;
		st = vsm_keystore_set_password(
			w->tenant, VSM_KU_KEK, i, (const uint8_t *)(w->has_pw[i] ? "pw" : ""),
			w->has_pw[i] ? 2 : 0, (const uint8_t *)(w->has_pw[i] ? "" : "pw"),
			w->has_pw[i] ? 0 : 2, &det);
		CHECK(st == VSM_S_OK, "set_password: %d/%d", st, det);
		if (st == VSM_S_OK)
			w->has_pw[i] = !w->has_pw[i];
	}
}

static void shared_step(struct worker *w)
{
	uint32_t i = 1 + rnd(w, SHARED_SLOTS);
	int det, st;
	uint8_t *s;
	size_t sl;
	switch (rnd(w, 3)) {
	case 0: {
		uint8_t k[16];
		put_secret(k, w->id);
		st = put("shared", i, k, NULL, &det);
		CHECK(st == VSM_S_OK || (st == VSM_S_ERR && det == VSM_D_EXISTS),
		      "shared put: %d/%d", st, det);
		break;
	}
	case 1:
		st = vsm_keystore_get("shared", VSM_KU_KEK, i, false, NULL, 0, NULL, &s, &sl, &det);
		CHECK(st == VSM_S_OK || (st == VSM_S_KEY_REJECTED && det == VSM_D_NO_KEY),
		      "shared get: %d/%d", st, det);
		if (st == VSM_S_OK) {
			CHECK(sl == 16 && s[0] < THREADS, "shared key of %zu bytes", sl);
			vsm_keystore_secret_free(s, sl);
		}
		break;
	default:
		st = vsm_keystore_delete("shared", VSM_KU_KEK, i, &det);
		CHECK(st == VSM_S_OK || (st == VSM_S_KEY_REJECTED && det == VSM_D_NO_KEY),
		      "shared delete: %d/%d", st, det);
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	unsigned long n = 0;
	while (now_s() < deadline && atomic_load(&failures) == 0) {
		if (rnd(w, 3))
			own_step(w);
		else
			shared_step(w);
		n++;
	}
	atomic_fetch_add(&total_ops, n);
	return NULL;
}

static void verify(struct worker *ws)
{
	for (int t = 0; t < THREADS; t++)
		for (uint32_t i = 1; i <= OWN_SLOTS; i++) {
			uint8_t *s;
			size_t sl;
			int det;
			int st = vsm_keystore_get(ws[t].tenant, VSM_KU_KEK, i, true,
						  (const uint8_t *)"pw", 2, NULL, &s, &sl, &det);
			if (!ws[t].present[i]) {
				CHECK(st == VSM_S_KEY_REJECTED, "deleted key %s/%u is back",
				      ws[t].tenant, i);
				continue;
			}
			CHECK(st == VSM_S_OK && sl == 16 && !memcmp(s, ws[t].key[i], 16),
			      "acknowledged key %s/%u: %d/%d", ws[t].tenant, i, st, det);
			vsm_keystore_secret_free(s, sl);
			/* The password state is what the last acknowledged change left. */
			st = vsm_keystore_get(ws[t].tenant, VSM_KU_KEK, i, true, NULL, 0, NULL, &s,
					      &sl, &det);
			CHECK(st == (ws[t].has_pw[i] ? VSM_S_KEY_REJECTED : VSM_S_OK),
			      "password state of %s/%u", ws[t].tenant, i);
			vsm_keystore_secret_free(s, sl);
		}
}

int main(void)
{
	struct ks_env env;
	ks_env_init(&env);
	env.kc.max_keys = 64;
	char err[512];
	if (vsm_keystore_open(&env.kc, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	const char *secs = getenv("VSM_KS_STRESS_SECONDS");
	deadline = now_s() + (secs ? atof(secs) : 3.0);
	static struct worker ws[THREADS];
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++) {
		ws[t].id = t;
		ws[t].seed = (uint64_t)time(NULL) * 31 + (uint64_t)t;
		snprintf(ws[t].tenant, sizeof(ws[t].tenant), "t%d", t);
		pthread_create(&th[t], NULL, run, &ws[t]);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	verify(ws);
	vsm_keystore_close();
	if (vsm_keystore_open(&env.kc, err, sizeof(err)) < 0) {
		fprintf(stderr, "reopen: %s\n", err);
		return 1;
	}
	verify(ws);
	printf("%lu operations by %d threads, %d failures\n", atomic_load(&total_ops), THREADS,
	       atomic_load(&failures));
	CHECK(atomic_load(&total_ops) > THREADS, "the threads hardly ran");
	ks_env_cleanup(&env);
	return atomic_load(&failures) ? 1 : 0;
}
