"""A truly read-only data folder for a child process.

Tests run as root, and root ignores file permissions, so chmod cannot make a folder read-only for
it. As root the command runs in a mount namespace of its own where the folder is bind-mounted
read-only onto itself (the kernel then refuses every write, with EROFS, as for a read-only disk);
the mount vanishes with the process. As any other user, the folder and its files are chmod'ed
read-only for the duration of the `with` block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

_MOUNT_RO = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Callable[[list[str]], list[str]]]:
    """Yields wrap(argv) -> argv that runs `argv` with `folder` read-only."""
    if os.geteuid() == 0:
        unshare = shutil.which("unshare")
        assert unshare is not None, "unshare (util-linux) is needed to make a folder read-only for root"

        def wrap(argv: list[str]) -> list[str]:
            return [unshare, "--mount", "--propagation", "private", "sh", "-c", _MOUNT_RO, str(folder), *argv]

        yield wrap
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
    try:
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        yield lambda argv: argv
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
