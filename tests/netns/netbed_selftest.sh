#!/usr/bin/env bash
# Checks the test bed itself, so that a scenario failing on it is about the nodes, not the bed:
# unicast and multicast cross it in both modes, loss rules drop and count, the switch adds its
# delay, and teardown leaves no namespace or process behind.
#
#   netbed_selftest.sh NETBED_SWITCH
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../interop/test_lib.sh"
source "$here/netbed.sh"
export NETBED_SWITCH="${1:?usage: netbed_selftest.sh NETBED_SWITCH}"
command -v ping >/dev/null || { echo "FAIL: ping missing (iputils-ping)"; exit 1; }
trap bed_down EXIT
trap 'echo "FAIL: interrupted"; exit 130' INT TERM HUP

left_behind() { ip netns list | grep -c "^${bed_prefix}" || true; }

# multicast_answers I: how many other hosts answer host I's ping to the all-hosts group.
multicast_answers() {
  bed_exec "$1" ping -n -c 3 -W 2 224.0.0.1 2>/dev/null | grep -oE 'from 198\.18\.1\.[0-9]+' |
    sort -u | grep -vc "from $(bed_ip "$1")\$" || true
}

# rtt_min I J COUNT: the smallest round trip in ms (integer part) from host I to host J.
rtt_min() {
  bed_exec "$1" ping -n -q -c "$3" -i 0.05 -W 2 "$(bed_ip "$2")" |
    sed -nE 's|.*= ([0-9]+)\.[0-9]+/.*|\1|p'
}

echo "bridge mode: 3 hosts"
bed_up --hosts 3 || { echo "FAIL: bed_up (bridge)"; exit 1; }
check "unicast host 0 -> host 2" bed_exec 0 ping -n -q -c 2 -W 2 "$(bed_ip 2)" >/dev/null
# Every host answers a ping to the all-hosts group: the bridge floods multicast.
replies=$(multicast_answers 0)
check "multicast from host 0 reaches both others ($replies answered)" test "$replies" -ge 2
bed_down
check "bridge bed removed" test "$(left_behind)" = 0

echo "bridge mode with 40% loss"
bed_up --hosts 2 --loss 40 || { echo "FAIL: bed_up (loss)"; exit 1; }
bed_exec 0 ping -n -q -c 40 -i 0.01 -W 1 "$(bed_ip 1)" >/dev/null
drops=$(( $(bed_dropped 0) + $(bed_dropped 1) ))
check "loss rules dropped packets ($drops)" test "$drops" -gt 0
bed_down

echo "switch mode: 3 hosts, 30 ms delay each way"
bed_up --hosts 3 --delay 30 || { echo "FAIL: bed_up (switch)"; exit 1; }
switch_pid=$bed_switch_pid
rtt=$(rtt_min 0 1 5)
echo "  min rtt $rtt ms"
check "unicast crosses the switch" test -n "$rtt"
# A lower bound only: the switch must hold each packet for its delay; slower is not a failure.
check "round trip includes both delays (>= 59 ms)" test "${rtt:-0}" -ge 59
replies=$(multicast_answers 2)
check "multicast through the switch reaches both others ($replies answered)" test "$replies" -ge 2
bed_down
check "switch stopped" bash -c "! kill -0 $switch_pid 2>/dev/null"
check "switch bed removed" test "$(left_behind)" = 0

echo "the tool: runs a command in a bed and removes it"
out=$("$here/netbed.sh" --hosts 2 -- bash -c 'ip netns exec "$NETBED_NS_1" ping -n -q -c 1 -W 2 "$NETBED_IP_0" >/dev/null && echo "$NETBED_NS_0"')
check "command ran with the bed in its environment" test -n "$out"
check "tool removed its bed" bash -c "! ip netns list | grep -q '^${out:-none}\b'"
summary
