#!/usr/bin/env bash
# npm ci in the folder $1 from its committed lockfile, then mark it installed.
# Without npm: with CI=true that is a failure; otherwise say what to install and carry on
# (the tests that drive Node then skip, each saying so).
set -euo pipefail
dir=$1
if ! command -v npm >/dev/null; then
  echo "npm not found: install Node 20+ to run the interop, mesh and Next.js tests ($dir)." >&2
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
  exit 0
fi
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
touch "$dir/node_modules/.installed"
