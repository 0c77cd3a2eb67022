#!/usr/bin/env bash
# web.sh: the web console's benchmark (issue 16, Speed), called by run.sh (or alone). One mikakad
# (release build) with [web], the B2BUA configuration of bench/calls.sh (a SIPp carrier calls
# through it to a SIPp phone) and WEB_USERS phones that register with digest.
#
# 1. Calls, quiet and hammered, in the same run: each round measures calls/s (closed loop: SIPp
#    keeps WEB_CONC calls in flight, WEB_CALLS calls, no hold: the rate the daemon sustains) and
#    call set-up time (open loop: WEB_RATE calls/s for WEB_SECS s, 100 ms hold; INVITE sent to
#    200 received at the carrier, from SIPp's message trace, p50/p99), once with nothing else and
#    once while bench_webload, bounded in time and count, sends GET /api/calls and GET /metrics
#    in turn on one keep-alive connection with the bearer token of `mikaka web token`, back to
#    back (WEB_HAMMER_RPS 0) or paced. WEB_ROUNDS rounds, quiet and hammered alternating; the median
#    of each is kept, and the spread of the quiet runs among themselves is the noise.
# 2. /metrics with WEB_USERS (1,000) registrations and WEB_HELD (100) calls up: WEB_SCRAPES
#    (1,000) GETs, one after the other, each timed from its first byte sent to its last byte read;
#    p50/p99 (goal <= 5 ms). /api/status (every binding and call as JSON) is timed the same way.
#
# Prints "name value" lines: web_cps_quiet, web_cps_hammer, web_setup_p50_quiet_ms,
# web_setup_p50_hammer_ms, web_setup_p99_quiet_ms, web_setup_p99_hammer_ms, web_noise_pct and
# web_noise_setup_pct (the quiet runs' spread, max - min over the median, of calls/s and set-up
# p50), web_failed_quiet, web_failed_hammer, web_hammer_rps, web_hammer_detail,
# web_cpu_per_req_us, web_metrics_p50_ms, web_metrics_p99_ms, web_metrics_detail,
# web_status_p50_ms, web_status_p99_ms.
#
# Knobs: WEB_ROUNDS (3), WEB_CALLS (6000), WEB_CONC (50), WEB_RATE (200), WEB_SECS (4),
# WEB_HAMMER_RPS (0: as fast as one connection goes), WEB_USERS (1000), WEB_HELD (100),
# WEB_SCRAPES (1000), BUILD (build), BENCH_KEEP=1 keeps the work directory.
# Uses only 127.0.0.30-33 (mikakad .30, carrier .31, phone .32, registering phones .33) and stops
# every process it started, by PID.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
ROUNDS=${WEB_ROUNDS:-3}
NCALLS=${WEB_CALLS:-6000}
CONC=${WEB_CONC:-50}
RATE=${WEB_RATE:-200}
SECS=${WEB_SECS:-4}
HRPS=${WEB_HAMMER_RPS:-0}
USERS=${WEB_USERS:-1000}
HELD=${WEB_HELD:-100}
SCRAPES=${WEB_SCRAPES:-1000}
MK_ADDR=127.0.0.30
CAR_ADDR=127.0.0.31
PHONE_ADDR=127.0.0.32
REG_ADDR=127.0.0.33
PORT=5400
CAR_PORT=5401
PHONE_PORT=5402
REG_PORT=5403
WEB_PORT=8480
LOAD=$BUILD/bench/bench_webload

BENCH_NAME=web
. "$(dirname "$0")/lib.sh"
value() { awk -v k="$1" '$1 == k { print $2; f = 1; exit } END { if (!f) print "n/a" }' "$2" 2>/dev/null; }
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for t in sipp timeout awk; do command -v $t >/dev/null || { say "missing $t"; exit 1; }; done
for f in "$BUILD/mikakad" "$BUILD/mikaka" "$LOAD"; do
	[ -x "$f" ] || { say "$f not built (make bench builds it)"; exit 1; }
done

cp tests/e2e/sipp/reg-phone.xml "$WORK/"
UAC=$PWD/bench/calls-uac.xml
UAS=$PWD/bench/calls-uas.xml

# ---- the daemon ----
mkdir -p "$WORK/conf"
{
	cat <<-EOF
	[general]
	udpbindaddr=$MK_ADDR
	bindport=$PORT
	tcpenable=no
	allowguest=no
	context=public
	realm=mikaka
	maxexpiry=3600
	[line]
	type=peer
	host=$CAR_ADDR
	port=$CAR_PORT
	insecure=port,invite
	context=from_line
	qualify=no
	[phone]
	type=peer
	host=$PHONE_ADDR
	port=$PHONE_PORT
	context=from_phone
	qualify=no
	[u](!)
	type=friend
	host=dynamic
	secret=pw
	qualify=no
	context=from_phone
	EOF
	for i in $(seq 0 $((USERS - 1))); do printf '[%d](u)\n' $((100000 + i)); done
} >"$WORK/conf/sip.conf"
cat >"$WORK/conf/extensions.conf" <<-EOF
[from_line]
exten => _X.,1,Dial(SIP/phone,20)
 same => n,Hangup()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOF
