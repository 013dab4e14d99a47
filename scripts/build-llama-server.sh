#!/usr/bin/env bash
# Build llama-server from the llama.cpp sources inside the llama-cpp-python sdist on PyPI,
# and cache the binary under the user cache dir keyed by version. Prints the binary's path.
# LLAMA_SERVER_BIN, when set to an existing binary, short-circuits the build.
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
if [ -n "${LLAMA_SERVER_BIN:-}" ]; then
  [ -x "$LLAMA_SERVER_BIN" ] || { echo "LLAMA_SERVER_BIN=$LLAMA_SERVER_BIN is not an executable" >&2; exit 1; }
  echo "$LLAMA_SERVER_BIN"; exit 0
fi

CACHE="${LLAMA_TUI_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-tui-build}/llama-cpp-python-$VERSION"
BIN="$CACHE/bin/llama-server"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
echo "building llama-server from llama-cpp-python==$VERSION (about 5 minutes on 2 cores)..." >&2
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$WORK" "llama-cpp-python==$VERSION" >&2
tar -xzf "$WORK"/llama_cpp_python-"$VERSION".tar.gz -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF >&2
cmake --build "$WORK/build" --target llama-server -j"$(nproc)" >&2
mkdir -p "$CACHE/bin"
cp "$WORK/build/bin/llama-server" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
echo "built $BIN in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
