#!/usr/bin/env bash
# Installs the servers the benchmark suite compares shardline with, redis-server and nats-server,
# from Debian's packages when either is missing (kinesalite comes from npm). Safe to run again:
# with both present it does nothing. Needs root, or sudo.
set -euo pipefail

# Debian puts nats-server in /usr/sbin, which is not on every user's PATH.
have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

if have redis-server && have nats-server; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server nats-server >/dev/null