printf '[general]\nrtpstart=20000\nrtpend=40000\n' >"$WORK/conf/rtp.conf"
printf '[registrar]\nban_failures=0\n[web]\nlisten=%s:%s\n' "$MK_ADDR" "$WEB_PORT" \
	>"$WORK/conf/mikaka.conf"
{
	echo SEQUENTIAL
	for i in $(seq 0 $((USERS - 1))); do echo "$((100000 + i));[authentication username=$((100000 + i)) password=pw];3600;"; done
} >"$WORK/users.csv"

"$BUILD/mikakad" -C "$WORK/conf" -s "$WORK/ctl" -d "$WORK/mikaka.db" -q >>"$WORK/log" 2>&1 &
mk_pid=$!
PIDS+=("$mk_pid")
for _ in $(seq 1 50); do
	"$BUILD/mikaka" -s "$WORK/ctl" core show version >/dev/null 2>&1 && break
	sleep 0.1
done
TOKEN=$("$BUILD/mikaka" -s "$WORK/ctl" web token 2>/dev/null)
if ! [[ $TOKEN =~ ^[0-9a-f]{64}$ ]]; then
	say "mikakad did not start with the console: $(tail -n 5 "$WORK/log")"
	exit 1
fi
sleep 0.3 # the token's hash is committed at the end of the loop turn

# ---- 1. calls, quiet and hammered ----
hammer_start()
{
	rm -f "$WORK/stop"
	timeout 120 "$LOAD" "$MK_ADDR" "$WEB_PORT" "$TOKEN" hammer 100 50000000 "$HRPS" "$WORK/stop" \
		/api/calls /metrics >"$WORK/hammer-$1.out" 2>&1 &
	hammer_pid=$!
	PIDS+=("$hammer_pid")
	sleep 0.3
}
hammer_stop()
{
	touch "$WORK/stop"
	for _ in $(seq 1 50); do kill -0 "$hammer_pid" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$hammer_pid"
}

# capacity TAG: WEB_CALLS calls, WEB_CONC at once, no hold; "CPS OK FAILED SECS CPU_US" to TAG.cap
capacity()
{
	local f=$WORK/$1-cap uas uac t0 t1 c0 c1 okc okp ok
	timeout 60 sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin -m "$NCALLS" \
		-timeout 50 -recv_timeout 4000 -buff_size 4194304 -max_recv_loops 10000 \
		-max_sched_loops 10000 -trace_stat -stf "$f-uas.csv" -fd 3600 >"$f-uas.out" 2>&1 &
	uas=$!
	PIDS+=("$uas")
	sleep 0.2
	c0=$(cpu_ticks "$mk_pid")
	t0=$(date +%s.%N)
	timeout 60 sipp "$MK_ADDR:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" -p "$CAR_PORT" -t u1 \
		-nostdin -m "$NCALLS" -l "$CONC" -r 100000 -rp 1000 -d 0 -timeout 50 \
		-recv_timeout 4000 -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 \
		-trace_stat -stf "$f-uac.csv" -fd 3600 >"$f-uac.out" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	wait "$uac" 2>/dev/null
	forget "$uac"
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$mk_pid")
	for _ in $(seq 1 50); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$uas"
	okc=$(ok_of "$f-uac.csv")
	okp=$(ok_of "$f-uas.csv")
	ok=$((okc < okp ? okc : okp))
	awk -v ok="$ok" -v m="$NCALLS" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$HZ" \
		'BEGIN { printf "%d %d %d %.2f %d\n", (t1 > t0 ? ok / (t1 - t0) : 0), ok, m - ok,
			t1 - t0, (ok > 0 ? c * 1e6 / hz / ok : 0) }' >"$WORK/$1.cap"
}

