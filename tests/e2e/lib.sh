# lib.sh: shared helpers for the end-to-end scripts (sourced). Each script starts its own daemon on
# loopback addresses, prints "ok NAME" / "not ok NAME" per check, and stops what it started by PID.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIKAKAD=${MIKAKAD:-$ROOT/build/check/mikakad}
MIKAKA=${MIKAKA:-$ROOT/build/check/mikaka}
TOOLS=${TOOLS:-$ROOT/build/check/tools}
CORPORA=${MIKAKA_CORPORA:-$ROOT/tests/corpora}
E2E=$ROOT/tests/e2e
WORK=$(mktemp -d /tmp/mikaka-e2e.XXXXXX)
DAEMON_PID=
PIDS=()
FAILS=0

ok() { echo "ok $*"; }
notok() { echo "not ok $*"; FAILS=$((FAILS + 1)); }
check() { # check NAME COMMAND...: ok when the command succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	wait 2>/dev/null
	if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# start_daemon CONFDIR [extra args]: starts mikakad, waits until its control socket answers.
start_daemon() {
	local conf=$1; shift
	CTL=$WORK/ctl.sock
	DAEMON_LOG=$WORK/mikakad.log
	"$MIKAKAD" -C "$conf" -s "$CTL" -d "$WORK/mikaka.db" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		if "$MIKAKA" -s "$CTL" core show version >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "daemon did not start; log:"; cat "$DAEMON_LOG"
	return 1
}

# stop_daemon: SIGTERM, wait up to 10 s; fails unless it exits 0 with no sanitizer report.
stop_daemon() {
	local rc i
	[ -n "$DAEMON_PID" ] || return 1
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		echo "daemon did not stop on SIGTERM"; kill -KILL "$DAEMON_PID"; DAEMON_PID=; return 1
	fi
	wait "$DAEMON_PID"; rc=$?
	DAEMON_PID=
	if grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error:' "$DAEMON_LOG"; then
		echo "sanitizer report in $DAEMON_LOG:"; grep -A20 'Sanitizer\|runtime error' "$DAEMON_LOG" | head -60
		return 1
	fi
	[ $rc = 0 ] || { echo "daemon exit status $rc"; tail -20 "$DAEMON_LOG"; }
	return $rc
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# write_sipconf DIR ADDR PORT [tcp]: a minimal sip.conf listening on ADDR:PORT.
write_sipconf() {
	mkdir -p "$1"
	{
		echo "[general]"
		echo "udpbindaddr=$2"
		echo "bindport=$3"
		if [ "${4:-}" = tcp ]; then echo "tcpenable=yes"; echo "tcpbindaddr=$2"; else echo "tcpenable=no"; fi
	} >"$1/sip.conf"
}

# daemon_start CONFDIR [extra args]: start_daemon, reported as the check "daemon-start"; the
# script ends there when the daemon does not come up.
daemon_start() {
	start_daemon "$@" || { notok "daemon-start"; exit 1; }
	ok "daemon-start"
}

# cli ARGS...: one control-socket command to the running daemon.
cli() { "$MIKAKA" -s "$CTL" "$@"; }

# no_channels: bounded wait (5 s) until the daemon has no channel left; shows them if some stay.
no_channels() {
	local i
	for i in $(seq 50); do
		cli core show channels | grep -q "^0 active channels" && return 0
		sleep 0.1
	done
	cli core show channels
	return 1
}

# ---- configuration of the call tests --------------------------------------------------------

# call_sipconf DIR ADDR PORT CARRIER CARRIER_PORT [LINE_OPTION...]: DIR/sip.conf listening on
# ADDR:PORT over UDP (no guests, unknown callers in context "public", realm ntt-east.ne.jp) with
# the carrier line [line] at CARRIER:CARRIER_PORT (no authentication either way, context
# from_line, From 0312345678@ntt-east.ne.jp, no qualify) plus the LINE_OPTIONs, one per line.
# The phones follow with sip_phone.
call_sipconf() {
	local dir=$1 addr=$2 port=$3 car=$4 carport=$5
	shift 5
	mkdir -p "$dir"
	{
		cat <<-EOT
		[general]
		udpbindaddr=$addr
		bindport=$port
		tcpenable=no
		allowguest=no
		context=public
		realm=ntt-east.ne.jp
		[line]
		type=peer
		host=$car
		port=$carport
		insecure=port,invite
		context=from_line
		fromuser=0312345678
		fromdomain=ntt-east.ne.jp
		qualify=no
		EOT
		[ $# = 0 ] || printf '%s\n' "$@"
	} >"$dir/sip.conf"
}

# sip_phone DIR NAME SECRET HOST[:PORT] [OPTION...]: appends phone NAME (type=friend, context
# from_phone, digest secret SECRET) to DIR/sip.conf; HOST "dynamic" for one that registers.
sip_phone() {
	local dir=$1 name=$2 secret=$3 host=${4%:*} port=
	[ "$4" = "$host" ] || port=${4##*:}
	shift 4
	{
		printf '[%s]\ntype=friend\nhost=%s\n' "$name" "$host"
		[ -z "$port" ] || printf 'port=%s\n' "$port"
		printf 'context=from_phone\nsecret=%s\n' "$secret"
		[ $# = 0 ] || printf '%s\n' "$@"
	} >>"$dir/sip.conf"
}

# rtp_conf DIR START END: DIR/rtp.conf with the relay's port range.
rtp_conf() {
	printf '[general]\nrtpstart=%s\nrtpend=%s\n' "$2" "$3" >"$1/rtp.conf"
}

# ---- the web console tests (web.sh, webui.sh, metrics.sh) ------------------------------------

# web_pbx_conf DIR ADDR PORT CARRIER CARRIER_PORT PHONE801: the PBX the console tests look at:
# call_sipconf, phone 801 at PHONE801 (ADDR:PORT), phone 802 registering, calls from the line
# to 801, and mikaka.conf [web] on ADDR:HTTP_PORT is left to the caller (web_conf).
web_pbx_conf() {
	call_sipconf "$1" "$2" "$3" "$4" "$5"
	sip_phone "$1" 801 pw801 "$6"
	sip_phone "$1" 802 pw802 dynamic
	cat >"$1/extensions.conf" <<-'EOT'
	[from_line]
	exten => _X.,1,Dial(SIP/801,20)
	 same => n,Hangup()
	[from_phone]
	exten => _X.,1,Hangup()
	[public]
	exten => _X.,1,Hangup()
	EOT
}

# web_conf DIR ADDR:PORT [KEY=VALUE...]: DIR/mikaka.conf with [web] listening there.
web_conf() {
	local dir=$1 listen=$2
	shift 2
	{ printf '[web]\nlisten=%s\n' "$listen"; [ $# = 0 ] || printf '%s\n' "$@"; } >"$dir/mikaka.conf"
}

# jqt JQ_ARGS...: a jq -e test whose output is dropped (not the check's ok/not ok line).
jqt() { jq -e "$@" >/dev/null; }

# code CURL_ARGS...: the HTTP status curl gets (000: none), within 5 s.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

# ---- SIPp -----------------------------------------------------------------------------------

# sipp_bg NAME SCENARIO IP PORT [SIPP ARGS...]: a SIPp on IP:PORT in the background (its PID in
# BG, stopped at exit) playing SCENARIO (a file in tests/e2e/sipp unless a path) SM times
# (default 1); messages traced to $WORK/sipp-NAME.msg, errors to $WORK/sipp-NAME.err; it fails
# after STMO seconds (default SIPP_TIMEOUT, else 30). The scenario's key "workdir" is $WORK; the
# remote address, when there is one, is among the SIPP ARGS.
sipp_bg() {
	local name=$1 sf=$2 ip=$3 port=$4 tmo=${STMO:-${SIPP_TIMEOUT:-30}}
	shift 4
	[ -f "$sf" ] || sf=$E2E/sipp/$sf
	timeout -k 5 $((tmo + 10)) sipp -sf "$sf" -i "$ip" -p "$port" -m "${SM:-1}" \
		-timeout "${tmo}s" -timeout_error \
		-nostdin -trace_err -trace_msg -message_file "$WORK/sipp-$name.msg" \
		-error_file "$WORK/sipp-$name.err" -key workdir "$WORK" "$@" \
		>"$WORK/sipp-$name.log" 2>&1 &
	BG=$!
	PIDS+=("$BG")
}

# wait_ok NAME PID [SIPP_NAME]: the check NAME passes when the SIPp PID succeeded; else the end
# of its error file (that of sipp_bg SIPP_NAME, by default NAME) is shown.
wait_ok() {
	if wait "$2"; then ok "$1"; else notok "$1"; tail -20 "$WORK/sipp-${3:-$1}.err" 2>/dev/null; fi
}

# csv FILE USER PASSWORD [EXPIRES]: a SIPp injection file with one user's credentials (and the
# registration's Expires, default 600).
csv() {
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];%s;\n' "$2" "$2" "$3" \
		"${4:-600}" >"$1"
}

# sipp_register USER PASSWORD IP PORT SERVER: registers USER from IP:PORT with digest (SIPp
# scenario reg-phone.xml) and waits: the check "reg-USER".
sipp_register() {
	csv "$WORK/$1.csv" "$1" "$2"
	sipp_bg "reg-$1" reg-phone.xml "$3" "$4" -inf "$WORK/$1.csv" "$5"
	wait_ok "reg-$1" "$BG"
}

# ---- baresip --------------------------------------------------------------------------------

# have_baresip: baresip and its modules are installed (the scripts skip its part otherwise).
have_baresip() { command -v baresip >/dev/null && [ -d /usr/lib/baresip/modules ]; }

# baresip_conf DIR LISTEN TONE_HZ ACCOUNT [CONFIG_LINE...]: a baresip configuration in DIR: SIP
# over UDP on LISTEN (addr:port), G.711, a TONE_HZ sine as its microphone, what it hears played
# nowhere (aubridge), the one account line ACCOUNT, no contacts, plus the CONFIG_LINEs.
baresip_conf() {
	local dir=$1 listen=$2 hz=$3 account=$4
	shift 4
	mkdir -p "$dir"
	{
		cat <<-EOF
		poll_method epoll
		sip_listen $listen
		sip_transports udp
		module_path /usr/lib/baresip/modules
		module g711.so
		module ausine.so
		module aubridge.so
		module_app account.so
		audio_player aubridge,x
		audio_source ausine,$hz
		audio_alert aubridge,x
		EOF
		[ $# = 0 ] || printf '%s\n' "$@"
	} >"$dir/config"
	echo "$account" >"$dir/accounts"
	: >"$dir/contacts"
}

# baresip_bg DIR SECONDS [ARGS...]: baresip with the configuration in DIR in the background for
# at most SECONDS (its PID in BS_PID, stopped at exit; output in $WORK/baresip.log).
baresip_bg() {
	local dir=$1 secs=$2
	shift 2
	timeout -k 5 "$secs" baresip -f "$dir" "$@" >"$WORK/baresip.log" 2>&1 &
	BS_PID=$!
	PIDS+=("$BS_PID")
}

finish() {
	[ "$FAILS" = 0 ]
}
