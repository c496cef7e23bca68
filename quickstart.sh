#!/bin/sh
# iommuctl quick start on Debian 12, as root:
#   ./quickstart.sh report   install what is missing, build, run the host report here
#   ./quickstart.sh test     install the test stack too, build, run the whole test suite
set -eu
cd "$(dirname "$0")"
mode=${1:-report}

install_packages() {
  pkgs=$(cat "$@" | sed 's/#.*//' | tr -s ' \n' ' ')
  missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "quickstart: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -q
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing
}

build() {
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  fi
  ninja -C "$dir"
}

case "$mode" in
  report)
    install_packages .ci/packages.d/base.txt
    build build
    exec ./build/src/cli/iommuctl report
    ;;
  test)
    install_packages .ci/packages.d/base.txt .ci/packages.d/test*.txt
    build build
    exec tests/run-all build
    ;;
  *)
    echo "usage: $0 report|test" >&2
    exit 2
    ;;
esac
