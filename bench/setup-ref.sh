#!/usr/bin/env bash
# Makes the Python the benches measure against (bench/ref-python.ts looks for .venv-bench, then
# .venv-ref): PyTorch 2.15 + openai-clip + Pillow from PyPI, pinned in bench/ref/requirements.txt.
# When .venv-ref (the fixture venv, same pins) already has them, it is reused and nothing is
# installed. Usage: bash bench/setup-ref.sh [--force]   (--force: build .venv-bench even so)
set -euo pipefail
cd "$(dirname "$0")/.."

check() { # python → exit 0 when it has every pinned package at the pinned version
  "$1" - <<'PY' 2>/dev/null
import importlib.metadata as md
import torch, clip, safetensors, PIL, numpy  # noqa: F401
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert md.version("openai-clip") == "1.0.1"
assert md.version("pillow") == "13.0.0"
PY
}

if [[ "${1:-}" != "--force" ]]; then
  for venv in .venv-bench .venv-ref; do
    if [[ -x "$venv/bin/python" ]] && check "$venv/bin/python"; then
      echo "bench reference: $venv has torch 2.15.0, openai-clip 1.0.1, Pillow 13.0.0 (nothing to install)"
      exit 0
    fi
  done
fi

python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet -r bench/ref/requirements.txt
if ! check .venv-bench/bin/python; then
  echo "bench reference: .venv-bench was built but does not import the pinned packages" >&2
  exit 1
fi
echo "bench reference: .venv-bench ready ($(.venv-bench/bin/python -c 'import torch; print("torch", torch.__version__)'))"
