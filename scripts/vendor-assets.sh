#!/usr/bin/env bash
# Fetch the browser libraries the workbench ships (and axe-core, which only the tests use) from the
# npm registry, at the pinned versions below, into the project. They are committed: Verity serves
# every asset itself (investigators work offline; no CDN). Run this only to change a version, then
# review and commit the result; npm checks each package against the registry's integrity hash.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=htmx.org@2.0.11
TUS=tus-js-client@4.3.1
SWAGGER=swagger-ui-dist@5.35.0
AXE=axe-core@4.14.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$HTMX" "$TUS" "$SWAGGER" "$AXE" >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "${tarball%.tgz}" && tar xzf "$tarball" -C "${tarball%.tgz}"
done
unpacked() { echo "$work/$(echo "$1" | tr -d '@' | sed 's/\(.*\)\([0-9]\.[0-9]*\.[0-9]*\)$/\1-\2/')/package"; }

vendor=api/static/vendor
cp "$(unpacked "$HTMX")/dist/htmx.min.js" "$vendor/htmx.min.js"
cp "$(unpacked "$TUS")/dist/tus.min.js" "$vendor/tus.min.js"
cp "$(unpacked "$SWAGGER")/swagger-ui-bundle.js" "$(unpacked "$SWAGGER")/swagger-ui.css" "$vendor/"
cp "$(unpacked "$AXE")/axe.min.js" tests/helpers/vendor/axe.min.js
{
  echo "# Vendored browser libraries (scripts/vendor-assets.sh writes this file)"
  echo
  for pinned in "$HTMX" "$TUS" "$SWAGGER" "$AXE"; do
    echo "- $pinned, licence $(node -p "require('$(unpacked "$pinned")/package.json').license")"
  done
  echo
  echo '```'
  (sha256sum "$vendor"/*.js "$vendor"/*.css tests/helpers/vendor/axe.min.js)
  echo '```'
} > "$vendor/VERSIONS.md"
echo "vendored: $HTMX $TUS $SWAGGER $AXE"
