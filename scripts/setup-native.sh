#!/usr/bin/env bash
# npm run setup:native [-- --gpu]
#
# Installs iwpl's native TensorFlow backend: @tensorflow/tfjs-node's N-API binding, compiled here
# against the libtensorflow inside PyPI's TensorFlow wheel. Nothing is fetched except from PyPI
# (pip) and npm; tfjs-node's own install script (which downloads from a cloud bucket) never runs:
# package.json denies it (allowScripts) and tfjs-node is an optionalDependency, so `npm ci` works
# without any of this.
#
#   cpu (default): tensorflow-cpu wheel (pinned version + SHA-256), kept in ${IWPL_CACHE:-~/.cache/iwpl}/wheels;
#                  its 2 libraries and the headers the binding includes go to <pkg>/deps/cpu.
#   --gpu:         tensorflow wheel + the nvidia-*-cu12 wheels of its and-cuda extra, all
#                  hash-pinned (scripts/native/gpu-requirements.txt), kept in $WHEELS/gpu, installed by pip into
#                  <pkg>/deps/gpu/site (site-packages layout), so libtensorflow's RUNPATH
#                  $ORIGIN/../nvidia/*/lib finds CUDA. Needs an NVIDIA driver for CUDA 12.
#
# Layout in <pkg>/deps: cpu/, gpu/ (each complete or absent: built under a temporary name and
# renamed into place last), active -> cpu|gpu (the switch), lib -> active/lib,
# include -> active/include, nvidia -> active/site/nvidia. The binding links -ltensorflow from
# deps/lib with rpath $ORIGIN/../../deps/lib, so switching `active` needs no rebuild.
#
# Idempotent: a second run downloads and compiles nothing. A missing prerequisite stops with one
# line naming the Debian package to install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TFJS_NODE_VERSION=4.22.0
TF_VERSION=2.21.0
# The wheel's libraries do not depend on Python; the cp311 file is pinned whatever python3 is here.
CPU_WHEEL=tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl
CPU_WHEEL_SHA256=2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c
GPU_REQUIREMENTS=$ROOT/scripts/native/gpu-requirements.txt
NAPI_BUILD_VERSION=8 # the binding's highest N-API version; tfjs-node loads lib/napi-v8
LAYOUT=1             # bump when what goes into deps/<variant> changes: the next run redoes it

PKG=$ROOT/node_modules/@tensorflow/tfjs-node
DEPS=$PKG/deps
CACHE=${IWPL_CACHE:-$HOME/.cache/iwpl} # the same root as the feature cache
WHEELS=$CACHE/wheels

variant=cpu
for arg in "$@"; do
  case $arg in
    --gpu) variant=gpu ;;
    --cpu) variant=cpu ;;
    *) echo "setup-native: unknown option '$arg' (use --gpu or nothing)" >&2; exit 2 ;;
  esac
done

t0=$SECONDS
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-1} # no INFO banner from the checks below
die() { echo "setup-native: $*" >&2; exit 1; }
log() { echo "setup-native: [$((SECONDS - t0)) s] $*"; }


need_python() {
  command -v python3 >/dev/null 2>&1 || die "python3 is missing: apt-get install python3"
  python3 -m pip --version >/dev/null 2>&1 || die "pip is missing (python3 -m pip): apt-get install python3-pip"
}

need_compiler() {
  command -v g++ >/dev/null 2>&1 || die "g++ is missing (the binding is compiled here): apt-get install g++"
  command -v make >/dev/null 2>&1 || die "make is missing (node-gyp drives it): apt-get install make"
}

