#!/usr/bin/env bash
# register.sh: registrations end to end. SIPp plays the carrier on 127.0.0.31:5060 and checks the
# line REGISTER's shape (NGN-NOTES §2.2: Request-URI, From/To, no rport, from port 5060, no
# credentials, no OPTIONS ever) and its refreshes, then refuses and accepts (back-off and
# recovery). SIPp phones register with MD5 digest, a wrong password and an unknown user get the
# same 401 and 403, re-register, unregister with "*", send bad input; failures get an address
# banned; a flood of unknown users leaves memory flat; 1,000 phones survive kill -9; baresip
# registers when it is installed.
. "$(dirname "$0")/lib.sh"

NET=${REG_NET:-127.0.0} # REG_NET=127.0.1 runs a second copy beside this one
ADDR=$NET.30	   # the daemon (its line-side and phone-side address here)
CARRIER=$NET.31
SIPP=$E2E/sipp
FLOOD=${FLOOD:-100000}
NPHONES=${NPHONES:-1000}
CONF=$WORK/conf
mkdir -p "$CONF"
# Under ASan, freed memory sits in a quarantine (256 MiB) that would hide whether the flood below
# leaves anything behind: reuse it at once instead.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

{
	cat <<-EOF
	[general]
	udpbindaddr=$ADDR
	bindport=5060
	tcpenable=no
	realm=mikaka
	minexpiry=60
	maxexpiry=3600
	defaultexpiry=120
	register => 0312345678@ntt-test.example@$CARRIER/0312345678

	[ngn]
	type=peer
	host=$CARRIER
	fromdomain=ntt-test.example
	qualify=no
	context=from_line

	[phone](!)
	type=friend
	host=dynamic
	context=from_phone
	secret=pw

	[801](phone)
	secret=correct-horse-801
	qualify=yes
	qualifyfreq=5

	[802](phone)
	secret=pw802
	EOF
	for i in $(seq 0 $((NPHONES - 1))); do printf '[%d](phone)\n' $((80000 + i)); done
} >"$CONF/sip.conf"
cat >"$CONF/mikaka.conf" <<-EOF
[registrar]
register_backoff_min = 1
register_backoff_max = 4
ban_failures = 10
ban_window = 60
ban_time = 900
EOF
printf '[from_phone]\nexten => _X.,1,Hangup()\n[from_line]\nexten => _X.,1,Hangup()\n' \
	>"$CONF/extensions.conf"

# sipp_phone NAME SCENARIO CSV LOCALIP PORT [more sipp args]: one run, ok when every call passed.
sipp_phone() {
	local name=$1 sf=$2 csvf=$3 ip=$4 port=$5
	shift 5
	timeout -k 5 120 sipp "$ADDR:5060" -sf "$sf" -inf "$csvf" -i "$ip" -p "$port" -m 1 -nostdin \
		-timeout 30s -timeout_error -trace_err -error_file "$WORK/$name.err" "$@" \
		>"$WORK/$name.log" 2>&1
}

# ---- the carrier: shape and refresh -------------------------------------------------------
timeout -k 5 60 sipp -sf "$SIPP/reg-carrier.xml" -i "$CARRIER" -p 5060 -m 1 -nostdin \
	-key daemon "$ADDR" \
	-trace_msg -message_file "$WORK/carrier1.msg" -trace_err -error_file "$WORK/carrier1.err" \
	>"$WORK/carrier1.log" 2>&1 &
CARRIER_PID=$!
PIDS+=("$CARRIER_PID")
sleep 0.3
check "config-check" "$MIKAKAD" -C "$CONF" -t
daemon_start "$CONF"

wait "$CARRIER_PID"; rc=$?
check "line-register-shape-and-refreshes" test "$rc" = 0
[ "$rc" = 0 ] || { tail -n 20 "$WORK/carrier1.log" "$WORK/carrier1.err"; }

timeout -k 5 90 sipp -sf "$SIPP/reg-carrier-backoff.xml" -i "$CARRIER" -p 5060 -m 1 -nostdin \
	-key daemon "$ADDR" \
	-trace_msg -message_file "$WORK/carrier2.msg" -trace_err -error_file "$WORK/carrier2.err" \
	>"$WORK/carrier2.log" 2>&1 &
CARRIER_PID=$!
PIDS+=("$CARRIER_PID")
wait "$CARRIER_PID"; rc=$?
check "line-register-refused-then-accepted" test "$rc" = 0
sleep 0.3
out=$(cli sip show registry)
check "show-registry-registered" grep -q "^$CARRIER:5060 .*0312345678@n.*3600 *Registered" <<<"$out"
[ "$rc" = 0 ] && grep -q Registered <<<"$out" || { echo "$out"; tail -n 20 "$WORK/carrier2.log"; }
check "show-registry-columns" grep -q "^Host *dnsmgr *Username *Refresh *State *Reg.Time" <<<"$out"
check "carrier-never-got-options" test -z "$(grep -h '^OPTIONS ' "$WORK"/carrier*.msg)"
check "carrier-requests-from-5060" test -z "$(grep -h '^Via:' "$WORK"/carrier*.msg | grep -v "$ADDR:5060;")"

