#!/usr/bin/env bash
# Transfers between two network namespaces joined by a veth pair, with 5% of the packets arriving
# in either namespace dropped at random by nftables (this kernel has no netem).
#
#   netns_transfer_test.sh QUIC_PEER CASE
#   loss_transfer: quic_peer dial sends 20 MiB to quic_peer serve; the BLAKE3 reply must match.
#   dead_peer:     the server is killed (SIGKILL) mid-transfer; the client must report the lost
#                  connection (exit 6) once its short idle timeout has passed.
#
# Both namespaces, the veth pair and the nftables tables are created by this run, carry its pid
# in their names, and are deleted by name on exit (also on failure, timeout or a signal).
# Addresses come from 198.18.0.0/15 (RFC 2544, for benchmarking), which exists only inside the
# two namespaces. Needs root, ip (iproute2) and nft (install_deps.sh provides them).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/test_lib.sh"
quic_peer="${1:?usage: netns_transfer_test.sh QUIC_PEER CASE}"
case_name="${2:?usage: netns_transfer_test.sh QUIC_PEER CASE}"

[ "$(id -u)" = 0 ] || { echo "FAIL: needs root for network namespaces"; exit 1; }
[ -x "$quic_peer" ] || { echo "FAIL: no quic_peer at $quic_peer"; exit 1; }
command -v nft >/dev/null || { echo "FAIL: nft missing (run install_deps.sh)"; exit 1; }

ns_srv="p2p-srv-$$"
ns_cli="p2p-cli-$$"
veth_srv="p2ps$$"   # interface names: at most 15 characters
veth_cli="p2pc$$"
srv_ip=198.18.0.1
cli_ip=198.18.0.2
loss_percent=5
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
  kill_netns_pids "$ns_srv"
  kill_netns_pids "$ns_cli"
  # Deleting a namespace deletes the veth end inside it, and with it the peer end.
  ip netns delete "$ns_srv" 2>/dev/null
  ip netns delete "$ns_cli" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted (signal or watchdog)"; exit 130' INT TERM HUP
start_watchdog 240   # ctest TIMEOUT is higher (CMakeLists.txt)

setup() {
  ip netns add "$ns_srv" && ip netns add "$ns_cli" &&
    ip link add "$veth_srv" netns "$ns_srv" type veth peer name "$veth_cli" netns "$ns_cli" &&
    ip -n "$ns_srv" addr add "$srv_ip/30" dev "$veth_srv" &&
    ip -n "$ns_cli" addr add "$cli_ip/30" dev "$veth_cli" &&
    for ns in "$ns_srv" "$ns_cli"; do
      ip -n "$ns" link set lo up || return 1
    done &&
    ip -n "$ns_srv" link set "$veth_srv" up && ip -n "$ns_cli" link set "$veth_cli" up
}
# Drop loss_percent% of what arrives over the veth, in one namespace, with a counter to prove it.
add_loss() {
  local ns=$1 dev=$2
  ip netns exec "$ns" nft -f - <<NFT
table inet p2p_loss {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "$dev" numgen random mod 100 < $loss_percent counter drop
  }
}
NFT
}
dropped() {  # packets the rule in namespace $1 has dropped so far
  ip netns exec "$1" nft list table inet p2p_loss | sed -nE 's/.*counter packets ([0-9]+).*/\1/p'
}

setup || { echo "FAIL: could not create the namespaces and the veth pair"; exit 1; }
add_loss "$ns_srv" "$veth_srv" && add_loss "$ns_cli" "$veth_cli" ||
  { echo "FAIL: could not add the nftables loss rules"; exit 1; }
echo "namespaces $ns_srv ($srv_ip) <-> $ns_cli ($cli_ip), $loss_percent% input loss in both"

alpn="/p2panda-cpp/netns/1"
server_key=$(printf '44%.0s' {1..32})
idle_ms=30000
[ "$case_name" = dead_peer ] && idle_ms=2000

