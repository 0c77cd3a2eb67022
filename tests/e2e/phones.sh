#!/usr/bin/env bash
# phones.sh: the phones people have, with the defaults (issue 12). The configuration directory
# holds only sip.conf and extensions.conf in the Asterisk dialect: no mikaka.conf. On 127.0.1.70-79
# only (the daemon on 127.0.1.70:5060).
#  1. Debian's baresip (libre 1.1, which gives up on any SHA-256 challenge) as 801 and 802:
#     both register, 801 calls 802, 802 answers, audio flows both ways through the relay (each
#     side's decoded audio holds the other's tone: tools/wavtone), 801 hangs up, the call record
#     says ANSWERED.
#  2. Twinkle (twinkle-console, which keeps only the last WWW-Authenticate and knows only MD5) as
#     803 registers and unregisters.
#  3. liblinphone (linphone-daemon) as 804 registers at the defaults (MD5); then with
#     `digest_algorithms = sha-256, md5` in a mikaka.conf added and reloaded: the same account,
#     which now keeps only an MD5 HA1, still registers (MD5, the second challenge); a fresh one
#     registers and places an INVITE, both with SHA-256 credentials; 802 (still registered)
#     answers; 804 hangs up.
# Each real phone stack is skipped (with a "# ... skipped" line) when it is not installed.
. "$(dirname "$0")/lib.sh"

NET=127.0.1
ADDR=$NET.70
CONF=$WORK/conf
mkdir -p "$CONF"
cat >"$CONF/sip.conf" <<EOF
[general]
udpbindaddr=$ADDR
bindport=5060
tcpenable=no
context=phones

[phone](!)
type=friend
host=dynamic
context=phones

[801](phone)
secret=pw801
[802](phone)
secret=pw802
[803](phone)
secret=pw803
[804](phone)
secret=pw804
EOF
cat >"$CONF/extensions.conf" <<'EOF'
[phones]
exten => _80X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
EOF

check "no-mikaka-conf" test ! -e "$CONF/mikaka.conf"
daemon_start "$CONF"
# wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds.
wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }
no_binding() { cli sip show peer "$1" | grep -q "Addr->IP *: (Unspecified)"; }
has_binding() { cli sip show peer "$1" | grep -q "Addr->IP *: [0-9]"; }
calls_up() { cli core show channels | grep -q "^1 active call"; }

# ---- 1. baresip calls baresip -----------------------------------------------------------------
# bs_conf DIR IP FREQ ACCOUNT: a headless baresip (lib.sh's baresip_conf) on IP:5060: ausine
# plays FREQ Hz, aubridge stands in for the speaker, sndfile dumps what it decoded
# (dump-*-dec.wav); never ALSA.
bs_conf() {
	baresip_conf "$1" "$2:5060" "$3" "$4" "net_interface $2" "rtp_ports 40100-40198" \
		"module sndfile.so" "snd_path $1" "module menu.so" "ausrc_srate 48000" \
		"ausrc_channels 2"
}
if have_baresip; then
	B1=$WORK/baresip801 B2=$WORK/baresip802
	bs_conf "$B1" $NET.71 1000 "<sip:801@$ADDR>;auth_pass=pw801;regint=300;audio_codecs=PCMU"
	bs_conf "$B2" $NET.72 440 \
		"<sip:802@$ADDR>;auth_pass=pw802;regint=300;answermode=auto;audio_codecs=PCMU"
	timeout -k 5 120 baresip -f "$B2" -t 100 >"$WORK/baresip802.log" 2>&1 &
	B2_PID=$!
	PIDS+=("$B2_PID")
	check "baresip-802-registers" wait_for 10 peer_ua 802 baresip
	# 801 registers, dials 802 at once and quits (hanging up) after 8 s.
	timeout -k 5 30 baresip -f "$B1" -t 8 -e "/dial 802" >"$WORK/baresip801.log" 2>&1 &
	B1_PID=$!
	PIDS+=("$B1_PID")
	check "baresip-801-registers" wait_for 10 peer_ua 801 baresip
	check "baresip-call-answered" wait_for 10 calls_up
	wait "$B1_PID"
	check "baresip-hangup-ends-call" no_channels
	check "baresip-cdr-answered" grep -q "SIP/801-.*SIP/802-.*ANSWERED" <<<"$(cli cdr show 1)"
	# Audio both ways through the relay: each side decoded the other's tone.
	dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
	dec2=$(ls "$B2"/dump-*dec*.wav 2>/dev/null | head -1)
	check "baresip-801-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
	check "baresip-802-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2/none.wav}" 1000 2000
	grep -q "Function not implemented" "$WORK"/baresip80?.log &&
		{ notok "baresip-no-digest-error"; grep "Function not implemented" "$WORK"/baresip80?.log; }
else
	echo "# baresip not installed: skipped"
fi

