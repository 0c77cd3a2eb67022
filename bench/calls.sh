#!/usr/bin/env bash
# calls.sh: the calls benchmark, called by run.sh (or alone). A SIPp carrier (bench/calls-uac.xml:
# INVITE with SDP, 100/180/200, ACK, CALLS_HOLD_MS pause, BYE) calls through the server under test
# to a SIPp phone (bench/calls-uas.xml: 180, 200 with SDP, ACK, BYE): through mikakad (the dialplan
# Dial()s the phone, the RTP relay rewrites both SDPs and allocates two relay legs per call), and
# through Kamailio as a transaction-stateful, record-routing proxy (bench/kamailio-proxy.cfg), in
# the same run with the same scenarios. For each server a rate search finds the highest call rate
# with < 0.1 % failed calls, and the CPU the server process(es) spent per completed call at that
# rate; then a fresh mikakad holds CALLS_CONC calls at once and the RSS it grew by is divided by
# the calls it held; then each server, started fresh, carries CALLS_LOAD_RATE (200) calls/s of
# CALLS_LOAD_HOLD_MS (2000) ms for CALLS_LOAD_SECS (40) s and its memory under that load is read
# (finished transactions live 32 s, so the last seconds are the steady state). Prints "name
# value" lines: calls_mk_cps, calls_kam_cps, calls_mk_detail, calls_kam_detail, calls_mk_cpu_us,
# calls_kam_cpu_us, calls_mk_bytes_per_call, calls_mk_held, calls_mk_mem_detail,
# calls_mk_load_kib, calls_kam_load_kib, calls_mk_load_detail, calls_kam_load_detail.
#
# Knobs: CALLS_SECS seconds of load per rate step (4), CALLS_RATE0 first rate tried (400),
# CALLS_RATE_MAX highest rate tried (12800), CALLS_STEPS rate steps per server (6: doubling until
# a step fails, then halving the gap), CALLS_HOLD_MS pause between ACK and BYE (100), CALLS_CONC
# calls held at once (10000; fewer when the open-file hard limit has no room for them: 4 relay
# sockets per call), CALLS_CONC_RATE rate at which they are set up (1000), CALLS_SETTLE seconds
# the held calls stay before the heap is read (34: their set-up transactions are over),
# CALLS_LOAD_RATE, CALLS_LOAD_HOLD_MS and CALLS_LOAD_SECS for the memory under load (0 seconds:
# skipped), CALLS_SERVERS servers to measure ("mk kam"), KAM_CHILDREN Kamailio UDP workers (2),
# CALLS_IP0 first of the four addresses (23), BUILD (build), BENCH_KEEP=1 keeps the work
# directory.
# Uses only 127.0.0.23-27 by default (mikakad .23, Kamailio .24, carrier .25, phone .26) and
# stops every process it started, by PID.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
SECS=${CALLS_SECS:-4}
RATE0=${CALLS_RATE0:-400}
RATE_MAX=${CALLS_RATE_MAX:-12800}
STEPS=${CALLS_STEPS:-6}
HOLD_MS=${CALLS_HOLD_MS:-100}
CONC=${CALLS_CONC:-10000}
CONC_RATE=${CALLS_CONC_RATE:-1000}
# The calls the held step aims at: CONC, or what the open-file hard limit leaves room for
# (mikakad raises its soft limit to the hard one; its default [calls] maxcalls keeps 1280 for
# everything else and 4 relay sockets per call).
# Root with CAP_SYS_RESOURCE may raise the hard limit for this shell and what it starts (mikakad
# itself asks for 65,536); elsewhere this fails quietly and the cap below applies.
WANT=$CONC CAPPED=""
NOFILE=$(ulimit -Hn)
if [ "$NOFILE" != unlimited ] && [ $((4 * CONC + 1280)) -gt "$NOFILE" ]; then
	ulimit -Hn $((4 * CONC + 1280 > 65536 ? 4 * CONC + 1280 : 65536)) 2>/dev/null
	NOFILE=$(ulimit -Hn)
