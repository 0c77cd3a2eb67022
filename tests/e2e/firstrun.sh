#!/usr/bin/env bash
# firstrun.sh: the first run (issue 12): mikakad on a configuration directory holding only the
# default etc/run/mikaka.conf (plus `[sip] bind` for a test address) and no line, on 127.0.3.1-9 only.
# Checks: -t is clean; the secrets of 801 and 802 are generated, printed once with the address to
# register to, equal to `mikaka phones show` and kept 0600 in the state directory; SIPp phones
# register with them and 801 calls 802; after a restart the secrets are the same, nothing is
# printed again, the stored registration of 802 is called from 801 and 801 still authenticates;
# 802 calls 801; a wrong password and an unknown user get 401 then 403; a stranger's INVITE
# without credentials is challenged and reaches no phone; a range added by reload gets its own
# secrets in the reply; baresip registers with the README's accounts line (when installed); a
# state directory that cannot be written stops the start with the path and the reason, and the
# secrets already stored stay as they were.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.3.1 # the daemon
P801=127.0.3.2
P802=127.0.3.3
STRANGER=127.0.3.4
BARESIP_IP=127.0.3.5
SIPP=$E2E/sipp
CONF=$WORK/conf
mkdir -p "$CONF"
cp "$ROOT/etc/run/mikaka.conf" "$CONF/mikaka.conf"
printf '\n[sip]\nbind = %s\n' "$ADDR" >>"$CONF/mikaka.conf"
cli() { "$MIKAKA" -s "$CTL" "$@"; }
csv() { # csv FILE USER PASSWORD
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];600;\n' "$2" "$2" "$3" >"$1"
}
sipp_run() { # NAME IP SCENARIO [more args]: one SIPp run against the daemon, ok when it passed
	local name=$1 ip=$2 sf=$3
	shift 3
	timeout -k 5 60 sipp "$ADDR:5060" -sf "$SIPP/$sf" -i "$ip" -p 5060 -m 1 -nostdin -timeout 20s \
		-timeout_error -trace_err -error_file "$WORK/$name.err" -trace_msg \
		-message_file "$WORK/$name.msg" "$@" >"$WORK/$name.log" 2>&1 ||
		{ tail -n 5 "$WORK/$name.err" 2>/dev/null; return 1; }
}
uas_bg() { # NAME IP [more args]: a SIPp phone that answers one call (and qualify OPTIONS)
	local name=$1 ip=$2
	shift 2
	timeout -k 5 60 sipp -sf "$SIPP/firstrun-uas.xml" -i "$ip" -p 5060 -nostdin \
		-trace_err -error_file "$WORK/$name.err" -trace_msg -message_file "$WORK/$name.msg" \
		"$@" >"$WORK/$name.log" 2>&1 &
	UAS=$!
	PIDS+=("$UAS")
	sleep 0.3
}
secret_of() { # PHONE: its secret from the first-start notice in the daemon's output
	sed -n "s/^$1 \{1,\}$1 \{1,\}\([0-9a-z]\{16\}\) .*/\1/p" "$DAEMON_LOG" | head -1
}

# ---- a first start refused for a configuration error generates nothing ------------------------
mkdir -p "$WORK/broken"
cp "$CONF/mikaka.conf" "$WORK/broken/mikaka.conf"
printf '[registrar]\nban_failures = many\n' >>"$WORK/broken/mikaka.conf"
timeout 20 "$MIKAKAD" -C "$WORK/broken" -s "$WORK/broken.ctl" \
	-d "$WORK/broken-state/mikaka.db" >"$WORK/broken.log" 2>&1
check "config-error-start-exits-78" test $? = 78
check "config-error-no-secret-generated" test ! -e "$WORK/broken-state/phones.secrets"
check "config-error-nothing-printed" test -z "$(grep 'New phones' "$WORK/broken.log")"

