# lib.sh: what the benchmark scripts share (sourced once BENCH_NAME is set): a work directory
# removed at exit (kept with BENCH_KEEP=1), the PIDs they start (stopped at exit: SIGTERM, a
# bounded wait, then SIGKILL), and readings of a process's memory, CPU and SIPp's counts.
WORK=$(mktemp -d "/tmp/mikaka-bench-$BENCH_NAME.XXXXXX")
PIDS=()
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
	done
	if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; else echo "$BENCH_NAME: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "$BENCH_NAME: $*" >&2; }

# forget PID: drops a PID from PIDS once the process is known to be gone.
forget()
{
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaped and forgotten.
stop_pid()
{
	kill "$1" 2>/dev/null
	for _ in $(seq 1 25); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
	# A `timeout` wrapper passes the TERM on to SIPp, which ignores it; killing only the
	# wrapper left SIPp running on its port, and every later step of the run failed.
	pkill -9 -P "$1" 2>/dev/null
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget "$1"
}

kib_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_of() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# Resident anonymous memory (heap, SQLite's cache, stacks). VmRSS also counts code pages, which
# mikakad gives back after start-up and maps again as a path first runs.
anon_of() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

HZ=$(getconf CLK_TCK)
# CPU ticks (user + system, all threads) of a process and its children (Kamailio's workers).
cpu_ticks()
{
	local p t=0 v
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# ok_of CSV: SuccessfulCall(C) from the last row of a SIPp statistics file (0 when absent).
ok_of()
{
	local line
	line=$(tail -n 1 "$1" 2>/dev/null)
	case "$line" in '' | StartTime*) echo 0 ;; *) echo "$line" | awk -F';' '{ print $16 + 0 }' ;; esac
}