fi
if [ "$NOFILE" != unlimited ] && [ $((4 * CONC + 1280)) -gt "$NOFILE" ]; then
	WANT=$(((NOFILE - 1280) / 4))
	CAPPED="capped at $WANT by the open-file hard limit of $NOFILE (4 relay sockets per call)"
fi
SETTLE=${CALLS_SETTLE:-34}
LOAD_RATE=${CALLS_LOAD_RATE:-200}
LOAD_HOLD_MS=${CALLS_LOAD_HOLD_MS:-2000}
LOAD_SECS=${CALLS_LOAD_SECS:-40}
SERVERS=${CALLS_SERVERS:-mk kam}
KAM_CHILDREN=${KAM_CHILDREN:-2}
KAM_BIN=${KAM_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
# Four consecutive loopback addresses from 127.0.0.CALLS_IP0 (23): mikakad, Kamailio, carrier,
# phone; another value lets two runs on one machine stay apart.
IP0=${CALLS_IP0:-23}
MK_ADDR=127.0.0.$IP0
KAM_ADDR=127.0.0.$((IP0 + 1))
CAR_ADDR=127.0.0.$((IP0 + 2))
PHONE_ADDR=127.0.0.$((IP0 + 3))
PORT=5300
CAR_PORT=5301
PHONE_PORT=5302
UAC=$PWD/bench/calls-uac.xml
UAS=$PWD/bench/calls-uas.xml

BENCH_NAME=calls
. "$(dirname "$0")/lib.sh"

# "RSS PSS" in KiB summed over a process and its children (Kamailio's workers).
family_mem()
{
	local p r s rss=0 pss=0
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		r=$(kib_of "$p")
		s=$(pss_of "$p")
		[ -n "$r" ] || continue
		rss=$((rss + r))
		pss=$((pss + ${s:-0}))
	done
	echo "$rss $pss"
}

mk_start()
{
	local d=$WORK/mk
	mkdir -p "$d/conf"
	# The carrier is the line (matched by address, INVITEs not challenged); the phone has a fixed
	# address, so no REGISTER is needed. Every call needs 2 relay legs of 2 ports each.
	cat >"$d/conf/sip.conf" <<-EOF
	[general]
	udpbindaddr=$MK_ADDR
	bindport=$PORT
	tcpenable=no
	allowguest=no
	context=public
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
	EOF
	cat >"$d/conf/extensions.conf" <<-EOF
	[from_line]
	exten => _X.,1,Dial(SIP/phone,20)
	 same => n,Hangup()
	[from_phone]
	exten => _X.,1,Hangup()
	[public]
	exten => _X.,1,Hangup()
	EOF
	# Room for the larger of the held calls and a few seconds of the rate search, in the ports of
	# this machine: the legs bind $MK_ADDR, so other users of these ports on other addresses do
	# not collide (a pair in use is skipped anyway).
	local need=$((4 * CONC + 8000)) end
	[ "$need" -lt 20000 ] && need=20000
	end=$((12000 + need))
	[ "$end" -gt 65534 ] && end=65534
	printf '[general]\nrtpstart=12000\nrtpend=%d\n' "$end" >"$d/conf/rtp.conf"
	rm -f "$d/mikaka.db"* "$d/ctl"
	"$BUILD/mikakad" -C "$d/conf" -s "$d/ctl" -d "$d/mikaka.db" -q >>"$d/log" 2>&1 &
	srv_pid=$!
	PIDS+=("$srv_pid")
	for _ in $(seq 1 50); do
		"$BUILD/mikaka" -s "$d/ctl" core show version >/dev/null 2>&1 && return 0
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	say "mikakad did not start: $(tail -n 5 "$d/log")"
	return 1
}

kam_start()
{
	mkdir -p "$WORK/kam"
	"$KAM_BIN" -f bench/kamailio-proxy.cfg -DD -E -Y "$WORK/kam" -w "$WORK/kam" \
		-n "$KAM_CHILDREN" -l "udp:$KAM_ADDR:$PORT" -m 1024 -M 16 \
		-A "UAS_URI=\"sip:$PHONE_ADDR:$PHONE_PORT\"" >>"$WORK/kam/log" 2>&1 &
	srv_pid=$!
	PIDS+=("$srv_pid")
	for _ in $(seq 1 30); do
		grep -q "Listening on" "$WORK/kam/log" 2>/dev/null && { sleep 0.5; return 0; }
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	say "kamailio did not start: $(tail -n 5 "$WORK/kam/log")"
	return 1
}

# step ADDR TAG RATE: RATE calls/s for SECS seconds through the server at ADDR (PID srv_pid).
# Writes "RATE OK FAILED SECS CPU_US_PER_CALL" to $WORK/TAG.result. A call counts as failed
# unless both the carrier and the phone completed it; calls SIPp did not finish before its time
# cap count as failed too.
step()
{
	local addr=$1 tag=$2 rate=$3 m uas uac c0 c1 t0 t1 okc okp ok
	local f=$WORK/$tag-$rate
	m=$((rate * SECS))
	rm -f "$f"-*
	timeout $((SECS + 30)) sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin \
		-m "$m" -timeout $((SECS + 10)) -recv_timeout 4000 -buff_size 4194304 \
		-max_recv_loops 10000 -max_sched_loops 10000 -trace_stat -stf "$f-uas.csv" -fd 3600 \
		-trace_err -error_file "$f-uas.err" >"$f-uas.out" 2>&1 &
	uas=$!
	PIDS+=("$uas")
	sleep 0.2
	c0=$(cpu_ticks "$srv_pid")
	t0=$(date +%s.%N)
	timeout $((SECS + 30)) sipp "$addr:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" -p "$CAR_PORT" \
		-t u1 -nostdin -m "$m" -r "$rate" -d "$HOLD_MS" -timeout $((SECS + 10)) \
		-recv_timeout 4000 -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 \
		-trace_stat -stf "$f-uac.csv" -fd 3600 -trace_err -error_file "$f-uac.err" \
		>"$f-uac.out" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	wait "$uac" 2>/dev/null
	forget "$uac"
	t1=$(date +%s.%N)
	# The phone has seen every call end by now, unless calls were lost; then its -timeout ends it.
	for _ in $(seq 1 50); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$uas"
	c1=$(cpu_ticks "$srv_pid")
	okc=$(ok_of "$f-uac.csv")
	okp=$(ok_of "$f-uas.csv")
	ok=$((okc < okp ? okc : okp))
	awk -v r="$rate" -v ok="$ok" -v m="$m" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" \
		-v hz="$HZ" 'BEGIN { printf "%d %d %d %.2f %d\n", r, ok, m - ok, t1 - t0,
			(ok > 0 ? c * 1e6 / hz / ok : 0) }' >"$WORK/$tag.result"
}

