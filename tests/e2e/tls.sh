#!/usr/bin/env bash
# tls.sh: SIP over TLS (issue 13, part 1). On 127.0.6.x only (the daemon on 127.0.6.1: UDP 5060,
# TLS 5061).
#  1. `mikakad -t`: a tlscertfile that is missing, or a tlsprivatekey that does not match the
#     certificate, fails with file:line; a matching pair passes; a cipher list OpenSSL takes
#     nothing from fails.
#  2. tlsenable=yes without a certificate: a self-signed one is made at first start in the
#     directory of the database, its SHA-256 fingerprint logged (the same as openssl computes),
#     the key readable by the owner only; a restart reuses it. OpenSSL is mapped into the daemon
#     only when TLS is enabled (dlopen).
#  3. With openssl s_client: OPTIONS over TLS 1.3 and 1.2 answered 200 with Via SIP/2.0/TLS; a
#     double-CRLF ping answered by a CRLF pong; a request cut across TLS records (and pauses)
#     answered; TLS 1.1 and a plain TCP client refused; a client that completes the handshake
#     and sends nothing is closed after the frame timeout; connections from one address beyond
#     tcp_max_connections_per_address are closed at once.
#  4. baresip (Debian's, libre 1.1) as 801 over TLS (;transport=tls, the self-signed
#     certificate as its CA) and 802 over UDP: `sip show peers` says TLS for 801; 801 calls 802,
#     802 answers, each hears the other's tone; a capture of the phone-side TLS port holds no
#     cleartext SIP.
#  5. Flows (RFC 5626): baresip killed with -9: its binding goes when the connection closes; a
#     silent baresip (no keep-alives) is closed at tcp_idle_timeout and its binding goes.
# The daemon survives it all with no sanitizer report.
. "$(dirname "$0")/lib.sh"

NET=127.0.6
ADDR=$NET.1
CONF=$WORK/conf
mkdir -p "$CONF"

# wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds.
wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}

