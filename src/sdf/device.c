/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices, sessions, device information, random numbers and private-key
 * access rights; and the per-session cache of vsmd sessions that lets
 * repeated SDF calls on the same key cost one round trip.
 *
 * The device address: $VSM_URI, else "uri = ..." in $VSM_SDF_CONF (default
 * /etc/vsm/sdf.conf), else libvsm's default socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "sdf_int.h"

#define SDF_CONF_DEFAULT "/etc/vsm/sdf.conf"

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct sdf_device *d = user;

	if ((!*section || !strcmp(section, "sdf")) && !strcmp(name, "uri")) {
		if (strlen(value) >= sizeof(d->uri))
			return 0;
		strcpy(d->uri, value);
	}
	return 1;
}

/* 0, or SDR_OPENDEVICE for a configuration file that exists but is wrong. */
static int resolve_uri(struct sdf_device *d)
{
	const char *env = getenv("VSM_URI");
	const char *conf = getenv("VSM_SDF_CONF");
	bool named = conf && *conf;
	int rc;

	d->uri[0] = '\0';
	if (env && *env) {
		if (strlen(env) >= sizeof(d->uri))
			return SDR_OPENDEVICE;
		strcpy(d->uri, env);
		return 0;
	}
	if (!named)
		conf = SDF_CONF_DEFAULT;
	rc = ini_parse(conf, conf_handler, d);
	/* A missing default file means the default socket; a named one must exist. */
	if (rc == -1 && !named)
		return 0;
	return rc == 0 ? 0 : SDR_OPENDEVICE;
}

int SDF_OpenDevice(void **phDeviceHandle)
{
	struct sdf_device *d;
	vsm_client *c;
	int rc;

	if (!phDeviceHandle)
		return SDR_OUTARGERR;
	d = calloc(1, sizeof(*d));
	if (!d)
		return SDR_NOBUFFER;
	rc = resolve_uri(d);
	if (rc) {
		free(d);
		return rc;
	}
	/* Fail here, not at the first session, when vsmd cannot be reached. */
	if (vsm_connect(d->uri[0] ? d->uri : NULL, &c) != 0) {
		free(d);
		return SDR_OPENDEVICE;
	}
	vsm_close(c);
	d->magic = SDF_DEV_MAGIC;
	*phDeviceHandle = d;
	return SDR_OK;
}

int SDF_CloseDevice(void *hDeviceHandle)
{
	struct sdf_device *d = hDeviceHandle;

	if (!d || d->magic != SDF_DEV_MAGIC)
		return SDR_OPENDEVICE;
	d->magic = 0;
	free(d);
	return SDR_OK;
}

int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle)
{
	struct sdf_device *d = hDeviceHandle;
	struct sdf_session *s;

	if (!d || d->magic != SDF_DEV_MAGIC)
		return SDR_OPENDEVICE;
	if (!phSessionHandle)
		return SDR_OUTARGERR;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SDR_NOBUFFER;
	if (vsm_connect(d->uri[0] ? d->uri : NULL, &s->c) != 0) {
		free(s);
		return SDR_OPENSESSION;
	}
	s->magic = SDF_SESS_MAGIC;
	*phSessionHandle = s;
	return SDR_OK;
}

struct sdf_session *vsm_sdf_session(void *h)
{
	struct sdf_session *s = h;

	return s && s->magic == SDF_SESS_MAGIC ? s : NULL;
}

static void cache_drop(struct sdf_session *s, struct sdf_cached *e)
{
	vsm_session_destroy(s->c, e->handle);
	OPENSSL_cleanse(e, sizeof(*e));
}

int SDF_CloseSession(void *hSessionHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);

	if (!s)
		return SDR_OPENSESSION;
	vsm_sdf_hash_close(s);
	vsm_sdf_sym_reset(s);
	for (size_t i = 0; i < SDF_CACHE; i++)
		if (s->cache[i].kind != SDF_C_NONE)
			cache_drop(s, &s->cache[i]);
	vsm_sdf_keys_free(s);
	vsm_close(s->c);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	return SDR_OK;
}

