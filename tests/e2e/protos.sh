#!/usr/bin/env bash
# protos.sh: all 4527 PROTOS c07-sip datagrams replayed at the daemon; after each one the valid
# INVITE (0000000.sip) must still be answered. The cases answer to 127.0.0.1:5060 (their Via), so the
# daemon listens on 127.0.0.13 and the replayer is bound to 127.0.0.1:5060.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.13 PORT=5060
write_sipconf "$WORK/conf" "$ADDR" "$PORT"
mkdir -p "$WORK/protos"
tar -C "$WORK/protos" -xJf "$CORPORA/protos-c07-sip/rendered.tar.xz" || { notok "unpack"; exit 1; }
dir=$(dirname "$(find "$WORK/protos" -name 0000000.sip | head -1)")
n=$(ls "$dir" | wc -l)
check "corpus-has-4527-cases" test "$n" = 4527

start_daemon "$WORK/conf" -q || { notok "daemon-start"; exit 1; }
start=$(date +%s)
if timeout 900 "$TOOLS/sipreplay" -t "$ADDR:$PORT" -b 127.0.0.1 -w 2000 -p "$dir" >"$WORK/protos.log" 2>&1; then
	ok "protos-all-cases-probe-answered ($(( $(date +%s) - start )) s)"
else
	notok "protos-all-cases-probe-answered"; tail -20 "$WORK/protos.log"
fi
check "alive-after-protos" daemon_alive
check "clean-exit" stop_daemon
finish
