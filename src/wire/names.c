/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stable names for protocol values. They appear in logs, config files and
 * vsmctl output, so they are part of the interface: never rename one.
 */
#include <string.h>

#include <vsm/wire.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const status_names[VSM_S__MAX] = {
	[VSM_S_OK] = "ok",
	[VSM_S_ERR] = "err",
	[VSM_S_BADMSG] = "badmsg",
	[VSM_S_NOTSUPP] = "notsupp",
	[VSM_S_INVSESS] = "invsess",
	[VSM_S_NOSPC] = "nospc",
	[VSM_S_KEY_REJECTED] = "key_rejected",
};

static const char *const detail_names[VSM_D__MAX] = {
	[VSM_D_NONE] = "none",
	[VSM_D_PROTOCOL] = "protocol",
	[VSM_D_TOO_BIG] = "too_big",
	[VSM_D_SESSION_LIMIT] = "session_limit",
	[VSM_D_AUTH_FAILED] = "auth_failed",
	[VSM_D_BAD_KEY] = "bad_key",
	[VSM_D_BAD_LENGTH] = "bad_length",
	[VSM_D_OUTPUT_SPACE] = "output_space",
	[VSM_D_VERSION] = "version",
	[VSM_D_NO_HELLO] = "no_hello",
	[VSM_D_SHUTDOWN] = "shutdown",
	[VSM_D_ENGINE] = "engine",
	[VSM_D_BAD_OP] = "bad_op",
	[VSM_D_ACCESS_DENIED] = "access_denied",
	[VSM_D_NO_KEY] = "no_key",
	[VSM_D_EXISTS] = "exists",
	[VSM_D_KEYSTORE] = "keystore",
	[VSM_D_NO_FILE] = "no_file",
	[VSM_D_RANGE] = "range",
	[VSM_D_KEY_TYPE] = "key_type",
};

static const char *const service_names[VSM_SVC__MAX] = {
	[VSM_SVC_CIPHER] = "cipher", [VSM_SVC_HASH] = "hash",	      [VSM_SVC_MAC] = "mac",
	[VSM_SVC_AEAD] = "aead",     [VSM_SVC_AKCIPHER] = "akcipher",
};

static const char *const op_names[VSM_OP__MAX] = {
	[VSM_OP_ENCRYPT] = "encrypt", [VSM_OP_DECRYPT] = "decrypt", [VSM_OP_SIGN] = "sign",
	[VSM_OP_VERIFY] = "verify",   [VSM_OP_DIGEST] = "digest",
};

struct alg_info {
	const char *name; /* NULL: id not assigned */
	int service;
};

static const struct alg_info algs[VSM_ALG__MAX] = {
	[VSM_ALG_AES_ECB] = {"aes-ecb", VSM_SVC_CIPHER},
	[VSM_ALG_AES_CBC] = {"aes-cbc", VSM_SVC_CIPHER},
	[VSM_ALG_AES_CTR] = {"aes-ctr", VSM_SVC_CIPHER},
	[VSM_ALG_AES_XTS] = {"aes-xts", VSM_SVC_CIPHER},
	[VSM_ALG_SM4_ECB] = {"sm4-ecb", VSM_SVC_CIPHER},
	[VSM_ALG_SM4_CBC] = {"sm4-cbc", VSM_SVC_CIPHER},
	[VSM_ALG_SM4_CTR] = {"sm4-ctr", VSM_SVC_CIPHER},
	[VSM_ALG_CHACHA20] = {"chacha20", VSM_SVC_CIPHER},
	[VSM_ALG_SHA1] = {"sha1", VSM_SVC_HASH},
	[VSM_ALG_SHA224] = {"sha224", VSM_SVC_HASH},
	[VSM_ALG_SHA256] = {"sha256", VSM_SVC_HASH},
	[VSM_ALG_SHA384] = {"sha384", VSM_SVC_HASH},
	[VSM_ALG_SHA512] = {"sha512", VSM_SVC_HASH},
	[VSM_ALG_SHA3_256] = {"sha3-256", VSM_SVC_HASH},
	[VSM_ALG_SM3] = {"sm3", VSM_SVC_HASH},
	[VSM_ALG_HMAC_SHA1] = {"hmac-sha1", VSM_SVC_MAC},
	[VSM_ALG_HMAC_SHA256] = {"hmac-sha256", VSM_SVC_MAC},
	[VSM_ALG_HMAC_SHA384] = {"hmac-sha384", VSM_SVC_MAC},
	[VSM_ALG_HMAC_SHA512] = {"hmac-sha512", VSM_SVC_MAC},
	[VSM_ALG_HMAC_SM3] = {"hmac-sm3", VSM_SVC_MAC},
	[VSM_ALG_CMAC_AES] = {"cmac-aes", VSM_SVC_MAC},
	[VSM_ALG_AES_GCM] = {"aes-gcm", VSM_SVC_AEAD},
	[VSM_ALG_AES_CCM] = {"aes-ccm", VSM_SVC_AEAD},
	[VSM_ALG_CHACHA20_POLY1305] = {"chacha20-poly1305", VSM_SVC_AEAD},
	[VSM_ALG_SM4_GCM] = {"sm4-gcm", VSM_SVC_AEAD},
	[VSM_ALG_RSA] = {"rsa", VSM_SVC_AKCIPHER},
	[VSM_ALG_ECDSA] = {"ecdsa", VSM_SVC_AKCIPHER},
	[VSM_ALG_SM2] = {"sm2", VSM_SVC_AKCIPHER},
	[VSM_ALG_ED25519] = {"ed25519", VSM_SVC_AKCIPHER},
};

static const char *lookup(const char *const *tab, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n || !tab[v])
		return "unknown";
	return tab[v];
}

const char *vsm_status_name(int status)
{
	return lookup(status_names, ARRAY_SIZE(status_names), status);
}

const char *vsm_detail_name(int detail)
{
	return lookup(detail_names, ARRAY_SIZE(detail_names), detail);
}

const char *vsm_service_name(int service)
{
	return lookup(service_names, ARRAY_SIZE(service_names), service);
}

const char *vsm_op_name(int op)
{
	return lookup(op_names, ARRAY_SIZE(op_names), op);
}

const char *vsm_alg_name(int alg)
{
	if (alg < 0 || alg >= VSM_ALG__MAX || !algs[alg].name)
		return "unknown";
	return algs[alg].name;
}

int vsm_alg_service(int alg)
{
	if (alg < 0 || alg >= VSM_ALG__MAX || !algs[alg].name)
		return -1;
	return algs[alg].service;
}

int vsm_alg_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < VSM_ALG__MAX; i++)
		if (algs[i].name && !strcmp(algs[i].name, name))
			return i;
	return -1;
}
