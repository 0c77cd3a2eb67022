#!/usr/bin/env bash
# valgrind-e2e.sh: runs end-to-end scripts against the release daemon under valgrind (memcheck,
# definite leaks are errors) and fails when any valgrind log is not empty.
# Usage: scripts/valgrind-e2e.sh [SCRIPT...]   (default: calls calls2 callbad media tollfraud)
set -u
cd "$(dirname "$0")/.." || exit 1
make -s all tools >/dev/null || exit 1
VG=$(mktemp -d /tmp/mikaka-vg.XXXXXX)
cat >"$VG/mikakad" <<EOT
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --log-file=$VG/vg.%p.log $PWD/build/mikakad "\$@"
EOT
chmod +x "$VG/mikakad"
rc=0
for t in "${@:-calls calls2 callbad media tollfraud}"; do
	for s in $t; do
		# TOOLS: the scripts' helpers (rtptone, wavtone ...) from the same release build; their
		# default, build/check/tools, exists only after make check.
		MIKAKAD=$VG/mikakad MIKAKA=$PWD/build/mikaka TOOLS=$PWD/build/tools \
			timeout 900 bash "tests/e2e/$s.sh" >"$VG/$s.log" 2>&1
		n=$(grep -c '^not ok' "$VG/$s.log")
		grep '^not ok' "$VG/$s.log" | head -5
		echo "$s: $n checks failed under valgrind"
		[ "$n" = 0 ] || rc=1
	done
done
for f in "$VG"/vg.*.log; do
	if [ -s "$f" ]; then echo "valgrind reported (see $f):"; head -30 "$f"; rc=1; fi
done
[ "$rc" = 0 ] && rm -rf "$VG" && echo "valgrind: clean"
exit "$rc"
