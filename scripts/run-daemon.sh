#!/usr/bin/env bash
# run-daemon.sh: `make run`: starts the built daemon in the foreground on the sample configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/run
echo "mikakad: config etc/, control socket build/run/mikaka.ctl (try: build/mikaka -s build/run/mikaka.ctl help)"
exec build/mikakad -C etc -s build/run/mikaka.ctl -d build/run/mikaka.db "$@"
