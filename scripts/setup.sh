#!/usr/bin/env bash
# Everything a machine needs before Bonneville runs: Debian packages, npm packages (Node 24 among
# them), the guest kernel + initramfs + tether. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
if ! command -v npm >/dev/null; then
  echo "setup: npm is missing; install Node.js (>= 20) and npm first" >&2
  exit 1
fi
if [[ ! -x node_modules/.bin/node ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
bash guest/build.sh
bash scripts/build-vcsim.sh
# The portal's UI bundle (Lit, xterm.js, uPlot) into build/portal.
node_modules/.bin/node scripts/build-portal.ts