# search ADDR TAG START_FN: the rate search for one server. Doubles the rate from RATE0 while the
# steps pass (< 0.1 % failed, and the calls done in at most 1.5 times the planned time: a server
# that queues them up has not sustained the rate), then halves the gap between the best pass and
# the lowest failure. A failed step restarts the server. Writes the best passing step to
# $WORK/TAG.best.
search()
{
	local addr=$1 tag=$2 start=$3 rate=$RATE0 lo=0 hi=0 n ok fail secs cpu pass
	$start || return 1
	for n in $(seq 1 "$STEPS"); do
		step "$addr" "$tag" "$rate"
		read -r _ ok fail secs cpu <"$WORK/$tag.result"
		pass=$(awk -v ok="$ok" -v f="$fail" -v s="$secs" -v p="$SECS" -v h="$HOLD_MS" \
			'BEGIN { print (f * 1000 < ok + f && s <= 1.5 * p + h / 1000 + 1) ? 1 : 0 }')
		say "$tag step $n: $rate calls/s: $ok ok, $fail failed, $secs s," \
			"$cpu us CPU per call: $([ "$pass" = 1 ] && echo pass || echo FAIL)"
		if [ "$pass" = 1 ]; then
			lo=$rate
			cp "$WORK/$tag.result" "$WORK/$tag.best"
		else
			hi=$rate
			stop_pid "$srv_pid"
			$start || return 1
		fi
		if [ "$hi" = 0 ]; then
			rate=$((rate * 2))
			[ "$rate" -gt "$RATE_MAX" ] && break
		else
			rate=$(((lo + hi) / 2))
			# Closer than 5 % or 25 calls/s: done.
			[ $((hi - lo)) -le 25 ] || [ $(((hi - lo) * 20)) -le "$hi" ] && break
			[ "$lo" = 0 ] && rate=$((hi / 2))
		fi
	done
	stop_pid "$srv_pid"
}

