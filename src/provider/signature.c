/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signatures: RSA (PKCS#1 v1.5, PSS), ECDSA, SM2 and Ed25519.
 *
 * Signing runs in vsmd. Verification is public and runs locally, on the
 * default provider of the provider's own library context; that context also
 * validates every parameter and answers parameter queries (algorithm-id for
 * certificates), so both directions accept exactly what OpenSSL accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "provider.h"

#define MAX_DIGEST 64

struct sigctx {
	struct vsm_prov *prov;
	struct vsm_key *key;
	EVP_PKEY_CTX *local; /* verify context on the public half: params, verify() */
	EVP_MD_CTX *md;	     /* digest_sign: local hash; digest_verify: local verify */
	EVP_MD_CTX *vmd;     /* digest_sign: a local digest-verify twin, for its params */
	int signing;
	int digest_mode;
	char mdname[64];
	int hash;
	int pad; /* RSA_*_PADDING */
	char mgf1[64];
	int saltlen; /* RSA_PSS_SALTLEN_* or bytes */
	uint8_t distid[64];
	size_t distid_len;
	int z_pending; /* SM2 digest_sign: Z not yet hashed */
};

static void *sig_newctx(void *provctx, const char *propq)
{
	struct sigctx *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->prov = provctx;
	s->pad = RSA_PKCS1_PADDING;
	s->saltlen = RSA_PSS_SALTLEN_AUTO;
	return s;
}

static void reset(struct sigctx *s)
{
	EVP_PKEY_CTX_free(s->local);
	EVP_MD_CTX_free(s->md);
	EVP_MD_CTX_free(s->vmd);
	vsm_key_free(s->key);
	s->local = NULL;
	s->md = NULL;
	s->vmd = NULL;
	s->key = NULL;
}

static void sig_freectx(void *ctx)
{
	struct sigctx *s = ctx;

	if (!s)
		return;
	reset(s);
	free(s);
}

static void *sig_dupctx(void *ctx)
{
	struct sigctx *s = ctx, *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *s;
	d->local = NULL;
	d->md = NULL;
	d->vmd = NULL;
	if ((s->local && !(d->local = EVP_PKEY_CTX_dup(s->local))) ||
	    (s->md && (!(d->md = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(d->md, s->md))) ||
	    (s->vmd && (!(d->vmd = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(d->vmd, s->vmd)))) {
		d->key = NULL;
		sig_freectx(d);
		return NULL;
	}
	if (d->key)
		__atomic_add_fetch(&d->key->refs, 1, __ATOMIC_ACQ_REL);
	return d;
}

/* Our copy of what the local context accepted. */
static int parse_params(struct sigctx *s, const OSSL_PARAM params[])
{
	const OSSL_PARAM *p;
	const char *str;

	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST))) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &str) || strlen(str) >= sizeof(s->mdname))
			return 0;
		strcpy(s->mdname, str);
		s->hash = vsm_prov_hash_alg(s->prov->libctx, str);
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(p, &str))
				return 0;
			if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
				s->pad = RSA_PKCS1_PADDING;
			else if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PSS))
				s->pad = RSA_PKCS1_PSS_PADDING;
			else if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_NONE))
				s->pad = RSA_NO_PADDING;
			else
				return 0;
		} else if (!OSSL_PARAM_get_int(p, &s->pad)) {
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN))) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(p, &str))
				return 0;
			if (!strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST))
				s->saltlen = RSA_PSS_SALTLEN_DIGEST;
			else if (!strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX))
				s->saltlen = RSA_PSS_SALTLEN_MAX;
			else if (!strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO))
				s->saltlen = RSA_PSS_SALTLEN_AUTO;
			else
				s->saltlen = atoi(str);
		} else if (!OSSL_PARAM_get_int(p, &s->saltlen)) {
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST))) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &str) || strlen(str) >= sizeof(s->mgf1))
			return 0;
		strcpy(s->mgf1, str);
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_DIST_ID))) {
		void *v = s->distid;

		if (!OSSL_PARAM_get_octet_string(p, &v, sizeof(s->distid), &s->distid_len))
			return 0;
	}
	return 1;
}

/* The local context that checks parameters and answers queries. */
static EVP_PKEY_CTX *local(const struct sigctx *s)
{
	if (s->vmd)
		return EVP_MD_CTX_get_pkey_ctx(s->vmd);
	if (s->md && !s->signing)
		return EVP_MD_CTX_get_pkey_ctx(s->md);
	return s->local;
}