/* GM/T 0006 ability bits for what vsmd's HELLO says it supports. */
int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	const struct vsm_wire_hello_resp *h;
	DEVICEINFO *di = pstDeviceInfo;

	if (!s)
		return SDR_OPENSESSION;
	if (!di)
		return SDR_OUTARGERR;
	h = vsm_info(s->c);
	memset(di, 0, sizeof(*di));
	memcpy(di->IssuerName, "vsm project", 11);
	memcpy(di->DeviceName, "vsm virtual card", 16);
	/* date || batch || serial: a virtual card has one of each. */
	memcpy(di->DeviceSerial,
	       "20260101001"
	       "00001",
	       16);
	di->DeviceVersion = 0x00000100;
	di->StandardVersion = 1;
	if (vsm_alg_supported(s->c, VSM_ALG_SM2))
		di->AsymAlgAbility[0] |= SGD_SM2_1 | SGD_SM2_2 | SGD_SM2_3;
	if (vsm_alg_supported(s->c, VSM_ALG_RSA)) {
		di->AsymAlgAbility[0] |= SGD_RSA;
		di->AsymAlgAbility[1] = 1024 | 2048;
	}
	if (vsm_alg_supported(s->c, VSM_ALG_SM4_ECB))
		di->SymAlgAbility |= SGD_SM4_ECB | SGD_SM4_MAC;
	if (vsm_alg_supported(s->c, VSM_ALG_SM4_CBC))
		di->SymAlgAbility |= SGD_SM4_CBC;
	if (vsm_alg_supported(s->c, VSM_ALG_SM3))
		di->HashAlgAbility |= SGD_SM3;
	if (vsm_alg_supported(s->c, VSM_ALG_SHA1))
		di->HashAlgAbility |= SGD_SHA1;
	if (vsm_alg_supported(s->c, VSM_ALG_SHA256))
		di->HashAlgAbility |= SGD_SHA256;
	di->BufferSize = h ? h->max_msg : 0;
	return SDR_OK;
}

int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength, unsigned char *pucRandom)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	const struct vsm_wire_hello_resp *h;
	size_t chunk, done = 0;

	if (!s)
		return SDR_OPENSESSION;
	if (uiLength == 0)
		return SDR_INARGERR;
	if (!pucRandom)
		return SDR_OUTARGERR;
	h = vsm_info(s->c);
	chunk = h && h->max_msg ? h->max_msg : 4096;
	while (done < uiLength) {
		size_t n = uiLength - done < chunk ? uiLength - done : chunk;
		int rc = vsm_random(s->c, pucRandom + done, n);

		if (rc)
			return vsm_sdf_rc(s, rc, SDF_X_RAND);
		done += n;
	}
	return SDR_OK;
}

const struct sdf_right *vsm_sdf_right(const struct sdf_session *s, uint32_t index)
{
	for (size_t i = 0; i < SDF_RIGHTS; i++)
		if (s->rights[i].set && s->rights[i].index == index)
			return &s->rights[i];
	return NULL;
}

static struct sdf_cached *cache_slot(struct sdf_session *s)
{
	struct sdf_cached *old = NULL;

	for (size_t i = 0; i < SDF_CACHE; i++) {
		struct sdf_cached *e = &s->cache[i];

		if (e->kind == SDF_C_NONE)
			return e;
		/* An open HMAC chain keeps its session. */
		if (s->hmac_active && e->handle == s->hmac_handle)
			continue;
		if (!old || e->used < old->used)
			old = e;
	}
	cache_drop(s, old);
	return old;
}

static bool same_params(const struct sdf_cached *e, const struct vsm_session_params *p)
{
	return e->alg == p->alg && e->padding == p->padding && e->hash == p->hash &&
	       e->flags == p->flags;
}

static void cache_fill(struct sdf_session *s, struct sdf_cached *e, int kind,
		       const struct vsm_session_params *p, uint64_t h)
{
	e->kind = kind;
	e->alg = p->alg;
	e->padding = p->padding;
	e->hash = p->hash;
	e->flags = p->flags;
	e->handle = h;
	e->used = ++s->tick;
}

int vsm_sdf_internal(struct sdf_session *s, const struct vsm_session_params *p, int usage,
		     uint32_t index, bool priv, uint64_t *h, int ctx)
{
	const struct sdf_right *r = priv ? vsm_sdf_right(s, index) : NULL;
	struct sdf_cached *e;
	int rc;

	for (size_t i = 0; i < SDF_CACHE; i++) {
		e = &s->cache[i];
		if (e->kind == SDF_C_INTERNAL && e->usage == usage && e->index == index &&
		    e->priv == (r != NULL) && same_params(e, p)) {
			e->used = ++s->tick;
			*h = e->handle;
			return SDR_OK;
		}
	}
	e = cache_slot(s);
	rc = vsm_session_create_internal(s->c, p, usage, index, r ? r->pw : NULL, r ? r->pw_len : 0,
					 h);
	if (rc)
		return vsm_sdf_rc(s, rc, ctx);
	cache_fill(s, e, SDF_C_INTERNAL, p, *h);
	e->usage = usage;
	e->index = index;
	e->priv = r != NULL;
	return SDR_OK;
}

int vsm_sdf_keyobj(struct sdf_session *s, const struct vsm_session_params *p, uint64_t obj,
		   uint64_t *h, int ctx)
{
	struct sdf_cached *e;
	int rc;

	for (size_t i = 0; i < SDF_CACHE; i++) {
		e = &s->cache[i];
		if (e->kind == SDF_C_KEYOBJ && e->keyobj == obj && same_params(e, p)) {
			e->used = ++s->tick;
			*h = e->handle;
			return SDR_OK;
		}
	}
	e = cache_slot(s);
	rc = vsm_session_create_keyobj(s->c, p, obj, h);
	if (rc)
		return vsm_sdf_rc(s, rc, ctx);
	cache_fill(s, e, SDF_C_KEYOBJ, p, *h);
	e->keyobj = obj;
	return SDR_OK;
}

