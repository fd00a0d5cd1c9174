#!/usr/bin/env bash
# Makes the notebooks runnable (idempotent): notebooks/.venv with the pinned Jupyter side from PyPI
# (client, nbclient, JupyterLab, nbconvert); tslab 1.0.22 installed from its own lockfile into
# notebooks/tslab/node_modules (kept out of the project's packages: tslab's bundled TypeScript 5.0.4
# would take over node_modules/.bin/tsc); and the `tslab` kernelspec registered inside that venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
PYTHON="${PYTHON:-python3}"
# The pins: nbclient runs the notebooks (test/notebooks/run_notebook.py); ipykernel brings IPython,
# which tslab's kernelspec installer imports; jupyterlab opens them (`notebooks/.venv/bin/jupyter lab`)
# and nbconvert exports or executes them (`jupyter nbconvert --to html|notebook --execute`).
PINS=(jupyter_client==8.10.0 nbclient==0.11.0 nbformat==5.11.1 ipykernel==7.4.0 jupyterlab==4.6.6 nbconvert==7.17.2)
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
stamp="$venv/.iwpl-pins"
if [ "$(cat "$stamp" 2>/dev/null)" != "${PINS[*]}" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$stamp"
fi
kernel="$here/tslab"
tslab="$kernel/node_modules/.bin/tslab"
if [ "$(node -p 'require(process.argv[1]).version' "$kernel/node_modules/tslab/package.json" 2>/dev/null)" != "1.0.22" ]; then
  npm ci --prefix "$kernel" --no-audit --no-fund --loglevel=error
fi
# --sys-prefix: the kernelspec goes to notebooks/.venv/share/jupyter/kernels/{tslab,jslab}, where the
# venv's jupyter_client finds it; nothing is written to the user's or the system's Jupyter folders.
"$tslab" install --python="$venv/bin/python" --binary="$tslab" --sys-prefix >/dev/null
echo "tslab kernel ready in $venv" >&2
