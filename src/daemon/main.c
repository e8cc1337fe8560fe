/* SPDX-License-Identifier: Apache-2.0 */
/* vsmd: the vsm back-end daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <vsm/vsm.h>

#include "daemon/admin.h"
#include "daemon/config.h"
#include "daemon/control.h"
#include "daemon/metrics.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/worker.h"
#include "engine/engine.h"
#include "transport/ivshmem.h"
#include "keystore/keystore.h"
#include "vhost/vhost.h"
#include "transport/stream.h"

#define DEFAULT_CONFIG "/etc/vsm/vsmd.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsmd [OPTIONS]\n"
		"\n"
		"vsmd is the vsm back-end: a software crypto card shared by many tenants\n"
		"(VMs, containers, processes). Clients reach it through libvsm, libsdf-vsm,\n"
		"the OpenSSL provider or virtio-crypto. It runs in the foreground and logs\n"
		"to stderr; SIGTERM or SIGINT makes it finish queued requests and exit.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE      INI configuration (default " DEFAULT_CONFIG " if it\n"
		"                         exists, else embedded defaults; see\n"
		"                         docs/configuration.md)\n"
		"  -s, --socket PATH      unix socket to listen on (default " VSM_DEFAULT_SOCKET
		");\n"
		"                         \"none\" disables it\n"
		"  -t, --tcp HOST:PORT    also listen on TCP; clients are tenant 'tcp_tenant'\n"
		"      --vsock PORT       also listen on AF_VSOCK (guest CID -> tenant)\n"
		"      --control PATH     administrator's control socket (default\n"
		"                         " VSM_DEFAULT_CONTROL_SOCKET "); \"none\" disables it\n"
		"      --metrics HOST:PORT  Prometheus /metrics "
		"(default " VSM_DEFAULT_METRICS_LISTEN ");\n"
		"                         \"none\" disables it\n"
		"  -w, --workers N        worker threads (default: online cores)\n"
		"  -l, --log-level LEVEL  error, warn, info (default) or debug\n"
		"      --check-config     validate the configuration, print the effective\n"
		"                         settings and exit (0 valid, 1 invalid)\n"
		"  -h, --help             this text\n"
		"      --version          print the version\n"
		"\n"
		"Tenants: a unix-socket client is the tenant whose 'uids' list holds its uid\n"
		"(SO_PEERCRED); with auto_tenants=yes any other uid N gets tenant 'uid-N'.\n"
		"A tenant never sees another tenant's sessions or keys.\n"
		"\n"
		"Examples:\n"
		"  vsmd -s /tmp/vsm.sock                 # try it, no config file needed\n"
		"  vsmd -c /etc/vsm/vsmd.conf --check-config\n"
		"  vsmd -c /etc/vsm/vsmd.conf -t 127.0.0.1:7300 -l debug\n"
		"  VSM_URI=unix:/tmp/vsm.sock vsm-bench -a aes-128-gcm,sm3 -s 4096\n");
}

enum { OPT_CHECK = 256, OPT_VSOCK, OPT_VERSION, OPT_CONTROL, OPT_METRICS };

static const struct option long_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"socket", required_argument, NULL, 's'},
	{"tcp", required_argument, NULL, 't'},
	{"vsock", required_argument, NULL, OPT_VSOCK},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"workers", required_argument, NULL, 'w'},
	{"log-level", required_argument, NULL, 'l'},
	{"check-config", no_argument, NULL, OPT_CHECK},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{0},
};

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * A descriptor kept in reserve: when accept fails for lack of descriptors,
 * the pending connection is accepted on it and closed at once. Without it
 * the level-triggered listener would wake the accept loop forever.
 */
static int reserve_fd = -1;

