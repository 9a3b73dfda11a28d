#!/usr/bin/env bash
# Self-test of iroh_peer.mjs: two real iroh endpoints against each other on loopback.
#   1. right node id + right ALPN -> echo of N bytes succeeds
#   2. wrong expected node id     -> handshake must fail
#   3. wrong ALPN                 -> handshake must fail
#   (+ the seed -> node id derivation matches the RFC 8032 test vector)
# Runs in its own network namespace (only loopback), see netns_run.sh.
# Prints "N passed, M failed"; exits 0 only if nothing failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# Install first: the network namespace below has no route to the npm registry.
# Not `npm ci`: 8 of the 11 per-platform optional packages that @number0/iroh 1.1.0 lists
# do not exist on the registry, so the lock file cannot list them and `npm ci` refuses it
# ("Missing: @number0/iroh-android-arm-eabi@ from lock file"). `npm install --no-save`
# installs exactly the locked versions and leaves package-lock.json untouched.
if [ ! -d "$here/node_modules/@number0/iroh" ]; then
  npm install --prefix "$here" --no-save --no-audit --no-fund >&2 ||
    { echo "npm install failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if [ "${IROH_INTEROP_NETNS:-}" != 1 ]; then
  exec "$here/netns_run.sh" bash "$0" "$@"
fi

peer=(node "$here/iroh_peer.mjs")
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0; failed=0
ok()   { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
field() { sed -nE "s/.*\"$1\":\"?([^\",]*)\"?.*/\1/p" | head -1; }  # tiny JSON field reader

server_secret=$(printf '11%.0s' {1..32})
client_secret=$(printf '22%.0s' {1..32})
other_secret=$(printf '33%.0s' {1..32})
alpn_text="p2panda-interop/echo/0"
alpn_hex="hex:$(printf '%s' "$alpn_text" | od -An -tx1 | tr -d ' \n')"
bytes=1048576

# 0. key derivation: RFC 8032 section 7.1 TEST 1.
out=$("${peer[@]}" connect --secret 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 \
  --node 00 --addr 127.0.0.1:1 --alpn x 2>&1 | grep '^{"event":"key"')
if [ "$(field node_id <<<"$out")" = d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a ] &&
   grep -q '"match":true' <<<"$out"; then ok "seed -> node id matches RFC 8032 test vector"
else fail "seed -> node id: $out"; fi

# Server: ALPN given as hex, clients give it as text (checks both spellings).
"${peer[@]}" serve --secret "$server_secret" --alpn "$alpn_hex" --timeout 60 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^{"event":"ready"' "$tmp/server.out" && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
ready=$(grep '^{"event":"ready"' "$tmp/server.out")
if [ -z "$ready" ]; then
  echo "server did not become ready:"; cat "$tmp/server.out" "$tmp/server.err"
  echo "$passed passed, $((failed + 3)) failed"; exit 1
fi
echo "server: $ready"
node_id=$(field node_id <<<"$ready")
addr=$(grep -oE '"127\.0\.0\.1:[0-9]+"' <<<"$ready" | head -1 | tr -d '"')
wrong_id=$("${peer[@]}" connect --secret "$other_secret" --node 00 --addr 127.0.0.1:1 --alpn x | field node_id)

run_client() {  # $1 = name, rest = extra args; sets rc and out
  local name=$1; shift
  out=$("${peer[@]}" connect --secret "$client_secret" --addr "$addr" "$@" 2>"$tmp/$name.err")
  rc=$?
  echo "$out" | grep -v '^{"event":"key"' | sed "s/^/  $name: /" | cut -c1-400
}

# 1. right key, right ALPN.
run_client good --node "$node_id" --alpn "$alpn_text" --bytes "$bytes"
sleep 0.2
if [ $rc -eq 0 ] && grep -q "^{\"event\":\"done\",\"ok\":true,\"bytes\":$bytes," <<<"$out" &&
   grep -q "^{\"event\":\"echoed\",\"bytes\":$bytes}" "$tmp/server.out"; then
  ok "connect with the right node id and ALPN echoes $bytes bytes"
else fail "connect with the right node id and ALPN (rc=$rc)"; fi

# 2. wrong expected node id: the server's raw public key must be rejected.
run_client wrong-id --node "$wrong_id" --alpn "$alpn_text"
if [ $rc -ne 0 ] && grep -q '"phase":"handshake"' <<<"$out" && ! grep -q '"event":"done"' <<<"$out"; then
  ok "connect with a wrong node id fails in the handshake"
else fail "connect with a wrong node id (rc=$rc)"; fi

# 3. wrong ALPN: the server must refuse (no_application_protocol).
run_client wrong-alpn --node "$node_id" --alpn "p2panda-interop/other/0"
if [ $rc -ne 0 ] && grep -q '"phase":"handshake"' <<<"$out" && ! grep -q '"event":"done"' <<<"$out"; then
  ok "connect with a wrong ALPN fails in the handshake"
else fail "connect with a wrong ALPN (rc=$rc)"; fi

echo "server events:"; grep '^{"event"' "$tmp/server.out" | grep -v '"event":"key"' | cut -c1-300 | sed 's/^/  /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
