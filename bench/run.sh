#!/usr/bin/env bash
# run.sh: `make bench`: measures mikaka and its peer (Kamailio) in the same run; prints one table.
#
# Knobs (environment): BENCH_TX transactions per load run (default 200000), BENCH_SECS time cap per
# load run (15), BENCH_SIPP parallel SIPp clients (3), BENCH_CONC outstanding transactions per
# client (100), BENCH_REPS load runs per server, best kept (2), KAM_CHILDREN Kamailio UDP workers
# (2), BUILD tree holding the release binaries (build), BENCH_KEEP=1 keeps the work directory;
# bench/register.sh, bench/calls.sh and bench/web.sh take their own (REG_*, CALLS_*, WEB_*: see
# their headers).
# Uses only 127.0.0.0/8; every process it starts is stopped by PID before it exits.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
TX=${BENCH_TX:-200000}
SECS=${BENCH_SECS:-15}
NSIPP=${BENCH_SIPP:-3}
CONC=${BENCH_CONC:-100}
REPS=${BENCH_REPS:-2}
KAM_CHILDREN=${KAM_CHILDREN:-2}
MK_ADDR=127.0.0.20
MK_PORT=5080
KAM_ADDR=127.0.0.21
KAM_PORT=5090
CLI_ADDR=127.0.0.22
CLI_PORT0=16000
KAM_BIN=${KAM_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
SCENARIO=$PWD/bench/options.xml

BENCH_NAME=bench
. "$(dirname "$0")/lib.sh"

# 1234567 -> 1,234,567 (the C locale has no grouping, so no printf "%'d").
fmt() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }

mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }

# A process and its direct children (Kamailio forks every worker from its main process).
family()
{
	local f
	echo "$1"
	for f in /proc/[0-9]*/stat; do
		awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) { split(FILENAME, a, "/"); print a[3] } }' \
			"$f" 2>/dev/null
	done
}

# Sums VmRSS and PSS (KiB) over a process family: prints "RSS PSS COUNT".
family_mem()
{
	local rss=0 pss=0 n=0 p r s
	for p in $(family "$1"); do
		r=$(kib_of "$p")
		s=$(pss_of "$p")
		[ -n "$r" ] || continue
		rss=$((rss + r))
		pss=$((pss + ${s:-0}))
		n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# Waits (bounded) until something answers OPTIONS with 200 on ADDR:PORT.
wait_sip()
{
	local i
	for i in $(seq 1 20); do
		if timeout 5 sipp -sf "$SCENARIO" -i "$CLI_ADDR" -p 15999 -m 1 -t u1 -nostdin \
			-timeout 2 -timeout_error "$1:$2" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# Drives OPTIONS load at ADDR:PORT from NSIPP parallel SIPp clients, TX transactions in all, and
# writes "TXS OK FAIL SECS" to $WORK/TAG.result. Runs in this shell (not a subshell) so that the
# cleanup knows the SIPp PIDs. The rate is successes over the wall time of the slowest client.
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
		# The last row of SIPp's statistics: SuccessfulCall(C) and FailedCall(C).
		line=$(tail -n 1 "$WORK/$tag-$i.csv" 2>/dev/null)
		case "$line" in '' | StartTime*) continue ;; esac
		ok=$((ok + $(echo "$line" | awk -F';' '{ print $16 + 0 }')))
		fail=$((fail + $(echo "$line" | awk -F';' '{ print $18 + 0 }')))
	done
	awk -v ok="$ok" -v fail="$fail" -v t0="$t0" -v t1="$t1" \
		'BEGIN { s = t1 - t0; printf "%d %d %d %.2f\n", (s > 0 ? ok / s : 0), ok, fail, s }' \
		>"$WORK/$tag.result"
}

# Keeps the best run: best_TAG holds "TXS OK FAIL SECS".
keep_best()
{
	local tag=$1 cur new
	new=$(cat "$WORK/$tag.result")
	cur=$(cat "$WORK/$tag.best" 2>/dev/null)
	if [ -z "$cur" ] || [ "${new%% *}" -gt "${cur%% *}" ]; then
		echo "$new" >"$WORK/$tag.best"
	fi
}

