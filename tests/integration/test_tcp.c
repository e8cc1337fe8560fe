/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TCP transport: same protocol, and every TCP client is the tenant named
 * by tcp_tenant (a TCP peer has no uid to map).
 */
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "harness.h"
#include "ref.h"

static int t_tcp(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.tcp = true, .vsmd_keys = "tcp_tenant = tcpten"};
	vh_start(&d, &o);
	vsm_client *c = vh_connect(d.tcp_uri);
	VH_CHECK(!strcmp(vsm_info(c)->tenant, "tcpten"), "HELLO tenant '%s'", vsm_info(c)->tenant);
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_CHECK(!strcmp(st.tenant, "tcpten"), "STATUS tenant '%s'", st.tenant);

	/* hash */
	uint8_t out[256], want[256];
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, hs, "abc", 3, out, &n));
	vh_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
		 sizeof(want));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);

	/* aead */
	static const uint8_t key[32] = "a 256-bit key for AES-GCM tests", iv[12] = "nonce-nonce";
	static const char pt[] = "over TCP this time";
	uint64_t gs = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	n = sizeof(out);
	VH_OK(vsm_encrypt(c, gs, iv, sizeof(iv), pt, sizeof(pt), out, &n));
	vh_aes_gcm(key, sizeof(key), iv, NULL, 0, pt, sizeof(pt), want);
	VH_EQ(n, sizeof(pt) + 16);
	VH_MEMEQ(out, want, n);
	uint8_t back[64];
	size_t m = sizeof(back);
	VH_OK(vsm_decrypt(c, gs, iv, sizeof(iv), out, n, back, &m));
	VH_EQ(m, sizeof(pt));
	VH_MEMEQ(back, pt, m);

	/* sign */
	EVP_PKEY *k = vh_ec_p256_new();
	size_t der_len;
	uint8_t *der = vh_der_pkcs8(k, &der_len);
	struct vsm_session_params p = {
		.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_ECDSA, .key = der, .key_len = der_len};
	uint64_t es = 0;
	VH_OK(vsm_session_create(c, &p, &es));
	n = sizeof(out);
	VH_OK(vsm_sign(c, es, pt, sizeof(pt), out, &n));
	VH_CHECK(vh_verify_sha256(k, pt, sizeof(pt), out, n), "signature made over TCP is bad");
	VH_OK(vsm_verify(c, es, pt, sizeof(pt), out, n));
	OPENSSL_free(der);
	EVP_PKEY_free(k);

	/* The unix socket is another tenant: the TCP tenant's handles are foreign there. */
	vsm_client *u = vh_connect(d.uri);
	VH_CHECK(strcmp(vsm_info(u)->tenant, "tcpten") != 0, "unix client is tenant tcpten");
	n = sizeof(out);
	VH_STATUS(u, vsm_digest(u, hs, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	vsm_close(u);
	/* A second TCP connection shares the tenant, and so its sessions. */
	vsm_client *c2 = vh_connect(d.tcp_uri);
	n = sizeof(out);
	VH_OK(vsm_digest(c2, hs, "abc", 3, out, &n));
	VH_OK(vsm_status(c2, &st));
	VH_EQ(st.sessions, 3);
	vsm_close(c2);

	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"tcp", t_tcp, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
