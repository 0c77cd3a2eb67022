#!/usr/bin/env bash
# im.sh: SIP MESSAGE between phones (RFC 3428), on 127.0.24.x only. Debian's baresip registers as
# 802; a SIPp phone 801 sends it a text message: challenged like a call, then relayed to 802's
# registration, which shows it; the sender gets the 200. A message to a phone with no
# registration gets 480, to no such phone 404, a body over 4 KiB 413, without credentials 401
# only; OPTIONS advertises MESSAGE in Allow.
. "$(dirname "$0")/lib.sh"

D=127.0.24.60
CONF=$WORK/conf
call_sipconf "$CONF" $D 5060 127.0.24.59 5160
sip_phone "$CONF" 801 pw801 dynamic
sip_phone "$CONF" 802 pw802 dynamic
sip_phone "$CONF" 803 pw803 dynamic
printf '[from_phone]\nexten => _X.,1,Hangup()\n[from_line]\nexten => _X.,1,Hangup()\n[public]\nexten => _X.,1,Hangup()\n' >"$CONF/extensions.conf"
daemon_start "$CONF"
wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }

if have_baresip; then
	BS=$WORK/baresip
	baresip_conf "$BS" 127.0.24.62:5062 440 "<sip:802@$D>;auth_pass=pw802;regint=300" \
		"net_interface 127.0.24.62" "module stdio.so" "module menu.so"
	# stdio shows what the phone shows (the message); its input is an idle pipe.
	mkfifo "$WORK/bs-in"
	sleep 40 >"$WORK/bs-in" &
	PIDS+=($!)
	timeout -k 5 40 baresip -f "$BS" -t 30 <"$WORK/bs-in" >"$WORK/baresip.log" 2>&1 &
	PIDS+=($!)
	check "baresip-registers" wait_for 10 peer_ua 802 baresip
	sipp_bg msg im-send.xml 127.0.24.61 5261 $D:5060 -s 802 -key msgtext "dinner at 7"
	wait_ok "message-sent" "$BG" msg
	check "message-delivered-200" grep -q "^SIP/2.0 200 " "$WORK/sipp-msg.msg"
	check "baresip-shows-message" wait_for 5 grep -q "dinner at 7" "$WORK/baresip.log"
	check "baresip-sees-sender" grep -q "sip:801@$D" "$WORK/baresip.log"
else
	echo "# baresip not installed: its part skipped"
fi
sipp_bg nobody im-send.xml 127.0.24.61 5262 $D:5060 -s 803 -key msgtext "hello"
wait_ok "unregistered-sent" "$BG" nobody
check "unregistered-480" grep -q "^SIP/2.0 480 " "$WORK/sipp-nobody.msg"
sipp_bg nosuch im-send.xml 127.0.24.61 5263 $D:5060 -s 899 -key msgtext "hello"
wait_ok "no-such-sent" "$BG" nosuch
check "no-such-phone-404" grep -q "^SIP/2.0 404 " "$WORK/sipp-nosuch.msg"
big=$(head -c 5000 /dev/zero | tr '\0' 'x')
sipp_bg big im-big.xml 127.0.24.61 5264 $D:5060 -s 802 -key msgtext "$big"
wait_ok "too-big-413" "$BG" big
sipp_bg opt options.xml 127.0.24.61 5265 $D:5060
wait_ok "options" "$BG" opt
check "allow-message" grep -q "^Allow:.*MESSAGE" "$WORK/sipp-opt.msg"
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
