#!/usr/bin/env bash
# Our gossip driver in iroh-gossip 0.35 mode (gossip035_peer) against a real iroh-gossip 0.35
# node (gossip035_peer.mjs on npm @number0/iroh 0.35.0), on 127.0.0.1 inside a network namespace
# this run creates and deletes (only loopback in it). Both join one topic and each broadcasts once:
# ours on NeighborUp, iroh's as the reply to ours, so both directions are proven in order.
#
#   gossip035_test.sh GOSSIP035_PEER CASE
#   CASE: we_dial (our Join opens the bi stream) | iroh_dials (iroh's Join does)
#
# Needs root, node and tests/interop/node_modules (install_deps.sh, the ctest fixture, provides
# them). Prints PASS/FAIL lines and "N passed, M failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/test_lib.sh"
peer="${1:?usage: gossip035_test.sh GOSSIP035_PEER CASE}"
case_name="${2:?usage: gossip035_test.sh GOSSIP035_PEER CASE}"
case "$case_name" in we_dial) ours_dial=(--dial); iroh_dial=() ;;
  iroh_dials) ours_dial=(); iroh_dial=(--dial) ;;
  *) echo "FAIL: unknown case $case_name"; exit 1 ;; esac

[ "$(id -u)" = 0 ] || { echo "FAIL: needs root for network namespaces"; exit 1; }
[ -x "$peer" ] || { echo "FAIL: no gossip035_peer at $peer"; exit 1; }
(cd "$here" && node -e 'require("iroh035/index.js")') ||
  { echo "FAIL: iroh035 (@number0/iroh 0.35.0) does not load: run install_deps.sh"; exit 1; }

ns="p2p-gossip035-$$"
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

iroh_key=$(printf '11%.0s' {1..32})
our_key=$(printf '22%.0s' {1..32})
our_port=47011   # fixed: iroh must addNodeAddr our address before any packet of ours arrives
topic=$(printf 'ab%.0s' {1..32})
our_id=$("$peer" --key-hex "$our_key" --print-id) || { echo "FAIL: --print-id"; exit 1; }

iroh_out="$tmp/iroh.out"
ours_out="$tmp/ours.out"
mkfifo "$tmp/go" || { echo "FAIL: mkfifo"; exit 1; }
# iroh's stdin is a fifo: with --dial it joins only once our node listens (see gossip035_peer.mjs).
ip netns exec "$ns" node "$here/gossip035_peer.mjs" --secret "$iroh_key" --topic "$topic" \
  --know "$our_id@127.0.0.1:$our_port" "${iroh_dial[@]}" --expect "hello from p2panda-cpp" \
  --reply "hello from iroh-gossip 0.35" --timeout 60 <"$tmp/go" >"$iroh_out" 2>"$tmp/iroh.err" &
pids+=($!)
iroh_pid=$!
exec 3>"$tmp/go"
if ! wait_for_line "$iroh_out" '^\{"event":"ready"' "$iroh_pid" 30; then
  echo "FAIL: iroh node not ready within 30 s"; tail -20 "$iroh_out" "$tmp/iroh.err"; exit 1
fi
ready=$(first_line "$iroh_out" '^\{"event":"ready"')
echo "iroh: $ready"
iroh_id=$(field id <<<"$ready")
iroh_port=$(field port <<<"$ready")

start=$(now_ms)
ip netns exec "$ns" "$peer" --key-hex "$our_key" --port "$our_port" --topic "$topic" \
  --peer-id "$iroh_id" --peer-addr "127.0.0.1:$iroh_port" "${ours_dial[@]}" \
  --send "hello from p2panda-cpp" --expect "hello from iroh-gossip 0.35" --timeout 30 \
  >"$ours_out" 2>"$tmp/ours.err" &
pids+=($!)
ours_pid=$!
if ! wait_for_line "$ours_out" '^\{"event":"ready"' "$ours_pid" 20; then
  echo "FAIL: our node not ready within 20 s"; tail -20 "$ours_out" "$tmp/ours.err"; exit 1
fi
echo go >&3
wait_exit "$ours_pid" 40
rc=$status
elapsed=$(( $(now_ms) - start ))
out=$(cat "$ours_out")
sed 's/^/  ours: /' <<<"$out" | cut -c1-300
grep '^{"event":' "$iroh_out" | sed 's/^/  iroh: /' | cut -c1-300

has() { grep -qE "$2" <<<"$1"; }
check "ours: iroh ($iroh_id) became our neighbour" has "$out" '"event":"neighbor_up","peer":"'"$iroh_id"'"'
check "iroh: we became its neighbour" grep -qE '^\{"event":"neighbor_up","peer":"'"$our_id"'"' "$iroh_out"
check "iroh: received our broadcast, delivered by us" \
  grep -qE '^\{"event":"received","content":"hello from p2panda-cpp","from":"'"$our_id"'"' "$iroh_out"
check "ours: received iroh's broadcast, delivered by iroh" \
  has "$out" '"content":"hello from iroh-gossip 0.35".*"from":"'"$iroh_id"'"|"from":"'"$iroh_id"'".*"content":"hello from iroh-gossip 0.35"'
check "ours: exit code 0" test "$rc" = 0
echo "{\"case\":\"$case_name\",\"round_trip_ms\":$elapsed}"
[ "$rc" = 0 ] || tail -20 "$tmp/ours.err"
summary
