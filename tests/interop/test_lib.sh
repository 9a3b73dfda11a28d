# Shell helpers for the interop and netns test scripts (sourced, not run).
# Waiting is always on an event with a deadline: a line appearing in a file, a process ending.

passed=0
failed=0
check() {  # check NAME COMMAND...: runs COMMAND, counts and prints PASS/FAIL
  local name=$1
  shift
  if "$@"; then echo "PASS: $name"; passed=$((passed + 1))
  else echo "FAIL: $name"; failed=$((failed + 1)); fi
}
summary() {  # prints the closing line ctest logs show, returns non-zero on any failure
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for_line FILE REGEX PID SECONDS: 0 once a line of FILE matches REGEX; 1 when PID has
# exited without printing it, or after SECONDS.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 deadline=$(( $(now_ms) + $4 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -qE "$regex" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -qE "$regex" "$file" 2>/dev/null; return; }
    sleep 0.02
  done
  return 1
}

# wait_exit PID SECONDS: waits for a child of this shell to end and sets `status` to its exit
# status, or to 124 (leaving it running for the cleanup) when it still runs after SECONDS. Not in
# a $(...) subshell: only this shell can collect its children's status.
wait_exit() {
  local pid=$1 deadline=$(( $(now_ms) + $2 * 1000 ))
  while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.02; done
  if kill -0 "$pid" 2>/dev/null; then status=124; return; fi
  status=0
  { wait "$pid"; } 2>/dev/null || status=$?  # no "Killed" notice from the shell
}

# field NAME < LINE: the value of a top-level string or number field of a one-line JSON object.
field() { sed -nE "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/p" | head -1; }

# first_line FILE REGEX: the first line of FILE matching REGEX (empty if none).
first_line() { grep -E "$2" "$1" 2>/dev/null | head -1; }

# kill_netns_pids NS: SIGKILL whatever still runs in network namespace NS. Only for namespaces
# this run created (the name carries our pid), so these are processes this test started.
kill_netns_pids() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
}

# start_watchdog SECONDS: sends SIGTERM to this script after SECONDS, so that its EXIT trap still
# cleans up. ctest's own TIMEOUT kills with SIGKILL, which no trap sees: keep SECONDS below it.
# stop_watchdog ends it (and its sleep) by pid.
start_watchdog() {
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$1" &
    sleeper=$!
    wait "$sleeper" && echo "FAIL: watchdog: still running after $1 s" && kill -TERM $$
  ) &
  watchdog_pid=$!
}
stop_watchdog() {
  [ -n "${watchdog_pid:-}" ] || return 0
  kill "$watchdog_pid" 2>/dev/null
  { wait "$watchdog_pid"; } 2>/dev/null
  watchdog_pid=""
}
