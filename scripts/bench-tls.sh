#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# TLS handshakes per second through nginx with the server's private key in
# vsmd (a keystore key, through the vsm provider and a key-reference file)
# against the same key in an ordinary PEM file. A benchmark, not a test: it
# prints medians and ratios and asserts nothing. docs/nginx.md has the method
# and measured figures.
#
#   scripts/bench-tls.sh [BUILD]          BUILD: a meson build dir (default: build)
#
# Environment (defaults in brackets):
#   RUNS [5]            runs per configuration; the median is reported
#   SECONDS_PER_RUN [5] s_time -time of each client in a run
#   CLIENTS [4]         s_time processes in parallel (each one handshake at a time)
#   ALGS ["rsa ec"]     rsa = RSA-2048, ec = ECDSA P-256
#   WHERE ["file vsm"]  file: PEM key, no provider; vsm: keystore key through a
#                       key-reference file; offload: the PEM key with
#                       default_properties = ?provider=vsm (vsmd session key)
#   PROTO [tls1_3]      tls1_3 or tls1_2 (s_time flag)
#   NGINX_CPU [0]       the core nginx (master + 1 worker) is pinned to
#   VSMD_CPU [1]        the core vsmd (1 worker) is pinned to
#   CLIENT_CPU [VSMD_CPU] the core(s) of the s_time clients (taskset -c list)
#   NGINX [/usr/sbin/nginx], OPENSSL [openssl]
#
# The clients cost CPU too: on a 2-core machine they share vsmd's core, so
# the "vsm" figures are, if anything, pessimistic. Keep-alive, session cache
# and tickets are off, and s_time -new makes a full handshake per connection.
set -eu

BUILD=${1:-build}
RUNS=${RUNS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CLIENTS=${CLIENTS:-4}
ALGS=${ALGS:-rsa ec}
WHERE=${WHERE:-file vsm}
PROTO=${PROTO:-tls1_3}
NGINX_CPU=${NGINX_CPU:-0}
VSMD_CPU=${VSMD_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-$VSMD_CPU}
NGINX=${NGINX:-/usr/sbin/nginx}
OPENSSL=${OPENSSL:-openssl}

die() {
	echo "bench-tls: $*" >&2
	exit 1
}

BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die "no build directory '${1:-build}'"
VSMD=$BUILD/src/daemon/vsmd
VSMCTL=$BUILD/tools/vsmctl
MODULE_DIR=$BUILD/src/provider
for f in "$VSMD" "$VSMCTL" "$MODULE_DIR/vsm.so" "$NGINX"; do
	[ -x "$f" ] || [ -f "$f" ] || die "missing $f (build first: ninja -C $BUILD)"
done
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v "$OPENSSL" >/dev/null || die "no $OPENSSL"
case $PROTO in tls1_2 | tls1_3) ;; *) die "PROTO must be tls1_2 or tls1_3" ;; esac

DIR=$(mktemp -d /tmp/vsm-bench-tls.XXXXXX)
VSMD_PID=
NGINX_PID=
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	[ -n "$VSMD_PID" ] && kill "$VSMD_PID" 2>/dev/null && wait "$VSMD_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

free_port() {
	# A port nobody listens on right now (good enough for a benchmark).
	while :; do
		p=$(($(od -An -N2 -tu2 /dev/urandom) % 20000 + 30000))
		if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo $p
			return
		fi
	done
}

wait_for() { # wait_for TEST... : up to 10 s
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt 1000 ] || return 1
		sleep 0.01
	done
}

port_open() { (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# ---- vsmd: one worker on its own core, keystore in the temp dir ----
cat >"$DIR/vsmd.conf" <<EOF
[vsmd]
workers = 1
log_level = warn
unix_socket = $DIR/vsmd.sock
socket_mode = 0600
control_socket = $DIR/control.sock
metrics_listen =

[keystore]
path = $DIR/keystore.db
master_key = $DIR/master.key
kdf_iterations = 1000
EOF
taskset -c "$VSMD_CPU" "$VSMD" -c "$DIR/vsmd.conf" >"$DIR/vsmd.log" 2>&1 &
VSMD_PID=$!
wait_for test -S "$DIR/vsmd.sock" || die "vsmd did not start: $(cat "$DIR/vsmd.log")"
wait_for test -S "$DIR/control.sock" || die "no control socket"

TENANT=uid-$(id -u)
PW=bench-password
write_cnf() { # write_cnf FILE [openssl_init LINE] [EXTRA SECTION]
	cat >"$1" <<EOF
openssl_conf = openssl_init

[openssl_init]
providers = provider_sect
${2:-}

[provider_sect]
default = default_sect
vsm = vsm_sect

[default_sect]
activate = 1

[vsm_sect]
module = $MODULE_DIR/vsm.so
vsm_uri = unix:$DIR/vsmd.sock
vsm_key_password = $PW
activate = 1
${3:-}
EOF
}
write_cnf "$DIR/openssl.cnf"
write_cnf "$DIR/offload.cnf" "alg_section = algorithm_sect" "
[algorithm_sect]
default_properties = ?provider=vsm"

# ---- keys: the same key material in a file and in the keystore ----
index=0
for alg in $ALGS; do
	index=$((index + 1))
	case $alg in
	rsa) gen="-algorithm RSA -pkeyopt rsa_keygen_bits:2048" type=rsa ;;
	ec) gen="-algorithm EC -pkeyopt ec_paramgen_curve:P-256" type=ecdsa-p256 ;;
	*) die "unknown ALGS entry '$alg' (rsa, ec)" ;;
	esac
	# shellcheck disable=SC2086
	"$OPENSSL" genpkey $gen -out "$DIR/$alg.pem" 2>/dev/null
	"$OPENSSL" req -x509 -new -key "$DIR/$alg.pem" -subj /CN=localhost -days 2 \
		-out "$DIR/$alg.crt" 2>/dev/null
	"$VSMCTL" -S "$DIR/control.sock" key import --tenant "$TENANT" --usage sign \
		--index "$index" --type "$type" --file "$DIR/$alg.pem" --password "$PW" \
		--label "bench-$alg" >/dev/null || die "vsmctl key import failed"
	{
		echo "-----BEGIN VSM KEY REFERENCE-----"
		printf 'vsm:label=bench-%s' "$alg" | base64
		echo "-----END VSM KEY REFERENCE-----"
	} >"$DIR/$alg.ref"
