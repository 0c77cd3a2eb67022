#!/usr/bin/env bash
# run-daemon.sh: `make run`: starts the built daemon in the foreground on the default configuration
# (etc/run/mikaka.conf: phones 801 and 802), with its state (database, generated secrets) in build/run/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/run
echo "mikakad: config etc/run/mikaka.conf, state build/run/, control socket build/run/mikaka.ctl"
echo "mikakad: try: build/mikaka -s build/run/mikaka.ctl phones show   (Ctrl-C stops the daemon)"
exec build/mikakad -C etc/run -s build/run/mikaka.ctl -d build/run/mikaka.db "$@"
