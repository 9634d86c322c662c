#!/usr/bin/env bash
# `make install` into a temporary prefix, then build a program against the
# installed tree through pkg-config twice: with raft.pc (libraft.so) and with
# raft-static.pc (libraft.a; the binary must not need libraft.so). Both run.
# Also installs with DESTDIR and checks the files land under it, and
# that make uninstall removes what make install put in the prefix.
#
#   c_tests/install/check.sh BUILD_DIR
# Prints one PASS/FAIL line per check; exits non-zero if any failed.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libraft-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

pass=0; fail=0
ok() { echo "PASS install: $1"; pass=$((pass+1)); }
ko() { echo "FAIL install: $1"; [ -f "$tmp/log" ] && sed 's/^/    /' "$tmp/log" | tail -20; fail=$((fail+1)); }

if ! command -v pkg-config >/dev/null 2>&1; then
    echo "FAIL install: pkg-config not found"; exit 1
fi

if $MAKE --no-print-directory install PREFIX="$prefix" >"$tmp/log" 2>&1; then
    ok "make install PREFIX=..."
else
    ko "make install PREFIX=..."; echo "install: $pass passed, $fail failed"; exit 1
fi
missing=""
for h in include/*.h; do [ -f "$prefix/include/$(basename "$h")" ] || missing="$missing $h"; done
for f in lib/libraft.a lib/libraft.so lib/libraft.so.0 lib/pkgconfig/raft.pc lib/pkgconfig/raft-static.pc; do
    [ -e "$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "installed files"; else echo "    missing:$missing" > "$tmp/log"; ko "installed files"; fi

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# Only the installed tree: not the source include/ or build/.
cflags=$(pkg-config --cflags raft)

# Shared: raft.pc.
if $CC -std=c99 -Wall -Wextra -Werror $cflags c_tests/install/app.c \
       $(pkg-config --libs raft) -o "$tmp/app-shared" >"$tmp/log" 2>&1 \
   && readelf -d "$tmp/app-shared" >"$tmp/dyn" 2>&1 \
   && grep -q 'NEEDED.*libraft\.so\.0' "$tmp/dyn" \
   && LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/app-shared" | grep -q "$prefix/lib/libraft.so.0" \
   && LD_LIBRARY_PATH=$prefix/lib "$tmp/app-shared" >"$tmp/log" 2>&1; then
    ok "shared link via pkg-config --libs raft (runs, uses the installed libraft.so.0)"
else
    ko "shared link via pkg-config --libs raft"
fi

# Static: raft-static.pc.
if $CC -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags raft-static) c_tests/install/app.c \
       $(pkg-config --libs raft-static) -o "$tmp/app-static" >"$tmp/log" 2>&1 \
   && readelf -d "$tmp/app-static" >"$tmp/dyn" 2>&1 \
   && ! grep -q 'libraft' "$tmp/dyn" \
   && env -u LD_LIBRARY_PATH "$tmp/app-static" >"$tmp/log" 2>&1; then
    ok "static link via pkg-config --libs raft-static (runs, no libraft.so dependency)"
else
    ko "static link via pkg-config --libs raft-static"
fi

# Static: pkg-config --static --libs raft (a fully static program).
if $CC -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags --static raft) c_tests/install/app.c \
       $(pkg-config --static --libs raft) -o "$tmp/app-allstatic" >"$tmp/log" 2>&1 \
   && ! readelf -d "$tmp/app-allstatic" 2>/dev/null | grep -q 'libraft' \
   && env -u LD_LIBRARY_PATH "$tmp/app-allstatic" >"$tmp/log" 2>&1; then
    ok "static link via pkg-config --static --libs raft (runs, no libraft.so dependency)"
else
    ko "static link via pkg-config --static --libs raft"
fi

# DESTDIR: files go under it, the .pc files name the final PREFIX.
if $MAKE --no-print-directory install DESTDIR="$tmp/stage" PREFIX=/opt/raft >"$tmp/log" 2>&1 \
   && [ -f "$tmp/stage/opt/raft/lib/libraft.a" ] \
   && grep -qx 'prefix=/opt/raft' "$tmp/stage/opt/raft/lib/pkgconfig/raft.pc" \
   && grep -qx 'prefix=/opt/raft' "$tmp/stage/opt/raft/lib/pkgconfig/raft-static.pc"; then
    ok "make install DESTDIR=... PREFIX=/opt/raft"
else
    ko "make install DESTDIR=... PREFIX=/opt/raft"
fi
# uninstall removes everything install put there.
if $MAKE --no-print-directory uninstall PREFIX="$prefix" >"$tmp/log" 2>&1 \
   && [ -z "$(find "$prefix" \( -type f -o -type l \) -print)" ]; then
    ok "make uninstall PREFIX=... removes every installed file"
else
    find "$prefix" \( -type f -o -type l \) -print >> "$tmp/log"
    ko "make uninstall PREFIX=... removes every installed file"
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
