#!/usr/bin/env bash
# Builds the vSphere test tools offline from Debian's govmomi sources (golang-github-vmware-govmomi-dev)
# in GOPATH mode: build/vcsim/vcsim (the simulator, tools/vcsim) and build/vcsim/vsphere-inventory
# (govmomi-side inventory checker, tools/vsphere-inventory). Skipped when the binaries are newer than
# their sources. No network: GOPROXY=off, modules off.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/vcsim
govmomi=/usr/share/gocode/src/github.com/vmware/govmomi
if ! command -v go >/dev/null || [[ ! -d $govmomi ]]; then
  echo "build-vcsim: needs golang-go and golang-github-vmware-govmomi-dev (scripts/packages/vsphere.list)" >&2
  exit 1
fi
mkdir -p "$out/gopath" "$out/gocache"
export GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$PWD/$out/gopath:/usr/share/gocode" GOCACHE="$PWD/$out/gocache"
for tool in vcsim vsphere-inventory; do
  bin="$out/$tool"
  if [[ -x $bin ]] && [[ -z $(find "tools/$tool" -newer "$bin" -print -quit) ]] && [[ $bin -nt $govmomi/go.mod ]]; then
    continue
  fi
  echo "build-vcsim: building $bin"
  go build -o "$bin.tmp" "./tools/$tool"
  mv -f "$bin.tmp" "$bin"
done
