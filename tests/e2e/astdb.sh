#!/usr/bin/env bash
# astdb.sh: Asterisk's database end to end. SIPp plays the NGN (127.0.8.42) calling mikakad
# (127.0.8.41); the dialplan writes DB(), routes on DB(), DB_EXISTS()/DB_RESULT and DB_DELETE(),
# and clears a family with DBdeltree; `mikaka database put|get|del|deltree|show|showkey` read and
# change the same entries, and they survive a restart of the daemon. Custom device states (kept
# in the database, as Asterisk keeps them): a SIPp phone (127.0.8.43) watching a hint on
# Custom:night sees `devstate change` and the dialplan's Set(DEVICE_STATE(Custom:night)=...);
# DEVICE_STATE() and EXTENSION_STATE() read them; [general] notifyringing=no hides a ringing
# lamp from watchers; `devstate list` after a restart.
. "$(dirname "$0")/lib.sh"

D=127.0.8.41
CAR=127.0.8.42
CONF=$WORK/conf

PH=127.0.8.43
call_sipconf "$CONF" $D 5060 $CAR 5160
sip_phone "$CONF" 801 pw801 dynamic
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
; 100: day/night switch and a forward target, set from the dialplan
exten => 100,1,Set(DB(night/mode)=1)
 same => n,Set(DB(cf/801)=${CALLERID(num)})
 same => n,Busy()
; 101: route on the switch
exten => 101,1,GotoIf($["${DB(night/mode)}" = "1"]?night)
 same => n,Congestion()
 same => n(night),Busy()
; 102: take the switch out; Busy when it held 0
exten => 102,1,Set(OLD=${DB_DELETE(night/mode)})
 same => n,GotoIf($["${OLD}" = "0"]?b)
 same => n,Congestion()
 same => n(b),Busy()
; 103: clear the forward family
exten => 103,1,DBdeltree(cf)
 same => n,Busy()
; 104: DB_EXISTS sets DB_RESULT
exten => 104,1,GotoIf(${DB_EXISTS(cf/801)}?e)
 same => n,Congestion()
 same => n(e),GotoIf($["${DB_RESULT}" = "${CALLERID(num)}"]?b)
 same => n,Congestion()
 same => n(b),Busy()
; 105: DBdel, then the key count below cf
exten => 105,1,Set(DB(cf/802)=x)
 same => n,DBdel(cf/802)
 same => n,GotoIf($["${DB_KEYS(cf)}" = "801" & ${DB_KEYCOUNT(cf)} = 1]?b)
 same => n,Congestion()
 same => n(b),Busy()
; 106: the night switch's lamp off from the dialplan
exten => 106,1,Set(DEVICE_STATE(Custom:night)=NOT_INUSE)
 same => n,Busy()
; 107: read it back, and the hint's extension state
exten => 107,1,GotoIf($["${DEVICE_STATE(Custom:night)}/${EXTENSION_STATE(9000@from_phone)}" = "NOT_INUSE/NOT_INUSE"]?b)
 same => n,Congestion()
 same => n(b),Busy()
; 108: ChanIsAvail(..., s): Custom:night is in use, Custom:day free: the second is chosen
exten => 108,1,ChanIsAvail(Custom:night&Custom:day,s)
 same => n,GotoIf($["${AVAILORIGCHAN}/${AVAILSTATUS}" = "Custom:day/1"]?b)
 same => n,Congestion()
 same => n(b),Busy()
; 109: nothing free
exten => 109,1,ChanIsAvail(Custom:night,s)
 same => n,GotoIf($["${AVAILORIGCHAN}" = ""]?b)
 same => n,Congestion()
 same => n(b),Busy()
[from_phone]
exten => 9000,hint,Custom:night
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

check "config-check-ok" "$MIKAKAD" -C "$CONF" -t
daemon_start "$CONF"

# call NAME EXTEN CODE: the NGN calls EXTEN; the check passes when the final answer was CODE.
N=0
call() {
	N=$((N + 1))
	sipp_bg "$1-$N" db-carrier-in.xml $CAR 5160 $D:5060 -s "$2"
	if wait "$BG" && grep -q "^SIP/2.0 $3 " "$WORK/sipp-$1-$N.msg"; then
		ok "$1"
	else
		notok "$1"; grep '^SIP/2.0' "$WORK/sipp-$1-$N.msg"; tail -5 "$WORK/sipp-$1-$N.err" 2>/dev/null
	fi
}