# The daemon's heap in use (`core show memory`), bytes.
heap_of()
{
	"$BUILD/mikaka" -s "$WORK/mk/ctl" core show memory 2>/dev/null |
		awk '/^Heap in use:/ { print $4; exit }'
}

# held: a fresh mikakad, idle RSS, then CONC calls set up at CONC_RATE and held (the carrier waits
# long before its BYE); RSS when the daemon says it holds them (or stops growing). Writes
# "BYTES_PER_CALL HELD RSS0_KIB RSS1_KIB RSS_BYTES_PER_CALL" to $WORK/held.result (bytes per
# call from the heap in use once the set-up transactions are over).
held()
{
	local uas uac r0 r1 h0 h1 k=0 prev=-1 same=0 hold_ms cap
	[ -n "$CAPPED" ] && say "holding $WANT calls, not $CONC: $CAPPED"
	# A log of its own, so that the refusals counted below are this daemon's.
	[ -f "$WORK/mk/log" ] && mv "$WORK/mk/log" "$WORK/mk/log.rates"
	mk_start || return 1
	sleep 0.5
	r0=$(kib_of "$srv_pid")
	h0=$(heap_of)
	cap=$((WANT / CONC_RATE + 20 + SETTLE))
	hold_ms=$(((cap + 10) * 1000))
	timeout $((cap + 30)) sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin \
		-m "$WANT" -timeout $((cap + 20)) -buff_size 4194304 -max_recv_loops 10000 \
		-max_sched_loops 10000 >"$WORK/held-uas.out" 2>&1 &
	uas=$!
	PIDS+=("$uas")
	sleep 0.2
	timeout $((cap + 30)) sipp "$MK_ADDR:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" \
		-p "$CAR_PORT" -t u1 -nostdin -m "$WANT" -l "$WANT" -r "$CONC_RATE" -d "$hold_ms" \
		-timeout $((cap + 20)) -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 \
		>"$WORK/held-uac.out" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	# Until every call is up, or the count has not moved for 3 s, or the time cap.
	for _ in $(seq 1 $((cap * 4))); do
		sleep 0.25
		k=$("$BUILD/mikaka" -s "$WORK/mk/ctl" core show channels 2>/dev/null |
			awk '$2 == "active" && $3 ~ /^call/ { print $1; exit }')
		k=${k:-0}
		[ "$k" -ge "$WANT" ] && break
		if [ "$k" = "$prev" ]; then same=$((same + 1)); else same=0; fi
		[ "$same" -ge 12 ] && break
		prev=$k
	done
	sleep 0.5
	r1=$(kib_of "$srv_pid")
	# What a held call costs once it is only a call: the set-up transactions end 32 s after
	# it was answered (RFC 6026 timers L and M); the heap in use then is the calls' own state.
	# RSS stays at its set-up peak (freed chunks sit between live ones), so it is reported too.
	sleep "$SETTLE"
	h1=$(heap_of)
	k=$("$BUILD/mikaka" -s "$WORK/mk/ctl" core show channels 2>/dev/null |
		awk '$2 == "active" && $3 ~ /^call/ { print $1; exit }')
	say "mikakad holds ${k:-0} of $WANT calls: RSS $r0 KiB idle, ${r1:-?} KiB once set up;" \
		"heap in use $h0 bytes idle, ${h1:-?} bytes $SETTLE s later"
	if [ -n "$h0" ] && [ -n "$h1" ] && [ -n "$r1" ] && [ "${k:-0}" -gt 0 ]; then
		echo "$(((h1 - h0) / k)) $k $r0 $r1 $(((r1 - r0) * 1024 / k))" >"$WORK/held.result"
	fi
	# Why calls were refused, when they were: the reasons mikakad logged, most frequent first.
	sed -n 's/^.*NOTICE call: refused INVITE from [^:]*:[0-9]* ([^)]*): //p;
		s/^.*\(no media port on [^:]*: .*\)$/\1/p' "$WORK/mk/log" |
		sort | uniq -c | sort -rn | head -n 3 |
		awk '{ n = $1; $1 = ""; printf "%s%s x%d", (NR > 1 ? ";" : ""), $0, n }' \
		>"$WORK/held.refused"
	stop_pid "$uac"
	stop_pid "$uas"
	stop_pid "$srv_pid"
}

