#!/usr/bin/env bash
# The README's first command: set up the machine, start a VCH on embedded defaults in the background,
# and print how to point the docker CLI at it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
name=${BONNEVILLE_VCH:-default}
state=${BONNEVILLE_HOME:-/var/lib/bonneville}
mkdir -p "$state"
# The registry (Harbor's role) beside the VCH: HTTPS with its own CA, the generated admin password in a root-only file.
registry_root=$state/registry
registry_listen=${BONNEVILLE_REGISTRY_LISTEN:-127.0.0.1:5443}
# Registry state is private to root (blobs of private projects, keys, the database); the log holds no secrets.
(umask 077 && mkdir -p "$registry_root")
chmod 700 "$registry_root"
if [[ -f "$registry_root/registry.pid" ]] && kill -0 "$(cat "$registry_root/registry.pid")" 2>/dev/null; then
  echo "The registry is already running (pid $(cat "$registry_root/registry.pid"))."
else
  : >"$registry_root/registry.log"
  chmod 600 "$registry_root/registry.log"
  setsid nohup node_modules/.bin/node src/cli/bonneville.ts registry serve --root "$registry_root" --listen "$registry_listen" \
    >>"$registry_root/registry.log" 2>&1 < /dev/null &
  echo $! > "$registry_root/registry.pid"
  for _ in $(seq 1 300); do
    grep -q 'registry listening on' "$registry_root/registry.log" && break
    kill -0 "$(cat "$registry_root/registry.pid")" 2>/dev/null || { echo "The registry failed to start:" >&2; tail -20 "$registry_root/registry.log" >&2; exit 1; }
    sleep 0.1
  done
fi
registry_url=$(sed -n 's/^registry listening on //p' "$registry_root/registry.log" | tail -1)
registry_ca=$(sed -n 's/^CA certificate: //p' "$registry_root/registry.log" | tail -1)
# The generated admin password is in a 0600 file beside the state, never in the log: show where,
# and the password itself on the terminal only (not when this script's output goes to a file).
registry_password_file=$registry_root/admin.password
echo "Registry: $registry_url (CA certificate: ${registry_ca:-none}; user admin)"
if [[ -f $registry_password_file ]]; then
  echo "Registry admin password: in $registry_password_file (readable by root only)"
  if [[ -t 1 ]]; then echo "  (it is: $(cat "$registry_password_file"))"; fi
fi

# The portal (Admiral's container management + Harbor's registry UI) beside the registry: HTTPS with a
# certificate from the registry's CA, the registry's users (log in as admin with the password above).
portal_state=$state/portal
portal_listen=${BONNEVILLE_PORTAL_LISTEN:-127.0.0.1:8282}
(umask 077 && mkdir -p "$portal_state")
if [[ -f "$portal_state/portal.pid" ]] && kill -0 "$(cat "$portal_state/portal.pid")" 2>/dev/null; then
  echo "The portal is already running (pid $(cat "$portal_state/portal.pid"))."
else
  : >"$portal_state/portal.log"
  chmod 600 "$portal_state/portal.log"
  setsid nohup node_modules/.bin/node src/cli/bonneville.ts portal serve --listen "$portal_listen" --registry "$registry_url" \
    --registry-root "$registry_root" --vch-home "$state" --state "$portal_state" \
    >>"$portal_state/portal.log" 2>&1 < /dev/null &
  echo $! > "$portal_state/portal.pid"
  for _ in $(seq 1 300); do
    grep -q 'portal listening on' "$portal_state/portal.log" && break
    kill -0 "$(cat "$portal_state/portal.pid")" 2>/dev/null || { echo "The portal failed to start:" >&2; tail -20 "$portal_state/portal.log" >&2; exit 1; }
    sleep 0.1
  done
fi
echo "Portal: $(sed -n 's/^portal listening on //p' "$portal_state/portal.log" | tail -1) (user admin, the registry's admin password; CA certificate: ${registry_ca:-none})"


# The VCH is `bonneville create` on embedded defaults, run by the supervisor (restarted if it dies, brought
# back at the supervisor's start). It trusts the registry's CA, so docker login/push/pull against it work at once.
export BONNEVILLE_HOME=$state
bonneville() { node_modules/.bin/node src/cli/bonneville.ts "$@"; }
if [[ -f "$state/vchs/$name/settings.json" ]]; then
  # It exists: make sure its supervisor runs (after a reboot nothing does); that brings the engine up.
  (umask 077 && mkdir -p "$state/supervisor")
  setsid nohup node_modules/.bin/node src/cli/bonneville.ts supervise >>"$state/supervisor/supervisor.log" 2>&1 < /dev/null &
  echo "VCH '$name' exists; it is running under the supervisor."
else
  bonneville create --name "$name" ${BONNEVILLE_TLS_LISTEN:+--endpoint "$BONNEVILLE_TLS_LISTEN"} \
    ${registry_ca:+--registry-ca "$registry_ca"} >/dev/null
  echo "VCH '$name' created and running (engine log: $state/$name/engine.log)."
fi
socket=$(node_modules/.bin/node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).socket)' "$state/vchs/$name/settings.json")
for _ in $(seq 1 600); do
  curl -sf --unix-socket "$socket" http://engine/_ping >/dev/null 2>&1 && break
  sleep 0.1
done
# No public registry may be reachable: give the VCH a busybox image built offline from busybox-static.
if ! curl -sf --unix-socket "$socket" http://engine/images/busybox/json >/dev/null; then
  tarball=$(node_modules/.bin/node -e "import('./test/fixtures/images.ts').then((m) => m.buildTestImages()).then((p) => console.log(p.busybox))")
  curl -sf --unix-socket "$socket" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$tarball" http://engine/images/load >/dev/null
  echo "Loaded busybox:latest (built offline from busybox-static) into the VCH."
fi
echo
echo "Point the docker CLI at it:"
echo "  export DOCKER_HOST=unix://$socket"
echo "or, over TCP with mutual TLS:"
sed 's/^/  export /' "$state/vchs/$name/$name.env"
echo "(bonneville ls, inspect, configure, upgrade, delete, debug: see the README)"
