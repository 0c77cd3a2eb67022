#!/usr/bin/env bash
# default-calls.bash W E2E CLI... (a helper of install.sh and deb.sh, not a test of its own):
# phones 801 and 802 of the installed default configuration (etc/run/mikaka.conf: secrets
# generated at the first start) against a daemon on 127.0.0.1:5060 (the default: every
# address): their secrets are read with `CLI phones show`, both register
# with SIPp (from 127.0.0.2 and 127.0.0.3, port 5070) and 801 calls 802, which answers. Prints
# ok / not ok lines. Used by install.sh and deb.sh in a private network namespace, since the
# default configuration binds 5060 on every address.
set -u
W=$1 E2E=$2
shift 2
ok() { echo "ok $*"; }
notok() { echo "not ok $*"; }
check() { local n=$1; shift; if "$@"; then ok "$n"; else notok "$n"; fi; }
sipp_run() { # NAME IP SCENARIO [args]
	local name=$1 ip=$2 sf=$3
	shift 3
	timeout -k 5 60 sipp 127.0.0.1:5060 -sf "$E2E/sipp/$sf" -i "$ip" -p 5070 -m 1 -nostdin \
		-timeout 20s -timeout_error "$@" >"$W/$name.log" 2>&1 || { tail -5 "$W/$name.log"; return 1; }
}

shown=$("$@" phones show)
S801=$(sed -n 's/^801 \{1,\}801 \{1,\}\([0-9a-z]\{16\}\) .*/\1/p' <<<"$shown")
S802=$(sed -n 's/^802 \{1,\}802 \{1,\}\([0-9a-z]\{16\}\) .*/\1/p' <<<"$shown")
check "default-phones-show-secrets" test -n "$S801" -a -n "$S802" -a "$S801" != "$S802"
echo "$S801 $S802" >"$W/default-secrets"
for p in 801:127.0.0.2:$S801 802:127.0.0.3:$S802; do
	IFS=: read -r u ip s <<<"$p"
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];600;\n' "$u" "$u" "$s" >"$W/$u.csv"
	check "default-$u-registers" sipp_run "reg$u" "$ip" reg-phone.xml -inf "$W/$u.csv"
done
timeout -k 5 60 sipp -sf "$E2E/sipp/firstrun-uas.xml" -i 127.0.0.3 -p 5070 -nostdin \
	>"$W/uas802.log" 2>&1 &
UAS=$!
sleep 0.3
check "default-801-calls-802" sipp_run call801 127.0.0.2 firstrun-call.xml -s 802 \
	-key caller 801 -au 801 -ap "$S801"
wait "$UAS"
check "default-802-answered" test $? = 0
check "default-cdr-801-802-answered" grep -q '"801".*"802".*ANSWERED' <<<"$("$@" cdr export --csv)"