# setup TAG: WEB_RATE calls/s for WEB_SECS s, 100 ms hold; "P50_MS P99_MS OK FAILED" to TAG.setup.
# The set-up time is the carrier's, INVITE sent to 200 received, from SIPp's message trace (its
# timestamps have microseconds; its response-time trace only milliseconds, too coarse here).
setup()
{
	local d=$WORK/$1-setup m=$((RATE * SECS)) uas uac okc okp ok
	mkdir -p "$d"
	timeout $((SECS + 40)) sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin \
		-m "$m" -timeout $((SECS + 20)) -recv_timeout 4000 -buff_size 4194304 \
		-trace_stat -stf "$d/uas.csv" -fd 3600 >"$d/uas.out" 2>&1 &
	uas=$!
	PIDS+=("$uas")
	sleep 0.2
	timeout $((SECS + 40)) sipp "$MK_ADDR:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" \
		-p "$CAR_PORT" -t u1 -nostdin -m "$m" -r "$RATE" -d 100 -timeout $((SECS + 20)) \
		-recv_timeout 4000 -buff_size 4194304 -trace_stat -stf "$d/uac.csv" -fd 3600 \
		-trace_msg -message_file "$d/uac.msg" >"$d/uac.out" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	wait "$uac" 2>/dev/null
	forget "$uac"
	for _ in $(seq 1 50); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$uas"
	okc=$(ok_of "$d/uac.csv")
	okp=$(ok_of "$d/uas.csv")
	ok=$((okc < okp ? okc : okp))
	awk '{ sub(/\r$/, "") }
		/^--------------------/ { split($3, t, ":"); ts = t[1] * 3600 + t[2] * 60 + t[3]; dir = ""; first = ""; next }
		/^UDP message sent/ { dir = "out"; next }
		/^UDP message received/ { dir = "in"; next }
		dir != "" && first == "" && NF { first = $0; next }
		dir != "" && /^Call-ID:/ { cid = $2 }
		dir != "" && /^CSeq:/ {
			if (dir == "out" && first ~ /^INVITE / && !(cid in inv)) inv[cid] = ts
			if (dir == "in" && first ~ /^SIP\/2.0 200/ && $3 == "INVITE" && (cid in inv) && !(cid in ans)) {
				ans[cid] = ts; printf "%.3f\n", (ts - inv[cid]) * 1000 }
			dir = "" }' "$d/uac.msg" |
		sort -g | awk -v ok="$ok" -v m="$m" '{ v[NR] = $1 }
			END { if (NR == 0) { print "n/a n/a", ok, m - ok; exit }
			      p50 = v[int((NR - 1) * 0.5) + 1]; p99 = v[int((NR - 1) * 0.99) + 1];
			      printf "%.3f %.3f %d %d\n", p50, p99, ok, m - ok }' >"$WORK/$1.setup"
	[ -n "${BENCH_KEEP:-}" ] || rm -f "$d/uac.msg"
}

for r in $(seq 1 "$ROUNDS"); do
	for cond in quiet hammer; do
		tag=$cond-$r
		[ "$cond" = hammer ] && hammer_start "$r"
		capacity "$tag"
		setup "$tag"
		if [ "$cond" = hammer ]; then
			hammer_stop
			say "hammer round $r: $(tr '\n' ' ' <"$WORK/hammer-$r.out")"
		fi
		say "$tag: calls/s ok failed secs cpu_us_per_call: $(cat "$WORK/$tag.cap");" \
			"set-up p50_ms p99_ms ok failed: $(cat "$WORK/$tag.setup")"
	done
done

