#!/usr/bin/env bash
# register.sh: the registrations benchmark, called by run.sh (or alone). SIPp phones register with
# MD5 digest (REGISTER, 401, REGISTER with credentials, 200) as fast as the server answers,
# REG_USERS users from a CSV, against mikakad and against Kamailio (registrar + auth, users in an
# htable, contacts in memory) in the same run; then the memory one registered contact costs
# mikakad (growth of its resident anonymous memory, RssAnon, divided by the contacts). Prints "name value" lines: reg_mk_per_sec, reg_kam_per_sec, reg_mk_detail,
# reg_kam_detail, reg_mk_bytes_per_contact.
#
# Knobs: REG_USERS (10000), REG_TX registrations per run (100000), BENCH_SECS time cap per run
# (15), BENCH_SIPP parallel SIPp clients (3), BENCH_CONC registrations in flight per client
# (100), KAM_CHILDREN (2), BUILD (build), BENCH_KEEP=1 keeps the work directory.
# Uses only 127.0.0.0/8 and stops every process it started, by PID.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
USERS=${REG_USERS:-10000}
TX=${REG_TX:-100000}
SECS=${BENCH_SECS:-15}
NSIPP=${BENCH_SIPP:-3}
CONC=${BENCH_CONC:-100}
KAM_CHILDREN=${KAM_CHILDREN:-2}
KAM_BIN=${KAM_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
MK_ADDR=127.0.0.23
KAM_ADDR=127.0.0.24
PORT=5100
CLI_ADDR=127.0.0.25
CLI_PORT0=17000
SCENARIO=$PWD/tests/e2e/sipp/reg-phone.xml

BENCH_NAME=register
. "$(dirname "$0")/lib.sh"
# Contacts are measured in anon_of (lib.sh): VmRSS also counts code pages, which mikakad maps
# again as the registration path first runs (about 1.8 MiB: 180 bytes a contact at 10,000).

# The users: 100000 .. 100000+USERS-1, password "pw", as peers and as the SIPp CSV.
{
	echo SEQUENTIAL
	for i in $(seq 0 $((USERS - 1))); do
		u=$((100000 + i))
		echo "$u;[authentication username=$u password=pw];3600;"
	done
} >"$WORK/users.csv"

mk_start()
{
	mkdir -p "$WORK/mk"
	{
		printf '[general]\nudpbindaddr=%s\nbindport=%s\ntcpenable=no\nrealm=mikaka\n' \
			"$MK_ADDR" "$PORT"
		printf 'maxexpiry=3600\n[u](!)\ntype=friend\nhost=dynamic\nsecret=pw\n'
		for i in $(seq 0 $((USERS - 1))); do printf '[%d](u)\n' $((100000 + i)); done
	} >"$WORK/mk/sip.conf"
	printf '[registrar]\nban_failures=0\n' >"$WORK/mk/mikaka.conf"
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
	cat >"$WORK/kam/kamailio.cfg" <<'EOF'
#!KAMAILIO
# kamailio-register.cfg: the registrations benchmark peer: a registrar with digest (MD5, qop=auth,
# nonce-count replay checks) for REG_USERS users held in an htable, contacts in memory (usrloc
# db_mode 0). bench/register.sh sets listen, children and REG_USERS.
debug=0
log_stderror=yes
disable_tcp=yes
auto_aliases=no
max_while_loops=1000000
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "htable.so"
modparam("usrloc", "db_mode", 0)
modparam("htable", "htable", "users=>size=16;")
modparam("auth", "qop", "auth")
modparam("auth", "nonce_count", 1)
modparam("auth", "nonce_expire", 300)
event_route[htable:mod-init] {
	$var(i) = 0;
	while ($var(i) < REG_USERS) {
		$var(k) = 100000 + $var(i);
		$sht(users=>$var(k)) = "pw";
		$var(i) = $var(i) + 1;
	}
}
request_route {
	if (method != "REGISTER") {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	if (!pv_www_authenticate("$td", "$sht(users=>$tU)", "0")) {
		www_challenge("$td", "1");
		exit;
	}
	if (!save("location"))
		sl_reply_error();
	exit;
}
EOF
	"$KAM_BIN" -f "$WORK/kam/kamailio.cfg" -DD -E -Y "$WORK/kam" -w "$WORK/kam" \
		-n "$KAM_CHILDREN" -l "udp:$KAM_ADDR:$PORT" -m 256 -M 16 -A "REG_USERS=$USERS" \
		>>"$WORK/kam/log" 2>&1 &
	kam_pid=$!
	PIDS+=("$kam_pid")
	sleep 1.5
	kill -0 "$kam_pid" 2>/dev/null || { say "kamailio did not start: $(tail -n 5 "$WORK/kam/log")"; return 1; }
}

# load ADDR TAG PID [M]: NSIPP clients register TX users' worth (or M each) in parallel against
# the server PID; writes "PER_SEC OK FAIL SECS CPU_US_PER_REGISTRATION" to $WORK/TAG.result.
load()
{
	local addr=$1 tag=$2 spid=$3 per=${4:-$(((TX + NSIPP - 1) / NSIPP))} i pids=() ok=0 fail=0
	local t0 t1 line c0 c1
	c0=$(cpu_ticks "$spid")
	t0=$(date +%s.%N)
	for i in $(seq 1 "$NSIPP"); do
		timeout $((SECS + 20)) sipp "$addr:$PORT" -sf "$SCENARIO" -inf "$WORK/users.csv" \
			-i "$CLI_ADDR" -p $((CLI_PORT0 + i)) -t u1 -nostdin -m "$per" -r 1000000 \
			-rp 1000 -l "$CONC" -timeout "$SECS" -max_recv_loops 10000 \
			-max_sched_loops 10000 -buff_size 1048576 -trace_stat \
			-stf "$WORK/$tag-$i.csv" -fd 3600 >"$WORK/$tag-$i.out" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" 2>/dev/null; forget "$i"; done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$spid")
	for i in $(seq 1 "$NSIPP"); do
		line=$(tail -n 1 "$WORK/$tag-$i.csv" 2>/dev/null)
		case "$line" in '' | StartTime*) continue ;; esac
		ok=$((ok + $(echo "$line" | awk -F';' '{ print $16 + 0 }')))
		fail=$((fail + $(echo "$line" | awk -F';' '{ print $18 + 0 }')))
	done
	awk -v ok="$ok" -v fail="$fail" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$HZ" \
		'BEGIN { s = t1 - t0; printf "%d %d %d %.2f %d\n", (s > 0 ? ok / s : 0), ok, fail, s,
			(ok > 0 ? c * 1e6 / hz / ok : 0) }' >"$WORK/$tag.result"
}

