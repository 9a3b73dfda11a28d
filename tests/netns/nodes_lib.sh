# Running `p2panda node` processes on the netns bed (sourced after netbed.sh and test_lib.sh).
# Each node has a name, runs on one bed host with its JSON lines in $nodes_dir/NAME.out, and
# reads its stdin from a FIFO this shell keeps open for writing, so lines can be sent to it at
# any time (--publish-stdin / --ephemeral-stdin). nodes_down kills them by pid; bed_down then
# removes whatever is left in the namespaces.
#
#   nodes_init P2PANDA          once, before starting nodes
#   node_start NAME HOST ARGS   starts `p2panda node --json ARGS` on bed host HOST
#   node_send NAME LINE         one line to the node's stdin
#   node_wait NAME REGEX SECS   waits for a matching line of its output (0 found, 1 not)
#   node_count NAME REGEX       how many lines of its output match
#   nodes_down                  kills every node by pid, closes the FIFOs

nodes_bin=""
nodes_dir=""
declare -A node_pid=() node_fd=() node_host=()

nodes_init() {
  nodes_bin=$1
  [ -x "$nodes_bin" ] || { echo "FAIL: no p2panda binary at '$nodes_bin'"; return 1; }
  nodes_dir=$(mktemp -d)
}

node_start() {
  local name=$1 host=$2 fd
  shift 2
  mkfifo "$nodes_dir/$name.in"
  # Read-write open: does not block waiting for a reader, and keeps the FIFO open so that the
  # node never sees the end of its input.
  exec {fd}<>"$nodes_dir/$name.in"
  node_fd[$name]=$fd
  node_host[$name]=$host
  # Not through the bed_exec function, which would run in a forked subshell: `ip netns exec`
  # itself execs the command, so $! is the node's own pid.
  ip netns exec "$(bed_ns "$host")" "$nodes_bin" node --json "$@" <"$nodes_dir/$name.in" \
    >"$nodes_dir/$name.out" 2>"$nodes_dir/$name.err" &
  node_pid[$name]=$!
}

node_send() { echo "$2" >&"${node_fd[$1]}"; }

node_wait() { wait_for_line "$nodes_dir/$1.out" "$2" "${node_pid[$1]}" "$3"; }

node_count() { grep -cE "$2" "$nodes_dir/$1.out" 2>/dev/null || true; }

node_line() { first_line "$nodes_dir/$1.out" "$2"; }

# node_addr NAME: the node's ID@HOST:PORT from its ready line (for --bootstrap).
node_addr() {
  local ready
  ready=$(node_line "$1" '"event":"ready"')
  echo "$(field node_id <<<"$ready")@$(sed -nE 's/.*"addresses":\["([^"]+)".*/\1/p' <<<"$ready")"
}

# node_dump NAME: its last lines and stderr, for a failure.
node_dump() {
  echo "--- $1 (host ${node_host[$1]}) stdout, last 15 lines"
  tail -n 15 "$nodes_dir/$1.out" 2>/dev/null
  echo "--- $1 stderr, last 10 lines"
  tail -n 10 "$nodes_dir/$1.err" 2>/dev/null
}

nodes_down() {
  local name fd
  for name in "${!node_pid[@]}"; do kill -9 "${node_pid[$name]}" 2>/dev/null; done
  for name in "${!node_pid[@]}"; do { wait "${node_pid[$name]}"; } 2>/dev/null; done
  for name in "${!node_fd[@]}"; do
    fd=${node_fd[$name]}
    exec {fd}>&-
  done
  node_pid=() node_fd=() node_host=()
  [ -n "$nodes_dir" ] && rm -rf "$nodes_dir"
  nodes_dir=""
}
