#!/usr/bin/env bash
# setup-debian.sh - installs what listgate needs to build, test and benchmark
# on Debian 12, from Debian's own packages. Installs only what is missing;
# run as root. Usage: tools/setup-debian.sh [build|test]
set -euo pipefail

build_packages=(
  g++ meson ninja-build pkg-config cmake
  liburing-dev libsimdjson-dev libmimalloc-dev
  libgtest-dev libbenchmark-dev libbbhash-dev
)
# The test command also needs clang (libFuzzer targets), its sanitizer
# runtimes, swaks as a scripted client, and Postfix (installed by the Postfix
# test itself, with its own debconf answers). libnss-wrapper gives the Exim
# test's unpacked exim (apt-get download, dpkg -x: exim4-daemon-light cannot
# be installed beside postfix) its Debian-exim user without touching
# /etc/passwd.
test_packages=(clang libclang-rt-14-dev swaks libnss-wrapper)

wanted=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then wanted+=("${test_packages[@]}"); fi

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
