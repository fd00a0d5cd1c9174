#!/usr/bin/env bash
# Creates tracking/.venv with the pinned MLflow from PyPI (idempotent; re-run after a pin change).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MLFLOW_VERSION="3.17.2"   # the pin: tests and the local server use exactly this version
PYTHON="${PYTHON:-python3}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
# the [auth] extra (Flask-WTF) makes `mlflow server --app-name basic-auth` work (test/tracking/auth.test.ts)
if [ "$("$venv/bin/python" -c 'import importlib.metadata as m, flask_wtf; print(m.version("mlflow"))' 2>/dev/null)" != "$MLFLOW_VERSION" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check "mlflow[auth]==$MLFLOW_VERSION"
fi
echo "mlflow $MLFLOW_VERSION ready in $venv" >&2