# loadmem ADDR TAG START_FN: a fresh server under LOAD_RATE calls/s of LOAD_HOLD_MS ms each for
# LOAD_SECS s. Its memory (RSS and PSS summed over its processes) is sampled every second; the
# figure is the highest RSS of the last 8 s, when calls and 32-s transactions have reached their
# steady state. Writes "RSS_KIB PSS_KIB OK FAILED IDLE_RSS_KIB HEAP" to $WORK/TAG-load.result
# (HEAP: mikakad's heap in use at the end, bytes; - for Kamailio).
loadmem()
{
	local addr=$1 tag=$2 start=$3 m uas uac r0 t rss pss best=0 bestp=0 okc okp ok heap=-
	local f=$WORK/$tag-load
	$start || return 1
	sleep 0.5
	r0=$(family_mem "$srv_pid")
	r0=${r0%% *}
	m=$((LOAD_RATE * LOAD_SECS))
	timeout $((LOAD_SECS + 40)) sipp -sf "$UAS" -i "$PHONE_ADDR" -p "$PHONE_PORT" -t u1 -nostdin \
		-m "$m" -timeout $((LOAD_SECS + 20)) -recv_timeout 8000 -buff_size 4194304 \
		-max_recv_loops 10000 -max_sched_loops 10000 -trace_stat -stf "$f-uas.csv" -fd 3600 \
		>"$f-uas.out" 2>&1 &
	uas=$!
	PIDS+=("$uas")
	sleep 0.2
	timeout $((LOAD_SECS + 40)) sipp "$addr:$PORT" -sf "$UAC" -s 1001 -i "$CAR_ADDR" \
		-p "$CAR_PORT" -t u1 -nostdin -m "$m" -r "$LOAD_RATE" -d "$LOAD_HOLD_MS" \
		-timeout $((LOAD_SECS + 20)) -recv_timeout 8000 -buff_size 4194304 \
		-max_recv_loops 10000 -max_sched_loops 10000 -trace_stat -stf "$f-uac.csv" -fd 3600 \
		>"$f-uac.out" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	for t in $(seq 1 "$LOAD_SECS"); do
		sleep 1
		kill -0 "$uac" 2>/dev/null || break
		[ "$t" -gt $((LOAD_SECS - 8)) ] || continue
		read -r rss pss < <(family_mem "$srv_pid")
		if [ "${rss:-0}" -gt "$best" ]; then best=$rss; bestp=$pss; fi
	done
	if [ "$tag" = mk ]; then
		heap=$(heap_of)
		"$BUILD/mikaka" -s "$WORK/mk/ctl" core show memory >"$f-memory.txt" 2>&1
		say "mk under load: $(awk -F': *' '/^SIP transactions/ { print "transactions " $2 }
			/^Calls/ { print "calls " $2 }' "$f-memory.txt" | paste -sd ' ')"
	fi
	wait "$uac" 2>/dev/null
	forget "$uac"
	for _ in $(seq 1 50); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$uas"
	okc=$(ok_of "$f-uac.csv")
	okp=$(ok_of "$f-uas.csv")
	ok=$((okc < okp ? okc : okp))
	echo "$best $bestp $ok $((m - ok)) $r0 ${heap:--}" >"$WORK/$tag-load.result"
	say "$tag under load: $LOAD_RATE calls/s of $LOAD_HOLD_MS ms for $LOAD_SECS s:" \
		"$ok ok, $((m - ok)) failed; RSS $r0 KiB idle, $best KiB (PSS $bestp KiB) at the end;" \
		"heap in use ${heap:--} bytes"
	stop_pid "$srv_pid"
}