static void shed_one(int lfd)
{
	static uint64_t last_log, shed;
	shed++;
	if (reserve_fd >= 0) {
		close(reserve_fd);
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	uint64_t now = vsm_now_ms();
	if (now - last_log >= 1000) {
		log_warn("out of file descriptors: %llu connections refused (raise LimitNOFILE or "
			 "lower max_conns)",
			 (unsigned long long)shed);
		last_log = now;
		shed = 0;
	}
}

/*
 * A QEMU ivshmem-doorbell device connected to a tenant's ivshmem socket:
 * the region exists from the start, and the guest, which cannot speak
 * HELLO, finds what HELLO would say in the region's header.
 */
static int ivshmem_bind(struct vsm_conn *c)
{
	struct vsm_tenant *t = c->t;
	char err[160];
	uint8_t algs[VSM_ALG__MAX / 8];
	c->is_ivshmem = true;
	vsm_router_algs(algs);
	c->shm = vsm_shm_create(0, 0, t->limits.max_msg, t->name, algs, err, sizeof(err));
	if (!c->shm) {
		log_warn("tenant %s: ivshmem region: %s", t->name, err);
		return -1;
	}
	c->shm->hdr->vsmd_peer = VSM_IVSHMEM_VSMD_PEER;
	if (vsm_ivshmem_handshake(c->fd, c->shm) < 0) {
		log_warn("tenant %s: ivshmem handshake: %s", t->name, strerror(errno));
		return -1;
	}
	close(c->shm->memfd); /* QEMU has it; our mapping keeps the region */
	c->shm->memfd = -1;
	c->ps.hello_done = true;
	c->ps.version = VSM_WIRE_VERSION;
	c->ps.features = VSM_FEAT_MULTIPART | VSM_FEAT_OUT_OF_ORDER;
	log_info("tenant %s: QEMU attached on %s (%u entries, %u KiB data)", t->name, c->peer,
		 c->shm->entries, c->shm->data_size >> 10);
	return 0;
}

/* Every connection is a descriptor: use what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct vsm_config conf;
	const char *config_path = NULL, *opt_socket = NULL, *opt_tcp = NULL;
	const char *opt_control = NULL, *opt_metrics = NULL;
	int opt_log = -1;
	unsigned opt_workers = 0, opt_vsock = 0;
	bool have_workers = false, have_vsock = false, check = false;
	char err[512];

	int o;
	while ((o = getopt_long(argc, argv, "c:s:t:w:l:h", long_opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 't':
			opt_tcp = optarg;
			break;
		case OPT_CONTROL:
			opt_control = optarg;
			break;
		case OPT_METRICS:
			opt_metrics = optarg;
			break;
		case OPT_VSOCK:
			if (parse_uint(optarg, 0xfffffffeu, &opt_vsock)) {
				fprintf(stderr, "vsmd: --vsock needs a port number\n");
				return 2;
			}
			have_vsock = true;
			break;
		case 'w':
			if (parse_uint(optarg, 256, &opt_workers)) {
				fprintf(stderr, "vsmd: --workers needs 0..256\n");
				return 2;
			}
			have_workers = true;
			break;
		case 'l':
			opt_log = vsm_log_level_parse(optarg);
			if (opt_log < 0) {
				fprintf(stderr,
					"vsmd: --log-level is error, warn, info or debug\n");
				return 2;
			}
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("vsmd %s (wire protocol %u)\n", VSM_VERSION, VSM_WIRE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vsmd: unexpected argument '%s' (see vsmd --help)\n", argv[optind]);
		return 2;
	}

	vsm_config_defaults(&conf);
	if (!config_path && access(DEFAULT_CONFIG, F_OK) == 0)
		config_path = DEFAULT_CONFIG;
	if (config_path && vsm_config_load(&conf, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vsmd: %s\n", err);
		vsm_config_free(&conf);
		return 1;
	}
	if (opt_socket)
		snprintf(conf.unix_socket, sizeof(conf.unix_socket), "%s",
			 strcmp(opt_socket, "none") ? opt_socket : "");
	if (opt_tcp)
		snprintf(conf.tcp_listen, sizeof(conf.tcp_listen), "%s", opt_tcp);
	if (opt_control)
		snprintf(conf.control_socket, sizeof(conf.control_socket), "%s",
			 strcmp(opt_control, "none") ? opt_control : "");
	if (opt_metrics)
		snprintf(conf.metrics_listen, sizeof(conf.metrics_listen), "%s",
			 strcmp(opt_metrics, "none") ? opt_metrics : "");
	if (have_vsock)
		conf.vsock_port = opt_vsock;
	if (have_workers)
		conf.workers = opt_workers;
	if (opt_log >= 0)
		conf.log_level = opt_log;
	if (vsm_config_finish(&conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "vsmd: %s%s%s\n", config_path ? config_path : "",
			config_path ? ": " : "", err);
		vsm_config_free(&conf);
		return 1;
	}
	if (check) {
		printf("# %s: configuration is valid\n",
		       config_path ? config_path : "embedded defaults");
		vsm_config_print(&conf, stdout);
		vsm_config_free(&conf);
		return 0;
	}
	vsm_log_level = conf.log_level;

	/* Signals arrive on a descriptor, so shutdown is ordinary control flow. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	raise_nofile();
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (vsm_router_init() < 0) {
		log_err("crypto engine initialisation failed");
		return 1;
	}
	if (vsm_keystore_open(&conf.keystore, err, sizeof(err)) < 0) {
		/* A keystore the operator asked for must work; the default one may be absent. */
		if (conf.keystore.path_set) {
			log_err("keystore: %s", err);
			return 1;
		}
		log_warn("keystore disabled: %s (set [keystore] path to enable it)", err);
	}
	vsm_admin_init(config_path, &conf);
	if (vsm_tenants_init(&conf) < 0) {
		log_err("cannot create the configured tenants");
		return 1;
	}

	/* unix, TCP, vsock, and one ivshmem socket per tenant that asks for it */
	unsigned max_listeners = 3 + conf.n_tenants;
	struct vsm_listener *ls = calloc(max_listeners, sizeof(*ls));
	unsigned nl = 0;
	if (!ls) {
		log_err("out of memory");
		return 1;
	}
	int rc = 0;
	if (conf.unix_socket[0]) {
		if (vsm_listen_unix(&ls[nl], conf.unix_socket, conf.socket_mode, err, sizeof(err)))
			goto listen_failed;
		nl++;
	}
	if (conf.tcp_listen[0]) {
		if (vsm_listen_tcp(&ls[nl], conf.tcp_listen, err, sizeof(err)))
			goto listen_failed;
		nl++;
	}
	if (conf.vsock_port) {
		if (vsm_listen_vsock(&ls[nl], conf.vsock_port, err, sizeof(err)))
			goto listen_failed;
		nl++;
	}
	for (unsigned i = 0; i < conf.n_tenants; i++) {
		const struct vsm_tenant_conf *tc = &conf.tenants[i];
		if (!tc->ivshmem_socket[0])
			continue;
		if (vsm_listen_unix(&ls[nl], tc->ivshmem_socket, conf.socket_mode, err,
				    sizeof(err)))
			goto listen_failed;
		ls[nl].kind = VSM_LISTEN_IVSHMEM;
		snprintf(ls[nl].tenant, sizeof(ls[nl].tenant), "%s", tc->name);
		snprintf(ls[nl].desc, sizeof(ls[nl].desc), "ivshmem:%s (tenant %s)",
			 tc->ivshmem_socket, tc->name);
		nl++;
	}

	unsigned nw = conf.workers ? conf.workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (nw == 0)
		nw = 1;
	vsm_dispatch_workers = nw;
	vsm_dispatch_start_ms = vsm_now_ms();
	if (vsm_workers_start(nw) < 0) {
		log_err("cannot start %u workers: %s", nw, strerror(errno));
		return 1;
	}

	if (vsm_vhost_start(&conf, err, sizeof(err)) < 0) {
		log_err("vhost-user: %s", err);
		vsm_workers_drain(0);
		rc = 1;
		goto listen_failed_quiet;
	}
	/* Operator interfaces are not worth refusing service over: warn and go on. */
	if (vsm_control_start(&conf, err, sizeof(err)) < 0)
		log_warn("control socket: %s", err);
	if (vsm_metrics_start(&conf, err, sizeof(err)) < 0)
		log_warn("metrics: %s", err);

	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = max_listeners};
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	for (unsigned i = 0; i < nl; i++) {
		ev.data.u32 = i;
		epoll_ctl(epfd, EPOLL_CTL_ADD, ls[i].fd, &ev);
		log_info("listening on %s", ls[i].desc);
	}
	log_info("vsmd %s ready: %u workers, %u configured tenants, auto_tenants=%s%s%s",
		 VSM_VERSION, nw, conf.n_tenants, conf.auto_tenants ? "yes" : "no",
		 config_path ? ", config " : "", config_path ? config_path : "");

	bool running = true;
	while (running) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, -1);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;
			if (k == max_listeners) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						char rerr[512];
						vsm_admin_reload(rerr, sizeof(rerr));
						continue;
					}
					log_info("%s: draining", strsignal((int)si.ssi_signo));
					running = false;
				}
				continue;
			}
			for (;;) {
				struct vsm_tenant *t;
				char peer[64];
				int fd = vsm_listener_accept(&ls[k], &conf, &t, peer, sizeof(peer));
				if (fd < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					if (errno == EPERM || errno == ECONNABORTED)
						continue;
					if (errno == EMFILE || errno == ENFILE) {
						shed_one(ls[k].fd);
						continue;
					}
					break;
				}
				struct vsm_conn *c = vsm_conn_new(fd, t, peer);
				if (!c) {
					close(fd);
					vsm_tenant_detach(t);
					continue;
				}
				if (ls[k].kind == VSM_LISTEN_UNIX) {
					c->is_unix = true;
					c->ps.offer = VSM_FEAT__ALL;
				}
				if (ls[k].kind == VSM_LISTEN_IVSHMEM && ivshmem_bind(c) < 0) {
					vsm_conn_free(c);
					continue;
				}
				vsm_workers_adopt(c);
			}
		}
	}

	for (unsigned i = 0; i < nl; i++)
		vsm_listener_close(&ls[i]);
	free(ls);
	vsm_vhost_stop();
	vsm_metrics_stop();
	vsm_control_stop();
	vsm_workers_drain(conf.drain_timeout_ms);
	vsm_tenants_fini();
	vsm_keystore_close();
	vsm_router_fini();
	close(epfd);
	close(sfd);
	vsm_config_free(&conf);
	log_info("stopped");
	return 0;

listen_failed:
	log_err("%s", err);
	rc = 1;
listen_failed_quiet:
	for (unsigned i = 0; i < nl; i++)
		vsm_listener_close(&ls[i]);
	free(ls);
	vsm_tenants_fini();
	vsm_keystore_close();
	vsm_router_fini();
	vsm_config_free(&conf);
	return rc;
}
