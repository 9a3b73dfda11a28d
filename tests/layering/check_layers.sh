#!/usr/bin/env bash
# The protocol cores and pure layers must not reach for I/O libraries (ARCHITECTURE.md, "Layers").
# Fails, naming each offending line, when a file under those folders includes asio, GnuTLS,
# ngtcp2 or SQLite, or reads the real clock or randomness outside the places allowed to.
set -euo pipefail
root="${1:?usage: check_layers.sh REPO_ROOT}"
status=0
for layer in core sync gossip discovery stream; do
  dir="$root/src/$layer"
  [[ -d "$dir" ]] || continue
  if grep -rnE '#include *[<"](asio|gnutls|ngtcp2|sqlite3)' "$dir"; then
    echo "error: src/$layer must not include asio, GnuTLS, ngtcp2 or SQLite" >&2
    status=1
  fi
done
for layer in sync gossip discovery stream; do
  dir="$root/src/$layer"
  [[ -d "$dir" ]] || continue
  if grep -rnE 'steady_clock::now|system_clock::now|random_device' "$dir"; then
    echo "error: src/$layer must take time and randomness as arguments" >&2
    status=1
  fi
done
# Arrows point down: core includes nothing from the layers above it.
if grep -rnE '#include *"(store|stream|sync|gossip|discovery|net|node)/' "$root/src/core"; then
  echo "error: src/core must not include higher layers" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then echo "layering ok"; fi
exit $status