kam_start()
{
	mkdir -p "$WORK/kam"
	"$KAM_BIN" -f bench/kamailio.cfg -DD -E -Y "$WORK/kam" -w "$WORK/kam" -n "$KAM_CHILDREN" \
		-l "udp:$KAM_ADDR:$KAM_PORT" -m 64 -M 8 >>"$WORK/kam/kamailio.log" 2>&1 &
	kam_pid=$!
	PIDS+=("$kam_pid")
}

mk_start()
{
	mkdir -p "$WORK/mk/conf"
	cat >"$WORK/mk/conf/sip.conf" <<-EOF
	[general]
	udpbindaddr=$MK_ADDR
	bindport=$MK_PORT
	tcpenable=no
	EOF
	rm -f "$WORK/mk/mikaka.ctl" "$WORK/mk/mikaka.db"
	"$BUILD/mikakad" -C "$WORK/mk/conf" -s "$WORK/mk/mikaka.ctl" -d "$WORK/mk/mikaka.db" -q \
		>>"$WORK/mk/mikakad.log" 2>&1 &
	mk_pid=$!
	PIDS+=("$mk_pid")
}

# ---- checks ----
for tool in sipp timeout awk sed; do
	command -v "$tool" >/dev/null || { say "missing $tool (scripts/deps.sh bench)"; exit 1; }
done
HAVE_KAM=1
[ -x "$KAM_BIN" ] || { say "kamailio not found; the peer column is n/a"; HAVE_KAM=0; }
HAVE_MK=1
[ -x "$BUILD/mikakad" ] || { say "$BUILD/mikakad not built; the mikaka column is n/a"; HAVE_MK=0; }
KAM_VER=Kamailio
[ "$HAVE_KAM" = 1 ] &&
	KAM_VER=$("$KAM_BIN" -v 2>/dev/null | awk '/^version:/ { print "Kamailio " $3; exit }')

# ---- 1. parser ----
parser=n/a
if [ -x "$BUILD/bench/bench_parser" ]; then
	say "parser: $BUILD/bench/bench_parser"
	v=$(timeout 120 "$BUILD/bench/bench_parser" 2>"$WORK/parser.err" |
		awk '$1 == "parser_invites_per_sec" { printf "%d", $2; exit }')
	if [ -n "$v" ]; then parser=$v; else say "bench_parser printed no parser_invites_per_sec"; fi
else
	say "$BUILD/bench/bench_parser not built; the parser row is n/a"
fi

# ---- 3. idle memory, each server started fresh and left alone for a second ----
kam_mem=n/a mk_mem=n/a mk_kib=""
if [ "$HAVE_KAM" = 1 ]; then
	kam_start
	if wait_sip "$KAM_ADDR" "$KAM_PORT"; then
		sleep 1
		read -r r p n < <(family_mem "$kam_pid")
		kam_mem="$(mib "$r") ($n procs, PSS $(mib "$p"))"
	else
		say "kamailio did not answer; its log:"
		tail -n 20 "$WORK/kam/kamailio.log" >&2
		HAVE_KAM=0
	fi
	stop_pid "$kam_pid"
fi
if [ "$HAVE_MK" = 1 ]; then
	mk_start
	sleep 1
	mk_kib=$(kib_of "$mk_pid")
	if [ -n "$mk_kib" ]; then
		mk_mem="$(mib "$mk_kib") (PSS $(mib "$(pss_of "$mk_pid")"))"
	else
		say "mikakad exited at start; its log:"
		tail -n 20 "$WORK/mk/mikakad.log" >&2
		HAVE_MK=0
	fi
	stop_pid "$mk_pid"
fi

