#!/usr/bin/env bash
# Test assets from the llama-cpp-python sdist (the one the server build uses), cached next to the
# binary: the official chat templates (vendor/llama.cpp/models/templates/*.jinja) and the vocab-only
# GGUFs of real tokenizers (models/ggml-vocab-*.gguf). The sdist is downloaded only when they are
# missing, and thrown away afterwards. Prints the cache directory holding templates/ and vocab/.
# Never copies anything into the repository.
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${LLAMA_TUI_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-tui-build}/llama-cpp-python-$VERSION"
DONE="$CACHE/assets.done"
if [ -f "$DONE" ]; then echo "$CACHE"; exit 0; fi

mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/assets-work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "extracting test assets from llama-cpp-python==$VERSION (one 76 MB download)..." >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d "$WORK" \
  "llama-cpp-python==$VERSION" >&2
ROOT="llama_cpp_python-$VERSION/vendor/llama.cpp"
tar -xzf "$WORK/llama_cpp_python-$VERSION.tar.gz" -C "$WORK" --wildcards \
  "$ROOT/models/templates/*.jinja" "$ROOT/models/ggml-vocab-*.gguf"
# Replace atomically-ish: a half-extracted cache never carries the done marker.
rm -rf "$CACHE/templates" "$CACHE/vocab"
mv "$WORK/$ROOT/models/templates" "$CACHE/templates"
mkdir -p "$CACHE/vocab"
mv "$WORK/$ROOT/models"/ggml-vocab-*.gguf "$CACHE/vocab/"
n_templates=$(find "$CACHE/templates" -name '*.jinja' | wc -l)
n_vocab=$(find "$CACHE/vocab" -name '*.gguf' | wc -l)
[ "$n_templates" -gt 0 ] && [ "$n_vocab" -gt 0 ] || { echo "no templates or vocabularies in the sdist" >&2; exit 1; }
echo "$n_templates templates, $n_vocab vocabularies" > "$DONE"
echo "extracted $n_templates templates and $n_vocab vocabularies into $CACHE" >&2
echo "$CACHE"