static int sig_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	struct sigctx *s = ctx;
	EVP_PKEY_CTX *l = local(s);

	if (!params)
		return 1;
	if (l && s->signing && s->key && s->key->kind == VSM_PK_SM2) {
		/* SM2's Z is computed here when signing: the local context gets all but distid. */
		const OSSL_PARAM *p;

		for (p = params; p->key; p++) {
			OSSL_PARAM one[2] = {*p, OSSL_PARAM_END};

			if (strcmp(p->key, OSSL_PKEY_PARAM_DIST_ID) &&
			    !EVP_PKEY_CTX_set_params(l, one))
				return 0;
		}
	} else if (l && !EVP_PKEY_CTX_set_params(l, params)) {
		return 0;
	}
	return parse_params(s, params);
}

static int sig_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	struct sigctx *s = ctx;
	EVP_PKEY_CTX *l = local(s);

	return l ? EVP_PKEY_CTX_get_params(l, params) : 1;
}

static const OSSL_PARAM *sig_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_DIST_ID, NULL, 0),
		OSSL_PARAM_END,
	};
	return t;
}

static const OSSL_PARAM *sig_gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
		OSSL_PARAM_END,
	};
	return t;
}

static int init(struct sigctx *s, void *key, const OSSL_PARAM params[], int signing,
		const char *mdname, int digest)
{
	struct vsm_key *k = key;

	reset(s);
	if (!k || !k->pub)
		return 0;
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	s->key = k;
	s->signing = signing;
	s->digest_mode = 0;
	s->mdname[0] = s->mgf1[0] = 0;
	s->hash = 0;
	s->pad = RSA_PKCS1_PADDING;
	s->saltlen = RSA_PSS_SALTLEN_AUTO;
	s->distid_len = 0;
	if (k->kind == VSM_PK_SM2)
		s->hash = VSM_ALG_SM3;
	if (digest && signing) {
		/*
		 * Only a digest context computes an AlgorithmIdentifier (SM2,
		 * Ed25519), which certificate signing asks for.
		 */
		s->vmd = EVP_MD_CTX_new();
		if (!s->vmd || EVP_DigestVerifyInit_ex(s->vmd, NULL, mdname, s->prov->libctx, NULL,
						       k->pub, NULL) != 1)
			return 0;
		if (mdname) {
			OSSL_PARAM md[] = {
				OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)mdname,
						       strlen(mdname)),
				OSSL_PARAM_END,
			};

			if (!parse_params(s, md))
				return 0;
		}
		return sig_set_ctx_params(s, params);
	}
	if (k->kind == VSM_PK_ED25519)
		return parse_params(s, params);
	s->local = EVP_PKEY_CTX_new_from_pkey(s->prov->libctx, k->pub, NULL);
	if (!s->local || EVP_PKEY_verify_init(s->local) <= 0)
		return 0;
	if (mdname) {
		OSSL_PARAM md[] = {
			OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)mdname,
					       strlen(mdname)),
			OSSL_PARAM_END,
		};

		if (!sig_set_ctx_params(s, md))
			return 0;
	}
	return sig_set_ctx_params(s, params);
}

static int sig_sign_init(void *ctx, void *key, const OSSL_PARAM params[])
{
	return init(ctx, key, params, 1, NULL, 0);
}

static int sig_verify_init(void *ctx, void *key, const OSSL_PARAM params[])
{
	return init(ctx, key, params, 0, NULL, 0);
}

static size_t sig_size(const struct sigctx *s)
{
	int n = EVP_PKEY_get_size(s->key->pub);

	return n > 0 ? (size_t)n : 0;
}

static int pss_salt(const struct sigctx *s, size_t hlen)
{
	int bits = EVP_PKEY_get_bits(s->key->pub);
	int emlen = (bits - 1 + 7) / 8;
	int max = emlen - (int)hlen - 2;

	if (s->saltlen >= 0)
		return s->saltlen;
	if (s->saltlen == RSA_PSS_SALTLEN_DIGEST)
		return (int)hlen;
	/* MAX, and AUTO, which for signing means the maximum. */
	return max;
}

/* PKCS#1 v1.5 without DigestInfo (TLS 1.0 MD5+SHA1, openssl speed): pad here, raw RSA there. */
static int rsa_raw_sign(struct sigctx *s, unsigned char *sig, size_t *siglen, size_t k,
			const unsigned char *tbs, size_t tbslen)
{
	struct vsm_sess_params sp = {.padding = VSM_PAD_NONE};
	unsigned char *em;
	size_t out = k;
	int rc;

	if (s->pad == RSA_NO_PADDING) {
		if (tbslen != k)
			return -EINVAL;
		return vsm_key_op(s->key, &sp, VSM_OP_DECRYPT, tbs, tbslen, sig, siglen);
	}
	if (tbslen + 11 > k)
		return -EINVAL;
	em = malloc(k);
	if (!em)
		return -ENOMEM;
	em[0] = 0;
	em[1] = 1;
	memset(em + 2, 0xff, k - tbslen - 3);
	em[k - tbslen - 1] = 0;
	memcpy(em + k - tbslen, tbs, tbslen);
	rc = vsm_key_op(s->key, &sp, VSM_OP_DECRYPT, em, k, sig, &out);
	free(em);
	*siglen = out;
	return rc;
}