# ---- 2. Twinkle registers at the defaults ----------------------------------------------------
# Twinkle binds 0.0.0.0 (port 5373 here) and sends from 127.0.0.1. Its audio devices are never
# opened for a registration (validate_audio_dev=no; ALSA's null device named anyway).
if command -v twinkle-console >/dev/null; then
	TW=$WORK/twinkle
	mkdir -p "$TW/.twinkle"
	cat >"$TW/.twinkle/twinkle.sys" <<-EOF
	dev_ringtone=alsa:null
	dev_speaker=alsa:null
	dev_mic=alsa:null
	validate_audio_dev=no
	sip_port=5373
	rtp_port=41300
	play_ringtone=no
	play_ringback=no
	log_show_sip=yes
	EOF
	cat >"$TW/.twinkle/803.cfg" <<-EOF
	user_name=803
	user_domain=$ADDR
	auth_name=803
	auth_pass=pw803
	registrar=$ADDR
	register_at_startup=yes
	registration_time=300
	EOF
	# twinkle-console takes the profile as its first argument; commands come on stdin.
	mkfifo "$TW/in"
	(cd "$TW" && HOME=$TW timeout -k 5 60 twinkle-console 803.cfg <"$TW/in" >"$WORK/twinkle.log" 2>&1) &
	TW_PID=$!
	PIDS+=("$TW_PID")
	exec 7>"$TW/in"
	check "twinkle-803-registers" wait_for 15 peer_ua 803 Twinkle
	echo quit >&7
	exec 7>&-
	wait "$TW_PID"
	check "twinkle-803-unregisters" wait_for 5 no_binding 803
	grep -q "registration succeeded" "$WORK/twinkle.log" || notok "twinkle-says-registered"
else
	echo "# twinkle-console not installed: skipped"
fi

# ---- 3. liblinphone: at the defaults, then with digest_algorithms = sha-256, md5 -------------
# linphone-daemon (from linphone-cli): liblinphone 5.1 opens its SIP transports only once the
# network is reported reachable, which nothing reports here (no network monitor runs in these
# front ends): setting the SIP port with the daemon's own `port` command opens them. No sound
# card: the call is signalling only (audio is checked with baresip above).
# lp_start NAME: linphone-daemon as 804 on 127.0.0.1:5374 (it binds [::]), commands on fd 8,
# its SIP log in $LP/NAME.log.
lp_start() {
	LPLOG=$LP/$1.log
	rm -f "$LP/in" && mkfifo "$LP/in"
	(cd "$LP" && HOME=$LP timeout -k 5 60 linphone-daemon --config "$LP/rc" --log "$LPLOG" \
		<"$LP/in" >"$WORK/linphone-$1.out" 2>&1) &
	LP_PID=$!
	PIDS+=("$LP_PID")
	exec 8>"$LP/in"
	echo "port sip 5374 udp" >&8
}
lp_stop() {
	echo quit >&8
	exec 8>&-
	wait "$LP_PID"
}
# lp_auths ALG N: at least N Authorization headers of that algorithm in the SIP log (REGISTERs
# and INVITEs), followed by a 200 for the REGISTER (the log is written as it goes).
lp_auths() {
	[ -f "$LPLOG" ] && [ "$(grep -c "^Authorization: .*algorithm=$1" "$LPLOG")" -ge "$2" ]
}
# lp_ok: the REGISTER (or INVITE) with credentials got its 200.
lp_ok() { [ -f "$LPLOG" ] && grep -A30 "^Authorization: " "$LPLOG" | grep -q "^SIP/2.0 200 OK"; }
# lp_rc: a fresh account with its password (liblinphone replaces the password by the HA1 of the
# algorithm it used once registered, and answers only that algorithm afterwards).
lp_rc() {
	cat >"$LP/rc" <<-EOF
	[sip]
	default_proxy=0
	register_only_when_network_is_up=0
	[rtp]
	audio_rtp_port=41400
	[sound]
	echocancellation=0
	[video]
	automatically_initiate=0
	[proxy_0]
	reg_proxy=<sip:$ADDR;transport=udp>
	reg_identity=<sip:804@$ADDR>
	reg_expires=300
	reg_sendregister=1
	publish=0
	[auth_info_0]
	username=804
	passwd=pw804
	realm=mikaka
	domain=$ADDR
	EOF
}
if command -v linphone-daemon >/dev/null; then
	LP=$WORK/linphone
	mkdir -p "$LP"
	# At the defaults (MD5 only): it registers with MD5 credentials.
	lp_rc
	lp_start md5
	check "linphone-register-md5" wait_for 10 lp_auths MD5 1
	check "linphone-804-registered-md5" wait_for 5 lp_ok
	check "linphone-804-binding" has_binding 804 # its User-Agent: "Unknown"
	lp_stop
	# SHA-256 opted in. The account now holds only an MD5 HA1: it answers the MD5 challenge
	# alone (the second one offered), and that is accepted.
	printf '[registrar]\ndigest_algorithms = sha-256, md5\n' >"$CONF/mikaka.conf"
	cli reload >/dev/null
	lp_start ha1
	check "linphone-md5-ha1-with-sha256-offered" wait_for 10 lp_auths MD5 1
	check "linphone-804-registered-md5-ha1" wait_for 5 lp_ok
	lp_stop
	# A fresh account (password): its SHA-256 credentials are taken for the REGISTER and for
	# the INVITE.
	lp_rc
	lp_start sha256
	check "linphone-register-sha256" wait_for 10 lp_auths SHA-256 1
	check "linphone-804-registered-sha256" wait_for 5 lp_ok
	# 802 (baresip) registered earlier at the defaults; it would not now (SHA-256 offered).
	if [ -n "${B2_PID:-}" ] && kill -0 "$B2_PID" 2>/dev/null; then
		echo "call sip:802@$ADDR" >&8
		check "linphone-invite-answered" wait_for 10 calls_up
		check "linphone-invite-sha256" lp_auths SHA-256 2
		echo "terminate" >&8
		check "linphone-hangup-ends-call" no_channels
		check "linphone-cdr-answered" grep -q "SIP/804-.*SIP/802-.*ANSWERED" \
			<<<"$(cli cdr show 1)"
	else
		echo "# no baresip 802 to call: the INVITE part is skipped"
	fi
	lp_stop
else
	echo "# linphone-daemon not installed: skipped"
fi

check "no-leaked-channel" no_channels
check "sigterm-clean-exit" stop_daemon
finish
