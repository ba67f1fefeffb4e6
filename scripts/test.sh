#!/usr/bin/env bash
# `npm test` (after scripts/test_setup.sh): the typecheck, the lint, then every test. Arguments go to
# vitest: `npm test -- test/cli.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The server tests open 1,000 connections, client and server sides in one process: about 2,100
# descriptors, above the usual soft limit of 1,024. A limit is inherited, so it is raised here,
# in the shell that starts vitest, not in a step before it.
FILES_NEEDED=2100
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$FILES_NEEDED" ]; then
  echo "npm test: open files are limited to $(ulimit -n) (hard limit); the server tests need about $FILES_NEEDED and may fail" >&2
fi

npm run typecheck
# ESLint, Prettier's check and the import directions of docs/ARCHITECTURE.md (dependency-cruiser).
npm run lint
exec npx --no-install vitest run "$@"