command -v sipp >/dev/null || { say "sipp missing"; exit 1; }
mk=n/a kam=n/a mkd="" kamd="" mkcpu=n/a kamcpu=n/a bpc=n/a nheld=n/a memd=""

for s in $SERVERS; do
	case $s in
	mk)
		[ -x "$BUILD/mikakad" ] || { say "$BUILD/mikakad not built"; continue; }
		search "$MK_ADDR" mk mk_start
		;;
	kam)
		[ -x "$KAM_BIN" ] || { say "kamailio not found"; continue; }
		search "$KAM_ADDR" kam kam_start
		;;
	esac
done
if [ -s "$WORK/mk.best" ]; then
	read -r mk ok fail secs mkcpu <"$WORK/mk.best"
	mkd="$ok ok, $fail failed in $secs s"
fi
if [ -s "$WORK/kam.best" ]; then
	read -r kam ok fail secs kamcpu <"$WORK/kam.best"
	kamd="$ok ok, $fail failed in $secs s"
fi
if [ -x "$BUILD/mikakad" ] && [ "$CONC" -gt 0 ] && [[ " $SERVERS " == *" mk "* ]]; then
	held
	if [ -s "$WORK/held.result" ]; then
		read -r bpc nheld r0 r1 rbpc <"$WORK/held.result"
		memd="$nheld of $WANT calls held (heap in use per call after ${SETTLE} s); RSS $r0 -> $r1 KiB at set-up, $rbpc bytes per call"
		[ -n "$CAPPED" ] && memd="$memd; target $CONC $CAPPED"
		[ -s "$WORK/held.refused" ] && memd="$memd; refused:$(cat "$WORK/held.refused")"
		# Refused calls leave transactions behind, and the one-off costs (the relay thread, its
		# buffers) are spread over fewer calls: a figure from a partial hold would mislead.
		if [ $((nheld * 100)) -lt $((WANT * 99)) ]; then
			bpc="n/a ($nheld of $WANT held)"
		fi
	fi
fi

# Memory under a steady load, each server on its own.
lmk=n/a lkam=n/a lmkd="" lkamd=""
if [ "$LOAD_SECS" -gt 0 ]; then
	for s in $SERVERS; do
		case $s in
		mk) [ -x "$BUILD/mikakad" ] && loadmem "$MK_ADDR" mk mk_start ;;
		kam) [ -x "$KAM_BIN" ] && loadmem "$KAM_ADDR" kam kam_start ;;
		esac
	done
	if [ -s "$WORK/mk-load.result" ]; then
		read -r rss pss ok fail r0 heap <"$WORK/mk-load.result"
		lmk=$rss
		lmkd="$ok ok, $fail failed; RSS $r0 KiB idle; heap in use $heap bytes at the end"
	fi
	if [ -s "$WORK/kam-load.result" ]; then
		read -r rss pss ok fail r0 heap <"$WORK/kam-load.result"
		lkam=$rss
		lkamd="$ok ok, $fail failed; RSS $r0 KiB idle, PSS $pss KiB under load (its workers share memory)"
	fi
fi

echo "calls_mk_cps $mk"
echo "calls_kam_cps $kam"
echo "calls_mk_detail $mkd"
echo "calls_kam_detail $kamd"
echo "calls_mk_cpu_us $mkcpu"
echo "calls_kam_cpu_us $kamcpu"
echo "calls_mk_bytes_per_call $bpc"
echo "calls_mk_held $nheld"
echo "calls_mk_mem_detail $memd"
echo "calls_mk_load_kib $lmk"
echo "calls_kam_load_kib $lkam"
echo "calls_mk_load_detail $lmkd"
echo "calls_kam_load_detail $lkamd"
