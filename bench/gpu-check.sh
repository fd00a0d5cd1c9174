#!/usr/bin/env bash
# bash bench/gpu-check.sh — checks the native backend on an NVIDIA GPU machine, in under 10 minutes:
#   1. installs the GPU build (npm run setup:native -- --gpu: tensorflow 2.21.0 + CUDA 12 wheels from
#      PyPI, hash-pinned; needs network to PyPI/npm the first time, an NVIDIA driver for CUDA 12),
#   2. `iwpl backend --json` (does TensorFlow place ops on the GPU?),
#   3. the CLIP parity tests (test/clip/*.parity.test.ts: values, gradients, leaks) on IWPL_BACKEND=tensorflow,
#   4. npm run bench:clip on IWPL_BACKEND=tensorflow,
# and prints ONE JSON object on stdout (progress and logs go to stderr and $OUT_DIR).
# The GPU build stays active afterwards; `npm run setup:native` switches back to the CPU build.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/iwpl-gpu-check-XXXXXX")}
mkdir -p "$OUT_DIR"
t0=$SECONDS
step() { echo "gpu-check: [$((SECONDS - t0)) s] $*" >&2; }

DEADLINE=570 # seconds for the whole check: each step gets at most what is left of it
# Runs a step with a time limit; stdout goes to $OUT_DIR/<name>.out, stderr to <name>.log; echoes
# the exit status (124: the step ran out of time).
run_step() { # name limit-seconds command...
  local name=$1 limit=$2; shift 2
  local left=$((DEADLINE - (SECONDS - t0)))
  ((left < limit)) && limit=$left
  ((limit < 1)) && { echo 124; return; }
  step "$name (at most $limit s)"
  timeout "$limit" "$@" >"$OUT_DIR/$name.out" 2>"$OUT_DIR/$name.log"
  echo $?
}


gpus=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | paste -sd ';' - || true)

rc_ci=0
[[ -d node_modules/@tensorflow/tfjs-node ]] || rc_ci=$(run_step npm-ci 150 npm ci --no-audit --no-fund)
rc_setup=$(run_step setup-gpu 330 npm run setup:native -- --gpu)

export IWPL_BACKEND=tensorflow
rc_backend=$(run_step backend 60 node bin/iwpl.js backend --json)
rc_parity=$(run_step parity 150 npx vitest run --project tensorflow test/clip/*.parity.test.ts --reporter=json \
  --outputFile="$OUT_DIR/parity.json")
rc_bench=$(run_step bench-clip 150 npm run --silent bench:clip) # one JSON object on stdout

node - "$OUT_DIR" "$gpus" "$rc_ci" "$rc_setup" "$rc_backend" "$rc_parity" "$rc_bench" "$((SECONDS - t0))" <<'EOF'
const fs = require('fs');
const [dir, gpus, ci, setup, backend, parity, bench, seconds] = process.argv.slice(2);
const read = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8')); } catch { return null; } };
const p = read('parity.json');
const b = read('backend.out');
console.log(JSON.stringify({
  ok: [ci, setup, backend, parity, bench].every((rc) => rc === '0') && b?.tensorflowUsesGpu === true,
  gpus: gpus ? gpus.split(';') : [],
  exitCodes: { npmCi: +ci, setupGpu: +setup, backend: +backend, parityTests: +parity, benchClip: +bench },
  backend: b,
  parity: p && { passed: p.numPassedTests, failed: p.numFailedTests, skipped: p.numPendingTests + p.numTodoTests },
  benchClip: read('bench-clip.out'),
  seconds: +seconds,
  logs: dir,
}));
EOF