call "switch-unset-routes-day" 101 503
call "dialplan-writes" 100 486
check "cli-get-written-switch" grep -qx "Value: 1" <<<"$(cli database get night mode)"
check "cli-get-written-caller" grep -qx "Value: 0399998888" <<<"$(cli database get cf 801)"
call "switch-set-routes-night" 101 486
check "cli-put" cli database put night mode 0
call "cli-put-routes-day" 101 503
call "db-exists-sets-db-result" 104 486
out=$(cli database show)
echo "$out" | sed 's/^/# /'
check "cli-show-lists-both" grep -q "^2 results found" <<<"$out"
check "cli-show-key-order" bash -c 'grep -n "^/cf/801 " <<<"$1" | grep -q "^1:"' _ "$out"
check "cli-showkey" grep -q "^/night/mode .*: 0" <<<"$(cli database showkey mode)"

# Custom device states: a BLF key on Custom:night.
check "devstate-change" grep -qx "Changing Custom:night to NOT_INUSE" <<<"$(cli devstate change Custom:night NOT_INUSE)"
check "devstate-bad-state-refused" bash -c '! "$1" -s "$2" devstate change Custom:night SLEEPY >/dev/null 2>&1' _ "$MIKAKA" "$CTL"
check "devstate-only-custom" bash -c '! "$1" -s "$2" devstate change SIP/801 INUSE >/dev/null 2>&1' _ "$MIKAKA" "$CTL"
rm -f "$WORK/devstate.txt"
sipp_bg watch devstate-watch.xml $PH 5161 $D:5060 -s 9000 -key user 801
WATCH=$BG
# nth_state N STATE: the watcher's Nth NOTIFY carried STATE (waits up to 5 s).
nth_state() {
	local i
	for i in $(seq 50); do
		[ "$(sed -n "${1}p" "$WORK/devstate.txt" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "watch-first-notify-idle" nth_state 1 terminated
cli devstate change Custom:night INUSE >/dev/null
check "watch-sees-cli-inuse" nth_state 2 confirmed
call "dialplan-sets-devstate" 106 486
wait_ok "watch-sees-dialplan-not-inuse" "$WATCH" watch
check "watch-states-in-order" test "$(tr '\n' ' ' <"$WORK/devstate.txt")" = "terminated confirmed terminated "
call "device-and-extension-state-read" 107 486
cli devstate change Custom:night INUSE >/dev/null
cli devstate change Custom:day NOT_INUSE >/dev/null
call "chanisavail-picks-free" 108 486
call "chanisavail-none-free" 109 486
cli devstate change Custom:night NOT_INUSE >/dev/null
check "hint-shown" grep -q "9000@from_phone.*Custom:night.*State:Idle" <<<"$(cli core show hints)"
# notifyringing=no: a ringing lamp is sent as idle; `core show hints` still says Ringing.
sed -i 's/^\[general\]$/[general]\nnotifyringing=no/' "$CONF/sip.conf"
check "reload-notifyringing-no" cli reload
cli devstate change Custom:night RINGING >/dev/null
check "hint-shows-ringing" grep -q "9000@from_phone.*State:Ringing" <<<"$(cli core show hints)"
rm -f "$WORK/devstate.txt"
sipp_bg watch2 devstate-watch.xml $PH 5161 $D:5060 -s 9000 -key user 801
WATCH=$BG
check "notifyringing-no-sends-idle" nth_state 1 terminated
cli devstate change Custom:night INUSE >/dev/null
check "watch2-sees-inuse" nth_state 2 confirmed
cli devstate change Custom:night NOT_INUSE >/dev/null
wait_ok "watch2-done" "$WATCH" watch2
cli devstate change Custom:night BUSY >/dev/null

# Across a restart.
check "daemon-stops-clean" stop_daemon
daemon_start "$CONF"
check "devstate-kept-across-restart" grep -q "Name: 'Custom:night'  State: 'BUSY'" <<<"$(cli devstate list)"
check "kept-across-restart" grep -qx "Value: 0399998888" <<<"$(cli database get cf 801)"
call "switch-kept-across-restart" 101 503
call "db-delete-returns-value" 102 486
cli database get night mode >/dev/null 2>&1
check "db-delete-removed-key" test $? != 0
call "dbdel-and-db-keys" 105 486
call "dbdeltree-clears-family" 103 486
check "family-gone" grep -qx "0 results found." <<<"$(cli database show cf)"
check "cli-deltree-nothing" bash -c '! "$1" -s "$2" database deltree cf >/dev/null 2>&1' _ "$MIKAKA" "$CTL"
check "cli-get-usage" bash -c '! "$1" -s "$2" database get onlyfamily >/dev/null 2>&1' _ "$MIKAKA" "$CTL"
check "alive" daemon_alive
check "daemon-stops-clean-2" stop_daemon
finish
