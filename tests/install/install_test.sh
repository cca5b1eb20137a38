#!/usr/bin/env bash
# The install and the Debian packages as a user gets them (CTest: install.*, tests/CMakeLists.txt).
#
#   install_test.sh consumer BUILD_DIR   cmake --install BUILD_DIR into a temporary prefix, checks
#                                        the layout, then configures, builds and runs
#                                        tests/install/consumer against it (find_package)
#   install_test.sh deb BUILD_DIR        cpack -G DEB, then the packages' contents, conffile and
#                                        dependencies with dpkg-deb
#
# The environment names the tools and flags: CMAKE, CPACK, CMAKE_GENERATOR, CXX, CXXFLAGS,
# LDFLAGS. Exit status 77 (CTest's SKIP_RETURN_CODE): a tool the test needs is missing.
set -euo pipefail
mode=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cmake=${CMAKE:-cmake}
cpack=${CPACK:-cpack}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v "$cmake" >/dev/null || skip "no cmake"

work=$(mktemp -d "${TMPDIR:-/tmp}/rcbroker-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

expect_file() { [ -f "$1" ] || fail "missing $1"; }

case "$mode" in
consumer)
  prefix=$work/prefix
  "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" ||
    { cat "$work/install.log"; fail "cmake --install"; }
  for f in bin/rcbroker bin/rcsubmit bin/rcworker bin/rcbench lib/librcbroker.a \
           lib/librcbroker_protocol.a include/rcbroker/client/client.hpp \
           include/rcbroker/client/worker.hpp lib/cmake/rcbroker/rcbrokerConfig.cmake \
           lib/cmake/rcbroker/rcbrokerConfigVersion.cmake lib/cmake/rcbroker/rcbrokerTargets.cmake \
           lib/systemd/system/rcbroker.service etc/rcbroker/caf-application.conf \
           share/doc/rcbroker/OPERATIONS.md; do
    expect_file "$prefix/$f"
  done
  # The unit names this installation's binary and configuration.
  grep -qx "ExecStart=$prefix/bin/rcbroker --config $prefix/etc/rcbroker/caf-application.conf" \
    "$prefix/lib/systemd/system/rcbroker.service" || fail "the unit's ExecStart: $(grep ExecStart= \
    "$prefix/lib/systemd/system/rcbroker.service")"
  "$prefix/bin/rcsubmit" --help | grep -q RCBROKER_URL || fail "the installed rcsubmit"
  "$prefix/bin/rcbroker" --config "$prefix/etc/rcbroker/caf-application.conf" --check-config \
    >"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "the installed configuration"; }

  generator=()
  [ -n "${CMAKE_GENERATOR:-}" ] && generator=(-G "$CMAKE_GENERATOR")
  "$cmake" -S "$here/consumer" -B "$work/consumer" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" ${CXX:+-DCMAKE_CXX_COMPILER="$CXX"} \
    -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${LDFLAGS:-}" \
    >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configuring the consumer"; }
  "$cmake" --build "$work/consumer" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "building the consumer"; }
  out=$("$work/consumer/consumer" "$work/no-such.sock") || fail "the consumer: $out"
  [ "$out" = "consumer ok" ] || fail "the consumer said: $out"
  echo "installed, and the consumer built and ran against $prefix"
  ;;
deb)
  command -v "$cpack" >/dev/null || skip "no cpack"
  command -v dpkg-deb >/dev/null || skip "no dpkg-deb"
  command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-shlibdeps (dpkg-dev)"
  (cd "$build" && "$cpack" -G DEB -B "$work/packages" >"$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log"; fail "cpack -G DEB"; }
  runtime=$(ls "$work"/packages/rcbroker_*.deb 2>/dev/null | head -1)
  dev=$(ls "$work"/packages/rcbroker-dev_*.deb 2>/dev/null | head -1)
  [ -n "$runtime" ] && [ -n "$dev" ] || fail "no packages: $(ls "$work/packages")"
  dpkg-deb -c "$runtime" >"$work/runtime.txt"
  for f in ./usr/bin/rcbroker ./usr/bin/rcsubmit ./usr/bin/rcworker ./usr/bin/rcbench \
           ./usr/lib/systemd/system/rcbroker.service ./etc/rcbroker/caf-application.conf \
           ./usr/share/doc/rcbroker/OPERATIONS.md; do
    grep -q " $f\$" "$work/runtime.txt" || { cat "$work/runtime.txt"; fail "$f not in $runtime"; }
  done
  ! grep -q '\.a$' "$work/runtime.txt" || fail "the runtime package holds the static library"
  dpkg-deb -e "$runtime" "$work/control"
  grep -qx /etc/rcbroker/caf-application.conf "$work/control/conffiles" ||
    fail "the configuration is not a conffile"
  depends=$(dpkg-deb -f "$runtime" Depends)
  for p in libcaf-core0.17 libcaf-io0.17 libspdlog1.10 libsimdjson14 libssl3 adduser; do
    [[ ",$depends," == *"$p"* ]] || fail "Depends lacks $p: $depends"
  done
  dpkg-deb -x "$runtime" "$work/root"
  grep -qx "ExecStart=/usr/bin/rcbroker --config /etc/rcbroker/caf-application.conf" \
    "$work/root/usr/lib/systemd/system/rcbroker.service" || fail "the packaged unit's ExecStart"
  dpkg-deb -c "$dev" >"$work/dev.txt"
  for f in librcbroker.a rcbrokerConfig.cmake rcbroker/client/client.hpp; do
    grep -q "$f\$" "$work/dev.txt" || { cat "$work/dev.txt"; fail "$f not in $dev"; }
  done
  echo "$(basename "$runtime") and $(basename "$dev"): contents, conffile and Depends as expected"
  ;;
*)
  fail "usage: install_test.sh consumer|deb BUILD_DIR"
  ;;
esac
