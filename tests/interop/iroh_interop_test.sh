#!/usr/bin/env bash
# Our QUIC endpoint (quic_peer) against a real iroh 1.0 endpoint (iroh_peer.mjs), relays off, on
# 127.0.0.1 inside a network namespace this run creates and deletes (only loopback in it, so
# iroh's portmapper has no gateway to probe and nothing leaves the namespace).
#
#   iroh_interop_test.sh QUIC_PEER CASE
#   CASE: our_client_echo | iroh_client_echo | wrong_key | wrong_alpn
#
# Needs root, node and tests/interop/node_modules (install_deps.sh, the ctest fixture, provides
# them; missing ones fail the test). Prints PASS/FAIL lines and "N passed, M failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/test_lib.sh"
quic_peer="${1:?usage: iroh_interop_test.sh QUIC_PEER CASE}"
case_name="${2:?usage: iroh_interop_test.sh QUIC_PEER CASE}"

[ "$(id -u)" = 0 ] || { echo "FAIL: needs root for network namespaces"; exit 1; }
[ -x "$quic_peer" ] || { echo "FAIL: no quic_peer at $quic_peer"; exit 1; }
(cd "$here" && node -e 'require("@number0/iroh/index.js")') ||
  { echo "FAIL: @number0/iroh does not load: run install_deps.sh (ctest fixture interop.deps)"; exit 1; }

ns="p2p-interop-$$"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  stop_watchdog
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    wait_exit "$pid" 5
    [ "$status" = 124 ] && kill -9 "$pid" 2>/dev/null
  done
  kill_netns_pids "$ns"
  ip netns delete "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted (signal or watchdog)"; exit 130' INT TERM HUP
start_watchdog 90   # ctest TIMEOUT is higher (CMakeLists.txt)

ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
ip -n "$ns" link set lo up || { echo "FAIL: loopback up in $ns"; exit 1; }
in_ns() { ip netns exec "$ns" "$@"; }

# p2panda's real ALPNs: BLAKE3(protocol id || default network id), 32 raw bytes, which GnuTLS's
# API alone cannot carry (docs/net.md, "ALPN length"): log sync, and confidential discovery as
# the one the other side does not speak.
alpn="hex:64fc91f9ab01b19d29bd8a040e4624be0b164fffd4f32dbfac635c039c5279a5"
other_alpn="hex:8c07b2107cbeaf450e3a17e47c499e8e0fd7549b9c5bdada49c9f9856af16f96"
server_key=$(printf '11%.0s' {1..32})
client_key=$(printf '22%.0s' {1..32})
stranger_id=$(printf '33%.0s' {1..32})  # a key nobody here holds
iroh=(node "$here/iroh_peer.mjs")

# start_server iroh|ours KEY: starts a server in the namespace, waits for its ready line and
# sets server_out, server_id, server_addr.
start_server() {
  local kind=$1 key=$2
  # Started directly (not through a shell function, which would fork a subshell): `ip netns exec`
  # execs the command, so $! is the server's own pid.
  server_out="$tmp/server-$kind.out"
  if [ "$kind" = iroh ]; then
    ip netns exec "$ns" "${iroh[@]}" serve --secret "$key" --alpn "$alpn" --timeout 90 --log debug \
      >"$server_out" 2>"$tmp/server.err" &
  else
    ip netns exec "$ns" "$quic_peer" serve --key-hex "$key" --alpn "$alpn" --lifetime-s 90 \
      >"$server_out" 2>"$tmp/server.err" &
  fi
  pids+=($!)
  if ! wait_for_line "$server_out" '^\{.*"event":"ready"' "$!" 20; then
    echo "FAIL: $kind server not ready within 20 s"; cat "$server_out" "$tmp/server.err" | tail -20
    exit 1
  fi
  local ready
  ready=$(first_line "$server_out" '^\{.*"event":"ready"')
  echo "server ($kind): $ready"
  server_id=$(field node_id <<<"$ready")
  server_addr=$(grep -oE '127\.0\.0\.1:[0-9]+' <<<"$ready" | head -1)
}

stop_server() {  # the one running server (the last pid), by its pid
  kill "${pids[-1]}"
  wait_exit "${pids[-1]}" 5
  check "server stops cleanly on SIGTERM (exit 0)" test "$status" = 0
}

# ours_dial ARGS...: our client in the namespace; sets rc and out.
ours_dial() {
  out=$(in_ns "$quic_peer" dial --key-hex "$client_key" --addr "$server_addr" --timeout 20 "$@" \
        2>"$tmp/client.err")
  rc=$?
  sed 's/^/  client: /' <<<"$out" | cut -c1-400
}

# iroh_dial ARGS...: iroh's client in the namespace; sets rc and out (event lines only).
iroh_dial() {
  out=$(in_ns "${iroh[@]}" connect --secret "$client_key" --addr "$server_addr" --timeout 20 "$@" \
        2>"$tmp/client.err" | grep '^{"event":')
  rc=${PIPESTATUS[0]}
  sed 's/^/  client: /' <<<"$out" | cut -c1-400
}

