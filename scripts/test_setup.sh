#!/usr/bin/env bash
# `npm test` runs this first (pretest): it makes sure the machine has what the tests use.
# - Debian's chromium (test/client/browser.test.ts, test/bench/report.test.ts drive it headless);
# - redis-server and nats-server (test/bench/peers.test.ts starts them);
# - strace (test/cli_durability.test.ts watches the server's fdatasync and send calls);
# - logrotate (test/agent/rotation.test.ts rotates the files the agent tails);
# - the native addons, build/Release/shardline_native.node and shardline_mapping.node (npm ci
#   builds them; rebuilt if missing).
# As root, missing packages are installed through apt. Otherwise it prints the command that
# installs them and exits 1, so a run never fails halfway for want of a program.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium

# Debian puts nats-server in /usr/sbin, which is not on every user's PATH. bash's command -v
# also names a file it cannot execute, hence the -x.
have() {
  local found
  found="$(command -v "$1" 2>/dev/null)" && [ -x "$found" ] && return 0
  [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

# Sets `missing` to the Debian packages whose programs this machine lacks.
find_missing() {
  missing=()
  [ -x "$CHROMIUM" ] || missing+=(chromium)
  have redis-server || missing+=(redis-server)
  have nats-server || missing+=(nats-server)
  have strace || missing+=(strace)
  have logrotate || missing+=(logrotate)
}

install_missing() {
  echo "test setup: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  find_missing
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "test setup: apt-get installed ${missing[*]}, but their programs are still missing" >&2
    exit 1
  fi
}

explain_missing() {
  echo "test setup: the tests need ${missing[*]}, which this machine lacks." >&2
  if have apt-get; then
    echo "Install them as root (or run npm test as root, which does it):" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  else
    echo "Install them with this system's package manager (these are Debian's names; chromium at $CHROMIUM)." >&2
  fi
  exit 1
}

find_missing
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && have apt-get; then
    install_missing
  else
    explain_missing
  fi
fi

if [ ! -f build/Release/shardline_native.node ] || [ ! -f build/Release/shardline_mapping.node ]; then
  echo "test setup: building the native addon (node-gyp)"
  npm run install
fi
