#!/usr/bin/env bash
# Builds lunard and runs it on the embedded default: target
# iqn.2026-11.org.lunar:default with one 1 GiB sparse-file LUN in the state
# directory, on portals 0.0.0.0:3260 and [::]:3260. Extra arguments go to
# lunard (e.g. --listen 127.0.0.1:3261 --state-dir /tmp/lunar).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/deps.sh"
# shellcheck disable=SC2086
lunar_install $LUNAR_BUILD_PKGS
cd "$top"
[ -f build/build.ninja ] || meson setup build -Dtests=disabled -Dbench=disabled >/dev/null
ninja -C build src/daemon/lunard >/dev/null
exec build/src/daemon/lunard --foreground "$@"
