#!/usr/bin/env bash
# run.sh SECONDS: builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang and runs each for
# SECONDS on a scratch copy of its seed corpus; prints "ok NAME" or "not ok NAME".
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
C=${MIKAKA_CORPORA:-$PWD/tests/corpora}
out=build/fuzz
if ! make -s CC=clang SAN=fuzz BUILD=$out $out/libmikaka.a >/dev/null; then
	echo "not ok fuzz-build"
	exit 1
fi
seeds_for() {
	case "$1" in
	fuzz_sip) echo "$C/rfc4475 $C/rfc5118/wire-derived $C/fuzz-seeds/pjproject/fuzz-sip_seed_corpus $C/fuzz-seeds/pjproject/fuzz-sip-dialog_seed_corpus $C/real-world/ngn-hikari $C/real-world/ims-volte" ;;
	fuzz_uri) echo "$C/fuzz-seeds/pjproject/fuzz-uri_seed_corpus" ;;
	fuzz_sdp) echo "$C/fuzz-seeds/pjproject/fuzz-sdp_seed_corpus" ;;
	esac
	[ -d "tests/fuzz/corpus/${1#fuzz_}" ] && echo "tests/fuzz/corpus/${1#fuzz_}"
}
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	bin=$out/$name
	if ! clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined \
		$(printf -- '-I%s ' src/*/) "$src" $out/libmikaka.a $(make -s print-libs) -o "$bin" 2>"$out/$name.build.log"; then
		echo "not ok $name (build: $out/$name.build.log)"
		continue
	fi
	work=$(mktemp -d)
	for d in $(seeds_for "$name"); do
		[ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '*.tsv' ! -name 'SHA256SUMS' -exec cp {} "$work/" \;
	done
	if "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$name-" "$work" >"$out/$name.log" 2>&1; then
		echo "ok $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$name.log" | awk '{print $2}') runs in ${secs}s)"
	else
		echo "not ok $name (see $out/$name.log; crash input saved as $out/$name-*)"
	fi
	rm -rf "$work"
done