int vsm_sdf_public(struct sdf_session *s, const struct vsm_session_params *p, const void *spki,
		   size_t spki_len, uint64_t *h, int ctx)
{
	struct vsm_session_params q = *p;
	struct sdf_cached *e;
	int rc;

	for (size_t i = 0; i < SDF_CACHE; i++) {
		e = &s->cache[i];
		if (e->kind == SDF_C_PUBLIC && e->key_len == spki_len &&
		    !memcmp(e->key, spki, spki_len) && same_params(e, p)) {
			e->used = ++s->tick;
			*h = e->handle;
			return SDR_OK;
		}
	}
	q.key = spki;
	q.key_len = spki_len;
	rc = vsm_session_create(s->c, &q, h);
	if (rc)
		return vsm_sdf_rc(s, rc, ctx);
	if (spki_len > SDF_CACHE_KEY_MAX)
		return SDR_OK; /* the caller destroys uncached sessions */
	e = cache_slot(s);
	cache_fill(s, e, SDF_C_PUBLIC, p, *h);
	memcpy(e->key, spki, spki_len);
	e->key_len = spki_len;
	return SDR_OK;
}

void vsm_sdf_forget_keyobj(struct sdf_session *s, uint64_t obj)
{
	for (size_t i = 0; i < SDF_CACHE; i++)
		if (s->cache[i].kind == SDF_C_KEYOBJ && s->cache[i].keyobj == obj)
			cache_drop(s, &s->cache[i]);
}

void vsm_sdf_forget_index(struct sdf_session *s, uint32_t index)
{
	for (size_t i = 0; i < SDF_CACHE; i++)
		if (s->cache[i].kind == SDF_C_INTERNAL && s->cache[i].index == index)
			cache_drop(s, &s->cache[i]);
}

/*
 * The password is checked by opening a private session on the index's
 * signing key (else its encryption key); that session is kept for the
 * private operations that follow.
 */
int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
				 unsigned char *pucPassword, unsigned int uiPwdLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	static const int usages[2] = {VSM_KU_SIGN, VSM_KU_ENC};
	struct sdf_right *r = NULL;
	int rc = SDR_KEYNOTEXIST;

	if (!s)
		return SDR_OPENSESSION;
	if (uiKeyIndex == 0 || !pucPassword || uiPwdLength == 0 || uiPwdLength > SDF_PW_MAX)
		return SDR_INARGERR;
	vsm_sdf_forget_index(s, uiKeyIndex);
	for (size_t i = 0; i < SDF_RIGHTS; i++) {
		if (s->rights[i].set && s->rights[i].index == uiKeyIndex) {
			r = &s->rights[i];
			break;
		}
		if (!r && !s->rights[i].set)
			r = &s->rights[i];
	}
	if (!r)
		return SDR_NOBUFFER;
	r->set = true;
	r->index = uiKeyIndex;
	memcpy(r->pw, pucPassword, uiPwdLength);
	r->pw_len = uiPwdLength;

	for (size_t u = 0; u < 2 && rc == SDR_KEYNOTEXIST; u++) {
		struct vsm_session_params p = {.service = VSM_SVC_AKCIPHER};
		uint8_t der[1024];
		size_t der_len = sizeof(der);
		uint64_t h;

		rc = vsm_key_public(s->c, usages[u], uiKeyIndex, der, &der_len);
		if (rc) {
			rc = vsm_sdf_rc(s, rc, SDF_X_ACCESS);
			continue;
		}
		p.alg = vsm_sdf_spki_alg(der, der_len);
		if (p.alg < 0) {
			rc = SDR_KEYTYPEERR;
			break;
		}
		if (p.alg == VSM_ALG_SM2)
			p.flags = VSM_SESSF_PREHASHED;
		rc = vsm_sdf_internal(s, &p, usages[u], uiKeyIndex, true, &h, SDF_X_ACCESS);
	}
	if (rc != SDR_OK) {
		vsm_sdf_forget_index(s, uiKeyIndex);
		OPENSSL_cleanse(r, sizeof(*r));
	}
	return rc;
}

int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);

	if (!s)
		return SDR_OPENSESSION;
	if (uiKeyIndex == 0)
		return SDR_INARGERR;
	vsm_sdf_forget_index(s, uiKeyIndex);
	for (size_t i = 0; i < SDF_RIGHTS; i++)
		if (s->rights[i].set && s->rights[i].index == uiKeyIndex)
			OPENSSL_cleanse(&s->rights[i], sizeof(s->rights[i]));
	return SDR_OK;
}