# ---- phones -------------------------------------------------------------------------------
csv "$WORK/801.csv" 801 correct-horse-801
csv "$WORK/801-bad.csv" 801 wrong-password
csv "$WORK/999.csv" 999 whatever
csv "$WORK/802.csv" 802 pw802
csv "$WORK/802-bad.csv" 802 nope

check "phone-register-md5" sipp_phone p801 "$SIPP/reg-phone.xml" "$WORK/801.csv" $NET.32 5070
out=$(cli sip show peers)
check "show-peers-dynamic-contact" grep -q "^801/801 *$NET.32 *D .* 5070 " <<<"$out"
check "laptop-second-binding" sipp_phone p801b "$SIPP/reg-phone.xml" "$WORK/801.csv" $NET.32 5071
out=$(cli sip show peer 801)
check "show-peer-two-contacts" grep -q "Reg. Contact : sip:801@$NET.32:507[01] (+1 more)" <<<"$out"
check "show-peer-useragent" grep -q "Useragent *: sipp-phone" <<<"$out"

# A wrong password and an unknown user: the same 401, then the same 403.
check "wrong-password-403" sipp_phone fail1 "$SIPP/reg-fail.xml" "$WORK/801-bad.csv" $NET.34 \
	5072 -trace_msg -message_file "$WORK/fail1.msg"
check "unknown-user-403" sipp_phone fail2 "$SIPP/reg-fail.xml" "$WORK/999.csv" $NET.34 5072 \
	-trace_msg -message_file "$WORK/fail2.msg"
# The responses with what differs per request masked (Via, From, To, Call-ID, CSeq, nonce).
responses() {
	awk '/^SIP\/2.0 /{on=1} on && /^$/{on=0; print "--"} on' "$1" |
		grep -v -i '^\(Via\|From\|To\|Call-ID\|CSeq\):' |
		sed 's/nonce="[0-9a-f]*"/nonce="N"/'
}
r1=$(responses "$WORK/fail1.msg")
r2=$(responses "$WORK/fail2.msg")
check "identical-401-and-403" test -n "$r1" -a "$r1" = "$r2"
[ -n "$r1" ] && [ "$r1" = "$r2" ] || diff <(echo "$r1") <(echo "$r2")

check "re-register" sipp_phone p801c "$SIPP/reg-phone.xml" "$WORK/801.csv" $NET.32 5070
out=$(cli sip show peer 801)
check "re-register-keeps-two" grep -q "(+1 more)" <<<"$out"

# Bad input from a registered phone: each gets its answer; the generated cases too.
check "bad-input-answers" sipp_phone bad "$SIPP/reg-bad.xml" "$WORK/802.csv" $NET.32 5073
python3 - "$WORK/reg-bad-big.xml" <<'EOF'
import sys
hdr = """REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
Max-Forwards: 70
From: <sip:[field0]@[remote_ip]>;tag=[pid]g[call_number]
To: <sip:[field0]@[remote_ip]>
Call-ID: [call_id]
CSeq: [cseq] REGISTER
"""
def send(extra):
    return '  <send retrans="500">\n    <![CDATA[\n' + hdr + extra + 'Content-Length: 0\n\n    ]]>\n  </send>\n'
nonce = 'a' * 10240
contacts = ', '.join('<sip:[field0]@[local_ip]:%d>' % (20000 + i) for i in range(100))
body = send('Contact: <sip:[field0]@[local_ip]:[local_port]>\nAuthorization: Digest username="[field0]", realm="mikaka", nonce="%s", uri="sip:a", response="00", qop=auth, nc=00000001, cnonce="c"\nExpires: 600\n' % nonce)
body += '  <recv response="400"/>\n'
body += send('Contact: <sip:[field0]@[local_ip]:[local_port]>\nExpires: 600\n') + '  <recv response="401" auth="true"/>\n'
body += send('Contact: %s\n[field1]\nExpires: 600\n' % contacts) + '  <recv response="403"/>\n'
open(sys.argv[1], 'w').write('<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="reg-bad-big">\n' + body + '</scenario>\n')
EOF
check "bad-input-10k-nonce-100-contacts" sipp_phone bad2 "$WORK/reg-bad-big.xml" "$WORK/802.csv" \
	$NET.32 5073
check "alive-after-bad-input" daemon_alive

check "unregister-star" sipp_phone unreg "$SIPP/reg-unreg.xml" "$WORK/801.csv" $NET.32 5070
out=$(cli sip show peer 801)
check "unregistered-no-contact" grep -q "Reg. Contact : *$" <<<"$out"

# ---- the ban --------------------------------------------------------------------------------
timeout -k 5 60 sipp "$ADDR:5060" -sf "$SIPP/reg-fail.xml" -inf "$WORK/802-bad.csv" -i $NET.35 \
	-p 5074 -m 10 -r 20 -nostdin -timeout 30s >"$WORK/banfail.log" 2>&1
