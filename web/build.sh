#!/bin/sh
# build.sh builds the UI: the pinned packages (package-lock.json), a type
# check of src/ (tsc), then vite into dist/. dist/ is committed and embedded
# in the binary; CI runs this and fails on a difference (make web-check), so
# the build must be deterministic: fixed file names, no time stamps.
set -eu
cd "$(dirname "$0")"
# vite 8 needs Node 20.19 or later (Debian 12's nodejs package is 18).
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("web/build.sh: Node " + process.version + " is too old; vite needs 20.19 or later"); process.exit(1); }'
npm ci --no-audit --no-fund --silent
npx --no-install tsc -p .
npx --no-install vite build --logLevel warn
