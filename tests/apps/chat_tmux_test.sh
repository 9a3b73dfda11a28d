#!/usr/bin/env bash
# Two `p2panda chat` sessions in tmux, driven by keystrokes as a person would: started with no
# discovery flags, they find each other by mDNS over loopback, exchange messages both ways, and a
# chat restarted on its database shows the history while the other is gone.
#
#   chat_tmux_test.sh P2PANDA_BINARY
#
# Runs inside its own network namespace (only loopback, multicast enabled on it), so the chats'
# mDNS never leaves this test; the tmux server has its own socket and is killed on exit.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../interop/test_lib.sh"
tool="${1:?usage: chat_tmux_test.sh P2PANDA_BINARY}"

if [ "${CHAT_TEST_NETNS:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "FAIL: needs root for a network namespace"; exit 1; }
  command -v tmux >/dev/null || { echo "FAIL: tmux missing"; exit 1; }
  exec unshare --net -- env CHAT_TEST_NETNS=1 bash -c \
    'ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"' \
    "$0" "$@"
fi

tmp="$(mktemp -d)"
socket="$tmp/tmux.sock"
tmux_() { tmux -S "$socket" "$@"; }
cleanup() {
  tmux_ kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted"; exit 130' INT TERM HUP
start_watchdog 100

# start NAME NICK: a chat in its own tmux window, on its own database and key.
start() {
  local cmd="$tool chat --topic tmux-test-room --nick $2 --db $tmp/$1.db --key-file $tmp/$1.key"
  if tmux_ has-session -t chat 2>/dev/null; then
    tmux_ new-window -d -t chat -n "$1" "$cmd; sleep 600"
  else
    tmux_ new-session -d -s chat -n "$1" -x 160 -y 50 "$cmd; sleep 600"
  fi
}
say() { tmux_ send-keys -t "chat:$1" -l "$2" && tmux_ send-keys -t "chat:$1" Enter; }
screen() { tmux_ capture-pane -p -J -S -200 -t "chat:$1"; }
# seen WINDOW REGEX SECONDS: 0 once the window shows a line matching REGEX.
seen() {
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    screen "$1" | grep -qE "$2" && return 0
    sleep 0.1
  done
  echo "  window $1 after $3 s:"
  screen "$1" | sed 's/^/    /' | tail -20
  return 1
}

# exited WINDOW SECONDS: 0 once the chat in WINDOW has ended (its shell runs the trailing sleep).
exited() {
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(tmux_ list-panes -t "chat:$1" -F '#{pane_current_command}')" = sleep ] && return 0
    sleep 0.1
  done
  return 1
}

start alice alice
start bob bob
check "alice started" seen alice '^\* you are alice' 15
check "bob started" seen bob '^\* you are bob' 15
check "alice sees bob join (mDNS, no flags)" seen alice '^\* peer [0-9a-f]{8} joined' 30
say alice "hello from alice"
check "bob receives alice's message" seen bob '\] alice: hello from alice$' 20
say bob "hi alice, bob here"
check "alice receives bob's reply" seen alice '\] bob: hi alice, bob here$' 20
check "alice shows her own message too" seen alice '\] alice: hello from alice$' 5

say bob "/quit"
check "bob's chat exits on /quit" exited bob 15
check "alice sees bob leave" seen alice '^\* peer [0-9a-f]{8} left' 30
say alice "/quit"
check "alice's chat exits on /quit" exited alice 15
tmux_ kill-window -t chat:bob
start bob bob
check "bob, restarted alone, shows the history from his database" \
  seen bob '\] alice: hello from alice$' 15
check "history includes bob's own message" seen bob '\] bob: hi alice, bob here$' 5
stop_watchdog
summary
