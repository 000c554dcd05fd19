#!/usr/bin/env bash
# The .deb as a studio meets it (docs/deploy.md), on this machine, as root: build it
# (make package), dpkg -i, sgeventd from PATH, the system user and its folders, the unit
# through systemd-analyze verify, the installed daemon run on the embedded sandbox as the
# sgeventd user with its Python worker from the private folder, then dpkg --purge and a check
# that nothing the package or the daemon made is left. CI runs it (.ci/run); it refuses to
# touch a machine where an sgeventd package is already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "test_deb: FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (dpkg -i, a system user)"
if dpkg-query -W -f='${Status}' sgeventd 2>/dev/null | grep -q "installed"; then
  fail "an sgeventd package is installed here already; not touching it"
fi

snapshot() {  # what exists where a package could leave something
  find /etc /usr /lib /var/lib /var/log /var/cache -xdev 2>/dev/null \
    | grep -v -e '^/var/lib/dpkg/' -e '^/var/log/dpkg.log' -e '^/var/log/apt/' \
              -e '^/var/cache/' -e '^/etc/ld.so.cache' -e '/__pycache__' -e '\.pyc$' \
              -e '^/var/lib/systemd/' -e '^/etc/systemd/system/' -e '^/var/log/journal' \
              -e '^/var/lib/apt/' | sort
}
before=$(mktemp); after=$(mktemp); work=$(mktemp -d)
trap 'rm -rf "$before" "$after" "$work"; dpkg --purge sgeventd >/dev/null 2>&1 || true' EXIT
snapshot >"$before"

echo "test_deb: make package"
make package >"$work/package.log" 2>&1 || { cat "$work/package.log"; fail "make package"; }
deb=$(ls build-pkg/sgeventd_*.deb | head -1)
[[ -f "$deb" ]] || fail "no .deb in build-pkg/"

echo "test_deb: dpkg -i $deb"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
[[ $(command -v sgeventd) == /usr/bin/sgeventd ]] || fail "sgeventd is not /usr/bin/sgeventd on PATH"
sgeventd --version | grep -Eq '^sgeventd [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+' \
  || fail "sgeventd --version: $(sgeventd --version)"
getent passwd sgeventd >/dev/null || fail "no sgeventd system user"
for dir in /var/lib/sgeventd /var/log/sgeventd; do
  [[ $(stat -c %U "$dir") == sgeventd ]] || fail "$dir is not sgeventd's"
done
[[ $(stat -c %a /etc/default/sgeventd) == 640 ]] || fail "/etc/default/sgeventd is not 0640"
dpkg-query -W -f='${Conffiles}\n' sgeventd | grep -q /etc/sgeventd/sgeventd.conf \
  || fail "/etc/sgeventd/sgeventd.conf is no conffile"
man -w sgeventd >/dev/null 2>&1 || [[ -f /usr/share/man/man1/sgeventd.1.gz || -f /usr/share/man/man1/sgeventd.1 ]] \
  || fail "no sgeventd(1)"
[[ -f /usr/share/doc/sgeventd/copyright ]] || fail "no copyright file"
# The pytest kit: importable by the system's python3, and registered as a pytest plugin.
/usr/bin/python3 -c "import sgeventd.testing" || fail "python3 cannot import sgeventd.testing"
/usr/bin/python3 -c "
import importlib.metadata as m, sys
eps = m.entry_points()
group = eps.select(group='pytest11') if hasattr(eps, 'select') else eps.get('pytest11', [])
sys.exit(0 if any(e.value == 'sgeventd.testing' for e in group) else 1)" \
  || fail "sgeventd.testing is not a pytest11 entry point"

echo "test_deb: systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/sgeventd.service >"$work/verify.log" 2>&1 \
    || { cat "$work/verify.log"; fail "systemd-analyze verify"; }
  # verify warns without failing on some mistakes: none may be about the unit itself.
  if grep -i "sgeventd.service" "$work/verify.log"; then fail "systemd-analyze warnings"; fi
else
  fail "systemd-analyze is missing (apt install systemd)"
fi

echo "test_deb: the installed daemon on the sandbox, as the sgeventd user"
mkdir -p "$work/plugins"
cat >"$work/plugins/record.py" <<'PY'
def registerCallbacks(reg):
    reg.registerCallback("demo", "demo-key", record, None, None)


def record(sg, logger, event, args):
    with open("/var/lib/sgeventd/recorded", "a") as f:
        f.write("%d\n" % event["id"])
PY
cat >"$work/sgeventd.conf" <<CONF
[daemon]
pidFile: /var/lib/sgeventd/test.pid
eventIdFile: /var/lib/sgeventd/test.state
logPath: /var/log/sgeventd
fetch_interval: 0.2
[shotgun]
server: sandbox
name: demo
key: demo-key
[sandbox]
activity_rate: 20
[plugins]
paths: $work/plugins
CONF
chmod -R a+rX "$work"
runuser -u sgeventd -- timeout -s INT 20 sgeventd foreground -c "$work/sgeventd.conf" \
  >"$work/run.log" 2>&1 &
runner=$!
for _ in $(seq 1 150); do
  [[ -s /var/lib/sgeventd/recorded ]] && break
  sleep 0.1
done
kill -INT $runner 2>/dev/null || true
wait $runner || true
[[ -s /var/lib/sgeventd/recorded ]] || { cat "$work/run.log"; fail "the plugin recorded no event"; }
grep -q "Python fork server started" "$work/run.log" || { cat "$work/run.log"; fail "no Python worker"; }

echo "test_deb: dpkg --purge"
dpkg --purge sgeventd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
! getent passwd sgeventd >/dev/null || fail "the sgeventd user is left"
snapshot >"$after"
if ! diff "$before" "$after" >"$work/left.diff"; then
  cat "$work/left.diff"
  fail "the purge left files behind (or removed some)"
fi
echo "test_deb: OK"
