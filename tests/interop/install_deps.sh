#!/usr/bin/env bash
# Installs what the interop and netns tests need, at most once per build directory:
#   - Node.js >= 20.3 and npm (for iroh_peer.mjs; @number0/iroh 1.1.0 declares node >= 20.3),
#   - the npm packages of package-lock.json into tests/interop/node_modules (@number0/iroh 1.1.0,
#     and 0.35.0 aliased as iroh035 for the gossip test),
#   - iproute2 (ip netns, veth) and nftables (packet loss).
# Usage: install_deps.sh STAMP_DIR. Run as root (CI is root; network namespaces need it anyway).
#
# Every step that cannot be done fails this script loudly (exit 1, with the reason): the tests
# that depend on it are then not run and ctest reports them as failed. Nothing here silently
# skips a test, because a skipped interop test would look like a passing one in CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
stamp_dir="${1:?usage: install_deps.sh STAMP_DIR}"
mkdir -p "$stamp_dir"

die() { echo "install_deps: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, and the tests create network namespaces)"

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >&2 ||
      die "apt-get update failed"
    apt_updated=1
  fi
  echo "install_deps: apt-get install $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# Tools from Debian packages. Debian 12's `nodejs` is 18.x, too old for @number0/iroh 1.1.0: it
# is installed only when there is no node at all, and the version check below then says so.
command -v ip >/dev/null || apt_install iproute2
command -v nft >/dev/null || apt_install nftables
if ! command -v node >/dev/null; then
  apt_install nodejs npm
elif ! command -v npm >/dev/null; then
  apt_install npm
fi
node_version="$(node -p 'process.versions.node')"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' ||
  die "node $node_version is too old: @number0/iroh 1.1.0 needs >= 20.3"

# npm packages: reinstalled when the lock file changed since the stamp was written, or when the
# installed module no longer loads.
lock_sum="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
stamp="$stamp_dir/interop-npm.stamp"
# Both iroh versions: 1.1.0, and 0.35.0 under the npm alias "iroh035" (the iroh-gossip 0.35 peer).
loads() {
  (cd "$here" && node -e 'require("@number0/iroh/index.js"); require("iroh035/index.js")') 2>/dev/null
}
if [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ] && loads; then
  echo "install_deps: node $node_version, npm packages up to date ($stamp)"
  exit 0
fi
# Not `npm ci`: the lock file cannot list the per-platform packages that @number0/iroh declares
# but that were never published, and `npm ci` refuses it (README.md). `npm install --no-save`
# installs the locked versions and leaves package-lock.json as it is.
start=$(date +%s%N)
npm install --prefix "$here" --no-save --no-audit --no-fund >&2 ||
  die "npm install in $here failed (is the npm registry reachable?)"
loads || die "npm install finished but @number0/iroh or iroh035 does not load (native binary missing?)"
echo "$lock_sum" >"$stamp"
echo "install_deps: node $node_version, npm install took $(( ($(date +%s%N) - start) / 1000000 )) ms"
