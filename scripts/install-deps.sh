#!/usr/bin/env bash
# Installs the Debian packages sgeventd needs to build and test (DESIGN.md section 11);
# chromium and chromium-driver run the status page's browser test (tests/daemon/test_status_page.py);
# postgresql is the server the high-availability tests start in a folder of their own
# (tests/support/pg_server.sh; the package's own cluster is not used);
# dpkg-dev, file and systemd build and check the .deb (make package, tests/package/test_deb.sh);
# python3-pytest runs the pytest kit's own suite (python/sgeventd/testing.py, examples/testing/).
# Idempotent and quiet when everything is present; needs root (or sudo) only when
# something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-format libclang-rt-14-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev libsimdjson-dev libcli11-dev libexpected-dev
  libspdlog-dev libfmt-dev libsqlite3-dev libpq-dev libcpp-httplib-dev libhowardhinnant-date-dev
  prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  python3 python3-dev python3-pytest pybind11-dev tzdata ca-certificates
  chromium chromium-driver postgresql
  dpkg-dev file systemd
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
