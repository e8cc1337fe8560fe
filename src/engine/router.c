/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Algorithm -> engine routing. Engines are initialised in priority order and
 * the first one that advertises an algorithm serves it. Today the software
 * engine is the only one; a card or afalg engine goes in front of it here.
 * The table is written once by vsm_router_init and only read afterwards.
 */
#include <string.h>

#include "engine/engine.h"

static const struct vsm_engine *const engines[] = {
	&vsm_engine_soft,
};

#define N_ENGINES (sizeof(engines) / sizeof(engines[0]))

static const struct vsm_engine *routes[VSM_ALG__MAX];
static int engine_up[N_ENGINES];

int vsm_router_init(void)
{
	int any = 0;

	memset(routes, 0, sizeof(routes));
	for (size_t i = 0; i < N_ENGINES; i++) {
		uint8_t bitmap[VSM_ALG__MAX / 8] = {0};

		if (engines[i]->init() != VSM_S_OK)
			continue;
		engine_up[i] = 1;
		any = 1;
		engines[i]->algs(bitmap);
		for (int alg = 0; alg < VSM_ALG__MAX; alg++)
			if (!routes[alg] && (bitmap[alg / 8] & (1u << (alg % 8))))
				routes[alg] = engines[i];
	}
	return any ? VSM_S_OK : VSM_S_ERR;
}

void vsm_router_fini(void)
{
	memset(routes, 0, sizeof(routes));
	for (size_t i = 0; i < N_ENGINES; i++) {
		if (engine_up[i])
			engines[i]->fini();
		engine_up[i] = 0;
	}
}

const struct vsm_engine *vsm_router_get(int alg)
{
	if (alg < 0 || alg >= VSM_ALG__MAX)
		return NULL;
	return routes[alg];
}

void vsm_router_algs(uint8_t *bitmap)
{
	memset(bitmap, 0, VSM_ALG__MAX / 8);
	for (int alg = 0; alg < VSM_ALG__MAX; alg++)
		if (routes[alg])
			bitmap[alg / 8] |= (uint8_t)(1u << (alg % 8));
}
