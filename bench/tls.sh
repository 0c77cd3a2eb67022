#!/usr/bin/env bash
# tls.sh: the SIP-over-TLS benchmark, called by run.sh (or alone): build/bench/bench_tls opens
# TLS_CONNS persistent TLS connections (full handshakes, 50 at a time: handshakes/s on their own),
# then each connection REGISTERs with MD5 digest over and over (REGISTER, 401, REGISTER with
# credentials, 200) for TLS_REGS registrations or BENCH_SECS: registrations/s, handshakes
# excluded. Against mikakad (tlsenable=yes, its self-signed certificate) and Kamailio with its
# tls module (the same registrar as bench/register.sh's peer, a certificate made here) in the same
# run. Memory per idle TLS connection: the growth of mikakad's RssAnon (Kamailio: Pss summed over
# its processes, as its connections live in shared memory) from before the first connection to
# all of them open and idle, divided by the connections. Prints "name value" lines:
# tls_{mk,kam}_hs_per_sec, tls_{mk,kam}_regs_per_sec, tls_{mk,kam}_bytes_per_conn,
# tls_{mk,kam}_detail.
# Knobs: TLS_CONNS (1000), TLS_REGS (50000), BENCH_SECS (15), BUILD (build), BENCH_KEEP=1.
# Uses only 127.0.0.0/8 and stops every process it started, by PID.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
CONNS=${TLS_CONNS:-1000}
REGS=${TLS_REGS:-50000}
SECS=${BENCH_SECS:-15}
KAM_BIN=${KAM_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
KAM_CHILDREN=${KAM_CHILDREN:-2}
MK_ADDR=127.0.0.26
KAM_ADDR=127.0.0.27
CLI_ADDR=127.0.0.28
PORT=5061

BENCH_NAME=tls
. "$(dirname "$0")/lib.sh"
# The open-file limit: as high as the hard limit allows (the daemons inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((CONNS + 200)) ]; then
	CONNS=$((nofile - 200))
	say "open-file limit $nofile: $CONNS connections"
fi
[ -x "$BUILD/bench/bench_tls" ] || { say "$BUILD/bench/bench_tls not built"; exit 1; }

mk_start()
{
	mkdir -p "$WORK/mk"
	{
		printf '[general]\nudpbindaddr=%s\nbindport=5060\ntcpenable=no\nrealm=mikaka\n' "$MK_ADDR"
		printf 'tlsenable=yes\ntlsbindaddr=%s:%s\n' "$MK_ADDR" "$PORT"
		printf 'maxexpiry=3600\n[u](!)\ntype=friend\nhost=dynamic\nsecret=pw\n'
		for i in $(seq 0 $((CONNS - 1))); do printf '[%d](u)\n' $((100000 + i)); done
	} >"$WORK/mk/sip.conf"
	printf '[registrar]\nban_failures=0\n[sip]\ntcp_max_connections=%d\ntcp_max_connections_per_address=%d\ntcp_idle_timeout=3600\n' \
		$((CONNS + 100)) $((CONNS + 100)) >"$WORK/mk/mikaka.conf"
	rm -f "$WORK/mk/mikaka.db"*
	"$BUILD/mikakad" -C "$WORK/mk" -s "$WORK/mk/ctl" -d "$WORK/mk/mikaka.db" -q \
		>>"$WORK/mk/log" 2>&1 &
	mk_pid=$!
	PIDS+=("$mk_pid")
	for _ in $(seq 1 50); do
		"$BUILD/mikaka" -s "$WORK/mk/ctl" core show version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	say "mikakad did not start: $(tail -n 5 "$WORK/mk/log")"
	return 1
}

kam_start()
{
	mkdir -p "$WORK/kam"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj "/CN=$KAM_ADDR" -keyout "$WORK/kam/key.pem" -out "$WORK/kam/cert.pem" \
		>/dev/null 2>&1 || { say "openssl req failed"; return 1; }
	cat >"$WORK/kam/tls.cfg" <<-EOF
	[server:default]
	method = TLSv1.2+
	verify_certificate = no
	require_certificate = no
	private_key = $WORK/kam/key.pem
	certificate = $WORK/kam/cert.pem
	EOF
	# bench/register.sh's registrar, over TLS: the tls module, TCP workers, room for CONNS.
	cat >"$WORK/kam/kamailio.cfg" <<-EOF
	#!KAMAILIO
	debug=0
	log_stderror=yes
	auto_aliases=no
	enable_tls=yes
	disable_tcp=no
	tcp_children=$KAM_CHILDREN
	tcp_max_connections=$((CONNS + 100))
	tls_max_connections=$((CONNS + 100))
	tcp_connection_lifetime=3600
	max_while_loops=1000000
	loadmodule "tls.so"
	loadmodule "sl.so"
	loadmodule "pv.so"
	loadmodule "usrloc.so"
	loadmodule "registrar.so"
	loadmodule "auth.so"
	loadmodule "htable.so"
	modparam("tls", "config", "$WORK/kam/tls.cfg")
	modparam("usrloc", "db_mode", 0)
	modparam("htable", "htable", "users=>size=16;")
	modparam("auth", "qop", "auth")
	modparam("auth", "nonce_count", 1)
	modparam("auth", "nonce_expire", 300)
	event_route[htable:mod-init] {
		\$var(i) = 0;
		while (\$var(i) < $CONNS) {
			\$var(k) = 100000 + \$var(i);
			\$sht(users=>\$var(k)) = "pw";
			\$var(i) = \$var(i) + 1;
		}
	}
	request_route {
		if (method != "REGISTER") {
			sl_send_reply("405", "Method Not Allowed");
			exit;
		}
		if (!pv_www_authenticate("\$td", "\$sht(users=>\$tU)", "0")) {
			www_challenge("\$td", "1");
			exit;
		}
		if (!save("location"))
			sl_reply_error();
	}
	EOF
	"$KAM_BIN" -f "$WORK/kam/kamailio.cfg" -DD -E -Y "$WORK/kam" -w "$WORK/kam" -n "$KAM_CHILDREN" \
		-l "tls:$KAM_ADDR:$PORT" -m 256 -M 16 >>"$WORK/kam/log" 2>&1 &
	kam_pid=$!
	PIDS+=("$kam_pid")
	for _ in $(seq 1 50); do
		timeout 2 openssl s_client -connect "$KAM_ADDR:$PORT" </dev/null >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	say "kamailio did not start: $(tail -n 5 "$WORK/kam/log")"
	return 1
}

# The PIDs of a process and its children, comma-separated (Kamailio forks its workers).
family() { { echo "$1"; ps -o pid= --ppid "$1"; } | tr -d ' ' | paste -sd, -; }

# run TAG ADDR PIDS: one bench_tls run; its lines, prefixed, to $WORK/TAG.out.
run()
{
	timeout -k 5 $((2 * SECS + 30)) "$BUILD/bench/bench_tls" -a "$2" -p "$PORT" -s "$CLI_ADDR" \
		-n "$CONNS" -c 50 -m "$REGS" -t "$SECS" -P "$3" >"$WORK/$1.out" 2>"$WORK/$1.err"
	say "$1: $(tr '\n' ' ' <"$WORK/$1.out")"
}
val() { awk -v k="$2" '$1 == k { print $2; f = 1; exit } END { if (!f) print "n/a" }' "$WORK/$1.out" 2>/dev/null || echo n/a; }

if mk_start; then
	run mk "$MK_ADDR" "$mk_pid"
	stop_pid "$mk_pid"
fi
if [ -x "$KAM_BIN" ] && [ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] ||
	ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1; then
	if kam_start; then
		sleep 1
		run kam "$KAM_ADDR" "$(family "$kam_pid")"
		if ! kill -0 "$kam_pid" 2>/dev/null || [ "$(val kam tls_conns)" != "$CONNS" ]; then
			say "kamailio: not all connections made, or it exited; its log:"
			tail -n 20 "$WORK/kam/log" >&2
		fi
		stop_pid "$kam_pid"
	fi
else
	say "kamailio or its tls module (kamailio-tls-modules) missing: the peer column is n/a"
fi
for t in mk kam; do
	echo "tls_${t}_hs_per_sec $(val $t tls_handshakes_per_sec)"
	echo "tls_${t}_regs_per_sec $(val $t tls_regs_per_sec)"
	echo "tls_${t}_conns $(val $t tls_conns)"
done
echo "tls_mk_bytes_per_conn $(val mk tls_anon_bytes_per_conn)"
echo "tls_kam_bytes_per_conn $(val kam tls_pss_bytes_per_conn)"
echo "tls_mk_detail $(val mk tls_regs_ok) ok, $(val mk tls_regs_failed) failed in $(val mk tls_regs_secs) s, $(val mk tls_conns_alive) connections alive"
echo "tls_kam_detail $(val kam tls_regs_ok) ok, $(val kam tls_regs_failed) failed in $(val kam tls_regs_secs) s, $(val kam tls_conns_alive) connections alive"
