#!/bin/sh
# build.sh refreshes the vendored browser libraries from the pinned npm
# packages (package-lock.json). The output under viewer/vendor is committed
# and embedded in the binary; CI runs this and fails on a difference.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
cp node_modules/hls.js/dist/hls.light.min.js viewer/vendor/hls.light.min.js
cp node_modules/hls.js/LICENSE viewer/vendor/hls.js.LICENSE
