/* SPDX-License-Identifier: Apache-2.0 */
/* Counting, hex and request helpers shared by every known-answer set. */
#include <openssl/encoder.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kat.h"

void kat_begin(struct kat_file *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
}

void kat_check(struct kat_file *f, int ok, const char *fmt, ...)
{
	va_list ap;

	f->tests++;
	if (ok) {
		f->passed++;
		return;
	}
	f->failed++;
	printf("  FAIL %s: ", f->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void kat_skip(struct kat_file *f, const char *fmt, ...)
{
	va_list ap;

	f->tests++;
	f->skipped++;
	printf("  skip %s: ", f->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

unsigned kat_end(struct kat_file *f)
{
	printf("%s: %u tests, %u passed, %u failed, %u skipped\n", f->name, f->tests, f->passed,
	       f->failed, f->skipped);
	fflush(stdout);
	return f->failed;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *kat_unhex(const char *hex, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;
	uint8_t *p = malloc(n / 2 + 1);

	if (!p || n % 2) {
		fprintf(stderr, "bad hex vector: %s\n", hex);
		abort();
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "bad hex vector: %s\n", hex);
			abort();
		}
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return p;
}

struct kat_buf kat_der(EVP_PKEY *pk, int selection, const char *structure)
{
	struct kat_buf b = {NULL, 0};
	OSSL_ENCODER_CTX *e = OSSL_ENCODER_CTX_new_for_pkey(pk, selection, "DER", structure, NULL);

	if (!e || !OSSL_ENCODER_to_data(e, &b.p, &b.n)) {
		b.p = NULL;
		b.n = 0;
	}
	OSSL_ENCODER_CTX_free(e);
	return b;
}

struct kat_buf kat_hex(const char *hex)
{
	struct kat_buf b;

	b.p = kat_unhex(hex, &b.n);
	return b;
}

void kat_buf_free(struct kat_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

int kat_op(const struct kat_backend *be, void *sess, uint32_t opc, uint32_t flags,
	   const struct kat_buf *iv, const struct kat_buf *aad, const uint8_t *src, size_t src_len,
	   const struct kat_buf *aux, uint8_t *out, size_t cap, size_t *out_len, int *detail)
{
	struct vsm_wire_op op = {
		.op = opc,
		.flags = flags,
		.dst_len = (uint32_t)cap,
		.iv = iv ? iv->p : NULL,
		.iv_len = iv ? (uint32_t)iv->n : 0,
		.aad = aad ? aad->p : NULL,
		.aad_len = aad ? (uint32_t)aad->n : 0,
		.src = src,
		.src_len = (uint32_t)src_len,
		.aux = aux ? aux->p : NULL,
		.aux_len = aux ? (uint32_t)aux->n : 0,
	};

	*out_len = 0;
	*detail = VSM_D_NONE;
	return be->op(be->ctx, sess, &op, out, cap, out_len, detail);
}

int kat_sym(const struct kat_backend *be, void *sess, const struct kat_buf *iv,
	    const struct kat_buf *aad, const struct kat_buf *pt, const struct kat_buf *ct,
	    char *why, size_t why_len)
{
	size_t cap = pt->n + ct->n + 64, n;
	uint8_t *out = malloc(cap);
	int st, d, ok = 0;

	st = kat_op(be, sess, VSM_OP_ENCRYPT, 0, iv, aad, pt->p, pt->n, NULL, out, cap, &n, &d);
	if (st != VSM_S_OK) {
		snprintf(why, why_len, "encrypt status %s/%s", vsm_status_name(st),
			 vsm_detail_name(d));
		goto out;
	}
	if (n != ct->n || memcmp(out, ct->p, n) != 0) {
		snprintf(why, why_len, "encrypt output mismatch (%zu vs %zu bytes)", n, ct->n);
		goto out;
	}
	st = kat_op(be, sess, VSM_OP_DECRYPT, 0, iv, aad, ct->p, ct->n, NULL, out, cap, &n, &d);
	if (st != VSM_S_OK) {
		snprintf(why, why_len, "decrypt status %s/%s", vsm_status_name(st),
			 vsm_detail_name(d));
		goto out;
	}
	if (n != pt->n || memcmp(out, pt->p, n) != 0) {
		snprintf(why, why_len, "decrypt output mismatch");
		goto out;
	}
	ok = 1;
out:
	free(out);
	return ok;
}

int kat_digest(const struct kat_backend *be, void *sess, const uint8_t *msg, size_t len,
	       const struct kat_buf *expect)
{
	uint8_t out[128];
	size_t n;
	int d;

	return kat_op(be, sess, VSM_OP_DIGEST, 0, NULL, NULL, msg, len, NULL, out, sizeof(out), &n,
		      &d) == VSM_S_OK &&
	       n == expect->n && memcmp(out, expect->p, n) == 0;
}

void *kat_session(const struct kat_backend *be, uint32_t svc, uint32_t alg, const uint8_t *key,
		  size_t key_len, uint32_t tag_len, int *st, int *detail)
{
	struct vsm_wire_session p = {
		.service = svc,
		.alg = alg,
		.tag_len = tag_len,
		.salt_len = -1,
		.key = key,
		.key_len = (uint32_t)key_len,
	};
	void *sess = NULL;

	*detail = VSM_D_NONE;
	*st = be->session_new(be->ctx, &p, &sess, detail);
	return *st == VSM_S_OK ? sess : NULL;
}

unsigned vsm_kat_run_all(const struct kat_backend *be, const char *vectors_dir)
{
	unsigned failed = 0;

	printf("known-answer vectors through backend '%s'\n", be->name);
	failed += vsm_kat_builtin(be);
	failed += vsm_kat_sm2(be);
	failed += vsm_kat_keyformats(be);
	failed += vsm_kat_errors(be);
	failed += vsm_kat_wycheproof(be, vectors_dir);
	return failed;
}