command -v sipp >/dev/null || { say "sipp missing"; exit 1; }
mk=n/a kam=n/a mkd="" kamd="" bpc=n/a

if [ -x "$KAM_BIN" ] && kam_start; then
	load "$KAM_ADDR" kam "$kam_pid"
	read -r kam ok fail secs cpu <"$WORK/kam.result"
	kamd="$ok ok, $fail failed in $secs s, $cpu us CPU per registration"
	say "kamailio: $kam registrations/s ($kamd)"
	stop_pid "$kam_pid"
fi

if [ -x "$BUILD/mikakad" ] && mk_start; then
	load "$MK_ADDR" mk "$mk_pid"
	read -r mk ok fail secs cpu <"$WORK/mk.result"
	mkd="$ok ok, $fail failed in $secs s, $cpu us CPU per registration"
	say "mikakad: $mk registrations/s ($mkd)"
	stop_pid "$mk_pid"
	# Memory per contact: a fresh daemon, RSS before and after USERS registrations (one
	# client, so one binding per user).
	if mk_start; then
		sleep 0.5
		r0=$(kib_of "$mk_pid")
		a0=$(anon_of "$mk_pid")
		NSIPP_SAVE=$NSIPP
		NSIPP=1
		load "$MK_ADDR" mkmem "$mk_pid" "$USERS"
		NSIPP=$NSIPP_SAVE
		sleep 0.5
		r1=$(kib_of "$mk_pid")
		a1=$(anon_of "$mk_pid")
		n=$("$BUILD/mikaka" -s "$WORK/mk/ctl" sip show peers | grep -c "^1[0-9]*/.* $CLI_ADDR ")
		if [ -n "$a0" ] && [ -n "$a1" ] && [ "$n" -gt 0 ]; then
			bpc=$(((a1 - a0) * 1024 / n))
			say "mikakad: anonymous memory $a0 KiB -> $a1 KiB for $n contacts: $bpc bytes" \
				"each (RSS $r0 KiB -> $r1 KiB: $(((r1 - r0) * 1024 / n)) bytes each)"
		fi
		stop_pid "$mk_pid"
	fi
fi

echo "reg_mk_per_sec $mk"
echo "reg_kam_per_sec $kam"
echo "reg_mk_detail $mkd"
echo "reg_kam_detail $kamd"
echo "reg_mk_bytes_per_contact $bpc"
