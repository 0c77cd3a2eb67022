#!/usr/bin/env bash
# rfc4475.sh: every RFC 4475 and RFC 5118 torture message replayed over UDP gets the answer the RFC
# prescribes (rfc4475-expect.tsv), and the daemon is still alive and clean afterwards.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.12 PORT=5070
write_sipconf "$WORK/conf" "$ADDR" "$PORT"
start_daemon "$WORK/conf" || { notok "daemon-start"; exit 1; }

files=()
while IFS=$'\t' read -r f _; do
	case "$f" in '#'* | '') continue ;; esac
	if [ -f "$CORPORA/rfc4475/$f" ]; then files+=("$CORPORA/rfc4475/$f")
	else files+=("$CORPORA/rfc5118/wire-derived/$f"); fi
done <"$E2E/rfc4475-expect.tsv"

"$TOOLS/sipreplay" -t "$ADDR:$PORT" -b 127.0.0.1 -w 400 "${files[@]}" >"$WORK/answers" 2>"$WORK/replay.err"
check "replay-ran" test -s "$WORK/answers"

while IFS=$'\t' read -r f want; do
	case "$f" in '#'* | '') continue ;; esac
	got=$(awk -v f="$f" '$1 == f { print $2 }' "$WORK/answers")
	good=0
	IFS='|' read -ra alts <<<"$want"
	for w in "${alts[@]}"; do
		case "$w" in
		notbad) [ -n "$got" ] && [ "$got" != none ] && [ "$got" != 400 ] && good=1 ;;
		*) [ "$got" = "$w" ] && good=1 ;;
		esac
	done
	if [ $good = 1 ]; then ok "$f answered $got"; else notok "$f answered '${got:-?}', expected $want"; fi
done <"$E2E/rfc4475-expect.tsv"

check "alive-after-torture" daemon_alive
check "clean-exit" stop_daemon
finish