static int do_sign(struct sigctx *s, unsigned char *sig, size_t *siglen, size_t sigsize,
		   const unsigned char *tbs, size_t tbslen, int prehashed)
{
	struct vsm_sess_params sp = {0};
	size_t need = sig_size(s), out = sigsize;
	int rc;

	if (!sig) {
		*siglen = need;
		return 1;
	}
	if (!s->key || (!s->key->der && !s->key->usage))
		return 0;
	if (prehashed) {
		sp.flags = VSM_SESSF_PREHASHED;
		sp.hash = s->hash ? s->hash : vsm_prov_hash_by_len(tbslen);
	} else {
		sp.hash = s->hash;
	}
	switch (s->key->kind) {
	case VSM_PK_RSA:
		if (s->pad == RSA_NO_PADDING || (s->pad == RSA_PKCS1_PADDING && !s->hash)) {
			rc = rsa_raw_sign(s, sig, &out, need, tbs, tbslen);
			goto done;
		}
		if (s->pad == RSA_PKCS1_PSS_PADDING) {
			sp.padding = VSM_PAD_PSS;
			sp.mgf_hash = s->mgf1[0] ? vsm_prov_hash_alg(s->prov->libctx, s->mgf1) : 0;
			sp.salt_len = pss_salt(s, tbslen);
			if (sp.salt_len <= 0)
				return 0; /* the vsm API cannot say "no salt" */
		} else if (s->pad == RSA_PKCS1_PADDING) {
			sp.padding = VSM_PAD_PKCS1;
		} else {
			return 0;
		}
		break;
	case VSM_PK_SM2:
		sp.hash = VSM_ALG_SM3;
		break;
	case VSM_PK_ED25519:
		sp.hash = 0;
		break;
	}
	if (!sp.hash && s->key->kind != VSM_PK_ED25519)
		return 0;
	rc = vsm_key_op(s->key, &sp, VSM_OP_SIGN, tbs, tbslen, sig, &out);
done:
	if (rc) {
		vsm_prov_raise(s->prov, rc, "sign");
		return 0;
	}
	*siglen = out;
	return 1;
}

static int sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		    const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *s = ctx;

	if (s->key && s->key->kind == VSM_PK_ED25519)
		return 0;
	return do_sign(s, sig, siglen, sigsize, tbs, tbslen, 1);
}

static int sig_verify(void *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
		      size_t tbslen)
{
	struct sigctx *s = ctx;

	return s->local && EVP_PKEY_verify(s->local, sig, siglen, tbs, tbslen) == 1;
}

/*
 * SM2's Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2
 * 5.5) from public values: e = SM3(Z || M) is then computed here and signed
 * prehashed, with OpenSSL's default of an empty ID, which vsmd cannot express.
 */
static int sm2_z(struct sigctx *s)
{
	unsigned char pub[65], buf[32], g[65];
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *a = BN_new(), *b = BN_new();
	unsigned char entl[2] = {(unsigned char)(s->distid_len * 8 >> 8),
				 (unsigned char)(s->distid_len * 8)};
	EVP_MD_CTX *z = EVP_MD_CTX_new();
	EVP_MD *sm3 = EVP_MD_fetch(s->prov->libctx, "SM3", NULL);
	unsigned char zd[32];
	size_t publen = 0;
	int ok;

	ok = grp && a && b && z && sm3 && EC_GROUP_get_curve(grp, NULL, a, b, NULL) &&
	     EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp), POINT_CONVERSION_UNCOMPRESSED, g,
				sizeof(g), NULL) == sizeof(g) &&
	     EVP_PKEY_get_octet_string_param(s->key->pub, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
					     &publen) &&
	     publen == sizeof(pub) && pub[0] == POINT_CONVERSION_UNCOMPRESSED &&
	     EVP_DigestInit_ex2(z, sm3, NULL) && EVP_DigestUpdate(z, entl, 2) &&
	     EVP_DigestUpdate(z, s->distid, s->distid_len) && BN_bn2binpad(a, buf, 32) == 32 &&
	     EVP_DigestUpdate(z, buf, 32) && BN_bn2binpad(b, buf, 32) == 32 &&
	     EVP_DigestUpdate(z, buf, 32) && EVP_DigestUpdate(z, g + 1, 64) &&
	     EVP_DigestUpdate(z, pub + 1, 64) && EVP_DigestFinal_ex(z, zd, NULL) &&
	     EVP_DigestUpdate(s->md, zd, sizeof(zd));
	EVP_MD_free(sm3);
	EVP_MD_CTX_free(z);
	BN_free(a);
	BN_free(b);
	EC_GROUP_free(grp);
	s->z_pending = 0;
	return ok;
}