# ---- first start ----------------------------------------------------------------------------
out=$("$MIKAKAD" -C "$CONF" -t 2>&1)
check "default-config-check-clean" grep -q "configuration OK (0 errors, 0 warnings)" <<<"$out"
check "check-writes-no-state" test ! -e "$WORK/phones.secrets"
start_daemon "$CONF" || { notok "daemon-start"; exit 1; }
ok "daemon-start"
S801=$(secret_of 801)
S802=$(secret_of 802)
check "secrets-printed-at-first-start" test -n "$S801" -a -n "$S802" -a "$S801" != "$S802"
check "notice-says-where-to-register" grep -q "^Register to: $ADDR:5060 UDP" "$DAEMON_LOG"
check "notice-names-phones-show" grep -q "mikaka -s $CTL phones show" "$DAEMON_LOG"
check "phones-only-no-line-error" test -z "$(grep -i 'error\|line discovery' "$DAEMON_LOG")"
shown=$(cli phones show)
check "phones-show-same-secrets" grep -q "^801 .* $S801 " <<<"$shown"
check "phones-show-802" grep -q "^802 .* $S802 " <<<"$shown"
check "secrets-file-0600" test "$(stat -c %a "$WORK/phones.secrets")" = 600
check "secrets-file-holds-them" grep -q "^801 = $S801\$" "$WORK/phones.secrets"
cp "$WORK/phones.secrets" "$WORK/secrets.before"
check "peers-are-801-802" test "$(cli sip show peers | grep -c '^80[12] ')" = 2

# ---- register, call ---------------------------------------------------------------------------
csv "$WORK/801.csv" 801 "$S801"
csv "$WORK/802.csv" 802 "$S802"
check "801-registers" sipp_run reg801 $P801 reg-phone.xml -inf "$WORK/801.csv"
check "802-registers" sipp_run reg802 $P802 reg-phone.xml -inf "$WORK/802.csv"
uas_bg uas802 $P802
check "801-calls-802-answered" sipp_run call801 $P801 firstrun-call.xml -s 802 \
	-key caller 801 -au 801 -ap "$S801"
wait "$UAS"
check "802-rang-and-answered" test $? = 0
check "cdr-801-to-802-answered" grep -q '"801".*"802".*ANSWERED' <<<"$(cli cdr export --csv)"

# ---- restart: same secrets, nothing printed again, old registration works ---------------------
check "sigterm-clean-exit-1" stop_daemon
start_daemon "$CONF" || { notok "daemon-restart"; exit 1; }
check "secrets-unchanged-on-disk" cmp -s "$WORK/secrets.before" "$WORK/phones.secrets"
check "notice-printed-only-once" test "$(grep -c '^==== New phones' "$DAEMON_LOG")" = 1
shown=$(cli phones show)
check "phones-show-same-after-restart" grep -q "^802 .* $S802 " <<<"$shown"
uas_bg uas802b $P802
check "801-calls-stored-802-after-restart" sipp_run call801b $P801 firstrun-call.xml -s 802 \
	-key caller 801 -au 801 -ap "$S801"
wait "$UAS"
check "801-registers-again-same-secret" sipp_run reg801b $P801 reg-phone.xml -inf "$WORK/801.csv"
uas_bg uas801 $P801
check "802-calls-801-answered" sipp_run call802 $P802 firstrun-call.xml -s 801 \
	-key caller 802 -au 802 -ap "$S802"
wait "$UAS"

# ---- bad credentials, strangers ---------------------------------------------------------------
csv "$WORK/801-bad.csv" 801 wrong-password
csv "$WORK/999.csv" 999 whatever
check "wrong-password-401-then-403" sipp_run fail1 $STRANGER reg-fail.xml -inf "$WORK/801-bad.csv"
check "unknown-user-401-then-403" sipp_run fail2 $STRANGER reg-fail.xml -inf "$WORK/999.csv"
uas_bg uas802c $P802 -timeout 4s
check "stranger-invite-to-802-challenged" sipp_run stranger1 $STRANGER firstrun-stranger.xml \
	-s 802 -key caller 999
check "stranger-as-801-challenged" sipp_run stranger2 $STRANGER firstrun-stranger.xml \
	-s 802 -key caller 801
check "stranger-to-outside-number-challenged" sipp_run stranger3 $STRANGER \
	firstrun-stranger.xml -s 0312345678 -key caller 801
wait "$UAS"
check "stranger-reached-no-phone" test -z "$(grep -s '^INVITE' "$WORK/uas802c.msg")"
check "stranger-got-no-18x-or-2xx" \
	test -z "$(grep -h '^SIP/2.0 \(18\|2\)' "$WORK"/stranger*.msg)"
check "no-channel-left" grep -q "^0 active channels" <<<"$(cli core show channels)"

# ---- one more line: a range, by reload ----------------------------------------------------------
sed -i 's/^802 =$/802 =\n803-804 =/' "$CONF/mikaka.conf"
out=$(cli reload)
check "reload-range-new-secrets-shown" grep -q "^804 .* [0-9a-z]\{16\} " <<<"$out"
check "reload-keeps-801" grep -q "^801 = $S801\$" "$WORK/phones.secrets"
check "reload-adds-804" grep -q "^804 = " "$WORK/phones.secrets"
check "803-is-a-peer" grep -q "^803 " <<<"$(cli sip show peers)"