sipconf() { # sipconf EXTRA_GENERAL_LINE...: sip.conf with TLS on, phones 801 (TLS) and 802
	{
		cat <<-EOF
		[general]
		udpbindaddr=$ADDR
		bindport=5060
		tcpenable=no
		tlsenable=yes
		tlsbindaddr=$ADDR
		context=phones
		EOF
		[ $# = 0 ] || printf '%s\n' "$@"
		cat <<-EOF

		[phone](!)
		type=friend
		host=dynamic
		context=phones

		; 801 has no transport=: a phone registering over TLS at the defaults is taken
		[801](phone)
		secret=pw801
		[802](phone)
		secret=pw802
		EOF
	} >"$CONF/sip.conf"
}
cat >"$CONF/extensions.conf" <<'EOF'
[phones]
exten => _80X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
EOF

# ---- 1. mikakad -t on the certificate files ---------------------------------------------------
KEYS=$WORK/keys
mkdir -p "$KEYS"
mkcert() { # mkcert NAME: a self-signed EC certificate NAME.crt with its key NAME.key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=$1" -keyout "$KEYS/$1.key" -out "$KEYS/$1.crt" >/dev/null 2>&1
}
mkcert a && mkcert b
t_out() { "$MIKAKAD" -C "$CONF" -t 2>&1; }

sipconf "tlscertfile=$KEYS/missing.crt"
out=$(t_out); rc=$?
echo "$out" | sed 's/^/# /'
check "t-missing-cert-fails" test $rc != 0
line=$(grep -n '^tlscertfile' "$CONF/sip.conf" | cut -d: -f1)
check "t-missing-cert-file-line" grep -q "sip.conf:$line:.*tlscertfile.*missing.crt" <<<"$out"

sipconf "tlscertfile=$KEYS/a.crt" "tlsprivatekey=$KEYS/b.key"
out=$(t_out); rc=$?
echo "$out" | sed 's/^/# /'
check "t-key-mismatch-fails" test $rc != 0
line=$(grep -n '^tlscertfile' "$CONF/sip.conf" | cut -d: -f1)
check "t-key-mismatch-file-line" grep -q "sip.conf:$line:.*does not match" <<<"$out"

sipconf "tlscertfile=$KEYS/a.crt" "tlsprivatekey=$KEYS/missing.key"
out=$(t_out); rc=$?
line=$(grep -n '^tlsprivatekey' "$CONF/sip.conf" | cut -d: -f1)
check "t-missing-key-file-line" bash -c '[ "$1" != 0 ] && grep -q "sip.conf:$2:.*tlsprivatekey" <<<"$3"' _ "$rc" "$line" "$out"

sipconf "tlscertfile=$KEYS/a.crt" "tlsprivatekey=$KEYS/a.key" "tlscipher=NOSUCHCIPHER"
out=$(t_out); rc=$?
check "t-bad-cipher-fails" bash -c '[ "$1" != 0 ] && grep -q "tlscipher" <<<"$2"' _ "$rc" "$out"

sipconf "tlscertfile=$KEYS/a.crt" "tlsprivatekey=$KEYS/a.key" "tlsclientmethod=tlsv1_2"
check "t-matching-pair-ok" t_out

# ---- 2. the self-signed certificate -----------------------------------------------------------
cat >"$CONF/mikaka.conf" <<EOF
[sip]
tcp_frame_timeout=2
tcp_max_connections_per_address=4
EOF
# OpenSSL is dlopened only when TLS is configured (src/sip/tls_lib.h): not mapped without it.
sipconf
sed -i 's/^tlsenable=yes/tlsenable=no/' "$CONF/sip.conf"
daemon_start "$CONF"
check "no-tls-no-openssl-mapped" bash -c '! grep -qE "libssl|libcrypto" "/proc/$1/maps"' _ "$DAEMON_PID"
check "stop-0" stop_daemon
sipconf
check "t-no-cert-ok" t_out
daemon_start "$CONF" -v
check "tls-openssl-mapped" grep -q "libssl" "/proc/$DAEMON_PID/maps"
CERT=$WORK/tls-cert.pem
check "self-signed-created" test -s "$CERT" -a -s "$WORK/tls-key.pem"
check "self-signed-key-private" test "$(stat -c %a "$WORK/tls-key.pem")" = 600
fp=$(openssl x509 -in "$CERT" -noout -fingerprint -sha256 | cut -d= -f2)
echo "# fingerprint $fp"
check "fingerprint-logged" grep -q "SHA-256 fingerprint $fp" "$DAEMON_LOG"
check "stop-1" stop_daemon
: >"$WORK/mikakad.log.1"
mv "$DAEMON_LOG" "$WORK/mikakad.log.1"
daemon_start "$CONF" -v
fp2=$(openssl x509 -in "$CERT" -noout -fingerprint -sha256 | cut -d= -f2)
check "self-signed-reused" test "$fp" = "$fp2"
check "self-signed-not-recreated" bash -c '! grep -q "created a self-signed" "$1"' _ "$DAEMON_LOG"

# ---- 3. TLS clients ----------------------------------------------------------------------------
# sc [S_CLIENT ARGS...]: openssl s_client to the TLS port, the application data it received on
# stdout; its stdin is sent as it comes (each write a TLS record).
sc() { timeout 15 openssl s_client -connect "$ADDR:5061" -quiet -verify_quiet "$@" 2>/dev/null; }
opts() { # opts CALLID: an OPTIONS request over TLS
	printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TLS %s.9:5099;branch=z9hG4bK-%s\r\n' "$ADDR" "$NET" "$1"
	printf 'From: <sip:probe@%s.9>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\n' "$NET" "$1" "$ADDR" "$1"
	printf 'CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n'
}
out=$( (opts tls13; sleep 1) | sc -tls1_3)
check "options-tls13-200" grep -q "^SIP/2.0 200" <<<"$out"
check "options-via-tls" grep -q "^Via: SIP/2.0/TLS" <<<"$out"
out=$( (opts tls12; sleep 1) | sc -tls1_2)
check "options-tls12-200" grep -q "^SIP/2.0 200" <<<"$out"
# A sips: Request-URI: taken over TLS, refused (416) in clear.
out=$( (opts sips | sed '1s/^OPTIONS sip:/OPTIONS sips:/'; sleep 1) | sc)
check "sips-over-tls-200" grep -q "^SIP/2.0 200" <<<"$out"
udp_opts() { # one UDP OPTIONS with a sips: Request-URI from 127.0.6.9; prints the answer
	exec 6<>"/dev/udp/$ADDR/5060" || return 1
	opts sipsudp | sed '1s/^OPTIONS sip:/OPTIONS sips:/; 2s|SIP/2.0/TLS \(.*\);branch|SIP/2.0/UDP \1;rport;branch|' >&6
	timeout 2 head -1 <&6
	exec 6>&-
}
check "sips-over-udp-416" grep -q "^SIP/2.0 416" <<<"$(udp_opts)"
# RFC 5626 §3.5.1: CRLFCRLF → CRLF (and nothing else).
pong=$( (printf '\r\n\r\n'; sleep 1) | sc | od -An -c | tr -d ' \n')
check "ping-pong" test "$pong" = '\r\n'
# One request in three TLS records with pauses between them, cut inside a header line.
opts cut >"$WORK/cut.txt"
out=$( (head -c 30 "$WORK/cut.txt"; sleep 0.3; tail -c +31 "$WORK/cut.txt" | head -c 50; sleep 0.3;
	tail -c +81 "$WORK/cut.txt"; sleep 1) | sc)
check "records-cut-mid-message" grep -q "^SIP/2.0 200" <<<"$out"
out=$( (sleep 1) | timeout 10 openssl s_client -connect "$ADDR:5061" -tls1_1 2>&1)
check "tls11-refused" bash -c '! grep -q "Protocol *: TLSv1.1$" <<<"$1" || grep -q "Cipher is (NONE)" <<<"$1"' _ "$out"
check "tls11-alert" grep -qi "alert protocol version\|unsupported protocol\|no protocols available" <<<"$out"
# A plain TCP client speaking SIP: closed without an answer.
plain() {
	exec 5<>"/dev/tcp/$ADDR/5061" || return 1
	# (The daemon may close before the whole request is written: no SIGPIPE for us.)
	(trap '' PIPE; opts plain >&5) 2>/dev/null
	local got
	got=$(timeout 5 cat <&5 2>/dev/null)
	exec 5>&-
	! grep -q "SIP/2.0" <<<"$got"
}
check "plain-tcp-refused" plain
# Handshake done, then silence: closed after tcp_frame_timeout (2 s), long before s_client's 8 s.
# (s_client's input from a process substitution: the shell does not wait for the sleep.)
t0=$(date +%s)
sc < <(sleep 8) >/dev/null
t1=$(date +%s)
echo "# silent client closed after $((t1 - t0)) s"
check "silent-client-closed" test $((t1 - t0)) -le 5
check "silent-client-logged" grep -q "incomplete message timed out" "$DAEMON_LOG"
# Four connections from one address at most: the fifth is closed at once.
# (The four send a ping each second so that the frame timeout does not close them.)
LIM=()
for i in 1 2 3 4; do
	sc < <(for _ in 1 2 3 4 5; do printf '\r\n\r\n'; sleep 1; done) >/dev/null &
	LIM+=($!)
	PIDS+=($!)
done
sleep 1.5
t0=$(date +%s)
sc < <(sleep 4) >/dev/null
t1=$(date +%s)
check "per-address-limit" test $((t1 - t0)) -le 2
check "per-address-limit-logged" grep -q "refused: 4 connections from that address" "$DAEMON_LOG"
wait "${LIM[@]}"
sleep 0.5 # their connections closed on our side too (baresip below comes from 127.0.0.1 too)

# ---- 4. baresip over TLS calls baresip over UDP --------------------------------------------------
peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }
calls_up() { cli core show channels | grep -q "^1 active call"; }
bs_conf() { # bs_conf DIR IP FREQ ACCOUNT [LINE...]
	local d=$1 ip=$2 hz=$3 acc=$4
	shift 4
	baresip_conf "$d" "$ip:5060" "$hz" "$acc" "net_interface $ip" "rtp_ports 40600-40698" \
		"module sndfile.so" "snd_path $d" "module menu.so" "ausrc_srate 48000" \
		"ausrc_channels 2" "$@"
}
if have_baresip && command -v tcpdump >/dev/null; then
	B1=$WORK/baresip801 B2=$WORK/baresip802
	bs_conf "$B1" $NET.11 1000 \
		"<sip:801@$ADDR;transport=tls>;auth_pass=pw801;regint=300;audio_codecs=PCMU" \
		"sip_cafile $CERT"
	sed -i 's/^sip_transports udp$/sip_transports udp,tls/' "$B1/config"
	bs_conf "$B2" $NET.12 440 \
		"<sip:802@$ADDR>;auth_pass=pw802;regint=300;answermode=auto;audio_codecs=PCMU"
	PCAP=$WORK/tls.pcap
	tcpdump -i lo -U -w "$PCAP" "host $ADDR and tcp port 5061" >"$WORK/tcpdump.log" 2>&1 &
	TD_PID=$!
	PIDS+=("$TD_PID")
	wait_for 5 grep -q "listening on" "$WORK/tcpdump.log"
	timeout -k 5 120 baresip -f "$B2" -t 100 >"$WORK/baresip802.log" 2>&1 &
	B2_PID=$!
	PIDS+=("$B2_PID")
	check "baresip-802-registers-udp" wait_for 10 peer_ua 802 baresip
	timeout -k 5 30 baresip -f "$B1" -t 8 -e "/dial 802" >"$WORK/baresip801.log" 2>&1 &
	B1_PID=$!
	PIDS+=("$B1_PID")
	check "baresip-801-registers-tls" wait_for 10 peer_ua 801 baresip
	out=$(cli sip show peers)
	echo "$out" | sed 's/^/# /'
	check "show-peers-tls" grep -q "^801/801 .* TLS *$" <<<"$out"
	check "show-peers-udp" grep -q "^802/802 .* UDP *$" <<<"$out"
	check "tls-call-answered" wait_for 10 calls_up
	wait "$B1_PID"
	check "tls-hangup-ends-call" no_channels
	# libsrtp2 (and the NSS libraries under it) is not the daemon's: never mapped.
	check "tls-plain-call-no-libsrtp" bash -c '! grep -q "libsrtp2\|libnss3" "/proc/$1/maps"' _ "$DAEMON_PID"
	check "tls-cdr-answered" grep -q "SIP/801-.*SIP/802-.*ANSWERED" <<<"$(cli cdr show 1)"
	dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
	dec2=$(ls "$B2"/dump-*dec*.wav 2>/dev/null | head -1)
	check "tls-801-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
	check "tls-802-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2/none.wav}" 1000 2000
	check "baresip-said-tls" grep -q "801@$ADDR: {0/TLS/v4} 200 OK" "$WORK/baresip801.log"
	kill "$TD_PID" 2>/dev/null
	wait "$TD_PID" 2>/dev/null
	# The capture saw the registration and the call (TLS records, bytes both ways) but no SIP
	# in clear: no method, no status line, no header name.
	size=$(stat -c %s "$PCAP" 2>/dev/null || echo 0)
	echo "# capture of TLS port 5061: $size bytes"
	check "capture-has-traffic" test "$size" -gt 4000
	check "capture-no-cleartext-sip" bash -c '! grep -a -q "SIP/2.0\|REGISTER sip\|INVITE sip\|Call-ID\|auth_pass\|pw801" "$1"' _ "$PCAP"
