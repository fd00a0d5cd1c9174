#!/usr/bin/env bash
# Starts a local MLflow tracking server (npm run mlflow): the pinned MLflow from tracking/.venv
# (made by setup.sh), a sqlite backend and local artifact storage under tracking/server-data/,
# on loopback only. Environment overrides: MLFLOW_PORT (5000), MLFLOW_HOST (127.0.0.1),
# MLFLOW_DATA_DIR (tracking/server-data). Extra arguments go to `mlflow server`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/setup.sh"
data="${MLFLOW_DATA_DIR:-$here/server-data}"
mkdir -p "$data/artifacts"
host="${MLFLOW_HOST:-127.0.0.1}"
port="${MLFLOW_PORT:-5000}"
echo "MLflow UI and API: http://$host:$port  (export MLFLOW_TRACKING_URI=http://$host:$port)" >&2
# MLflow's job runner (GenAI jobs, unused by iwpl) would add a pool of huey processes and a folder in /dev/shm
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
exec "$here/.venv/bin/mlflow" server \
  --backend-store-uri "sqlite:///$data/mlflow.db" \
  --artifacts-destination "$data/artifacts" \
  --host "$host" --port "$port" --workers 1 "$@"