# ---- 2. OPTIONS load: the servers alternate, each run on a freshly started server ----
mk_after=""
for rep in $(seq 1 "$REPS"); do
	if [ "$HAVE_KAM" = 1 ]; then
		kam_start
		if wait_sip "$KAM_ADDR" "$KAM_PORT"; then
			options_load "$KAM_ADDR" "$KAM_PORT" kam
			keep_best kam
			say "kamailio run $rep: $(cat "$WORK/kam.result") (tx/s ok failed seconds)"
		else
			say "kamailio did not answer in run $rep"
		fi
		stop_pid "$kam_pid"
	fi
	if [ "$HAVE_MK" = 1 ]; then
		mk_start
		if wait_sip "$MK_ADDR" "$MK_PORT"; then
			options_load "$MK_ADDR" "$MK_PORT" mk
			keep_best mk
			say "mikakad  run $rep: $(cat "$WORK/mk.result") (tx/s ok failed seconds)"
			r=$(kib_of "$mk_pid")
			[ -n "$r" ] && mk_after=$(mib "$r")
		else
			say "mikakad did not answer OPTIONS on $MK_ADDR:$MK_PORT in run $rep; its log:"
			tail -n 20 "$WORK/mk/mikakad.log" >&2
		fi
		stop_pid "$mk_pid"
	fi
done
kam_tx=n/a mk_tx=n/a kam_detail="" mk_detail=""
if [ -s "$WORK/kam.best" ]; then
	read -r kam_tx ok fail secs <"$WORK/kam.best"
	kam_detail="$ok ok, $fail failed in ${secs} s"
fi
if [ -s "$WORK/mk.best" ]; then
	read -r mk_tx ok fail secs <"$WORK/mk.best"
	mk_detail="$ok ok, $fail failed in ${secs} s"
fi

# ---- in-process figures: dialplan lookup, sip.conf loading, the store ----
# bench_value PROGRAM KEY: the number after KEY in the program's output, or n/a.
bench_value()
{
	local out
	[ -x "$BUILD/bench/$1" ] || { echo n/a; return; }
	out=$(timeout 120 "$BUILD/bench/$1" 2>/dev/null) || { echo n/a; return; }
	awk -v k="$2" '$1 == k { print $2; found = 1; exit } END { if (!found) print "n/a" }' <<<"$out"
}
dp_ns=$(bench_value bench_dialplan dialplan_lookup_ns)
dp_load=$(bench_value bench_dialplan dialplan_load_ms)
peers_ms=$(bench_value bench_peers peers_load_ms)
peer_bytes=$(bench_value bench_peers peer_bytes)
store_rate=$(bench_value bench_store store_reg_puts_per_sec)
screen_ns=$(bench_value bench_screen screen_decide_ns)
# The relay bench runs once and prints every rtp_* figure; read them from one run.
rtp_out=$( [ -x "$BUILD/bench/bench_rtp" ] && timeout 420 "$BUILD/bench/bench_rtp" 2>/dev/null )
rtp_value() { awk -v k="$1" '$1 == k { print $2; f = 1; exit } END { if (!f) print "n/a" }' <<<"$rtp_out"; }
rtp_pps=$(rtp_value rtp_pps)
rtp_ceiling=$(rtp_value rtp_ceiling_pps)
rtp_engine=$(rtp_value rtpengine_pps)
rtp_p99=$(rtp_value rtp_latency_p99_us)
rtp_bytes=$(rtp_value rtp_bytes_per_stream)
rtp_chain=$(rtp_value rtp_chain_pps)
rtp_srtp=$(rtp_value rtp_srtp_pps)
rtp_chain_cpu=$(rtp_value rtp_chain_cpu_us_per_pkt)
rtp_srtp_cpu=$(rtp_value rtp_srtp_cpu_us_per_pkt)
# Local media: 200 playbacks of one shared sound and 200 recordings at once (bench_play).
play_out=$( [ -x "$BUILD/bench/bench_play" ] && (ulimit -n 4096 2>/dev/null; timeout 60 "$BUILD/bench/bench_play") 2>/dev/null )
play_value() { awk -v k="$1" '$1 == k { print $2; f = 1; exit } END { if (!f) print "n/a" }' <<<"$play_out"; }
play_min=$(play_value play_min_per_stream)
play_missing=$(play_value play_missing_seq)
play_bytes=$(play_value play_bytes_per_stream)
play_cpu=$(play_value play_rec_relay_cpu_us_per_stream_s)
rec_lost=$(awk '$1 == "rec_samples_sent" { s = $2 } $1 == "rec_samples_written" { w = $2 }
	END { if (s == "") print "n/a"; else print s - w }' <<<"$play_out")

# ---- registrations: REGISTER with digest, mikakad and Kamailio (bench/register.sh) ----
reg_out=$(BUILD=$BUILD KAM_BIN=$KAM_BIN timeout 600 bench/register.sh 2>"$WORK/register.err")
reg_value() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; f = 1; exit } END { if (!f) print "n/a" }' <<<"$reg_out"; }
reg_mk=$(reg_value reg_mk_per_sec)
reg_kam=$(reg_value reg_kam_per_sec)
reg_bytes=$(reg_value reg_mk_bytes_per_contact)