# The hammer alone: what one HTTP request costs the daemon in CPU (nothing else running).
hammer_start alone
c0=$(cpu_ticks "$mk_pid")
sleep 3
c1=$(cpu_ticks "$mk_pid")
hammer_stop
hreq=$(value webload_requests "$WORK/hammer-alone.out")
cpu_req=n/a
[ "$hreq" != n/a ] && [ "$hreq" -gt 0 ] &&
	cpu_req=$(awk -v c="$((c1 - c0))" -v hz="$HZ" -v n="$hreq" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
say "hammer alone: $(tr '\n' ' ' <"$WORK/hammer-alone.out"); daemon CPU $cpu_req us per request"

col() { cat "$WORK"/$1-*.$2 2>/dev/null | awk -v i="$3" '{ print $i }' | grep -v n/a; }
cps_q=$(col quiet cap 1 | median)
cps_h=$(col hammer cap 1 | median)
s50_q=$(col quiet setup 1 | median)
s50_h=$(col hammer setup 1 | median)
s99_q=$(col quiet setup 2 | median)
s99_h=$(col hammer setup 2 | median)
# failed calls: the capacity runs' third field, the set-up runs' fourth
failed() { { col "$1" cap 3; col "$1" setup 4; } | awk '{ s += $1 } END { print s + 0 }'; }
fail_q=$(failed quiet)
fail_h=$(failed hammer)
# The noise: how far apart the quiet runs' calls/s are, as a percentage of their median.
noise=$(col quiet cap 1 | awk -v m="$cps_q" 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
	END { if (m + 0 > 0) printf "%.1f", 100 * (hi - lo) / m; else print "n/a" }')
noise_setup=$(col quiet setup 1 | awk -v m="$s50_q" 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
	END { if (m + 0 > 0) printf "%.1f", 100 * (hi - lo) / m; else print "n/a" }')
hrps=$(cat "$WORK"/hammer-[0-9]*.out 2>/dev/null | awk '$1 == "webload_rps" { print $2 }' | median)
hfail=$(cat "$WORK"/hammer-[0-9]*.out 2>/dev/null | awk '$1 == "webload_failed" { s += $2 } END { print s + 0 }')
hreqs=$(cat "$WORK"/hammer-[0-9]*.out 2>/dev/null | awk '$1 == "webload_requests" { s += $2 } END { print s + 0 }')

# ---- 2. /metrics with USERS registrations and HELD calls up ----
say "registering $USERS phones"
timeout 120 sipp "$MK_ADDR:$PORT" -sf "$WORK/reg-phone.xml" -inf "$WORK/users.csv" -i "$REG_ADDR" \
	-p "$REG_PORT" -t u1 -nostdin -m "$USERS" -r 1000 -l 100 -timeout 100 \
	>"$WORK/reg.out" 2>&1 &
reg=$!
PIDS+=("$reg")
wait "$reg" 2>/dev/null
forget "$reg"
timeout 60 sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin -m "$HELD" \
	-timeout 55 >"$WORK/held-uas.out" 2>&1 &
huas=$!
PIDS+=("$huas")
sleep 0.2
timeout 60 sipp "$MK_ADDR:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" -p "$CAR_PORT" -t u1 -nostdin \
	-m "$HELD" -l "$HELD" -r 200 -d 50000 -timeout 55 >"$WORK/held-uac.out" 2>&1 &
huac=$!
PIDS+=("$huac")
up=0
for _ in $(seq 1 50); do
	up=$("$BUILD/mikaka" -s "$WORK/ctl" core show channels 2>/dev/null |
		awk '$2 == "active" && $3 ~ /^call/ { print $1; exit }')
	[ "${up:-0}" -ge "$HELD" ] && break
	sleep 0.2
done
[ "${up:-0}" -ge "$HELD" ] || say "only ${up:-0} of $HELD calls up for the scrapes"
"$LOAD" "$MK_ADDR" "$WEB_PORT" "$TOKEN" time "$SCRAPES" /metrics "$WORK/metrics.txt" >"$WORK/metrics.out"
"$LOAD" "$MK_ADDR" "$WEB_PORT" "$TOKEN" time "$SCRAPES" /api/status "$WORK/status.json" >"$WORK/status.out"
nreg=$(grep -c '^mikaka_registrations{' "$WORK/metrics.txt")
nact=$(awk '$1 == "mikaka_calls_active" { print $2 }' "$WORK/metrics.txt")
m50=$(awk '$1 == "webload_p50_us" { printf "%.3f", $2 / 1000 }' "$WORK/metrics.out")
m99=$(awk '$1 == "webload_p99_us" { printf "%.3f", $2 / 1000 }' "$WORK/metrics.out")
st50=$(awk '$1 == "webload_p50_us" { printf "%.3f", $2 / 1000 }' "$WORK/status.out")
st99=$(awk '$1 == "webload_p99_us" { printf "%.3f", $2 / 1000 }' "$WORK/status.out")
mdetail="$SCRAPES scrapes of $(value webload_bytes "$WORK/metrics.out") bytes, $(value webload_failed "$WORK/metrics.out") failed, max $(value webload_max_us "$WORK/metrics.out") us; $nreg registration series, mikaka_calls_active ${nact:-?}; /api/status $(value webload_bytes "$WORK/status.out") bytes"
say "/metrics: p50 $m50 ms, p99 $m99 ms ($mdetail); /api/status p50 $st50 ms, p99 $st99 ms"
stop_pid "$huac"
stop_pid "$huas"
stop_pid "$mk_pid"

echo "web_cps_quiet $cps_q"
echo "web_cps_hammer $cps_h"
echo "web_setup_p50_quiet_ms $s50_q"
echo "web_setup_p50_hammer_ms $s50_h"
echo "web_setup_p99_quiet_ms $s99_q"
echo "web_setup_p99_hammer_ms $s99_h"
echo "web_noise_pct $noise"
echo "web_noise_setup_pct $noise_setup"
echo "web_failed_quiet $fail_q"
echo "web_failed_hammer $fail_h"
echo "web_hammer_rps $hrps"
echo "web_hammer_detail $hreqs requests in $ROUNDS rounds, $hfail not 200, median ${hrps:-?} req/s (GET /api/calls and /metrics in turn, one connection)"
echo "web_cpu_per_req_us $cpu_req"
echo "web_metrics_p50_ms ${m50:-n/a}"
echo "web_metrics_p99_ms ${m99:-n/a}"
echo "web_metrics_detail $mdetail"
echo "web_status_p50_ms ${st50:-n/a}"
echo "web_status_p99_ms ${st99:-n/a}"
