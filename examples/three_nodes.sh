#!/usr/bin/env bash
# The scripted demo: three `p2panda node` processes on 127.0.0.1 and one topic.
#
#   examples/three_nodes.sh build/apps/p2panda
#
# 1. Alice publishes while nobody else runs.        4. Carol, started last, syncs from Bob only.
# 2. Bob starts and catches up by sync.              5. Bob restarts on his database: only what he
# 3. Live: Alice publishes, Bob receives at once.       missed arrives; nothing he acked comes again;
#                                                       Carol catches up through him.
#
# Every step waits on a JSON line from a node (docs/cli.md) with a deadline; nothing sleeps and
# hopes. All processes are stopped by pid on exit, and the temporary directory removed.
set -uo pipefail
tool="${1:?usage: three_nodes.sh P2PANDA_BINARY}"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "${KEEP_DEMO:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo failed: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
field() { sed -nE "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/p" | head -1; }

# count NAME REGEX: lines of NAME's output matching REGEX.
count() { grep -cE "$2" "$tmp/$1.out" 2>/dev/null || true; }
# wait_count NAME REGEX N SECONDS: until NAME has printed N lines matching REGEX.
wait_count() {
  local deadline=$(( $(now_ms) + $4 * 1000 ))
  while [ "$(count "$1" "$2")" -lt "$3" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || die "$1: expected $3 lines matching $2 within $4 s"
    sleep 0.02
  done
}

# start NAME [ARGS...]: a node with its own database and key; stdin is a fifo we write to.
start() {
  local name=$1
  shift
  [ -p "$tmp/$name.in" ] || mkfifo "$tmp/$name.in"
  "$tool" node --json --topic p2panda-demo --db "$tmp/$name.db" --key-file "$tmp/$name.key" \
    --mdns off --publish-stdin "$@" <"$tmp/$name.in" >>"$tmp/$name.out" 2>"$tmp/$name.err" &
  eval "${name}_pid=$!"
  pids+=($!)
  exec {fd}>"$tmp/$name.in"  # keep the fifo open: the node publishes each line we write
  eval "${name}_fd=$fd"
  wait_count "$name" '"event":"ready"' "$(( $(count "$name" '"event":"ready"') + 1 ))" 15
  local ready
  ready=$(grep '"event":"ready"' "$tmp/$name.out" | tail -1)
  eval "${name}_id=$(field node_id <<<"$ready")"
  eval "${name}_addr=$(sed -nE 's/.*"addresses":\["([^"]+)".*/\1/p' <<<"$ready")"
}
stop() {
  local pid fd
  eval "pid=\$${1}_pid; fd=\$${1}_fd"
  kill -TERM "$pid"
  wait "$pid" || die "$1 did not shut down cleanly"
  exec {fd}>&-
}
publish() {
  local fd
  eval "fd=\$${1}_fd"
  echo "$2" >&"$fd"
}
processed() { count "$1" '"event":"processed"'; }

bold "1. alice publishes three messages while nobody else runs"
start alice
for i in 1 2 3; do publish alice "offline message $i"; done
wait_count alice '"event":"processed"' 3 10
echo "   alice stored 3 operations (seq 0-2), signed with $alice_id"

bold "2. bob starts and catches up by sync"
t0=$(now_ms)
start bob --bootstrap "$alice_id@$alice_addr"
wait_count bob '"event":"processed"' 3 20
echo "   bob received all 3 in $(( $(now_ms) - t0 )) ms (start, handshake, sync)"
grep '"event":"sync_started"' "$tmp/bob.out" | head -1 | sed 's/^/   bob: /' | cut -c1-160

bold "3. live: alice publishes, bob receives"
t0=$(now_ms)
publish alice "live message"
wait_count bob '"event":"processed"' 4 10
echo "   bob: \"live message\" after $(( $(now_ms) - t0 )) ms"

bold "4. carol starts last and syncs from bob alone"
start carol --bootstrap "$bob_id@$bob_addr"
wait_count carol '"event":"processed"' 4 20
echo "   carol has all 4 messages, via bob (she never talked to alice)"

bold "5. bob restarts on his database"
stop bob
publish alice "while bob was away"
wait_count alice '"event":"processed"' 5 10
before=$(processed bob)
# Same key, database and address: carol's retries find him again.
start bob --bootstrap "$alice_id@$alice_addr" --bind "$bob_addr"
wait_count bob '"event":"processed"' $(( before + 1 )) 20
# Give a duplicate every chance to show: alice publishes once more, and that arrives after any
# redelivery the restart could have caused.
publish alice "after the restart"
wait_count bob '"event":"processed"' $(( before + 2 )) 10
again=$(( $(processed bob) - before ))
echo "   after the restart bob got $again messages: the one he missed and the next live one"
[ "$again" -eq 2 ] || die "bob got $again messages after the restart, expected 2"
wait_count carol '"event":"processed"' 6 20
echo "   carol, who only knows bob, caught up on both through him once he was back"

bold "summary"
for name in alice bob carol; do
  printf '   %-6s %s messages processed, %s sync sessions started\n' "$name" \
    "$(processed "$name")" "$(count "$name" '"event":"sync_started"')"
done
[ "$(processed alice)" -eq 6 ] && [ "$(processed carol)" -eq 6 ] && [ "$(processed bob)" -eq 6 ] ||
  die "every node should have processed each of the 6 messages exactly once"
echo "   6 messages, each processed exactly once on every node, none lost across the restart"