done

# ---- nginx: master + 1 worker on one core, no keep-alive, no resumption ----
start_nginx() { # start_nginx ALG KEYFILE PORT [OPENSSL_CONF]
	mkdir -p "$DIR/nginx/tmp"
	user=
	[ "$(id -u)" = 0 ] && user="user $(id -un);"
	cat >"$DIR/nginx/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
env OPENSSL_CONF;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  keepalive_timeout 0;
  ssl_session_cache off;
  ssl_session_tickets off;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$3 ssl;
    ssl_certificate $DIR/$1.crt;
    ssl_certificate_key $2;
    location / { return 200 "ok\n"; }
  }
}
EOF
	if [ -n "${4:-}" ]; then
		OPENSSL_CONF=$4 taskset -c "$NGINX_CPU" "$NGINX" -p "$DIR/nginx/" \
			-c "$DIR/nginx/nginx.conf" -e stderr >"$DIR/nginx/out.log" 2>&1 &
	else
		taskset -c "$NGINX_CPU" "$NGINX" -p "$DIR/nginx/" -c "$DIR/nginx/nginx.conf" \
			-e stderr >"$DIR/nginx/out.log" 2>&1 &
	fi
	NGINX_PID=$!
	wait_for port_open "$3" ||
		die "nginx did not start: $(cat "$DIR/nginx/out.log" "$DIR/nginx/error.log" 2>/dev/null)"
}

stop_nginx() {
	kill -QUIT "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=
}

# One run: CLIENTS s_time -new in parallel; prints handshakes per second.
run_once() { # run_once PORT
	i=0
	pids=
	start=$(date +%s.%N)
	while [ $i -lt "$CLIENTS" ]; do
		taskset -c "$CLIENT_CPU" "$OPENSSL" s_time -connect "127.0.0.1:$1" -new \
			-"$PROTO" -time "$SECONDS_PER_RUN" >"$DIR/s_time.$i" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait "$p" || true; done
	end=$(date +%s.%N)
	total=0
	i=0
	while [ $i -lt "$CLIENTS" ]; do
		# "N connections in X.XXs; ..." (the first summary line: new connections)
		n=$(sed -n 's/^\([0-9][0-9]*\) connections in .*/\1/p' "$DIR/s_time.$i" | head -1)
		[ -n "$n" ] || die "s_time failed: $(cat "$DIR/s_time.$i")"
		total=$((total + n))
		i=$((i + 1))
	done
	echo "$total $start $end" | awk '{ printf "%.1f\n", $1 / ($3 - $2) }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "bench-tls: $(uname -m), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "bench-tls: $("$OPENSSL" version), $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "bench-tls: nginx on cpu $NGINX_CPU, vsmd on cpu $VSMD_CPU, $CLIENTS s_time -new -$PROTO on cpu $CLIENT_CPU, $RUNS runs x ${SECONDS_PER_RUN}s"
printf '%-6s %-8s %12s   %s\n' alg key "handshakes/s" "runs"
for alg in $ALGS; do
	for where in $WHERE; do
		port=$(free_port)
		case $where in
		file) start_nginx "$alg" "$DIR/$alg.pem" "$port" ;;
		vsm) start_nginx "$alg" "$DIR/$alg.ref" "$port" "$DIR/openssl.cnf" ;;
		offload) start_nginx "$alg" "$DIR/$alg.pem" "$port" "$DIR/offload.cnf" ;;
		*) die "unknown WHERE entry '$where' (file, vsm, offload)" ;;
		esac
		runs=
		r=0
		while [ $r -lt "$RUNS" ]; do
			runs="$runs $(run_once "$port")"
			r=$((r + 1))
		done
		stop_nginx
		m=$(echo "$runs" | tr ' ' '\n' | grep . | median)
		eval "med_${alg}_$where=$m"
		printf '%-6s %-8s %12s  %s\n' "$alg" "$where" "$m" "$runs"
	done
	f=$(eval "echo \${med_${alg}_file:-}")
	[ -n "$f" ] || continue
	for where in $WHERE; do
		[ "$where" = file ] && continue
		v=$(eval "echo \$med_${alg}_$where")
		echo "$alg: $where/file = $(echo "$v $f" | awk '{ printf "%.2f", $1 / $2 }')"
	done
done