# ---- baresip with the README's accounts line --------------------------------------------------
# Debian 12's baresip (1.0) cannot answer a SHA-256 challenge, and fails when one is offered
# beside MD5: then the check waits for the MD5-only default (docs/REGISTRATION.md).
if grep -qi '^WWW-Authenticate:.*algorithm="\?SHA-256' "$WORK/reg801.msg"; then
	echo "# baresip skipped: the default challenge offers SHA-256, which baresip 1.0 cannot answer"
elif command -v baresip >/dev/null && [ -d /usr/lib/baresip/modules ]; then
	BS=$WORK/baresip
	mkdir -p "$BS"
	cat >"$BS/config" <<-EOF
	poll_method epoll
	sip_listen $BARESIP_IP:5060
	sip_transports udp
	net_interface $BARESIP_IP
	module_path /usr/lib/baresip/modules
	module g711.so
	module menu.so
	module_app account.so
	EOF
	S803=$(cli phones show | sed -n 's/^803 \{1,\}803 \{1,\}\([0-9a-z]*\) .*/\1/p')
	echo "<sip:803@$ADDR;transport=udp>;auth_pass=$S803" >"$BS/accounts"
	: >"$BS/contacts"
	timeout -k 5 20 baresip -f "$BS" -t 4 >"$WORK/baresip.log" 2>&1 &
	BS_PID=$!
	PIDS+=("$BS_PID")
	reg=
	for _ in $(seq 30); do
		reg=$(cli sip show peer 803 | grep -i "^ *Addr->IP *: *$BARESIP_IP")
		[ -n "$reg" ] && break
		sleep 0.2
	done
	check "baresip-registers-with-readme-line" test -n "$reg"
	[ -n "$reg" ] || tail -n 20 "$WORK/baresip.log"
	wait "$BS_PID"
else
	echo "# baresip not installed: skipped"
fi
check "sigterm-clean-exit-2" stop_daemon

# ---- a state directory that cannot be written --------------------------------------------------
# The daemon runs as nobody (root ignores permissions); the directory stays root's.
RO=$WORK/ro
mkdir -p "$RO/first" "$RO/kept"
chmod 755 "$WORK" "$RO" "$RO/first" "$RO/kept" "$CONF"
chmod 644 "$CONF/mikaka.conf"
as_other=()
if [ "$(id -u)" = 0 ]; then
	as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	chmod 555 "$RO/first" "$RO/kept"
fi
timeout 20 "${as_other[@]}" "$MIKAKAD" -C "$CONF" -s "$RO/first/ctl" -d "$RO/first/mikaka.db" \
	>"$WORK/ro1.log" 2>&1
rc=$?
check "unwritable-first-start-exits-73" test "$rc" = 73
check "unwritable-message-names-path-and-reason" \
	grep -q "cannot be kept: writing $RO/first/phones.secrets: Permission denied" "$WORK/ro1.log"
check "unwritable-message-says-not-starting" grep -q "not starting: the state directory" \
	"$WORK/ro1.log"
check "unwritable-no-sanitizer-report" test -z "$(grep 'Sanitizer\|runtime error' "$WORK/ro1.log")"
[ "$rc" = 73 ] || cat "$WORK/ro1.log"
# Secrets already stored (readable by the daemon's user), a new phone that needs one: refused,
# and the file is exactly as it was.
[ "$(id -u)" = 0 ] && chmod 755 "$RO/kept"
cp "$WORK/phones.secrets" "$RO/kept/phones.secrets"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$RO/kept/phones.secrets"
cp "$RO/kept/phones.secrets" "$WORK/kept.before"
sed -i 's/^803-804 =$/803-805 =/' "$CONF/mikaka.conf"
timeout 20 "${as_other[@]}" "$MIKAKAD" -C "$CONF" -s "$RO/kept/ctl" -d "$RO/kept/mikaka.db" \
	>"$WORK/ro2.log" 2>&1
rc=$?
check "unwritable-new-phone-exits-73" test "$rc" = 73
check "unwritable-message-names-805" grep -q "\[phones\] 805: no secret written" "$WORK/ro2.log"
check "unwritable-stored-secrets-untouched" cmp -s "$WORK/kept.before" "$RO/kept/phones.secrets"
finish