static int sig_digest_sign_init(void *ctx, const char *mdname, void *key, const OSSL_PARAM params[])
{
	struct sigctx *s = ctx;
	struct vsm_key *k = key;
	EVP_MD *md = NULL;
	int ok;

	if (!k)
		return 0;
	if (mdname && !*mdname)
		mdname = NULL;
	/* The digest is decided here: the local twin takes no digest after init. */
	if (k->kind == VSM_PK_ED25519)
		mdname = NULL;
	else if (!mdname)
		mdname = k->kind == VSM_PK_SM2 ? "SM3" : "SHA256";
	if (!init(s, key, params, 1, mdname, 1))
		return 0;
	s->digest_mode = 1;
	if (k->kind == VSM_PK_ED25519)
		return 1; /* one-shot: the message goes to vsmd whole */
	md = EVP_MD_fetch(s->prov->libctx, mdname, NULL);
	if (k->kind == VSM_PK_SM2) {
		if (!md || !EVP_MD_is_a(md, "SM3")) {
			EVP_MD_free(md);
			return 0;
		}
		s->z_pending = 1;
	}
	s->md = EVP_MD_CTX_new();
	ok = md && s->md && EVP_DigestInit_ex2(s->md, md, NULL);
	EVP_MD_free(md);
	return ok;
}

static int sig_digest_sign_update(void *ctx, const unsigned char *data, size_t len)
{
	struct sigctx *s = ctx;

	if (!s->md || (s->z_pending && !sm2_z(s)))
		return 0;
	return EVP_DigestUpdate(s->md, data, len);
}

static int sig_digest_sign_final(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	struct sigctx *s = ctx;
	unsigned char dgst[MAX_DIGEST];
	unsigned int dlen = 0;
	EVP_MD_CTX *tmp;
	int ok;

	if (!sig)
		return do_sign(s, NULL, siglen, 0, NULL, 0, 0);
	if (!s->md || (s->z_pending && !sm2_z(s)))
		return 0;
	/* On a copy: OpenSSL may finalise the same context more than once. */
	tmp = EVP_MD_CTX_new();
	ok = tmp && EVP_MD_CTX_copy_ex(tmp, s->md) && EVP_DigestFinal_ex(tmp, dgst, &dlen);
	EVP_MD_CTX_free(tmp);
	return ok && do_sign(s, sig, siglen, sigsize, dgst, dlen, 1);
}

static int sig_digest_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
			   const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *s = ctx;

	if (!sig)
		return do_sign(s, NULL, siglen, 0, NULL, 0, 0);
	return do_sign(s, sig, siglen, sigsize, tbs, tbslen, 0);
}

static int sig_digest_verify_init(void *ctx, const char *mdname, void *key,
				  const OSSL_PARAM params[])
{
	struct sigctx *s = ctx;
	struct vsm_key *k = key;

	if (!init(s, key, NULL, 0, NULL, 1))
		return 0;
	s->digest_mode = 1;
	EVP_PKEY_CTX_free(s->local);
	s->local = NULL;
	s->md = EVP_MD_CTX_new();
	if (!s->md)
		return 0;
	if (mdname && !*mdname)
		mdname = NULL;
	return EVP_DigestVerifyInit_ex(s->md, NULL, mdname, s->prov->libctx, NULL, k->pub,
				       params) == 1 &&
	       parse_params(s, params);
}

static int sig_digest_verify_update(void *ctx, const unsigned char *data, size_t len)
{
	struct sigctx *s = ctx;

	return s->md && EVP_DigestVerifyUpdate(s->md, data, len) == 1;
}

static int sig_digest_verify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
	struct sigctx *s = ctx;

	return s->md && EVP_DigestVerifyFinal(s->md, sig, siglen) == 1;
}

static int sig_digest_verify(void *ctx, const unsigned char *sig, size_t siglen,
			     const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *s = ctx;

	return s->md && EVP_DigestVerify(s->md, sig, siglen, tbs, tbslen) == 1;
}

#define COMMON                                                                                     \
	{OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx},                                  \
		{OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},                        \
		{OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},                          \
		{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},      \
		{OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init},  \
		{OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},          \
		{OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable},           \
		{OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},          \
	{                                                                                          \
		OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable              \
	}

const OSSL_DISPATCH vsm_signature[] = {
	COMMON,
	{OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
	{OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
	{OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
	{OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},
	{OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_verify_update},
	{OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final},
	{0, NULL},
};

/* Ed25519 is one-shot only, like the default provider's. */
const OSSL_DISPATCH vsm_ed25519_signature[] = {
	COMMON,
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign},
	{OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))sig_digest_verify},
	{0, NULL},
};
