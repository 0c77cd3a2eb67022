#!/usr/bin/env bash
# store-crash.sh: kill -9 at a random moment loses nothing the store reported committed. Five
# rounds on one database: tools/storecrash writes registrations, call records and deletions
# through the per-turn batch, printing each id once its done callback said "committed"; odd rounds
# kill it from outside after a random 0.3-1.5 s, even rounds make it SIGKILL itself right after
# printing a random id (the instant a write was reported committed); then every id printed so far (all rounds) must be in the
# database (deleted ones must be gone), and SQLite's integrity check must pass.
. "$(dirname "$0")/lib.sh"

TOOL=$TOOLS/storecrash
DB=$WORK/var/mikaka.db
ROUNDS=${ROUNDS:-5}

if [ ! -x "$TOOL" ]; then
	notok "storecrash-built (missing $TOOL: make SAN=1 BUILD=build/check tools)"
	finish; exit
fi

for round in $(seq 1 "$ROUNDS"); do
	log=$WORK/committed-$round.log
	if [ $((round % 2)) = 0 ]; then
		"$TOOL" write "$DB" $((round * 10000000)) 60 $((RANDOM * 3 + 1)) \
			>"$log" 2>"$WORK/write-$round.err" &
		wait $! 2>/dev/null # bounded: the tool stops by itself after 60 s
		check "round-$round-killed-itself" grep -q '^reg ' "$log"
		ROUND_DONE=1
	else
		"$TOOL" write "$DB" $((round * 10000000)) 60 >"$log" 2>"$WORK/write-$round.err" &
		pid=$!
		PIDS+=("$pid")
		ROUND_DONE=0
	fi
	if [ "$ROUND_DONE" = 0 ]; then
		# Wait until it has committed something, then a random 0.3-1.5 s (bounded: 10 s).
		for _ in $(seq 1 100); do [ -s "$log" ] && break; sleep 0.1; done
		sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 121) / 100 }')"
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid"
			ok "round-$round-killed-while-writing"
		else
			notok "round-$round-killed-while-writing (exited early)"
			cat "$WORK/write-$round.err"
		fi
		wait "$pid" 2>/dev/null
	fi
	n=$(grep -c '^reg ' "$log")
	check "round-$round-committed-some ($n registrations)" test "$n" -gt 0
	# Every round's log so far: an earlier round's commits must survive later crashes too.
	if out=$("$TOOL" check "$DB" "$WORK"/committed-*.log 2>&1); then
		ok "round-$round-nothing-committed-lost"
	else
		notok "round-$round-nothing-committed-lost"
	fi
	echo "$out"
	if command -v sqlite3 >/dev/null; then
		check "round-$round-integrity" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
	fi
done
finish