# ---- SIP over TLS: handshakes/s, registrations/s over 1,000 connections, memory per connection ----
tls_out=$(BUILD=$BUILD KAM_BIN=$KAM_BIN KAM_CHILDREN=$KAM_CHILDREN timeout 300 bench/tls.sh)
tls_value() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; f = 1; exit } END { if (!f) print "n/a" }' <<<"$tls_out"; }
tls_hs_mk=$(tls_value tls_mk_hs_per_sec)
tls_hs_kam=$(tls_value tls_kam_hs_per_sec)
tls_reg_mk=$(tls_value tls_mk_regs_per_sec)
tls_reg_kam=$(tls_value tls_kam_regs_per_sec)
tls_conns=$(tls_value tls_mk_conns)
tls_bytes_mk=$(tls_value tls_mk_bytes_per_conn)
tls_bytes_kam=$(tls_value tls_kam_bytes_per_conn)

# ---- calls: carrier -> server -> phone, mikakad (B2BUA + relay) and Kamailio (proxy) ----
# Its progress lines ("calls: ...") go to stderr like ours; knobs CALLS_* pass through.
calls_out=$(BUILD=$BUILD KAM_BIN=$KAM_BIN KAM_CHILDREN=$KAM_CHILDREN timeout 600 bench/calls.sh)
calls_value()
{
	awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; f = 1; exit }
		END { if (!f) print "n/a" }' <<<"$calls_out"
}
cps_mk=$(calls_value calls_mk_cps)
cps_kam=$(calls_value calls_kam_cps)
cpu_mk=$(calls_value calls_mk_cpu_us)
cpu_kam=$(calls_value calls_kam_cpu_us)
call_bytes=$(calls_value calls_mk_bytes_per_call)
calls_held=$(calls_value calls_mk_held)
load_mk=$(calls_value calls_mk_load_kib)
load_kam=$(calls_value calls_kam_load_kib)
mib_or_na() { case "$1" in '' | n/a*) echo n/a ;; *) mib "$1" ;; esac; }

# ---- the web console: calls quiet and while /api/calls and /metrics are hammered; /metrics with
# 1,000 registrations and 100 calls (bench/web.sh) ----
web_out=$( [ -x "$BUILD/bench/bench_webload" ] && BUILD=$BUILD timeout 600 bench/web.sh )
web_value() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; f = 1; exit } END { if (!f) print "n/a" }' <<<"$web_out"; }
web_cps_q=$(web_value web_cps_quiet)
web_cps_h=$(web_value web_cps_hammer)
web_s50_q=$(web_value web_setup_p50_quiet_ms)
web_s50_h=$(web_value web_setup_p50_hammer_ms)
web_m50=$(web_value web_metrics_p50_ms)
web_m99=$(web_value web_metrics_p99_ms)
# "Within noise": the hammered median no worse than the quiet median by more than the margin,
# the larger of 10 % and the spread the quiet runs showed among themselves (docs/BENCHMARKS.md).
web_margin()
{
	awk -v n="$1" 'BEGIN { m = (n + 0 > 10) ? n + 0 : 10; printf "%.0f", m }'
}
web_cps_margin=$(web_margin "$(web_value web_noise_pct)")
web_s_margin=$(web_margin "$(web_value web_noise_setup_pct)")
# Calls that failed while hammered and not while quiet are a miss whatever the rate.
web_cps_verdict=$(awk -v q="$web_cps_q" -v h="$web_cps_h" -v m="$web_cps_margin" \
	-v fq="$(web_value web_failed_quiet)" -v fh="$(web_value web_failed_hammer)" 'BEGIN {
	if (q + 0 <= 0 || h == "n/a") { print "-"; exit }
	ok = h >= q * (1 - m / 100) && fh + 0 <= fq + 0
	printf "%s (%+.0f %%, margin %d %%)", ok ? "ok" : "MISS", 100 * (h - q) / q, m }')
