"""A tiny random-weight llama-architecture GGUF for running the real llama-server in tests.

The model is a 64-dim, 2-layer llama with an SPM ("llama") vocabulary of a few hundred tokens:
``<unk>``, ``<s>``, ``</s>``, the 256 ``<0xNN>`` byte-fallback tokens, English word pieces (with every
"▁"-prefix of a word so the SPM merges can reach whole words), letters, digits, punctuation and markdown
characters, and the control tokens of the ChatML and Llama-3 chat formats. It loads in well under a
second and generates thousands of tokens per second on one core. Its output is random text: it
contains byte tokens that split UTF-8 sequences, which the client must survive.

With ``vocab`` (a vocab-only GGUF of a real tokenizer, tests/harness/assets.py ``vocab_path``) the model
takes that tokenizer whole instead (its token list, types, merges, pre-tokenizer, BOS/EOS): it tokenizes
exactly like the real model, special tokens and byte-level pieces included. Its output weights are tied
to the token embeddings, which keeps a 150k-token vocabulary at a few tens of MB.

Files are cached by parameters: the same arguments always give byte-identical files, and a second
call with the same arguments reuses the first file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# Bump when the generated file changes for the same parameters (invalidates every cache).
GENERATOR_VERSION = 2

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Meta-Llama-3-8B-Instruct's template, verbatim.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}"
    "{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

CHAT_TEMPLATES = {"chatml": CHATML_TEMPLATE, "llama3": LLAMA3_TEMPLATE}

CONTROL_TOKENS = (
    "<|im_start|>",
    "<|im_end|>",
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|end_of_text|>",
)

WORDS = (
    "the be to of and a in that have I it for not on with he as you do at this but his by from they we say "
    "her she or an will my one all would there their what so up out if about who get which go me when make "
    "can like time no just him know take people into year your good some could them see other than then now "
    "look only come its over think also back after use two how our work first well way even new want because "
    "any these give day most us is are was were has had been said did yes hello hi world thanks please sorry "
    "model server chat token code test list table bold item text line file data value name error result "
    "python function return print import class def self true false none null json list dict string number "
    "here where why help question answer example first second third step note ok sure great"
).split()

PUNCTUATION = (
    "#", "##", "###", "*", "**", "`", "```", "-", "--", "|", "[", "]", "(", ")", "{", "}", "<", ">", "_", ".",
    ",", ":", ";", "!", "?", "'", '"', "/", "\\", "=", "+", "~", "@", "$", "%", "^", "&",
)  # fmt: skip
PUNCTUATION_WITH_SPACE = ("#", "##", "###", "*", "**", "`", "```", "-", "|", "[", "(", ">", "=", "+", "1.", "2.")

DEFAULT_N_VOCAB_WORDS = len(WORDS)

# tokenizer.ggml.token_type values (gguf.TokenType)
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _BYTE = 1, 2, 3, 4, 6

# Extra tokens a test can ask for, as (text, control?): the markers of the reasoning formats, typed as
# in the real models' GGUFs. Qwen3/DeepSeek-R1 `<think>` and Gemma 4 `<|channel>` are user-defined
# (always shown as text); the harmony markers are control tokens (llama.cpp shows `<|channel|>`,
# `<|message|>`, `<|start|>` anyway, but `<|end|>` only when the request lists it in preserved_tokens).
REASONING_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<think>", False),
    ("</think>", False),
    ("<|channel>", False),
    ("<channel|>", False),
    ("<|channel|>", True),
    ("<|message|>", True),
    ("<|start|>", True),
    ("<|end|>", True),
    ("<|return|>", True),
    ("<|call|>", True),
    ("[THINK]", True),
    ("[/THINK]", True),
)


def build_vocab(
    n_vocab_words: int = DEFAULT_N_VOCAB_WORDS, extra_tokens: tuple[tuple[str, bool], ...] = ()
) -> tuple[list[str], list[float], list[int]]:
    """Token texts, scores (strictly decreasing) and types of the tiny SPM vocabulary; `extra_tokens`
    are (text, control?) pairs appended last (control, else user-defined)."""
    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    types: list[int] = [_UNKNOWN, _CONTROL, _CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [_BYTE] * 256

    pieces: list[str] = []
    seen: set[str] = set()

    def add(piece: str) -> None:
        if piece not in seen:
            seen.add(piece)
            pieces.append(piece)

    add("▁")
    for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
        add(ch)
        add("▁" + ch)
    for p in PUNCTUATION:
        for i in range(1, len(p) + 1):  # "###" needs "#" and "##" to be reachable by SPM merges
            add(p[:i])
    for p in PUNCTUATION_WITH_SPACE:
        for i in range(1, len(p) + 1):
            add("▁" + p[:i])
    for word in WORDS[: max(0, n_vocab_words)]:
        spaced = "▁" + word
        for i in range(2, len(spaced) + 1):  # every prefix, so "▁h" + "e" + ... merges up to "▁hello"
            add(spaced[:i])
    # Runs of "x" up to 256 long (each reachable by merging two halves), so a 1 MB prompt of x's is
    # about 4,100 tokens: big text that still fits a small context and processes in a second.
    for k in range(1, 9):
        add("x" * 2**k)
    tokens += pieces
    types += [_NORMAL] * len(pieces)

    tokens += CONTROL_TOKENS
    types += [_CONTROL] * len(CONTROL_TOKENS)
    tokens += [text for text, _ in extra_tokens]
    types += [_CONTROL if control else _USER_DEFINED for _, control in extra_tokens]

    # Scores strictly decreasing over the whole vocabulary (SPM prefers higher scores when merging).
    scores = [-float(i) for i in range(len(tokens))]
    return tokens, scores, types


def model_key(
    *,
    chat_template: str,
    n_vocab_words: int,
    seed: int,
    n_embd: int,
    n_layer: int,
    n_head: int,
    n_head_kv: int,
    n_ff: int,
    context_length: int,
    add_bos_token: bool,
    extra_tokens: tuple[tuple[str, bool], ...] = (),
    bos_token: str | None = None,
    eos_token: str | None = None,
    vocab: Path | None = None,
) -> str:
    params: dict[str, object] = {
        "generator": GENERATOR_VERSION,
        "chat_template": chat_template,
        "n_vocab_words": n_vocab_words,
        "seed": seed,
        "n_embd": n_embd,
        "n_layer": n_layer,
        "n_head": n_head,
        "n_head_kv": n_head_kv,
        "n_ff": n_ff,
        "context_length": context_length,
        "add_bos_token": add_bos_token,
    }
    if extra_tokens:  # only when asked for, so the files made without them keep their names
        params["extra_tokens"] = [list(t) for t in extra_tokens]
    # Only when set, so the keys (and cached files) of models made before these parameters stay valid.
    if bos_token is not None:
        params["bos_token"] = bos_token
    if eos_token is not None:
        params["eos_token"] = eos_token
    if vocab is not None:  # the file's name and size: the cached vocabularies never change in place
        params["vocab"] = [vocab.name, vocab.stat().st_size]
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return f"tiny-{chat_template}-g{GENERATOR_VERSION}-s{seed}-{digest}"


NO_TEMPLATE = "none"  # chat_template value for a model file without a chat template


def make_tiny_model(
    path: Path,
    *,
    chat_template: str = "chatml",
    n_vocab_words: int = DEFAULT_N_VOCAB_WORDS,
    seed: int = 0,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    context_length: int = 4096,
    add_bos_token: bool = True,
    extra_tokens: tuple[tuple[str, bool], ...] = (),
    bos_token: str | None = None,
    eos_token: str | None = None,
    vocab: Path | None = None,
) -> Path:
    """Write (or reuse) a tiny model and return its path.

    ``path`` is a cache directory: the file is ``path/<key>.gguf`` where the key names every parameter
    and the generator version. If ``path`` ends in ``.gguf`` it is the file itself, and a ``.key`` file
    next to it records the parameters it was made with.

    ``chat_template`` is ``"chatml"`` or ``"llama3"`` (which also makes ``<|begin_of_text|>`` the BOS and
    ``<|eot_id|>`` the EOS token), ``"none"`` (no template in the file, like the base Gemma 3 270M: the
    server falls back to ChatML), or any other string, which is used as the Jinja template itself.
    ``extra_tokens`` adds (text, control?) tokens to the vocabulary, e.g. ``REASONING_TOKENS``.

    ``bos_token`` / ``eos_token`` (e.g. ``"<bos>"``, ``"<｜end▁of▁sentence｜>"``) make that text the BOS / EOS
    token, added to the vocabulary as a control token if it is not there: a template's ``bos_token`` and
    ``eos_token`` then render as the real model's do (the official-template tests need this).

    ``vocab`` (a ``ggml-vocab-*.gguf``) replaces the tiny vocabulary with that real tokenizer; with it,
    ``n_vocab_words`` and ``extra_tokens`` do not apply, and ``bos_token``/``eos_token`` must be tokens
    of that vocabulary.
    """
    path = Path(path)
    key = model_key(
        chat_template=chat_template,
        n_vocab_words=n_vocab_words,
        seed=seed,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        context_length=context_length,
        add_bos_token=add_bos_token,
        extra_tokens=extra_tokens,
        bos_token=bos_token,
        eos_token=eos_token,
        vocab=vocab,
    )
    if path.suffix == ".gguf":
        target, key_file = path, path.with_name(path.name + ".key")
        if target.is_file() and key_file.is_file() and key_file.read_text() == key:
            return target
    else:
        target, key_file = path / f"{key}.gguf", None
        if target.is_file():
            return target
    target.parent.mkdir(parents=True, exist_ok=True)

    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _write_model(
            Path(tmp_name),
            chat_template=chat_template,
            n_vocab_words=n_vocab_words,
            seed=seed,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            n_head_kv=n_head_kv,
            n_ff=n_ff,
            context_length=context_length,
            add_bos_token=add_bos_token,
            extra_tokens=extra_tokens,
            bos_token=bos_token,
            eos_token=eos_token,
            vocab=vocab,
            name=key,
        )
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)  # atomic: concurrent test sessions never see a half-written file
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if key_file is not None:
        key_file.write_text(key)
    return target


def _write_model(
    out: Path,
    *,
    chat_template: str,
    n_vocab_words: int,
    seed: int,
    n_embd: int,
    n_layer: int,
    n_head: int,
    n_head_kv: int,
    n_ff: int,
    context_length: int,
    add_bos_token: bool,
    extra_tokens: tuple[tuple[str, bool], ...],
    name: str,
    bos_token: str | None = None,
    eos_token: str | None = None,
    vocab: Path | None = None,
) -> None:
    import gguf
    import numpy as np

    if n_embd % n_head or n_head % n_head_kv:
        raise ValueError("n_embd must be a multiple of n_head, and n_head a multiple of n_head_kv")
    template = CHAT_TEMPLATES.get(chat_template, chat_template)
    real = _real_vocab(vocab) if vocab is not None else None
    if real is not None:
        tokens, scores, types = list(real["tokenizer.ggml.tokens"][1]), [], []
    else:
        tokens, scores, types = build_vocab(n_vocab_words, extra_tokens)
    head_dim = n_embd // n_head
    n_embd_kv = head_dim * n_head_kv

    for special in (bos_token, eos_token) if real is None else ():
        if special is not None and special not in tokens:
            tokens.append(special)
            types.append(_CONTROL)
            scores.append(scores[-1] - 1.0)
    n_vocab = len(tokens)
    if real is not None:
        bos, eos = (tokens.index(t) if t is not None else None for t in (bos_token, eos_token))
    elif chat_template == "llama3":
        bos, eos = tokens.index("<|begin_of_text|>"), tokens.index("<|eot_id|>")
    else:
        bos, eos = tokens.index("<s>"), tokens.index("</s>")
    if bos_token is not None:
        bos = tokens.index(bos_token)
    if eos_token is not None:
        eos = tokens.index(eos_token)

    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name(name)
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    if real is not None:
        overridden = {"tokenizer.ggml.bos_token_id": bos, "tokenizer.ggml.eos_token_id": eos}
        for key, (vtypes, value) in real.items():  # the real tokenizer, whole
            if overridden.get(key) is not None:
                continue
            array = vtypes[0] == gguf.GGUFValueType.ARRAY
            writer.add_key_value(key, value, vtypes[0], vtypes[-1] if array else None)
        if bos is not None:
            writer.add_bos_token_id(bos)
        if eos is not None:
            writer.add_eos_token_id(eos)
    else:
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_unk_token_id(0)
        writer.add_bos_token_id(bos)
        writer.add_eos_token_id(eos)
        writer.add_add_bos_token(add_bos_token)
        writer.add_add_eos_token(False)
        # No "▁" before the first word or after a special token: tokenize -> detokenize is the identity, so
        # the prompt the server echoes is byte-identical to the prompt sent (as with the BPE vocabularies of
        # real ChatML and Llama-3 models).
        writer.add_add_space_prefix(False)
    if chat_template != NO_TEMPLATE:
        writer.add_chat_template(template)

    rng = np.random.default_rng(seed)

    def rand(*shape: int, scale: float = 0.5) -> np.ndarray:
        # numpy shape is ggml's ne reversed: (rows = outputs, cols = inputs)
        return (rng.standard_normal(shape, dtype=np.float32) * (scale / np.sqrt(shape[-1]))).astype(np.float32)

    ones = np.ones(n_embd, dtype=np.float32)
    writer.add_tensor("token_embd.weight", rand(n_vocab, n_embd, scale=float(np.sqrt(n_embd))))
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones.copy())
        writer.add_tensor(f"blk.{i}.attn_q.weight", rand(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", rand(n_embd_kv, n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", rand(n_embd_kv, n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", rand(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones.copy())
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", rand(n_embd, n_ff))
    writer.add_tensor("output_norm.weight", ones.copy())
    if real is None:  # a real vocabulary's output is tied to the embeddings (llama.cpp reuses token_embd)
        writer.add_tensor("output.weight", rand(n_vocab, n_embd, scale=4.0))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _real_vocab(path: Path) -> dict[str, tuple[list[Any], Any]]:
    """The tokenizer fields of a vocab-only GGUF (all but its chat template), as (value types, value)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    fields: dict[str, tuple[list[Any], Any]] = {}
    for key, field in reader.fields.items():
        if key.startswith("tokenizer.") and key != "tokenizer.chat_template":
            fields[key] = (list(field.types), field.contents())
    if "tokenizer.ggml.tokens" not in fields:
        raise ValueError(f"{path} has no token list")
    return fields