else
	echo "# baresip or tcpdump not installed: skipped"
fi

# ---- 5. flows: a dead or silent connection takes its binding ------------------------------------
no_binding() { cli sip show peer "$1" | grep -q "Addr->IP *: (Unspecified)"; }
if have_baresip; then
	# baresip killed (-9): the kernel closes its connection, the binding goes at once.
	baresip -f "$B1" -t 30 >"$WORK/baresip801-kill.log" 2>&1 &
	K_PID=$!
	PIDS+=("$K_PID")
	check "flow-registers" wait_for 10 peer_ua 801 baresip
	kill -KILL "$K_PID"
	wait "$K_PID" 2>/dev/null
	check "dead-connection-unbinds" wait_for 5 no_binding 801
	check "dead-connection-logged" grep -q "801: binding .* removed: its TLS connection" "$DAEMON_LOG"
	check "stop-2" stop_daemon
	mv "$DAEMON_LOG" "$WORK/mikakad.log.2"
	# A silent phone (no keep-alives): its connection is closed at tcp_idle_timeout (4 s here)
	# and its binding goes with it, while baresip still runs.
	printf '[sip]\ntcp_idle_timeout=4\n' >"$CONF/mikaka.conf"
	daemon_start "$CONF" -v
	timeout -k 5 30 baresip -f "$B1" -t 20 >"$WORK/baresip801-idle.log" 2>&1 &
	PIDS+=($!)
	check "idle-flow-registers" wait_for 10 peer_ua 801 baresip
	t0=$(date +%s)
	check "silent-connection-unbinds" wait_for 10 no_binding 801
	echo "# binding gone after $(($(date +%s) - t0)) s of silence"
	check "silent-connection-idle-logged" grep -q "closed: idle" "$DAEMON_LOG"
else
	echo "# baresip not installed: flow checks skipped"
fi

check "daemon-alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
