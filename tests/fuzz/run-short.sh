#!/bin/sh
# Builds the libFuzzer targets for proto/ (fuzz-proto: framer + json codec,
# fuzz-v8: the advanced codec + its framing) with clang (ASan + UBSan) in
# their own build directory and fuzzes each for a short while, starting
# from the seed corpora tests/fuzz/corpus and tests/fuzz/corpus-v8.  CI
# calls this; it needs clang and libclang-rt-14-dev.
#   FUZZ_SECONDS    how long to fuzz each target (default 60)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz at the top)
# New interesting inputs go to a temporary corpus (the seeds are not
# touched); a crashing input is kept in $FUZZ_BUILD_DIR/fuzz-artifacts/.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
seconds=${FUZZ_SECONDS:-60}

if ! command -v clang >/dev/null 2>&1; then
	echo "run-short.sh: clang is not installed" >&2
	exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$top" -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" tests/fuzz/fuzz-proto tests/fuzz/fuzz-v8 >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/childproc-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$build/fuzz-artifacts"
status=0
# target corpus: each target fuzzes for $seconds from its own seeds
for t in fuzz-proto:corpus fuzz-v8:corpus-v8; do
	name=${t%%:*}
	corpus=$top/tests/fuzz/${t#*:}
	log=$build/$name.log
	mkdir -p "$work/$name"
	echo "$name: fuzzing for ${seconds}s (log: $log)"
	if "$build/tests/fuzz/$name" -max_total_time="$seconds" \
	    -max_len=4096 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$build/fuzz-artifacts/$name-" \
	    "$work/$name" "$corpus" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" || true
		echo "$name: no failure"
	else
		tail -n 40 "$log"
		echo "$name: FAILED; the input is in $build/fuzz-artifacts/" >&2
		status=1
	fi
done
exit $status