def make_tiny_lora(path: Path, *, n_embd: int = 64, n_vocab: int | None = None, rank: int = 4, seed: int = 1) -> Path:
    """Write (or reuse) a LoRA adapter GGUF for the default tiny model (``make_tiny_model`` with
    its default sizes): low-rank A/B pairs on ``output.weight`` and every layer's ``attn_q``, large
    enough that scale 1 changes what the model writes. llama-server loads it with ``--lora FILE``
    and lists it at /lora-adapters. ``path`` is a cache directory, as for ``make_tiny_model``."""
    import gguf
    import numpy as np

    n_vocab = n_vocab if n_vocab is not None else len(build_vocab()[0])
    digest = hashlib.sha256(json.dumps([GENERATOR_VERSION, n_embd, n_vocab, rank, seed]).encode()).hexdigest()[:12]
    target = Path(path) / f"tiny-lora-g{GENERATOR_VERSION}-{digest}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp_name, "llama")
        writer.add_type("adapter")
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", float(rank))
        # ggml's ne is numpy's shape reversed: lora_a is ne [n_in, rank], lora_b ne [rank, n_out].
        pairs = {"output.weight": (n_embd, n_vocab), **{f"blk.{i}.attn_q.weight": (n_embd, n_embd) for i in range(2)}}
        for name, (n_in, n_out) in pairs.items():
            writer.add_tensor(f"{name}.lora_a", (rng.standard_normal((rank, n_in)) * 2.0).astype(np.float32))
            writer.add_tensor(f"{name}.lora_b", (rng.standard_normal((n_out, rank)) * 2.0).astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
