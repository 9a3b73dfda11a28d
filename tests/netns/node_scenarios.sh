#!/usr/bin/env bash
# Whole `p2panda node` processes on the netns bed (docs/testbed.md), one scenario per run:
#
#   node_scenarios.sh mdns|ephemeral|late_joiner|lossy P2PANDA NETBED_SWITCH
#
# mdns         5 hosts, mDNS only (no bootstrap): every node processes every message exactly once
# ephemeral    5 hosts, mDNS: an ephemeral message from each node reaches every other node
# late_joiner  4 hosts converge, a 5th node started afterwards catches up by sync
# lossy        5 hosts, 10% loss on each and 50 ± 10 ms delay through netbed_switch: converge
#
# Every wait is on a JSON line with a deadline; the figures printed at the end are measured, not
# asserted. Needs root. Everything started here is killed by pid, the bed removes the rest.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../interop/test_lib.sh"
source "$here/netbed.sh"
source "$here/nodes_lib.sh"
scenario=${1:?usage: node_scenarios.sh SCENARIO P2PANDA NETBED_SWITCH}
export NETBED_SWITCH="${3:?usage: node_scenarios.sh SCENARIO P2PANDA NETBED_SWITCH}"
nodes_init "$2" || exit 1
trap 'stop_watchdog; nodes_down; bed_down' EXIT
trap 'echo "FAIL: interrupted"; exit 130' INT TERM HUP
start_watchdog 80

topic=netbed-$$
all=()  # the names of the nodes started so far

# start_mdns_node I ARGS...: node nI on host I, found only through mDNS on the bed's interface.
start_mdns_node() {
  local i=$1
  shift
  node_start "n$i" "$i" --topic "$topic" --bind "$(bed_ip "$i"):0" --mdns active \
    --mdns-interface "$bed_dev" "$@"
  all+=("n$i")
}

# wait_ready NAMES...: every node printed ready within 10 s.
wait_ready() {
  local name
  for name in "$@"; do
    node_wait "$name" '"event":"ready"' 10 || { node_dump "$name"; return 1; }
  done
}

# processed_messages NAME: the messages the node printed `processed` for, one per line per event.
processed_messages() {
  grep -E '"event":"processed"' "$nodes_dir/$1.out" 2>/dev/null |
    sed -nE 's/.*"message":"([^"]*)".*/\1/p'
}
ephemeral_messages() {
  grep -E '"event":"ephemeral"' "$nodes_dir/$1.out" 2>/dev/null |
    sed -nE 's/.*"message":"([^"]*)".*/\1/p'
}

