#!/bin/sh
# header-alone.sh SRCDIR LIBRARY CC [CFLAGS...]
# Builds tests/pkg/hello.c against the uninstalled library with nothing
# but core/childproc.h (cc -I core ... -lchildproc) and runs it; the
# header must also compile on its own in C99 and C++.
set -eu
src=$1
lib=$2
cc=$3
shift 3
libdir=$(cd "$(dirname "$lib")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-header.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

$cc -std=c11 -Wall -Wextra -Werror "$@" -I "$src/core" -I "$libdir" \
	-o "$tmp/hello" "$src/tests/pkg/hello.c" \
	-L "$libdir" -lchildproc -Wl,-rpath,"$libdir"
out=$("$tmp/hello" where)
echo "$out"
# It ran against this build's library, not some installed one.
case $(echo "$out" | sed -n 2p) in
"$libdir"/libchildproc.so*) ;;
*) echo "header-alone: loaded the wrong libchildproc" >&2; exit 1 ;;
esac

# The header alone, first thing included, in stricter modes (uv.h needs
# POSIX declarations, so strict ISO C gets _POSIX_C_SOURCE).
printf '#include <childproc.h>\nint main(void) { return cp_version() != CP_VERSION_HEX; }\n' >"$tmp/only.c"
$cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsyntax-only \
	-I "$src/core" -I "$libdir" "$tmp/only.c"
$cc -std=c11 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Wextra -Werror \
	-fsyntax-only -I "$src/core" -I "$libdir" "$tmp/only.c"
if command -v c++ >/dev/null 2>&1; then
	cp "$tmp/only.c" "$tmp/only.cc"
	c++ -Wall -Wextra -Werror -fsyntax-only -I "$src/core" -I "$libdir" "$tmp/only.cc"
	echo "ok - header compiles as C++"
fi
echo "ok - header alone is enough"
