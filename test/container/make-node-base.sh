#!/usr/bin/env bash
# Makes a local stand-in for the official node:20-bookworm-slim image, for machines that reach
# Debian's mirror but no container registry. A minimal Debian bookworm (debootstrap) gets this
# machine's Node.js laid out as the official image lays it out:
#   /usr/local/bin/node, npm in /usr/local/lib/node_modules/npm with npm/npx links in
#   /usr/local/bin, the headers in /usr/local/include/node, a user `node` (uid 1000, gid 1000),
#   and an entrypoint that runs `node` for arguments that are not a command.
# The result is imported into the local container storage as IMAGE.
#
# usage: make-node-base.sh CACHE_DIR [IMAGE]
#   CACHE_DIR keeps the root filesystem's tar: a second run only imports it again.
set -euo pipefail

cache=${1:?usage: make-node-base.sh CACHE_DIR [IMAGE]}
image=${2:-docker.io/library/node:20-bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
tarball="$cache/rootfs.tar"

node_bin=$(node -p 'process.execPath')
node_version=$(node -p 'process.version')
prefix=$(dirname "$(dirname "$node_bin")")
npm_dir="$(npm root -g)/npm"
headers="$prefix/include/node"
[ -f "$headers/node_api.h" ] || { echo "no Node headers in $headers" >&2; exit 1; }
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "no npm in $npm_dir" >&2; exit 1; }

if [ ! -s "$tarball" ]; then
  rootfs="$cache/rootfs"
  rm -rf "$rootfs"
  echo "debootstrap: Debian bookworm (minbase) into $rootfs" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }

  echo "node $node_version: $node_bin, $npm_dir, $headers" >&2
  install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  cp -a "$headers" "$rootfs/usr/local/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# An option, or a word that is not a command: run it with node.
case "$1" in
  -*) set -- node "$@" ;;
  *) if [ -z "$1" ] || ! command -v "$1" >/dev/null 2>&1; then set -- node "$@"; fi ;;
esac
exec "$@"
EOF
  chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
  chroot "$rootfs" /usr/local/bin/node --version >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  tar -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$rootfs"
fi

echo "podman import: $image" >&2
podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  --change "LABEL mediabot.node-base-standin=$node_version" \
  "$tarball" "$image" >/dev/null