web_s_verdict=$(awk -v q="$web_s50_q" -v h="$web_s50_h" -v m="$web_s_margin" 'BEGIN {
	if (q + 0 <= 0 || h == "n/a") { print "-"; exit }
	printf "%s (%+.0f %%, margin %d %%)", (h <= q * (1 + m / 100)) ? "ok" : "MISS", 100 * (h - q) / q, m }')

# ---- the table ----
num() { case "$1" in '' | n/a*) echo "${1:-n/a}" ;; *) fmt "$1" ;; esac; }
# verdict VALUE OP TARGET: ok, MISS, or - when there is no figure.
verdict()
{
	case "$1" in '' | n/a*) echo "-"; return ;; esac
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "ok" : "MISS" }'
}
ratio=n/a tx_verdict=-
if [ "$mk_tx" != n/a ] && [ "$kam_tx" != n/a ] && [ "$kam_tx" -gt 0 ]; then
	ratio=$(awk -v a="$mk_tx" -v b="$kam_tx" 'BEGIN { printf "%.2f", a / b }')
	tx_verdict=$(verdict "$ratio" ">=" 1)
fi

row() { printf "%-34s %-24s %-32s %-16s %s\n" "$@"; }
echo
echo "mikaka benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr);" \
	"peer: $KAM_VER, $KAM_CHILDREN UDP workers"
row "metric" "mikaka" "peer" "target" "result"
row "------" "------" "----" "------" "------"
row "parser: INVITEs parsed/s" "$(num "$parser")" "n/a" ">= 2,000,000" \
	"$(verdict "$parser" ">=" 2000000)"
row "OPTIONS transactions/s" "$(num "$mk_tx")" "$(num "$kam_tx")" ">= peer" \
	"$tx_verdict (ratio $ratio)"
row "idle RSS after start" "$mk_mem" "$kam_mem" "<= 2 MiB" "$(verdict "$mk_kib" "<=" 2048)"
reg_ratio=n/a reg_verdict=-
if [ "$reg_mk" != n/a ] && [ "$reg_kam" != n/a ] && [ "${reg_kam:-0}" -gt 0 ]; then
	reg_ratio=$(awk -v a="$reg_mk" -v b="$reg_kam" 'BEGIN { printf "%.2f", a / b }')
	reg_verdict=$(verdict "$reg_ratio" ">=" 1.5)
fi
row "registrations/s (digest, 10,000 users)" "$(num "$reg_mk")" "$(num "$reg_kam")" \
	">= 1.5 x peer" "$reg_verdict (ratio $reg_ratio)"
row "TLS registrations/s ($(num "$tls_conns") conns)" "$(num "$tls_reg_mk")" "$(num "$tls_reg_kam")" \
	">= peer" "$(verdict "$tls_reg_mk" ">=" "${tls_reg_kam/n\/a/0}")"
row "TLS handshakes/s" "$(num "$tls_hs_mk")" "$(num "$tls_hs_kam")" "-" "-"
row "memory per idle TLS conn (bytes)" "$(num "$tls_bytes_mk")" "$(num "$tls_bytes_kam") (PSS)" \
	"<= 49,152" "$(verdict "$tls_bytes_mk" "<=" 49152)"
