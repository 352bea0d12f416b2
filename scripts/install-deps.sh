#!/usr/bin/env bash
# Installs what aiproxy needs to build, test and benchmark on Debian bookworm, idempotently.
# Debian packages through apt; the e2e test clients through npm (tests/e2e/package-lock.json).
# Usage: scripts/install-deps.sh [build|test|bench]   (default: test, which includes build)
set -euo pipefail
what="${1:-test}"

build_pkgs=(g++ cmake ninja-build make pkg-config libboost1.81-dev libboost-json1.81-dev
            libboost-url1.81-dev libssl-dev libyaml-cpp-dev libcli11-dev libhiredis-dev
            libnghttp2-dev libjemalloc-dev zlib1g-dev ca-certificates)
test_pkgs=(googletest libgtest-dev libgmock-dev libbenchmark-dev nodejs npm openssl curl clang-format
           redis-server)
bench_pkgs=(wrk nginx-light procps util-linux)

case "$what" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from elsewhere (e.g. a preinstalled Node); accept the commands.
  if [[ "$p" == nodejs ]] && command -v node >/dev/null 2>&1; then continue; fi
  if [[ "$p" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [[ "$what" != build ]]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if [[ -f "$here/tests/e2e/package.json" ]]; then
    if [[ ! -d "$here/tests/e2e/node_modules" ]] || \
       [[ "$here/tests/e2e/package-lock.json" -nt "$here/tests/e2e/node_modules/.package-lock.json" ]]; then
      (cd "$here/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
fi
