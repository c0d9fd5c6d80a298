#!/bin/sh
# install.sh SRCDIR BUILDDIR PREFIX BINDIR LIBDIR INCLUDEDIR MESON CC [CFLAGS...]
# "meson install --destdir" into a temporary directory must give the
# commands, the shared library with its soname links, the static library,
# the header and childproc.pc; a program must then build against that tree
# with pkg-config alone (shared and static) and run with the installed copy.
set -eu
src=$1
build=$2
prefix=$3
bindir=$4
libdir=$5
includedir=$6
meson=$7
cc=$8
shift 8
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

under() {	# under DIR: DIR inside the destdir (DIR absolute or prefix-relative)
	case $1 in
	/*) echo "$dest$1" ;;
	*) echo "$dest$prefix/$1" ;;
	esac
}
. "$CP_SOURCE_DIR/tests/lib/lib.sh"
fail_name=install

"$meson" install -C "$build" --destdir "$dest" --no-rebuild >"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; fail "meson install failed"; }
bin=$(under "$bindir")
lib=$(under "$libdir")
inc=$(under "$includedir")

[ -x "$bin/childproc-fork" ] || fail "no $bin/childproc-fork"
for f in "$bin"/*; do
	case ${f##*/} in
	childproc-*) [ -x "$f" ] || fail "$f is not executable" ;;
	*) fail "unexpected file in bindir: $f" ;;
	esac
done
# The version the build generated from meson's project version.
version=$(sed -n 's/^#define CP_VERSION_STRING "\(.*\)"$/\1/p' \
	"$build/core/childproc_version.h")
[ -n "$version" ] || fail "no CP_VERSION_STRING in childproc_version.h"
[ -f "$lib/libchildproc.so.$version" ] || fail "no $lib/libchildproc.so.$version"
[ -L "$lib/libchildproc.so.0" ] || fail "no soname link $lib/libchildproc.so.0"
[ -L "$lib/libchildproc.so" ] || fail "no link $lib/libchildproc.so"
[ -f "$lib/libchildproc.a" ] || fail "no $lib/libchildproc.a"
[ -f "$inc/childproc.h" ] || fail "no $inc/childproc.h"
cmp -s "$inc/childproc.h" "$src/core/childproc.h" || fail "installed header differs"
cmp -s "$inc/childproc_version.h" "$build/core/childproc_version.h" ||
	fail "installed childproc_version.h differs"
# Only the public header and its version: internal.h, cluster.h, proto/...
# stay in the source tree.
for f in "$inc"/*; do
	case ${f##*/} in
	childproc.h|childproc_version.h) ;;
	*) fail "unexpected file in includedir: $f" ;;
	esac
done
[ -f "$lib/pkgconfig/childproc.pc" ] || fail "no $lib/pkgconfig/childproc.pc"
soname=$(readelf -d "$lib/libchildproc.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libchildproc.so.0 ] || fail "SONAME is '$soname'"
echo "ok - installed: bin, lib (.so.$version, .so.0, .so, .a), include, pkgconfig"

# pkg-config on the staged tree: the sysroot is put in front of its paths.
PKG_CONFIG_PATH=$lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
[ "$(pkg-config --modversion childproc)" = "$version" ] ||
	fail "pkg-config --modversion says $(pkg-config --modversion childproc)"
flags=$(pkg-config --cflags --libs childproc)
echo "pkg-config: $flags"
# shellcheck disable=SC2086 # the flags are words
$cc -std=c11 -Wall -Wextra -Werror "$@" -o "$tmp/hello" \
	"$src/tests/pkg/hello.c" $flags
out=$(LD_LIBRARY_PATH=$lib "$tmp/hello" where)
echo "$out"
case $(echo "$out" | sed -n 2p) in
"$lib"/libchildproc.so*) ;;
*) fail "the program did not run with the installed library" ;;
esac

# Static: the archive alone carries proto/ too (link_whole).
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror "$@" -o "$tmp/hello-static" \
	"$src/tests/pkg/hello.c" $(pkg-config --cflags childproc) \
	"$lib/libchildproc.a" $(PKG_CONFIG_SYSROOT_DIR= pkg-config --static --libs libuv jansson)
if ldd "$tmp/hello-static" | grep -q libchildproc; then
	fail "the static program still needs libchildproc.so"
fi
"$tmp/hello-static"
echo "ok - built with pkg-config, shared and static"
