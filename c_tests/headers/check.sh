#!/usr/bin/env bash
# Every public header (include/*.h, picked up automatically) compiles on its
# own and together with the others as C99 and C11 with -pedantic, and as
# C++11, C++14, C++17 and C++20 with -pedantic; warnings are errors. The C++
# builds also check that raft_entry_t has the same layout as in C (the
# flexible array member is declared differently for C++) and use an entry.
#
#   c_tests/headers/check.sh BUILD_DIR LIBRAFT_A "NATIVE_LIBS"
# Prints one PASS/FAIL line per check; exits non-zero if any failed.
set -u
cd "$(dirname "$0")/../.."
out=${1:-build}/headers
lib=${2:-build/libraft.a}
native=${3:--lpthread -ldl -lm}
CC=${CC:-cc}
CXX=${CXX:-c++}
mkdir -p "$out"
rm -f "$out"/*

pass=0; fail=0
check() { # name, command...
    local name=$1; shift
    if "$@" >"$out/$name.log" 2>&1; then
        echo "PASS headers: $name"; pass=$((pass+1))
    else
        echo "FAIL headers: $name"; sed 's/^/    /' "$out/$name.log" | head -20
        fail=$((fail+1))
    fi
}

headers=$(cd include && ls *.h)
# One translation unit per header (each is self-contained), one with all.
for h in $headers; do
    printf '#include "%s"\n#include "%s"\nint header_check_unused;\n' "$h" "$h" > "$out/only_${h%.h}.c"
done
{ for h in $headers; do printf '#include "%s"\n' "$h"; done
  echo 'int main(void) { return 0; }'; } > "$out/all.c"
cp "$out/all.c" "$out/all.cpp"

warn="-Wall -Wextra -pedantic -Werror"
for std in c99 c11; do
    for h in $headers; do
        check "$std-${h%.h}" $CC -std=$std $warn -Iinclude -c "$out/only_${h%.h}.c" -o "$out/only.o"
    done
    check "$std-all" $CC -std=$std $warn -Iinclude -c "$out/all.c" -o "$out/all.o"
done

if ! command -v "$CXX" >/dev/null 2>&1; then
    echo "FAIL headers: no C++ compiler ($CXX)"; fail=$((fail+1))
else
    check "c-layout-object" $CC -std=c11 $warn -Iinclude -c c_tests/headers/layout_c.c -o "$out/layout_c.o"
    for std in c++11 c++14 c++17 c++20; do
        for h in $headers; do
            cp "$out/only_${h%.h}.c" "$out/only_${h%.h}.cpp"
            check "$std-${h%.h}" $CXX -std=$std $warn -Iinclude -c "$out/only_${h%.h}.cpp" -o "$out/only.o"
        done
        check "$std-all" $CXX -std=$std $warn -Iinclude -c "$out/all.cpp" -o "$out/all.o"
        check "$std-entry-layout" bash -c "$CXX -std=$std $warn -Iinclude c_tests/headers/layout_cxx.cpp \
            $out/layout_c.o $lib $native -o $out/layout_$std && ./$out/layout_$std"
    done
fi
echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
