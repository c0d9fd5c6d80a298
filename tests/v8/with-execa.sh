#!/bin/sh
# tests/v8/with-execa.sh CHANNEL_JS ADVECHO - runs channel.js's execa case
# with execa as .ci/setup installs it ($CP_NODE_VERSIONS, default
# ~/.cache/childproc/npm).  Without it the test is skipped (77), except
# under CI, where the set-up must have run.
set -eu
dir=${CP_NODE_VERSIONS:-${HOME:-/root}/.cache/childproc/npm}
if [ ! -f "$dir/node_modules/execa/package.json" ]; then
	echo "execa is not installed in $dir (run .ci/setup)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
exec node "$1" execa "$2" "$dir"
