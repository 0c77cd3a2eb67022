#!/usr/bin/env bash
# line.sh: line discovery end to end, in two network namespaces joined by a veth pair (carrier
# side and mikaka side, documentation prefixes only). dnsmasq plays the carrier's DHCP server
# with options 120, 121 and 125 (vi-encap:210): `mikaka line probe` prints the values without
# installing anything; mikakad with [line] interface= gets the lease, installs only the option-121
# routes (no default route), renews at T1, sees a changed number, restarts from INIT-REBOOT and
# removes everything on exit. Then once more against Kea (kea-dhcp4) when it is installed.
. "$(dirname "$0")/lib.sh"

NS_S=mikaka-line$$s # carrier side
NS_C=mikaka-line$$c # mikaka side
IF_S=vl$$s
IF_C=vl$$c

line_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "$WORK/dnsmasq.pid" "$WORK"/*kea-dhcp4*.pid; do
		[ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap line_cleanup EXIT

if [ "$(id -u)" != 0 ]; then notok "line-needs-root"; exit 1; fi
if ! command -v dnsmasq >/dev/null; then notok "line-needs-dnsmasq"; exit 1; fi
if ! ip netns add "$NS_S" || ! ip netns add "$NS_C"; then notok "line-netns"; exit 1; fi
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" &&
	ip -n "$NS_S" link set lo up && ip -n "$NS_C" link set lo up &&
	ip -n "$NS_S" link set "$IF_S" up && ip -n "$NS_C" link set "$IF_C" up &&
	ip -n "$NS_S" addr add 203.0.113.5/30 dev "$IF_S"
check "line-netns-setup" test $? = 0

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds.
wait_for() {
	local n=$(($1 * 5)); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2; n=$((n - 1))
	done
	return 1
}

# The carrier's vendor options (re-read by dnsmasq on SIGHUP): enterprise 210, sub-options 201
# (MAC), 202 (number), 203 (additional number), 204 (ntt-east.ne.jp in DNS wire format).
write_opts() {
	cat >"$WORK/dnsmasq.opts" <<-EOF
	vi-encap:210,201,02:00:5e:10:20:30
	vi-encap:210,202,"$1"
	vi-encap:210,203,"0312345679"
	vi-encap:210,204,08:6e:74:74:2d:65:61:73:74:02:6e:65:02:6a:70:00
	EOF
}
write_opts 0312345678

DNSMASQ_PID=
start_dnsmasq() {
	ip netns exec "$NS_S" dnsmasq --keep-in-foreground --port=0 --user=root --interface="$IF_S" --bind-interfaces \
		--dhcp-range=203.0.113.6,203.0.113.6,255.255.255.252,2m \
		--dhcp-option=option:router,203.0.113.5 \
		--dhcp-option=option:sip-server,198.51.100.10 \
		--dhcp-option=option:classless-static-route,192.0.2.0/24,203.0.113.5,198.51.100.0/24,203.0.113.5 \
		--dhcp-option=option:T1,10 --dhcp-option=option:T2,20 \
		--dhcp-optsfile="$WORK/dnsmasq.opts" --dhcp-leasefile="$WORK/dnsmasq.leases" \
		--pid-file="$WORK/dnsmasq.pid" --no-ping --log-dhcp --log-facility="$WORK/dnsmasq.log" &
	DNSMASQ_PID=$!
	PIDS+=("$DNSMASQ_PID")
	wait_for 5 test -s "$WORK/dnsmasq.pid"
}
check "dnsmasq-start" start_dnsmasq

# --- probe: every decoded value, nothing installed, within a second ---
out=$(in_c timeout 20 "$MIKAKA" line probe "$IF_C" --timeout 10 2>"$WORK/probe.err"); rc=$?
echo "$out" >"$WORK/probe.out"
check "probe-exit-0" test $rc = 0
check "probe-address" grep -q "address *203.0.113.6/30" <<<"$out"
check "probe-sip-server-opt120" grep -q "sip-server *198.51.100.10 (option 120, IPv4)" <<<"$out"
check "probe-number-202" grep -q "number *0312345678$" <<<"$out"
check "probe-numbers-203" grep -q "numbers *0312345678 0312345679" <<<"$out"
check "probe-domain-204" grep -q "domain *ntt-east.ne.jp" <<<"$out"
check "probe-mac-201" grep -q "mac (201) *02:00:5e:10:20:30" <<<"$out"
check "probe-routes-121" grep -q "route *198.51.100.0/24 via 203.0.113.5" <<<"$out"
check "probe-raw-options" grep -q "^ *125 vendor-information *000000d2" <<<"$out"
ms=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' <<<"$out" | head -1)
check "probe-under-1s (${ms:-?} ms)" test "${ms:-9999}" -le 1000
check "probe-installs-nothing" test -z "$(in_c ip -4 addr show dev "$IF_C" | grep 203.0.113.6)"
json=$(in_c timeout 20 "$MIKAKA" line probe "$IF_C" --json --timeout 10 2>/dev/null)
check "probe-json-valid" sh -c 'jq -e . >/dev/null' <<<"$json"
check "probe-json-values" test "$(jq -r '.number + " " + .domain + " " + .sip_servers[0] + " " + (.numbers|join(","))' <<<"$json")" = \
	"0312345678 ntt-east.ne.jp 198.51.100.10 0312345678,0312345679"
# the client's request carried option 124 with enterprise 210 and its MAC, and asked for 120/125
check "client-asked-for-120-121-125" sh -c "grep -q 'requested options:.*120:sip-server, 121:classless-static-route' $WORK/dnsmasq.log && grep -q 'requested options: 125:vendor-id-encap' $WORK/dnsmasq.log"
out=$(in_c timeout 10 "$MIKAKA" line probe no-such-if --timeout 1 2>&1); rc=$?
check "probe-bad-interface-fails" test $rc != 0

# --- the daemon: lease, routes, no default route ---
CONF=$WORK/conf
write_sipconf "$CONF" 127.0.0.1 5060
printf '[line]\ninterface = %s\n' "$IF_C" >"$CONF/mikaka.conf"
check "config-check-line" "$MIKAKAD" -C "$CONF" -t
printf '[line]\ninterface = %s\nmac = 01:02:03:04:05:06\n' "$IF_C" >"$WORK/bad.conf"
mkdir -p "$WORK/badconf" && cp "$CONF/sip.conf" "$WORK/badconf/" && cp "$WORK/bad.conf" "$WORK/badconf/mikaka.conf"
out=$("$MIKAKAD" -C "$WORK/badconf" -t 2>&1)
check "config-check-bad-mac" grep -q "mikaka.conf:3: error" <<<"$out"

cat >"$WORK/mikakad-in-ns" <<EOF
#!/bin/sh
exec ip netns exec $NS_C $MIKAKAD "\$@"
EOF
chmod +x "$WORK/mikakad-in-ns"
REAL_MIKAKAD=$MIKAKAD
MIKAKAD=$WORK/mikakad-in-ns
bound() { "$MIKAKA" -s "$CTL" line show | grep -q "^Line $IF_C: BOUND"; }
start_daemon "$CONF" || { notok "daemon-start"; exit 1; }
ok "daemon-start"
check "daemon-bound" wait_for 10 bound
show=$("$MIKAKA" -s "$CTL" line show)
echo "$show" >"$WORK/show1.out"
check "show-number" grep -q "number *0312345678$" <<<"$show"
check "show-timers" grep -q "timers *T1 in [0-9]* s, T2 in [0-9]* s, expiry in [0-9]* s" <<<"$show"
check "address-installed-with-lifetime" wait_for 2 sh -c "ip -n $NS_C -4 addr show dev $IF_C | grep -A1 '203.0.113.6/30' | grep -q 'valid_lft [0-9]*sec'"
check "route-121-installed" sh -c "ip -n $NS_C route show 192.0.2.0/24 | grep -q 'via 203.0.113.5 .*proto dhcp .*src 203.0.113.6'"
check "route-121-second" sh -c "ip -n $NS_C route show 198.51.100.0/24 | grep -q 'via 203.0.113.5'"
check "no-default-route" test -z "$(ip -n "$NS_C" route show default)"
check "lease-stored" grep -q "^address=203.0.113.6" "$WORK/line-$IF_C.lease"

# --- renewal at T1 (10 s) brings a changed number ---
write_opts 0399990000
kill -HUP "$DNSMASQ_PID"
check "renewed-changed-number" wait_for 25 sh -c "'$MIKAKA' -s '$CTL' line show | grep -q 'number *0399990000$'"
check "change-logged" grep -q "line changed (number)" "$DAEMON_LOG"
check "renew-was-unicast-request" grep -q "T1: renewing with 203.0.113.5" "$DAEMON_LOG"
check "still-no-default-route" test -z "$(ip -n "$NS_C" route show default)"

# --- restart: INIT-REBOOT from the stored lease, then clean exit removes everything ---
check "sigterm-clean-exit" stop_daemon
check "address-removed-on-exit" test -z "$(ip -n "$NS_C" -4 addr show dev "$IF_C" | grep 203.0.113.6)"
check "routes-removed-on-exit" test -z "$(ip -n "$NS_C" route show proto dhcp)"
start_daemon "$CONF" || { notok "daemon-restart"; exit 1; }
check "restart-bound" wait_for 10 bound
check "restart-init-reboot" grep -q "INIT-REBOOT" "$DAEMON_LOG"
check "sigterm-clean-exit-2" stop_daemon

# --- memory: the client's share of RSS (release build only; sanitizers inflate RSS) ---
rss_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
RELEASE=${RELEASE_MIKAKAD:-$ROOT/build/mikakad}
if [ -x "$RELEASE" ] && ! grep -q __asan_init "$RELEASE" 2>/dev/null; then
	cat >"$WORK/mikakad-in-ns" <<-EOF
	#!/bin/sh
	exec ip netns exec $NS_C $RELEASE "\$@"
	EOF
	NOLINE=$WORK/noline
	write_sipconf "$NOLINE" 127.0.0.1 5060
	start_daemon "$NOLINE" && sleep 1 && r0=$(rss_of "$DAEMON_PID" VmRSS) &&
		a0=$(rss_of "$DAEMON_PID" RssAnon) && stop_daemon
	start_daemon "$CONF" && wait_for 10 bound && sleep 1 && r1=$(rss_of "$DAEMON_PID" VmRSS) &&
		a1=$(rss_of "$DAEMON_PID" RssAnon) && stop_daemon
	echo "RSS without line ${r0:-?} KiB (anon ${a0:-?}), with line ${r1:-?} KiB (anon ${a1:-?})"
	# The gate is the memory the client allocates and touches (anonymous: heap, stack); the
	# file-backed part (its code pages, libmnl) is shared and varies by a few pages per run.
	check "line-rss-anon-under-64KiB ($(( ${a1:-0} - ${a0:-0} )) KiB; total $(( ${r1:-0} - ${r0:-0} )) KiB)" \
		test -n "${a0:-}" -a -n "${a1:-}" -a $(( ${a1:-0} - ${a0:-0} )) -le 64
else
	ok "line-rss # skip: no release build of mikakad"
fi
MIKAKAD=$REAL_MIKAKAD
cat >"$WORK/mikakad-in-ns" <<EOF
#!/bin/sh
exec ip netns exec $NS_C $MIKAKAD "\$@"
EOF
MIKAKAD=$WORK/mikakad-in-ns

# --- the offered address answers ARP on the carrier side: DECLINE, nothing installed ---
ip -n "$NS_S" addr add 203.0.113.6/32 dev "$IF_S"
rm -f "$WORK/line-$IF_C.lease"
start_daemon "$CONF" || notok "daemon-start-conflict"
check "arp-conflict-declined" wait_for 10 grep -q "in use by another host (ARP); declining" "$DAEMON_LOG"
check "dnsmasq-got-decline" wait_for 5 grep -q "DHCPDECLINE" "$WORK/dnsmasq.log"
check "conflict-nothing-installed" test -z "$(ip -n "$NS_C" -4 addr show dev "$IF_C" | grep 203.0.113.6)"
check "conflict-not-bound" sh -c "! '$MIKAKA' -s '$CTL' line show | grep -q BOUND"
check "sigterm-clean-exit-3" stop_daemon
ip -n "$NS_S" addr del 203.0.113.6/32 dev "$IF_S"

kill "$DNSMASQ_PID" 2>/dev/null
wait "$DNSMASQ_PID" 2>/dev/null

# --- Kea: the same line served by kea-dhcp4 (option 125 through a vendor-210 space) ---
if command -v kea-dhcp4 >/dev/null; then
	cat >"$WORK/kea.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "$IF_S" ], "dhcp-socket-type": "raw" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$WORK/kea-leases.csv", "lfc-interval": 0 },
  "valid-lifetime": 120, "renew-timer": 20, "rebind-timer": 40,
  "option-def": [
    { "name": "ntt-mac", "code": 201, "space": "vendor-210", "type": "binary" },
    { "name": "ntt-number", "code": 202, "space": "vendor-210", "type": "string" },
    { "name": "ntt-extra", "code": 203, "space": "vendor-210", "type": "string" },
    { "name": "ntt-domain", "code": 204, "space": "vendor-210", "type": "binary" } ],
  "subnet4": [ { "subnet": "203.0.113.4/30", "pools": [ { "pool": "203.0.113.6 - 203.0.113.6" } ],
    "option-data": [
      { "name": "routers", "data": "203.0.113.5" },
      { "code": 120, "csv-format": false, "data": "01C633640A" },
      { "code": 121, "csv-format": false, "data": "18C00002CB00710518C63364CB007105" },
      { "name": "vivso-suboptions", "data": "210" },
      { "name": "ntt-number", "space": "vendor-210", "data": "0355550000", "always-send": true },
      { "name": "ntt-extra", "space": "vendor-210", "data": "0355550001", "always-send": true },
      { "name": "ntt-domain", "space": "vendor-210", "data": "086E74742D77657374026E65026A7000", "always-send": true } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "$WORK/kea.log" } ], "severity": "INFO" } ]
} }
EOF
	KEA_PIDFILE_DIR=$WORK KEA_LOCKFILE_DIR=$WORK ip netns exec "$NS_S" kea-dhcp4 -c "$WORK/kea.json" \
		>"$WORK/kea.out" 2>&1 &
	KEA_PID=$!
	PIDS+=("$KEA_PID")
	wait_for 5 grep -q DHCP4_STARTED "$WORK/kea.log"
	out=$(in_c timeout 20 "$MIKAKA" line probe "$IF_C" --timeout 10 2>/dev/null)
	echo "$out" >"$WORK/probe-kea.out"
	check "kea-probe-number" grep -q "numbers *0355550000 0355550001" <<<"$out"
	check "kea-probe-domain" grep -q "domain *ntt-west.ne.jp" <<<"$out"
	check "kea-probe-server" grep -q "sip-server *198.51.100.10" <<<"$out"
	rm -f "$WORK/line-$IF_C.lease"
	start_daemon "$CONF" || notok "kea-daemon-start"
	check "kea-daemon-bound" wait_for 10 bound
	check "kea-route-121" sh -c "ip -n $NS_C route show 192.0.2.0/24 | grep -q 'via 203.0.113.5'"
	check "kea-no-default-route" test -z "$(ip -n "$NS_C" route show default)"
	check "kea-sigterm-clean-exit" stop_daemon
	kill "$KEA_PID" 2>/dev/null
else
	ok "kea # skip: kea-dhcp4 not installed"
fi
finish
