#!/usr/bin/env bash
# postfiles.sh: the post's own sip.conf and extensions.conf (etc/post/, the DHCP placeholders
# filled in) against a strict NTT line, in every form the Asterisk dialect allows for naming the
# line: `register =>` by domain or by address, the user@domain:secret:authuser@host:port form,
# host= the address or the domain, outboundproxy=, fromdomain=, the post's literal
# `register => 210VALUE@DOMAIN/210VALUE` (sub-option 210 as the user and the extension), with
# the line discovered from a lease file and without discovery. In each variant:
#   - mikaka registers to the line (Request-URI sip:DOMAIN, no rport);
#   - phone 801 (SIPp) registers with digest and calls 0312345678: the strict carrier
#     (sipp/pf-carrier-uas.xml) answers 400 to a Via with rport, 403 to a From that is not
#     sip:0312345678@ntt-east.ne.jp and 404 to a Request-URI that is not sip:DIGITS@SERVER-IP;
#     the call must be answered;
#   - the line calls the number at the Contact mikaka registered (sipp/pf-carrier-in.xml): it
#     must not be challenged and must ring 801 through [from_mikaka] (the peer's context).
# Addresses 127.0.2.10-13 only: the daemon's line side .10 (the lease's address), the carrier's
# server .11:5060, the daemon's phone side .12, phone 801 on .13:5061.
. "$(dirname "$0")/lib.sh"

DL=127.0.2.10
CAR=127.0.2.11
DP=127.0.2.12
PH=127.0.2.13
NUM=0312345678
DOM=ntt-east.ne.jp
FW=www.verinfo.hgw.flets-east.jp # option 125, enterprise 210, sub-option 210 (the post's user)

# lease FILE [nonumber]: an ISC dhclient lease with the line's values (option 120 = .11).
lease() {
	{
		echo "lease {"
		echo "  interface \"pf0\";"
		echo "  fixed-address $DL;"
		echo "  option subnet-mask 255.255.255.252;"
		echo "  option dhcp-lease-time 14400;"
		echo "  option dhcp-server-identifier $CAR;"
		echo "  option ip-sip-servers true $CAR;"
		[ "${2:-}" = nonumber ] || echo "  option ntt.number \"$NUM\";"
		echo "  option ntt.domain \"$DOM.\";"
		echo "  expire 3 2099/02/24 12:00:00;"
		echo "}"
	} >"$1"
}

