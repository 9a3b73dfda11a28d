#!/usr/bin/env bash
# netbed: a multi-host test bed on one machine. N network namespaces ("hosts") on one link, with
# optional packet loss per host and optional delay and jitter, for tests that start real nodes.
#
# As a tool:
#   netbed.sh --hosts N [--loss PCT] [--delay MS [--jitter MS]] [--seed S] -- COMMAND...
# sets the bed up, runs COMMAND with the bed described in the environment (NETBED_HOSTS,
# NETBED_NS_<i>, NETBED_IP_<i>, NETBED_DEV), and always tears it down, also on failure or a
# signal. Inside COMMAND, `ip netns exec "$NETBED_NS_0" prog ...` runs prog on host 0.
#
# As a library (source it): bed_up ARGS..., bed_ns I, bed_ip I, bed_exec I COMMAND...,
# bed_dropped I, bed_down. bed_down is idempotent; callers put it in their EXIT trap.
#
# How the hosts are joined:
# - without delay: a veth pair per host into a hub namespace holding a Linux bridge (multicast
#   flooded, snooping off), so mDNS and unicast behave as on a switched LAN;
# - with --delay: no bridge; netbed_switch (next to this script's binary, NETBED_SWITCH) owns a TUN
#   device `bed0` in every host and forwards packets after delay ± jitter (this kernel has no netem
#   and no NFQUEUE).
# Loss: an nftables `numgen random` drop rule on each host's input hook, with a counter.
# Addresses: 198.18.1.<i+1>/24 (RFC 2544 benchmarking range), which exists only inside the bed.
# Everything created carries this shell's pid in its name (nb<pid>...), and only that is removed.
# Needs root, iproute2 and nftables.

bed_prefix="nb$$"
bed_hosts=0
bed_dev=""
bed_switch_pid=""
bed_loss=0

bed_ns() { echo "${bed_prefix}h$1"; }
bed_ip() { echo "198.18.1.$(($1 + 1))"; }
bed_exec() {
  local i=$1
  shift
  ip netns exec "$(bed_ns "$i")" "$@"
}
bed_dropped() {  # packets the loss rule on host I has dropped so far
  ip netns exec "$(bed_ns "$1")" nft list table inet netbed_loss 2>/dev/null |
    sed -nE 's/.*counter packets ([0-9]+).*/\1/p'
}

bed_fail() {
  echo "netbed: $*" >&2
  return 1
}

bed_up() {
  local delay=0 jitter=0 seed=1
  bed_hosts=0 bed_loss=0 bed_dev="" bed_switch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --hosts) bed_hosts=$2; shift 2 ;;
      --loss) bed_loss=$2; shift 2 ;;
      --delay) delay=$2; shift 2 ;;
      --jitter) jitter=$2; shift 2 ;;
      --seed) seed=$2; shift 2 ;;
      *) bed_fail "unknown option $1"; return 1 ;;
    esac
  done
  [ "$(id -u)" = 0 ] || { bed_fail "needs root for network namespaces"; return 1; }
  [ "$bed_hosts" -ge 2 ] && [ "$bed_hosts" -le 200 ] || { bed_fail "--hosts must be 2..200"; return 1; }
  local i ns
  for ((i = 0; i < bed_hosts; i++)); do
    ns=$(bed_ns "$i")
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
    # Answer pings to multicast groups, so tests can check that multicast crosses the bed.
    ip netns exec "$ns" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0 || return 1
  done
  if [ "$delay" -gt 0 ]; then
    bed_up_switch "$delay" "$jitter" "$seed" || return 1
  else
    bed_up_bridge || return 1
  fi
  for ((i = 0; i < bed_hosts; i++)); do
    ns=$(bed_ns "$i")
    ip -n "$ns" addr add "$(bed_ip "$i")/24" dev "$bed_dev" || return 1
    ip -n "$ns" link set "$bed_dev" up multicast on || return 1
    ip -n "$ns" route add 224.0.0.0/4 dev "$bed_dev" || return 1
    if [ "$bed_loss" -gt 0 ]; then bed_add_loss "$ns" || return 1; fi
  done
}

bed_up_bridge() {
  local hub="${bed_prefix}hub" i ns
  bed_dev=eth0
  ip netns add "$hub" || return 1
  ip -n "$hub" link add br0 type bridge mcast_snooping 0 || return 1
  ip -n "$hub" link set br0 up || return 1
  for ((i = 0; i < bed_hosts; i++)); do
    ns=$(bed_ns "$i")
    ip -n "$hub" link add "p$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$hub" link set "p$i" master br0 up || return 1
  done
}

bed_up_switch() {
  local delay=$1 jitter=$2 seed=$3 i names=() out
  bed_dev=bed0
  local switch="${NETBED_SWITCH:-}"
  [ -x "$switch" ] || { bed_fail "delay needs netbed_switch (set NETBED_SWITCH)"; return 1; }
  for ((i = 0; i < bed_hosts; i++)); do names+=("$(bed_ns "$i")"); done
  out=$(mktemp)
  "$switch" --delay-ms "$delay" --jitter-ms "$jitter" --seed "$seed" "${names[@]}" >"$out" 2>&1 &
  bed_switch_pid=$!
  local tries=0
  until grep -q '^ready' "$out"; do
    if ! kill -0 "$bed_switch_pid" 2>/dev/null || [ $tries -ge 500 ]; then
      cat "$out" >&2
      rm -f "$out"
      bed_fail "netbed_switch did not start"
      return 1
    fi
    tries=$((tries + 1))
    sleep 0.01
  done
  rm -f "$out"
}

bed_add_loss() {
  ip netns exec "$1" nft -f - <<NFT
table inet netbed_loss {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "$bed_dev" numgen random mod 100 < $bed_loss counter drop
  }
}
NFT
}

# Removes everything this shell's bed created: processes still running in its namespaces (SIGKILL),
# the switch, the namespaces (and with them the veths and TUN devices).
bed_down() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${bed_prefix}h"); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  if [ -n "$bed_switch_pid" ]; then
    kill "$bed_switch_pid" 2>/dev/null
    wait "$bed_switch_pid" 2>/dev/null
    bed_switch_pid=""
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${bed_prefix}h"); do
    ip netns delete "$ns" 2>/dev/null
  done
  return 0
}

# Run as a tool.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || { echo "usage: netbed.sh --hosts N [--loss PCT] [--delay MS [--jitter MS]] -- COMMAND..." >&2; exit 2; }
  trap bed_down EXIT
  trap 'exit 130' INT TERM HUP
  bed_up "${args[@]}" || exit 1
  export NETBED_HOSTS=$bed_hosts NETBED_DEV=$bed_dev
  for ((i = 0; i < bed_hosts; i++)); do
    export "NETBED_NS_$i=$(bed_ns "$i")" "NETBED_IP_$i=$(bed_ip "$i")"
  done
  "$@"
  exit $?
fi
