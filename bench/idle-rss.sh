#!/usr/bin/env bash
# idle-rss.sh: where an idle mikakad's resident memory goes. Starts BUILD/mikakad (default build/)
# as `make run` does (etc/run, state in a scratch directory), reads /proc/PID/status and smaps at
# each of IDLE_TIMES seconds (default "1 5 30"), prints VmRSS, RssAnon and PSS, then the resident
# KiB per mapping (and its private dirty KiB) at the last reading, and stops the daemon by PID.
# Binds UDP 5060 on all addresses: run it in a private network namespace, e.g.
#   unshare -rn bash -c 'ip link set lo up; bench/idle-rss.sh'
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
TIMES=${IDLE_TIMES:-1 5 30}
D=$(mktemp -d /tmp/mikaka-idle.XXXXXX)
"$BUILD/mikakad" -C etc/run -s "$D/mikaka.ctl" -d "$D/mikaka.db" >"$D/log" 2>&1 &
P=$!
trap 'kill "$P" 2>/dev/null; wait "$P" 2>/dev/null; rm -rf "$D"' EXIT
s=0
for t in $TIMES; do
	sleep $((t - s)); s=$t
	kill -0 "$P" 2>/dev/null || { echo "mikakad exited:"; cat "$D/log"; exit 1; }
	printf 't=%ss %s %s\n' "$t" \
		"$(awk '/^(VmRSS|RssAnon):/ { printf "%s %s KiB ", $1, $2 }' "/proc/$P/status")" \
		"$(awk '/^Pss:/ { printf "Pss: %s KiB", $2 }' "/proc/$P/smaps_rollup")"
done
echo "resident KiB, of which private dirty, per mapping:"
awk '/^[0-9a-f]+-[0-9a-f]+ / { n = $6; if (n == "") n = "[anon]" }
	/^Rss:/ { r[n] += $2 } /^Private_Dirty:/ { pd[n] += $2 }
	END { for (n in r) if (r[n] > 0) printf "%6d %6d %s\n", r[n], pd[n], n }' "/proc/$P/smaps" |
	sort -rn