ip netns exec "$ns_srv" "$quic_peer" serve --key-hex "$server_key" --alpn "$alpn" \
  --bind "$srv_ip" --idle-timeout-ms "$idle_ms" --lifetime-s 240 >"$tmp/server.out" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_for_line "$tmp/server.out" '"event":"ready"' "$server_pid" 20 ||
  { echo "FAIL: server not ready"; cat "$tmp/server.out"; exit 1; }
ready=$(first_line "$tmp/server.out" '"event":"ready"')
echo "server: $ready"
server_id=$(field node_id <<<"$ready")
port=$(field port <<<"$ready")

# dial ARGS...: the client in the other namespace, in the background (pid in client_pid).
dial() {
  ip netns exec "$ns_cli" "$quic_peer" dial --addr "$srv_ip:$port" --node-id "$server_id" \
    --alpn "$alpn" --idle-timeout-ms "$idle_ms" "$@" >"$tmp/client.out" 2>&1 &
  client_pid=$!
  pids+=("$client_pid")
}

case "$case_name" in
loss_transfer)
  bytes=$((20 << 20))
  start=$(now_ms)
  dial --bytes "$bytes" --timeout 150
  wait_exit "$client_pid" 160
  echo "client exit $status after $(( $(now_ms) - start )) ms"
  sed 's/^/  client: /' "$tmp/client.out" | cut -c1-400
  done_line=$(first_line "$tmp/client.out" '"event":"done"')
  check "20 MiB transfer under loss completes (client exit 0)" test "$status" = 0
  check "client: the server's hash reply matches" \
    grep -qE '^\{"blake3":"[0-9a-f]{64}","bytes":'"$bytes"',"event":"done",.*"ok":true' "$tmp/client.out"
  wait_for_line "$tmp/server.out" '"event":"hashed"' "$server_pid" 10
  sed 's/^/  server: /' "$tmp/server.out" | grep -v '"ready"' | cut -c1-300
  hashed=$(first_line "$tmp/server.out" '"event":"hashed"')
  client_hash=$(field blake3 <<<"$done_line")
  check "server: received $bytes bytes" test "$(field bytes <<<"$hashed")" = "$bytes"
  check "server: same BLAKE3 as the client" test -n "$client_hash" -a "$(field blake3 <<<"$hashed")" = "$client_hash"
  srv_drops=$(dropped "$ns_srv"); cli_drops=$(dropped "$ns_cli")
  echo "dropped: $srv_drops packets arriving at the server, $cli_drops at the client"
  check "loss was applied toward the server" test "${srv_drops:-0}" -gt 0
  check "loss was applied toward the client" test "${cli_drops:-0}" -gt 0
  ;;
dead_peer)
  dial --bytes 1GiB --timeout 60
  # Mid-transfer: the server has seen the sink marker and is receiving data.
  if ! wait_for_line "$tmp/server.out" '"event":"sink_started"' "$server_pid" 20; then
    echo "FAIL: transfer did not start"; cat "$tmp/server.out" "$tmp/client.out"; exit 1
  fi
  kill -9 "$server_pid"
  killed=$(now_ms)
  wait_exit "$server_pid" 5
  # The client hears nothing more; it must give up after its idle timeout (QUIC takes the larger
  # of it and 3 PTO), not hang until --timeout and not finish.
  wait_exit "$client_pid" $(( idle_ms / 1000 + 10 ))
  elapsed=$(( $(now_ms) - killed ))
  sed 's/^/  client: /' "$tmp/client.out" | cut -c1-400
  echo "client exit $status, $elapsed ms after the kill (idle timeout $idle_ms ms)"
  check "client reports the lost connection (exit 6) within idle timeout + 10 s" test "$status" = 6
  check "client: the reason is the idle timeout" \
    grep -qE '"close":"connection lost \(idle timeout\)[^"]*".*"phase":"stream"' "$tmp/client.out"
  check "client: no success line" bash -c "! grep -q '\"event\":\"done\"' '$tmp/client.out'"
  ;;
*) echo "unknown case: $case_name"; exit 2 ;;
esac
summary