out=$(cli sip show bans)
check "ban-after-10-failures" grep -q "^$NET.35 " <<<"$out"
sipp_phone banned "$SIPP/reg-phone.xml" "$WORK/802.csv" $NET.35 5074
check "banned-address-refused" test $? != 0
check "other-address-still-registers" sipp_phone p802 "$SIPP/reg-phone.xml" "$WORK/802.csv" \
	$NET.36 5075
check "unban" cli sip unban $NET.35
check "unban-lifts" test -z "$(cli sip show bans | grep "^$NET.35 ")"
check "registers-after-unban" sipp_phone unbanned "$SIPP/reg-phone.xml" "$WORK/802.csv" \
	$NET.35 5074

# ---- a flood of unknown users: a 401 each, memory flat, phones still served ------------------
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
flood() {
	timeout -k 5 300 sipp "$ADDR:5060" -sf "$SIPP/reg-flood.xml" -i $NET.37 -p 5076 -m "$FLOOD" \
		-r 20000 -l 2000 -nostdin -timeout 240s -trace_stat -stf "$WORK/flood-$1.csv" \
		-fd 3600 >"$WORK/flood-$1.log" 2>&1
}
timeout -k 5 60 sipp "$ADDR:5060" -sf "$SIPP/reg-fail.xml" -inf "$WORK/802-bad.csv" -i $NET.39 \
	-p 5080 -m 10 -r 20 -nostdin -timeout 30s >"$WORK/banfail2.log" 2>&1
flood 1
rc1=$?
rss1=$(rss)
flood 2
rc2=$?
rss2=$(rss)
check "flood-each-gets-401" test "$rc1" = 0 -a "$rc2" = 0
check "flood-memory-flat" test $((rss2 - rss1)) -lt 4096
echo "# flood of $FLOOD unknown users twice: RSS ${rss1} KiB then ${rss2} KiB"
check "flood-no-ban-without-credentials" test -z "$(cli sip show bans | grep "^$NET.37 ")"
check "ban-holds-through-flood" grep -q "^$NET.39 " <<<"$(cli sip show bans)"
check "phone-after-flood" sipp_phone p801d "$SIPP/reg-phone.xml" "$WORK/801.csv" $NET.32 5079

# ---- baresip: a real softphone, if installed -----------------------------------------------
if have_baresip; then
	# Debian 12's baresip (libre 1.1) refuses a SHA-256 challenge instead of skipping it: it
	# works with the default digest_algorithms (MD5 only).
	BS=$WORK/baresip
	baresip_conf "$BS" $NET.38:5077 440 "<sip:801@$ADDR>;auth_pass=correct-horse-801;regint=60" \
		"net_interface $NET.38"
	baresip_bg "$BS" 30 -t 12
	found=0
	for _ in $(seq 1 60); do
		if cli sip show peer 801 | grep -q "Useragent *: baresip"; then found=1; break; fi
		sleep 0.2
	done
	check "baresip-registers-with-digest" test "$found" = 1
	# 801 has qualify=yes: baresip answers the OPTIONS.
	found=0
	for _ in $(seq 1 40); do
		if cli sip show peer 801 | grep -q "Status *: OK ("; then found=1; break; fi
		sleep 0.2
	done
	check "baresip-qualified" test "$found" = 1
	kill "$BS_PID" 2>/dev/null
	wait "$BS_PID" 2>/dev/null
else
	echo "# baresip not installed: skipped"
fi

# ---- 1,000 phones, kill -9, restart: every binding is back ----------------------------------
{
	echo SEQUENTIAL
	for i in $(seq 0 $((NPHONES - 1))); do
		u=$((80000 + i))
		echo "$u;[authentication username=$u password=pw];3600;"
	done
} >"$WORK/many.csv"
timeout -k 5 300 sipp "$ADDR:5060" -sf "$SIPP/reg-phone.xml" -inf "$WORK/many.csv" -i $NET.33 \
	-p 5078 -m "$NPHONES" -r 500 -l 200 -nostdin -timeout 240s -trace_stat \
	-stf "$WORK/many.csv.stat" -fd 3600 >"$WORK/many.log" 2>&1
check "many-phones-registered" test $? = 0
before=$(cli sip show peers | grep -c "^8[0-9]*/8[0-9]* *$NET.33 ")
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
start_daemon "$CONF" || { notok "daemon-restart"; exit 1; }
after=$(cli sip show peers | grep -c "^8[0-9]*/8[0-9]* *$NET.33 ")
echo "# bindings of the $NPHONES phones: $before before kill -9, $after after the restart"
check "bindings-survive-kill-9" test "$before" = "$NPHONES" -a "$after" = "$NPHONES"
out=$(cli sip show peers | tail -n 1)
online=$(sed -n 's/.*Unmonitored: \([0-9]*\) online.*/\1/p' <<<"$out")
check "show-peers-summary-online" test "${online:-0}" -ge "$NPHONES"

check "sigterm-clean-exit" stop_daemon
finish
