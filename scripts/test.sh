#!/usr/bin/env bash
# The README's second command: set up the machine for the tests, type-check, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node_modules/.bin/tsc --noEmit
exec node_modules/.bin/node --test --test-concurrency=1 --test-timeout=900000 "test/**/*.test.ts"