# Node's own headers, so node-gyp downloads none: <prefix>/include/node of the running node.
node_prefix() { node -p 'require("path").resolve(process.execPath, "../..")'; }
need_node_headers() {
  local prefix; prefix=$(node_prefix)
  [[ -f $prefix/include/node/node_api.h && -f $prefix/include/node/common.gypi ]] ||
    die "Node's headers are missing ($prefix/include/node/node_api.h): apt-get install libnode-dev (NodeSource's nodejs ships them)"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Leftovers of an interrupted run are never used: remove them.
clean_partials() { rm -rf "$DEPS"/.*.partial-* "$DEPS"/.*.old-* "$WHEELS"/.partial-* "$PKG"/lib/.napi-partial-* 2>/dev/null || true; }

# The pinned CPU wheel in the cache, downloaded once by pip and checked against its SHA-256 on use.
cpu_wheel() {
  local wheel=$WHEELS/$CPU_WHEEL
  if [[ -f $wheel ]]; then
    [[ $(sha256_of "$wheel") == "$CPU_WHEEL_SHA256" ]] && return 0
    log "cached $CPU_WHEEL does not match its pinned SHA-256; downloading it again" >&2
    rm -f "$wheel"
  fi
  need_python
  mkdir -p "$WHEELS"
  local tmp; tmp=$(mktemp -d "$WHEELS/.partial-XXXXXX")
  log "downloading $CPU_WHEEL (274 MB) with pip" >&2
  python3 -m pip download --quiet --no-deps --no-cache-dir --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_27_x86_64 \
    -d "$tmp" "tensorflow-cpu==$TF_VERSION" >&2 || die "pip download of tensorflow-cpu==$TF_VERSION failed (is PyPI reachable?)"
  [[ -f $tmp/$CPU_WHEEL ]] || die "pip did not produce $CPU_WHEEL (got: $(ls "$tmp"))"
  local got; got=$(sha256_of "$tmp/$CPU_WHEEL")
  [[ $got == "$CPU_WHEEL_SHA256" ]] || die "$CPU_WHEEL has SHA-256 $got, pinned $CPU_WHEEL_SHA256"
  mv "$tmp/$CPU_WHEEL" "$wheel"
  rm -rf "$tmp"
}

# Moves a finished variant folder into place (replacing an older one) and writes nothing after.
commit_variant() { # partial-dir name
  local old="$DEPS/.$2.old-$$"
  [[ -e $DEPS/$2 ]] && mv "$DEPS/$2" "$old"
  mv "$1" "$DEPS/$2"
  rm -rf "$old"
}

source_json() { # variant wheel-list-json libdir
  printf '{"layout":%s,"variant":"%s","tensorflowVersion":"%s","wheels":%s,"libDir":"%s"}\n' \
    "$LAYOUT" "$1" "$TF_VERSION" "$2" "$3"
}

# deps/cpu: the two libraries (+ linker names) and the headers, from the pinned wheel.
install_cpu() {
  local stamp="$DEPS/cpu/source.json"
  if [[ -f $stamp ]] && grep -q "\"layout\":$LAYOUT," "$stamp" &&
    grep -q "\"sha256\":\"$CPU_WHEEL_SHA256\"" "$stamp"; then return 0; fi
  cpu_wheel
  need_python
  mkdir -p "$DEPS"
  local tmp; tmp=$(mktemp -d "$DEPS/.cpu.partial-XXXXXX") && chmod 755 "$tmp"
  log "unpacking libtensorflow from $CPU_WHEEL"
  python3 "$ROOT/scripts/native/unpack-tf.py" --wheel "$WHEELS/$CPU_WHEEL" --dest "$tmp" --sources "$PKG"/binding/* >/dev/null
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$tmp/lib/libtensorflow_framework.so"
  source_json cpu "[{\"file\":\"$CPU_WHEEL\",\"sha256\":\"$CPU_WHEEL_SHA256\",\"path\":\"$WHEELS/$CPU_WHEEL\"}]" \
    "$DEPS/cpu/lib" > "$tmp/source.json"
  commit_variant "$tmp" cpu
}

# deps/gpu: pip installs the hash-pinned tensorflow + nvidia-*-cu12 wheels into site/ (no venv
# python needed: --target with an explicit cp311 platform), lib -> site/tensorflow.
install_gpu() {
  local req_sha; req_sha=$(sha256_of "$GPU_REQUIREMENTS")
  local stamp="$DEPS/gpu/source.json"
  if [[ -f $stamp ]] && grep -q "\"layout\":$LAYOUT," "$stamp" &&
    grep -q "\"requirementsSha256\":\"$req_sha\"" "$stamp"; then return 0; fi
  need_python
  mkdir -p "$DEPS" "$WHEELS"
  local tmp; tmp=$(mktemp -d "$DEPS/.gpu.partial-XXXXXX") && chmod 755 "$tmp"
  # --require-hashes: every wheel must match its pinned SHA-256. The wheels are kept in
  # $WHEELS/gpu (pip download skips those already there), so a reinstall after `npm ci` only unpacks.
  local platform=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
  log "downloading tensorflow==$TF_VERSION and its CUDA 12 wheels with pip (about 3 GB, once)"
  python3 -m pip download --quiet --no-deps --require-hashes --no-cache-dir "${platform[@]}" \
    -d "$WHEELS/gpu" -r "$GPU_REQUIREMENTS" || die "pip download of the GPU wheels failed (is PyPI reachable? see above)"
  log "installing them into deps/gpu/site (several GB unpacked)"
  python3 -m pip install --quiet --no-deps --require-hashes --no-index --find-links "$WHEELS/gpu" --no-cache-dir \
    "${platform[@]}" --target "$tmp/site" -r "$GPU_REQUIREMENTS" 2> >(grep -v "Running pip as the 'root' user" >&2) ||
    die "pip install of the GPU wheels from $WHEELS/gpu failed (see above)"
  [[ -f $tmp/site/tensorflow/libtensorflow_cc.so.2 ]] || die "the tensorflow wheel has no libtensorflow_cc.so.2"
  ln -s libtensorflow_cc.so.2 "$tmp/site/tensorflow/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$tmp/site/tensorflow/libtensorflow_framework.so"
  ln -s site/tensorflow "$tmp/lib"
  python3 "$ROOT/scripts/native/unpack-tf.py" --tree "$tmp/site" --dest "$tmp" --sources "$PKG"/binding/* >/dev/null
  local wheels; wheels=$(grep -Eo '^[A-Za-z0-9_.-]+==[^ ]+' "$GPU_REQUIREMENTS" | sed 's/.*/"&"/' | paste -sd, -)
  source_json gpu "[$wheels]" "$DEPS/gpu/lib" | sed "s/}\$/,\"requirementsSha256\":\"$req_sha\"}/" > "$tmp/source.json"
  commit_variant "$tmp" gpu
}

# Points deps/{active,lib,include,nvidia} at the variant; each link is replaced by a rename.
activate() { # variant
  local name target
  for pair in "active:$1" "lib:active/lib" "include:active/include" "nvidia:active/site/nvidia"; do
    name=${pair%%:*}; target=${pair#*:}
    [[ -L $DEPS/$name && $(readlink "$DEPS/$name") == "$target" ]] && continue
    [[ -e $DEPS/$name && ! -L $DEPS/$name ]] && rm -rf "${DEPS:?}/$name"
    ln -sfn "$target" "$DEPS/.$name.partial-$$"
    mv -T "$DEPS/.$name.partial-$$" "$DEPS/$name"
  done
}

# The binding: compiled by npm's node-gyp against Node's headers, into a temporary folder; the
# .node file is renamed into lib/napi-v8 only after it loads with the libraries in deps/lib.
build_binding() {
  local out=$PKG/lib/napi-v$NAPI_BUILD_VERSION
  local want="tfjs-node $TFJS_NODE_VERSION, TensorFlow $TF_VERSION C API, napi $NAPI_BUILD_VERSION"
  if [[ -f $out/tfjs_binding.node && -f $out/iwpl-build.txt && $(cat "$out/iwpl-build.txt") == "$want" ]]; then
    return 0
  fi
  need_python
  need_compiler
  need_node_headers
  local gyp=${npm_config_node_gyp:-}
  if [[ -z $gyp || ! -f $gyp ]]; then
    gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  fi
  [[ -f $gyp ]] || die "npm's bundled node-gyp was not found ($gyp): apt-get install npm, or reinstall nodejs"
  local tmp; tmp=$(mktemp -d "$PKG/lib/.napi-partial-XXXXXX")
  log "compiling the tfjs-node binding (node-gyp, about 10-30 s)"
  (cd "$PKG" && node "$gyp" rebuild --loglevel=error --nodedir="$(node_prefix)" \
      --napi_build_version=$NAPI_BUILD_VERSION --module_name=tfjs_binding --module_path="$tmp" >"$tmp/build.log" 2>&1) ||
    { tail -n 30 "$tmp/build.log" >&2; die "node-gyp failed to compile the binding (log above)"; }
  node -e 'process.dlopen({exports: {}}, process.argv[1])' "$tmp/tfjs_binding.node" ||
    die "the freshly built binding does not load against deps/lib"
  mkdir -p "$out"
  echo "$want" > "$tmp/iwpl-build.txt"
  rm -f "$out/iwpl-build.txt"
  mv "$tmp/tfjs_binding.node" "$out/tfjs_binding.node"
  mv "$tmp/iwpl-build.txt" "$out/iwpl-build.txt"
  rm -rf "$tmp" "$PKG/build"
}

# iwpl_stdio.node (scripts/native/stdio.cc: dup/dup2 for quiet-load.ts), beside the binding;
# compiled straight with g++ (N-API needs no linking), into a temporary name, checked, renamed.
build_stdio_helper() {
  local out=$PKG/lib/napi-v$NAPI_BUILD_VERSION/iwpl_stdio.node src=$ROOT/scripts/native/stdio.cc
  local want; want=$(sha256_of "$src")
  [[ -f $out && -f $out.sha256 && $(cat "$out.sha256") == "$want" ]] && return 0
  need_compiler
  need_node_headers
  local tmp; tmp=$(mktemp -d "$PKG/lib/.napi-partial-XXXXXX")
  g++ -O2 -shared -fPIC -DNAPI_VERSION=$NAPI_BUILD_VERSION -I"$(node_prefix)/include/node" -o "$tmp/iwpl_stdio.node" "$src" ||
    die "g++ failed to compile $src"
  node -e 'const m = {exports: {}}; process.dlopen(m, process.argv[1]); if (typeof m.exports.dup2 !== "function") process.exit(1)' \
    "$tmp/iwpl_stdio.node" || die "the freshly built iwpl_stdio.node does not load"
  echo "$want" > "$tmp/iwpl_stdio.node.sha256"
  rm -f "$out.sha256"
  mv "$tmp/iwpl_stdio.node" "$out"
  mv "$tmp/iwpl_stdio.node.sha256" "$out.sha256"
  rm -rf "$tmp"
}

# --- main ---
[[ -f $PKG/package.json ]] && grep -q "\"version\": \"$TFJS_NODE_VERSION\"" "$PKG/package.json" ||
  die "node_modules/@tensorflow/tfjs-node@$TFJS_NODE_VERSION is missing: run npm ci (it is an optionalDependency)"
mkdir -p "$DEPS" "$PKG/lib"
# One run at a time per package (a second waits, then finds the work done): partial folders of a
# running setup must not be cleaned up by another.
exec 9>"$PKG/.iwpl-setup.lock"
flock -n 9 || { log "waiting for another setup-native run to finish"; flock 9; }
clean_partials
"install_$variant"
activate "$variant"
build_binding
build_stdio_helper
node "$ROOT/scripts/native/check.cjs" || die "the native backend was installed but does not work (see above)"
log "done in $((SECONDS - t0)) s ($variant; deps/$variant $(du -sh "$DEPS/$variant/" | cut -f1))"
