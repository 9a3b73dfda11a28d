#!/usr/bin/env bash
# gossip_p99_ms_netns10: publish-to-receive latency of ephemeral messages (gossip only) across 10
# `p2panda node` processes in 10 network namespaces on the bed's bridge (no delay, no loss).
#
#   netns_gossip_bench.sh P2PANDA [--results FILE]
#
# The build puts a wrapper named netns_gossip_bench in build/bench, so `./run bench` runs it.
# Each node finds the others by mDNS. Once every node has an ephemeral-overlay neighbour and a
# warm-up message reached all nine others, every node sends one message per round (20 rounds,
# 20 ms apart): 200 messages, 1800 deliveries. A delivery's latency is the receiver's clock at
# delivery minus the author's timestamp in the signed message; all namespaces share one clock.
# Figures (bench/figures.hpp's flat JSON object): gossip_p50_ms_netns10, gossip_p99_ms_netns10,
# gossip_delivered_pct_netns10. Without root it prints why and reports nothing (exit 0).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../tests/interop/test_lib.sh"
source "$here/../tests/netns/netbed.sh"
source "$here/../tests/netns/nodes_lib.sh"

bin=${1:?usage: netns_gossip_bench.sh P2PANDA [--results FILE]}
shift
results=""
while [ $# -gt 0 ]; do
  case "$1" in
    --results) results=${2:?--results needs a file}; shift 2 ;;
    *) echo "usage: netns_gossip_bench.sh P2PANDA [--results FILE]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  echo "netns_gossip_bench: skipped, network namespaces need root"
  exit 0
fi
command -v jq >/dev/null || { echo "netns_gossip_bench: jq missing" >&2; exit 1; }

hosts=10
rounds=20
trap 'nodes_down; bed_down' EXIT
trap 'exit 130' INT TERM HUP
nodes_init "$bin" || exit 1
bed_up --hosts $hosts || exit 1
topic=netns-bench-$$
for ((i = 0; i < hosts; i++)); do
  node_start "n$i" "$i" --topic "$topic" --bind "$(bed_ip "$i"):0" --mdns active \
    --mdns-interface "$bed_dev" --ephemeral-stdin
done
for ((i = 0; i < hosts; i++)); do
  node_wait "n$i" '"event":"ready"' 10 || { node_dump "n$i"; exit 1; }
done
for ((i = 0; i < hosts; i++)); do
  node_wait "n$i" '"event":"neighbor_up".*"ephemeral":true' 30 || { node_dump "n$i"; exit 1; }
done

# reached MESSAGE: how many nodes printed it.
reached() { grep -lF "\"message\":\"$1\"" "$nodes_dir"/n*.out 2>/dev/null | wc -l; }

# Warm-up: until one message from n0 reaches all nine others, the overlay is still forming.
warm=0
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  node_send n0 "warm-$attempt"
  deadline=$(( $(now_ms) + 3000 ))
  while [ "$(reached "warm-$attempt")" -lt $((hosts - 1)) ] && [ "$(now_ms)" -lt "$deadline" ]; do
    sleep 0.05
  done
  if [ "$(reached "warm-$attempt")" -ge $((hosts - 1)) ]; then warm=1; break; fi
done
[ $warm = 1 ] || { echo "netns_gossip_bench: the overlay never reached all nodes" >&2; exit 1; }

for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < hosts; i++)); do node_send "n$i" "b-$r-$i"; done
  sleep 0.02  # pacing between rounds, not a wait for a result
done
expected=$((rounds * hosts * (hosts - 1)))
# deliveries: distinct (receiver, message) pairs, so a duplicate cannot stand in for a loss.
deliveries() {
  grep -H '"event":"ephemeral".*"message":"b-' "$nodes_dir"/n*.out |
    sed -nE 's/^([^:]*):.*"message":"([^"]*)".*/\1 \2/p' | sort -u | wc -l
}
deadline=$(( $(now_ms) + 10000 ))
while [ "$(deliveries)" -lt $expected ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done

latencies=$(cat "$nodes_dir"/n*.out | grep '"event":"ephemeral".*"message":"b-' |
  sed -nE 's/.*"timestamp":([0-9]+),"received":([0-9]+).*/\1 \2/p' |
  awk '{printf "%.3f\n", ($2 - $1) / 1000}' | sort -n)
count=$(echo "$latencies" | grep -c .)
[ "$count" -gt 0 ] || { echo "netns_gossip_bench: no deliveries" >&2; exit 1; }
distinct=$(deliveries)
percentile() { echo "$latencies" | awk -v n="$count" -v p="$1" \
  'BEGIN {k = int(n * p / 100); if (k < n * p / 100) k++; if (k < 1) k = 1} NR == k {print; exit}'; }
p50=$(percentile 50)
p99=$(percentile 99)
delivered=$(awk -v c="$distinct" -v e="$expected" 'BEGIN {printf "%.2f", 100 * c / e}')
figures=$(jq -n --argjson p50 "$p50" --argjson p99 "$p99" --argjson d "$delivered" \
  '{gossip_p50_ms_netns10: $p50, gossip_p99_ms_netns10: $p99, gossip_delivered_pct_netns10: $d}')
printf '%-32s %s\n' gossip_p50_ms_netns10 "$p50" gossip_p99_ms_netns10 "$p99" \
  gossip_delivered_pct_netns10 "$delivered"
echo "($distinct of $expected deliveries, $((count - distinct)) duplicates, $hosts nodes, $rounds rounds)"
if [ -n "$results" ]; then
  if [ -s "$results" ]; then
    merged=$(jq --argjson f "$figures" '. + $f' "$results") || exit 1
  else
    merged=$figures
  fi
  echo "$merged" >"$results" || exit 1
fi