# post_conf DIR REGISTER GWLINES: etc/post/*.conf with the placeholders filled in: the register =>
# line, the [mikaka-gw] host= line replaced by GWLINES (newline-separated), phone 801's secret,
# and the two loopback addresses to listen on (the post listens on all of them).
post_conf() {
	local dir=$1 reg=$2 gw=$3
	mkdir -p "$dir"
	awk -v reg="$reg" -v gw="$gw" -v dl="$DL" -v dp="$DP" '
		/^\[general\]/ { print; print "udpbindaddr=" dl; print "udpbindaddr=" dp; print "bindport=5060"; next }
		/^register *=>/ { if (reg != "") print "register => " reg; next }
		/^\[/ { sec = $0 }
		sec == "[mikaka-gw]" && /^host=/ { print gw; next }
		/^secret=correct-horse-801/ { print "secret=pw801"; next }
		{ print }' "$ROOT/etc/post/sip.conf" >"$dir/sip.conf"
	cp "$ROOT/etc/post/extensions.conf" "$dir/extensions.conf"
	printf '[general]\nrtpstart=54200\nrtpend=54398\n' >"$dir/rtp.conf"
}

# sipp_run NAME SCENARIO IP PORT [args...]: lib.sh's sipp_bg, waited for (its status).
sipp_run() {
	sipp_bg "$@"
	wait "$BG"
}
registered() {
	local i
	for i in $(seq 50); do
		cli sip show registry | grep -q " Registered" && return 0
		sleep 0.1
	done
	cli sip show registry
	return 1
}

# variant NAME LEASE(full|nonumber|none) REGISTER GWLINES [LINE_NUMBER]
variant() {
	V=$1
	# ONLY="name ..." runs only those variants (for debugging one form).
	if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $V "* ]]; then return; fi
	local lz=$2 reg=$3 gw=$4 conf=$WORK/$1 carrier phone cuser
	echo "# variant $V: register => ${reg:-(none)}; [mikaka-gw] $(tr '\n' ' ' <<<"$gw")(lease: $lz)"
	post_conf "$conf" "$reg" "$gw"
	: >"$conf/mikaka.conf"
	if [ "$lz" != none ]; then
		lease "$WORK/$V.lease" "$([ "$lz" = nonumber ] && echo nonumber)"
		printf '[line]\ninterface = pf0\nlease_file = %s\n' "$WORK/$V.lease" >>"$conf/mikaka.conf"
	fi
	rm -f "$WORK/mikaka.db"*
	: >"$WORK/mikakad.log"
	if ! start_daemon "$conf"; then notok "$V-daemon-start"; return; fi

	# The carrier: registrar and callee (two SIPp calls: the REGISTER, the INVITE).
	SM=2 sipp_bg $V-carrier-uas pf-carrier-uas.xml $CAR 5060
	carrier=$BG
	check "$V-registered" registered
	check "$V-register-no-rport" grep -q "^REGISTER sip:$DOM SIP/2.0" "$WORK/sipp-$V-carrier-uas.msg"

	csv "$WORK/801.csv" 801 pw801 300
	check "$V-phone-registers" sipp_run $V-reg-801 reg-phone.xml $PH 5061 -inf "$WORK/801.csv" \
		$DP:5060
	check "$V-call-out-answered" sipp_run $V-phone-out call-phone-out.xml $PH 5061 $DP:5060
	kill "$carrier" 2>/dev/null; wait "$carrier" 2>/dev/null
	grep -q "^SIP/2.0 [4-6][0-9][0-9]" "$WORK/sipp-$V-carrier-uas.msg" &&
		grep "^SIP/2.0 [4-6]" "$WORK/sipp-$V-carrier-uas.msg"
	check "$V-carrier-refused-nothing" bash -c "! grep -q '^SIP/2.0 [4-6][0-9][0-9]' '$WORK/sipp-$V-carrier-uas.msg'"
	check "$V-invite-shape" grep -q "^INVITE sip:$NUM@$CAR:5060 SIP/2.0" "$WORK/sipp-$V-carrier-uas.msg"
	# Via, Contact and SDP toward the line carry the line-side address, never the phone side.
	check "$V-line-side-address" grep -q "^c=IN IP4 $DL" "$WORK/sipp-$V-carrier-uas.msg"
	check "$V-never-phone-side" bash -c "! grep -q '${DP//./\\.}' '$WORK/sipp-$V-carrier-uas.msg'"

	# The line calls in to the Contact we registered.
	cuser=$(sed -n 's/^Contact: *<sip:\([^@]*\)@.*/\1/p' "$WORK/sipp-$V-carrier-uas.msg" | head -1)
	sipp_bg $V-phone-in call-phone-uas.xml $PH 5061
	phone=$BG
	sleep 0.3
	check "$V-call-in-answered" sipp_run $V-carrier-in pf-carrier-in.xml $CAR 5060 -s "${cuser:-$NUM}" \
		$DL:5060
	if wait "$phone"; then ok "$V-phone-rang"; else notok "$V-phone-rang"; fi
	check "$V-call-in-not-challenged" bash -c "! grep -q 'refused INVITE from $CAR' '$DAEMON_LOG'"
	# The called number from P-Called-Party-ID, in the line peer's context (not the Contact user).
	check "$V-call-in-dialplan" grep -q "call from 0901234567 to $NUM@from_mikaka" "$DAEMON_LOG"
	check "$V-no-leaked-call" no_channels
	check "$V-clean-exit" stop_daemon
	if [ "$FAILS" != 0 ]; then
		echo "# daemon log of $V:"; tail -30 "$DAEMON_LOG"
		cp "$DAEMON_LOG" "$WORK/$V-mikakad.log"
	fi
}

GW="host=$CAR"
# 1. The post as written: register by domain, the line peer by its address.
variant post full "$NUM@$DOM/$NUM" "$GW"
# 2. The post's literal register line: sub-option 210 as user and extension.
variant post-210 full "$FW@$DOM/$FW" "$GW"
# 3. Register by address, the line peer by domain (resolved from discovery).
variant reg-addr-host-domain full "$NUM@$CAR/$NUM" "host=$DOM"
# 4. user@domain:secret:authuser@host:port/extension with host= the domain.
variant reg-secret-form full "$NUM@$DOM:unused:$NUM@$CAR:5060/$NUM" "host=$DOM"
# 5. outboundproxy= and fromdomain=: the peer names the domain, requests go to the proxy.
variant outboundproxy full "$NUM@$DOM/$NUM" "host=$DOM
outboundproxy=$CAR
fromdomain=$DOM"
# 6. No discovery: the domain is known from the peer's fromdomain=.
variant nolease-fromdomain none "$NUM@$DOM/$NUM" "host=$CAR
fromdomain=$DOM"
# 7. No discovery, the literal 210 form with the server given as user@domain@host.
variant nolease-210 none "$FW@$DOM@$CAR/$FW" "$GW"
# 8. No discovery, the post's literal line as written (register by domain), the domain known
# from fromdomain= of the peer that names the address: the Contact user is the 210 value, so the
# called number must come from the line's P-Called-Party-ID/To (it 404'd on the Request-URI).
variant nolease-210-domain none "$FW@$DOM/$FW" "host=$CAR
fromdomain=$DOM"
# 9. Discovery without a number (a lease with no option 125 number), the literal 210 form.
variant nonumber-210 nonumber "$FW@$DOM/$FW" "$GW"

finish
