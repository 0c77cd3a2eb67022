#!/usr/bin/env bash
# run.sh: `make bench`: measures mikaka and its peer (Kamailio) in the same run; prints one table.
#
# Knobs (environment): BENCH_TX transactions per server (default 200000), BENCH_SECS time cap per
# load run (15), BENCH_SIPP parallel SIPp clients (2), BENCH_CONC outstanding transactions per
# client (200), KAM_CHILDREN Kamailio UDP workers (2), BUILD tree with the release binaries (build).
# Uses only 127.0.0.0/8; every process it starts is stopped by PID when it exits.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
TX=${BENCH_TX:-200000}
SECS=${BENCH_SECS:-15}
NSIPP=${BENCH_SIPP:-2}
CONC=${BENCH_CONC:-200}
KAM_CHILDREN=${KAM_CHILDREN:-2}
MK_ADDR=127.0.0.20
MK_PORT=5080
KAM_ADDR=127.0.0.21
KAM_PORT=5090
CLI_ADDR=127.0.0.22
CLI_PORT0=16000
KAM_BIN=${KAM_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
SCENARIO=$PWD/bench/options.xml

WORK=$(mktemp -d /tmp/mikaka-bench.XXXXXX)
PIDS=()

cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		# Bounded wait, then SIGKILL whatever is left of ours.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$p" 2>/dev/null
	done
	if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; else echo "bench: work dir kept: $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

# Removes the PID from PIDS once the process is known to be gone.
forget()
{
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}

stop_pid()
{
	local pid=$1
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 25); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
}

# Integer with thousands separators.
fmt() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }

kib_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_of() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# A process and its children (one level: Kamailio forks all its workers from the main process).
family()
{
	local pid=$1 f
	echo "$pid"
	for f in /proc/[0-9]*/stat; do
		awk -v p="$pid" '{ sub(/^.*\) /, ""); if ($2 == p) { split(FILENAME, a, "/"); print a[3] } }' \
			"$f" 2>/dev/null
	done
}

# Sums VmRSS and PSS (KiB) over a process family: "RSS PSS COUNT".
family_mem()
{
	local rss=0 pss=0 n=0 p r s
	for p in $(family "$1"); do
		r=$(kib_of "$p"); s=$(pss_of "$p")
		[ -n "$r" ] || continue
		rss=$((rss + r)); pss=$((pss + ${s:-0})); n=$((n + 1))
	done
	echo "$rss $pss $n"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }

# Waits until something answers OPTIONS on ADDR:PORT (bounded); returns 0 when it does.
wait_sip()
{
	local addr=$1 port=$2 i
	for i in $(seq 1 20); do
		if timeout 5 sipp -sf "$SCENARIO" -i "$CLI_ADDR" -p 15999 -m 1 -t u1 -nostdin \
			-timeout 2 -timeout_error "$addr:$port" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# Drives OPTIONS load at ADDR:PORT with NSIPP parallel SIPp clients; writes "TXS OK FAIL SECS" to
# $WORK/TAG.result (runs in this shell, not a subshell, so the cleanup knows the SIPp PIDs).
options_load()
{
	local addr=$1 port=$2 tag=$3 per i pids=() ok=0 fail=0 t0 t1 line
	per=$(((TX + NSIPP - 1) / NSIPP))
	t0=$(date +%s.%N)
	for i in $(seq 1 "$NSIPP"); do
		timeout $((SECS + 10)) sipp -sf "$SCENARIO" -i "$CLI_ADDR" -p $((CLI_PORT0 + i)) \
			-t u1 -nostdin -m "$per" -r 1000000 -rp 1000 -l "$CONC" -timeout "$SECS" \
			-max_recv_loops 10000 -max_sched_loops 10000 -buff_size 1048576 \
			-trace_stat -stf "$WORK/$tag-$i.csv" -fd 3600 "$addr:$port" \
			>"$WORK/$tag-$i.out" 2>&1 &
		pids+=($!)
		PIDS+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" 2>/dev/null
		forget "$i"
	done
	t1=$(date +%s.%N)
	for i in $(seq 1 "$NSIPP"); do
		# Last row of SIPp's statistics file: SuccessfulCall(C) and FailedCall(C).
		line=$(tail -n 1 "$WORK/$tag-$i.csv" 2>/dev/null)
		[ -n "$line" ] || continue
		ok=$((ok + $(echo "$line" | awk -F';' '{ print $16 }')))
		fail=$((fail + $(echo "$line" | awk -F';' '{ print $18 }')))
	done
	awk -v ok="$ok" -v fail="$fail" -v t0="$t0" -v t1="$t1" \
		'BEGIN { s = t1 - t0; printf "%d %d %d %.2f\n", (s > 0 ? ok / s : 0), ok, fail, s }' \
		>"$WORK/$tag.result"
}

# ---- checks ----
for tool in sipp timeout awk; do
	command -v "$tool" >/dev/null || { say "missing $tool (scripts/deps.sh bench)"; exit 1; }
done
HAVE_KAM=1
[ -x "$KAM_BIN" ] || { say "kamailio not found; peer column will be n/a"; HAVE_KAM=0; }
HAVE_MK=1
[ -x "$BUILD/mikakad" ] || { say "$BUILD/mikakad not built; mikaka column will be n/a"; HAVE_MK=0; }

# ---- 1. parser ----
parser=n/a
if [ -x "$BUILD/bench/bench_parser" ]; then
	v=$(timeout 120 "$BUILD/bench/bench_parser" 2>"$WORK/parser.err" |
		awk '$1 == "parser_invites_per_sec" { print $2; exit }')
	[ -n "$v" ] && parser=$v || say "bench_parser printed no parser_invites_per_sec line"
else
	say "$BUILD/bench/bench_parser not built; parser row is n/a"
fi

# ---- Kamailio ----
kam_tx=n/a kam_detail="" kam_mem=n/a kam_pid=""
KAM_VER=Kamailio
if [ "$HAVE_KAM" = 1 ]; then
	KAM_VER=$("$KAM_BIN" -v 2>/dev/null | awk '/^version:/ { print "Kamailio " $3; exit }')
	mkdir -p "$WORK/kam"
	"$KAM_BIN" -f bench/kamailio.cfg -DD -E -Y "$WORK/kam" -w "$WORK/kam" -n "$KAM_CHILDREN" \
		-l "udp:$KAM_ADDR:$KAM_PORT" -m 64 -M 8 >"$WORK/kam/kamailio.log" 2>&1 &
	kam_pid=$!
	PIDS+=("$kam_pid")
	if wait_sip "$KAM_ADDR" "$KAM_PORT"; then
		sleep 1
		read -r r p n < <(family_mem "$kam_pid")
		kam_mem="$(mib "$r") ($n procs; PSS $(mib "$p"))"
		say "kamailio: load ($TX OPTIONS, $NSIPP SIPp x $CONC outstanding, $KAM_CHILDREN workers)"
		options_load "$KAM_ADDR" "$KAM_PORT" kam
		read -r kam_tx ok fail secs <"$WORK/kam.result"
		kam_detail="$ok ok, $fail failed, ${secs}s"
		say "kamailio: $kam_tx tx/s ($kam_detail)"
	else
		say "kamailio did not answer; see its log:"; tail -n 20 "$WORK/kam/kamailio.log" >&2
	fi
	stop_pid "$kam_pid"
fi

# ---- mikaka ----
mk_tx=n/a mk_detail="" mk_mem=n/a
if [ "$HAVE_MK" = 1 ]; then
	mkdir -p "$WORK/mk/conf"
	cat >"$WORK/mk/conf/sip.conf" <<-EOF
	[general]
	udpbindaddr=$MK_ADDR
	bindport=$MK_PORT
	tcpenable=no
	EOF
	"$BUILD/mikakad" -C "$WORK/mk/conf" -s "$WORK/mk/mikaka.ctl" -d "$WORK/mk/mikaka.db" -q \
		>"$WORK/mk/mikakad.log" 2>&1 &
	mk_pid=$!
	PIDS+=("$mk_pid")
	# Idle RSS: one second after start, before any traffic.
	sleep 1
	r=$(kib_of "$mk_pid")
	[ -n "$r" ] && mk_mem=$(mib "$r")
	if wait_sip "$MK_ADDR" "$MK_PORT"; then
		say "mikakad: load ($TX OPTIONS, $NSIPP SIPp x $CONC outstanding)"
		options_load "$MK_ADDR" "$MK_PORT" mk
		read -r mk_tx ok fail secs <"$WORK/mk.result"
		mk_detail="$ok ok, $fail failed, ${secs}s"
		say "mikakad: $mk_tx tx/s ($mk_detail)"
		r=$(kib_of "$mk_pid")
		[ -n "$r" ] && say "mikakad: RSS after load $(mib "$r")"
	else
		say "mikakad did not answer OPTIONS on $MK_ADDR:$MK_PORT; its log:"
		tail -n 20 "$WORK/mk/mikakad.log" >&2
	fi
	stop_pid "$mk_pid"
fi

# ---- table ----
num() { case "$1" in '' | n/a*) echo "${1:-n/a}" ;; *) fmt "$1" ;; esac; }
verdict()
{
	# verdict VALUE OP TARGET: ok / MISS / -.
	case "$1" in '' | n/a*) echo "-"; return ;; esac
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "ok" : "MISS" }'
}
ratio=n/a
case "$mk_tx$kam_tx" in *n/a*) ;; *)
	[ "$kam_tx" -gt 0 ] && ratio=$(awk -v a="$mk_tx" -v b="$kam_tx" 'BEGIN { printf "%.2f", a / b }') ;;
esac
mk_kib=$(echo "$mk_mem" | awk '/MiB/ { printf "%d", $1 * 1024 }')

row() { printf "%-38s %-16s %-34s %-22s %s\n" "$@"; }
echo
echo "mikaka benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr)," \
	"peer $KAM_VER ($KAM_CHILDREN UDP workers)"
row "metric" "mikaka" "peer" "target" "result"
row "------" "------" "----" "------" "------"
row "parser: INVITEs parsed/s" "$(num "$parser")" "n/a" ">= 2,000,000" \
	"$(verdict "$parser" ">=" 2000000)"
if [ "$ratio" != n/a ]; then
	v=$(awk -v r="$ratio" 'BEGIN { print (r >= 1) ? "ok" : "MISS" }')
else
	v=-
fi
row "OPTIONS tx/s (SIPp x$NSIPP, UDP, lo)" "$(num "$mk_tx")" "$(num "$kam_tx")" \
	">= peer (ratio $ratio)" "$v"
row "idle RSS after start" "$mk_mem" "$kam_mem" "<= 2 MiB" "$(verdict "$mk_kib" "<=" 2048)"
row "registrations/s" "n/a (not yet)" "n/a (not yet)" "-" "-"
row "B2BUA calls/s" "n/a (not yet)" "n/a (not yet)" "-" "-"
row "RTP packets/s relayed" "n/a (not yet)" "n/a (not yet)" "-" "-"
row "memory per call" "n/a (not yet)" "n/a (not yet)" "-" "-"
echo
[ -n "$kam_detail" ] && echo "kamailio OPTIONS run: $kam_detail"
[ -n "$mk_detail" ] && echo "mikakad  OPTIONS run: $mk_detail"
exit 0