row "memory per registered contact (bytes)" "$reg_bytes" "n/a" "<= 1,024" "$(verdict "$reg_bytes" "<=" 1024)"
row "dialplan lookup, 10,000 exts (ns)" "$(num "$dp_ns")" "n/a" "<= 2,000" "$(verdict "$dp_ns" "<=" 2000)"
row "screening decision, 100,000 blocked (ns)" "$(num "$screen_ns")" "n/a" "<= 2,000" "$(verdict "$screen_ns" "<=" 2000)"
row "post's extensions.conf load (ms)" "$dp_load" "n/a" "<= 5" "$(verdict "$dp_load" "<=" 5)"
row "10,000-peer sip.conf load (ms)" "$peers_ms" "n/a" "<= 100" "$(verdict "$peers_ms" "<=" 100)"
row "memory per peer (bytes)" "$peer_bytes" "n/a" "<= 1,024" "$(verdict "$peer_bytes" "<=" 1024)"
row "store: registrations written/s" "$(num "$store_rate")" "n/a" "-" "-"
# Issue #12's goal: 1.5 x Kamailio's stateful proxy in the same run.
cps_goal=$(awk -v k="${cps_kam/n\/a/0}" 'BEGIN { printf "%d", k * 1.5 }')
row "B2BUA calls/s (< 0.1 % failed)" "$(num "$cps_mk")" "$(num "$cps_kam") (proxy)" ">= 1.5 x peer" \
	"$(verdict "$cps_mk" ">=" "$cps_goal")"
row "CPU per call (us)" "$cpu_mk" "$cpu_kam (proxy)" "<= 75" "$(verdict "$cpu_mk" "<=" 75)"
row "RTP packets/s relayed (200 streams)" "$(num "$rtp_pps")" "$(num "$rtp_engine") (rtpengine)" ">= peer" \
	"$(verdict "$rtp_pps" ">=" "${rtp_engine/n\/a/0}")"
row "RTP forwarder ceiling (pkt/s)" "$(num "$rtp_ceiling")" "n/a" "mikaka >= 90%" \
	"$(awk -v a="$rtp_pps" -v b="$rtp_ceiling" 'BEGIN { if (b + 0 > 0) print (a / b >= 0.9 ? "ok" : "MISS") " (" int(100 * a / b) "%)"; else print "-" }')"
row "RTP added latency p99 (us)" "$rtp_p99" "n/a" "<= 500" "$(verdict "$rtp_p99" "<=" 500)"
row "memory per RTP stream (bytes)" "$rtp_bytes" "n/a" "<= 4,096" "$(verdict "$rtp_bytes" "<=" 4096)"
row "SRTP packets/s relayed (AES_CM_80)" "$(num "$rtp_srtp")" "$(num "$rtp_chain") (same, plain)" ">= 60% of plain" \
	"$(awk -v a="$rtp_srtp" -v b="$rtp_chain" 'BEGIN { if (b + 0 > 0) print (a / b >= 0.6 ? "ok" : "MISS") " (" int(100 * a / b) "%)"; else print "-" }')"
# The same cost as CPU time per packet at a fixed 20,000 pkt/s: far less at the mercy of other
# load than the rate at which loss starts (docs/BENCHMARKS.md, SRTP).
row "SRTP relay CPU per packet (us)" "$rtp_srtp_cpu" "$rtp_chain_cpu (same, plain)" "plain >= 60%" \
	"$(awk -v a="$rtp_srtp_cpu" -v b="$rtp_chain_cpu" 'BEGIN { if (a + 0 > 0) print (b / a >= 0.6 ? "ok" : "MISS") " (" int(100 * b / a) "%)"; else print "-" }')"
row "200 playbacks: packets of the slowest stream in 5 s" "$play_min" "n/a" ">= 245" "$(verdict "$play_min" ">=" 245)"
row "200 playbacks: packets missing in sequence" "$play_missing" "n/a" "<= 0" "$(verdict "$play_missing" "<=" 0)"
row "memory per playback stream (bytes, RSS)" "$play_bytes" "n/a" "<= 8,192" "$(verdict "$play_bytes" "<=" 8192)"
row "200 recordings: samples lost" "$rec_lost" "n/a" "<= 0" "$(verdict "$rec_lost" "<=" 0)"
row "relay CPU per local stream (us per s)" "$play_cpu" "n/a" "<= 1,000" "$(verdict "$play_cpu" "<=" 1000)"
row "concurrent calls held" "$(num "$calls_held")" "n/a" ">= 10,000" \
	"$(verdict "$calls_held" ">=" 10000)"