# wait_all LISTER SECONDS NAMES... -- MESSAGES...: polls until every named node's LISTER output
# holds every message; 1 after SECONDS (the nodes still missing some are printed).
wait_all() {
  local lister=$1 deadline=$(( $(now_ms) + $2 * 1000 )) names=() name missing
  shift 2
  while [ "$1" != "--" ]; do names+=("$1"); shift; done
  shift
  local expected
  expected=$(printf '%s\n' "$@" | sort -u)
  while :; do
    missing=()
    for name in "${names[@]}"; do
      [ "$(comm -23 <(echo "$expected") <("$lister" "$name" | sort -u) | wc -l)" = 0 ] ||
        missing+=("$name")
    done
    [ ${#missing[@]} = 0 ] && return 0
    if [ "$(now_ms)" -ge "$deadline" ]; then
      for name in "${missing[@]}"; do
        echo "  $name lacks: $(comm -23 <(echo "$expected") <("$lister" "$name" | sort -u) | tr '\n' ' ')"
      done
      return 1
    fi
    sleep 0.05
  done
}

# exactly_once LISTER NAMES...: no node printed a message twice.
exactly_once() {
  local lister=$1 name dups
  shift
  for name in "$@"; do
    dups=$("$lister" "$name" | sort | uniq -d | tr '\n' ' ')
    [ -z "$dups" ] || { echo "  $name got twice: $dups"; return 1; }
  done
}

# found_via NAME VIA: distinct peers the node reported `discovered` for through VIA.
found_via() {
  grep -E "\"event\":\"discovered\".*\"via\":\"$2\"" "$nodes_dir/$1.out" |
    sed -nE 's/.*"remote":"([0-9a-f]+)".*/\1/p' | sort -u | wc -l
}

scenario_mdns() {
  bed_up --hosts 5 || { echo "FAIL: bed_up"; return; }
  local i messages=() t0 t1
  for i in 0 1 2 3 4; do start_mdns_node "$i" --publish-stdin; done
  check "5 nodes ready" wait_ready "${all[@]}"
  # The address in `ready` is what mDNS announces and peers dial: the bound one, with its port.
  local bound=1
  for i in 0 1 2 3 4; do
    node_addr "n$i" | grep -qE "@$(bed_ip "$i" | sed 's/\./\\./g'):[1-9][0-9]*\$" || bound=0
  done
  check "ready lists each node's bed address and port" test $bound = 1
  t0=$(now_ms)
  for i in 0 1 2 3 4; do
    node_send "n$i" "m$i"
    messages+=("m$i")
  done
  check "every node processed every message (mDNS only)" \
    wait_all processed_messages 45 "${all[@]}" -- "${messages[@]}"
  t1=$(now_ms)
  check "each message processed exactly once on each node" \
    exactly_once processed_messages "${all[@]}"
  # Who learnt whom how: mDNS, or gossip (a neighbour's address) once mDNS made the first
  # contact; a node dialled first by others may report no discovery of its own.
  local mdns=0 gossip=0 other=0 breakdown=""
  for i in 0 1 2 3 4; do
    breakdown+="n$i:$(found_via "n$i" mdns)/$(found_via "n$i" gossip) "
    mdns=$((mdns + $(found_via "n$i" mdns)))
    gossip=$((gossip + $(found_via "n$i" gossip)))
    other=$((other + $(found_via "n$i" bootstrap) + $(found_via "n$i" address_book)))
  done
  echo "  peers found per node (mdns/gossip): $breakdown"
  check "peers were found by mDNS ($mdns) and never from a bootstrap list ($other)" \
    test "$mdns" -gt 0 -a "$other" = 0
  echo "figures: mdns converge_ms=$((t1 - t0)) (5 nodes, 5 messages, from the first publish)"
}

scenario_ephemeral() {
  bed_up --hosts 5 || { echo "FAIL: bed_up"; return; }
  local i name messages=() t0 t1
  for i in 0 1 2 3 4; do start_mdns_node "$i" --ephemeral-stdin; done
  check "5 nodes ready" wait_ready "${all[@]}"
  t0=$(now_ms)
  # Ephemeral messages reach only the overlay as it is now: wait until each node has an
  # ephemeral-overlay neighbour before sending.
  local joined=1
  for name in "${all[@]}"; do
    node_wait "$name" '"event":"neighbor_up".*"ephemeral":true' 20 || { joined=0; node_dump "$name"; }
  done
  check "every node has an ephemeral overlay neighbour" test $joined = 1
  t1=$(now_ms)
  for i in 0 1 2 3 4; do
    node_send "n$i" "e$i"
    messages+=("e$i")
  done
  # A node does not receive its own ephemeral messages: each waits for the other four.
  local ok=1
  for i in 0 1 2 3 4; do
    local others=()
    for ((k = 0; k < 5; k++)); do [ $k = "$i" ] || others+=("e$k"); done
    wait_all ephemeral_messages 15 "n$i" -- "${others[@]}" || ok=0
  done
  check "every ephemeral message reached the 4 other nodes" test $ok = 1
  check "no ephemeral message delivered twice" exactly_once ephemeral_messages "${all[@]}"
  local worst
  worst=$(cat "$nodes_dir"/n*.out | grep '"event":"ephemeral"' |
    sed -nE 's/.*"timestamp":([0-9]+),"received":([0-9]+).*/\1 \2/p' |
    awk '{d = ($2 - $1) / 1000; if (d > m) m = d} END {printf "%.1f", m}')
  echo "figures: ephemeral overlay_ms=$((t1 - t0)) worst_latency_ms=$worst (20 deliveries)"
}

scenario_late_joiner() {
  bed_up --hosts 5 || { echo "FAIL: bed_up"; return; }
  local i messages=() early=() t0 t1
  for i in 0 1 2 3; do start_mdns_node "$i" --publish-stdin; done
  early=("${all[@]}")
  check "4 nodes ready" wait_ready "${early[@]}"
  for i in 0 1 2 3; do
    node_send "n$i" "m$i-a"
    node_send "n$i" "m$i-b"
    messages+=("m$i-a" "m$i-b")
  done
  check "the 4 early nodes converged" wait_all processed_messages 45 "${early[@]}" -- "${messages[@]}"
  t0=$(now_ms)
  start_mdns_node 4 --publish-stdin
  check "late joiner ready" wait_ready n4
  check "late joiner caught up on all 8 messages" \
    wait_all processed_messages 30 n4 -- "${messages[@]}"
  t1=$(now_ms)
  local synced
  synced=$(grep -E '"event":"processed"' "$nodes_dir/n4.out" | grep -c '"source":"sync"')
  check "they came by sync ($synced of 8)" test "$synced" -ge 8
  node_send n4 "m4"
  messages+=("m4")
  check "the late joiner's own message reached everyone" \
    wait_all processed_messages 20 "${all[@]}" -- "${messages[@]}"
  check "each message processed exactly once on each node" \
    exactly_once processed_messages "${all[@]}"
  echo "figures: late_joiner catch_up_ms=$((t1 - t0)) (start to 8 messages processed)"
}

scenario_lossy() {
  bed_up --hosts 5 --loss 10 --delay 50 --jitter 10 || { echo "FAIL: bed_up"; return; }
  local i messages=() t0 t1 dropped=0
  for i in 0 1 2 3 4; do start_mdns_node "$i" --publish-stdin; done
  check "5 nodes ready" wait_ready "${all[@]}"
  t0=$(now_ms)
  for i in 0 1 2 3 4; do
    node_send "n$i" "m$i-a"
    node_send "n$i" "m$i-b"
    messages+=("m$i-a" "m$i-b")
  done
  check "every node processed every message (10% loss, 50 ± 10 ms)" \
    wait_all processed_messages 55 "${all[@]}" -- "${messages[@]}"
  t1=$(now_ms)
  check "each message processed exactly once on each node" \
    exactly_once processed_messages "${all[@]}"
  for i in 0 1 2 3 4; do dropped=$((dropped + $(bed_dropped "$i"))); done
  check "the loss rules dropped packets ($dropped)" test "$dropped" -gt 0
  echo "figures: lossy converge_ms=$((t1 - t0)) dropped_packets=$dropped (5 nodes, 10 messages)"
}

case "$scenario" in
  mdns | ephemeral | late_joiner | lossy) "scenario_$scenario" ;;
  *) echo "unknown scenario $scenario"; exit 2 ;;
esac
if [ "$failed" -gt 0 ]; then
  for name in "${all[@]}"; do node_dump "$name"; done
fi
summary