has() { grep -qE "$2" <<<"$1"; }
lacks() { ! grep -qE "$2" <<<"$1"; }
server_has() { grep -qE "$1" "$server_out"; }
server_lacks() { ! grep -qE "$1" "$server_out"; }

case "$case_name" in
our_client_echo)
  start_server iroh "$server_key"
  ours_dial --node-id "$server_id" --alpn "$alpn" --echo-bytes 65536
  our_id=$(field node_id <<<"$(grep '"event":"bound"' <<<"$out")")
  check "our client: handshake with iroh, its key verified" has "$out" '"event":"connected".*"remote":"'"$server_id"'"'
  check "our client: 64 KiB echoed by iroh on a bi stream" \
    has "$out" '^\{"bytes":65536,"event":"done","mode":"echo",.*"ok":true\}$'
  check "our client: exit code 0" test "$rc" = 0
  wait_for_line "$server_out" '"event":"echoed"' "${pids[0]}" 5
  check "iroh server: accepted our node id $our_id" server_has '"event":"accepted","remote":"'"$our_id"'","alpn":"'"$alpn"'"'
  check "iroh server: echoed 65536 bytes" server_has '"event":"echoed","bytes":65536'
  # We send neither the multipath (0x3e) nor the n0 NAT traversal transport parameter: iroh
  # notices, warns, and keeps the connection on its one path (README.md).
  check "iroh: n0 NAT traversal not negotiated with us" \
    server_has "nat candidates: n0's nat traversal was not negotiated"
  check "iroh: multipath not negotiated with us" server_has 'error=MultipathNotNegotiated'
  check "iroh: never logs either extension as negotiated" \
    server_lacks 'multipath negotiated|nat traversal negotiated'
  ;;
iroh_client_echo)
  start_server ours "$server_key"
  iroh_dial --node "$server_id" --alpn "$alpn" --bytes 1048576
  check "iroh client: handshake with us, our key verified" has "$out" '"event":"connected","remote":"'"$server_id"'"'
  check "iroh client: 1 MiB echoed on a bi stream, exit 0" has "$out" '"event":"done","ok":true,"bytes":1048576,'
  check "iroh client: exit code 0" test "$rc" = 0
  check "iroh client: a single path" has "$out" '"paths":\["'"$server_addr"'"\]'
  iroh_id=$(field node_id <<<"$(grep '"event":"key"' <<<"$out")")  # iroh's own id for its key
  wait_for_line "$server_out" '"event":"echoed"' "${pids[0]}" 5
  check "our server: accepted iroh's node id $iroh_id" server_has '"event":"accepted".*"remote":"'"$iroh_id"'"'
  check "our server: echoed 1048576 bytes" server_has '"bytes":1048576,"event":"echoed"'
  check "our server: iroh closed the connection normally" \
    wait_for_line "$server_out" '"event":"closed","reason":"closed by peer with code 0' "${pids[0]}" 5
  ;;
wrong_key)
  start_server iroh "$server_key"
  ours_dial --node-id "$stranger_id" --alpn "$alpn"
  check "our client refuses iroh's key when expecting another (exit 3)" test "$rc" = 3
  check "our client names the key it refused" has "$out" "peer presented key $server_id"
  check "iroh server: no connection accepted" server_lacks '"event":"accepted"'
  stop_server
  start_server ours "$server_key"
  iroh_dial --node "$stranger_id" --alpn "$alpn"
  check "iroh client refuses our key when expecting another (exit 1)" test "$rc" = 1
  check "iroh client: a certificate error in the handshake" \
    has "$out" '"event":"error",.*invalid peer certificate.*"phase":"handshake"'
  check "iroh client: not a timeout" lacks "$out" 'timeout'
  check "our server: no connection accepted" server_lacks '"event":"accepted"'
  ;;
wrong_alpn)
  start_server iroh "$server_key"
  ours_dial --node-id "$server_id" --alpn "$other_alpn"
  check "our client: iroh refuses an unknown ALPN (exit 4)" test "$rc" = 4
  check "our client: the reason is TLS alert 120 (no_application_protocol)" \
    has "$out" '"message":"TlsRefused: closed by peer with transport error 376 \(TLS alert 120\)'
  check "iroh server: no connection accepted" server_lacks '"event":"accepted"'
  stop_server
  start_server ours "$server_key"
  iroh_dial --node "$server_id" --alpn "$other_alpn"
  check "iroh client: we refuse an unknown ALPN (exit 1)" test "$rc" = 1
  # Our alert 120 is no_application_protocol; iroh prints only its number.
  check "iroh client: aborted by us with TLS alert 120 in the handshake" \
    has "$out" '"event":"error",.*aborted by peer: .* error 120".*"phase":"handshake"'
  check "our server: no connection accepted" server_lacks '"event":"accepted"'
  ;;
*) echo "unknown case: $case_name"; exit 2 ;;
esac
summary