row "memory per concurrent call (bytes)" "$(num "$call_bytes")" "n/a" "<= 16,384" \
	"$(verdict "$call_bytes" "<=" 16384)"
row "RSS at 200 calls/s of 2 s" "$(mib_or_na "$load_mk")" "$(mib_or_na "$load_kam") (proxy)" \
	"<= 16 MiB" "$(verdict "$load_mk" "<=" 16384)"
row "calls/s, quiet / web hammered" "$web_cps_q / $web_cps_h" "n/a" "within noise" "$web_cps_verdict"
row "set-up p50 ms, quiet / hammered" "$web_s50_q / $web_s50_h" "n/a" "within noise" "$web_s_verdict"
row "/metrics p50 / p99 ms, 1,000 regs" "$web_m50 / $web_m99" "n/a" "<= 5" "$(verdict "$web_m99" "<=" 5)"
echo
echo "OPTIONS: SIPp x$NSIPP over UDP on loopback, $CONC outstanding each, $TX per run, best of $REPS."
[ -n "$mk_detail" ] && echo "  mikakad best run:  $mk_detail"
[ -n "$kam_detail" ] && echo "  kamailio best run: $kam_detail"
[ -n "$mk_after" ] && echo "  mikakad RSS right after its last run: $mk_after"
echo "Registrations: mikakad $(reg_value reg_mk_detail), each committed to SQLite before its 200;" \
	"Kamailio $(reg_value reg_kam_detail), contacts in memory only (usrloc db_mode 0)."
echo "TLS (bench/tls.sh, bench_tls): mikakad $(tls_value tls_mk_detail); Kamailio (tls module)" \
	"$(tls_value tls_kam_detail). Memory per idle connection: mikakad RssAnon growth, Kamailio PSS" \
	"growth summed over its processes."
echo "Calls: SIPp carrier -> server -> SIPp phone, INVITE/100/180/200/ACK," \
	"${CALLS_HOLD_MS:-100} ms, BYE/200; highest rate with < 0.1 % failed calls in" \
	"${CALLS_SECS:-4} s steps; CPU of the server's processes per completed call at that rate."
echo "  mikakad (B2BUA, RTP relay on both legs): $(calls_value calls_mk_detail)"
echo "  kamailio (tm + rr proxy, no media):      $(calls_value calls_kam_detail)"
echo "  mikakad holding calls: $(calls_value calls_mk_mem_detail)"
echo "Memory under load: ${CALLS_LOAD_RATE:-200} calls/s of ${CALLS_LOAD_HOLD_MS:-2000} ms for" \
	"${CALLS_LOAD_SECS:-40} s, each server fresh; highest RSS (summed over processes) of the last 8 s."
echo "  mikakad: $(calls_value calls_mk_load_detail)"
echo "  kamailio: $(calls_value calls_kam_load_detail)"
echo "Web console (bench/web.sh): ${WEB_ROUNDS:-3} rounds, quiet and hammered alternating, medians;" \
	"calls/s: ${WEB_CALLS:-6000} calls, ${WEB_CONC:-50} at once, no hold; set-up: INVITE to 200 at" \
	"${WEB_RATE:-200} calls/s; failed calls quiet $(web_value web_failed_quiet), hammered" \
	"$(web_value web_failed_hammer); set-up p99 $(web_value web_setup_p99_quiet_ms) /" \
	"$(web_value web_setup_p99_hammer_ms) ms; quiet runs' spread: calls/s $(web_value web_noise_pct) %," \
	"set-up $(web_value web_noise_setup_pct) %."
echo "  hammer: $(web_value web_hammer_detail); daemon CPU $(web_value web_cpu_per_req_us) us per request"
echo "  /metrics: $(web_value web_metrics_detail); /api/status p50 $(web_value web_status_p50_ms) ms, p99 $(web_value web_status_p99_ms) ms"
exit 0
