#!/usr/bin/env bash
# Run a command in a fresh network namespace that has only loopback (127.0.0.1, ::1), so
# that nothing started from it (iroh's portmapper in particular) can reach any other
# address. Everything that must talk to each other has to run inside the same call:
#   tests/interop/netns_run.sh bash -c 'node tests/interop/iroh_peer.mjs serve ... & ./my_test'
# As root this uses `unshare --net`; otherwise a user namespace (`unshare -r --net`).
set -euo pipefail
if [ "${IROH_INTEROP_NETNS:-}" = 1 ]; then exec "$@"; fi   # already inside
if [ "$(id -u)" = 0 ]; then userns=(); else userns=(-r); fi
exec unshare "${userns[@]}" --net -- env IROH_INTEROP_NETNS=1 \
  sh -c 'ip link set lo up && exec "$@"' netns_run "$@"
