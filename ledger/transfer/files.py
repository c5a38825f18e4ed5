"""Writing an output file whole: it appears complete, and never over an existing file unless asked.

The text is written to a scratch file beside the target, then put in place: with ``replace``,
by renaming it over the target; otherwise by hard-linking it to the target name, which fails
if a file of that name exists, even one made a moment ago by another process. (On a file
system without hard links, the check and the rename are two steps.)

A target that is a device or a pipe (``/dev/stdout``, a FIFO another program reads) is written
into as it is: a rename would replace the device itself (run as root, ``/dev/full`` would become
a file), and nothing is replaced, so no ``--force`` is needed.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import IO, Callable, TypeVar

from ledger.errors import InvalidInput

T = TypeVar("T")


def is_stream(path: str) -> bool:
    """Whether ``path`` names (or links to) something that is neither a file nor a directory: a device, a pipe."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def refuse_existing(path: str) -> None:
    """Fail early, before any work, when ``path`` exists (the final placement checks again)."""
    if os.path.lexists(path) and not is_stream(path):
        raise InvalidInput(f"{path} already exists: give --force to replace it")


def write_whole(path: str, write: Callable[[IO[str]], T], *, replace: bool = False) -> T:
    """Write ``path`` with ``write(file)``; it appears only when complete, and replaces a file only if ``replace``."""
    if is_stream(path):
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                return write(out)
        except OSError as error:
            raise InvalidInput(f"cannot write {path}: {error.strerror or error}") from None
    target = Path(path)
    scratch = target.with_name(f".{target.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(scratch, "w", encoding="utf-8", newline="") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
        _place(scratch, target, path, replace)
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        scratch.unlink(missing_ok=True)
    return result


def _place(scratch: Path, target: Path, path: str, replace: bool) -> None:
    if replace:
        os.replace(scratch, target)
        return
    try:
        os.link(scratch, target)
    except FileExistsError:
        raise InvalidInput(f"{path} already exists: give --force to replace it") from None
    except OSError:
        refuse_existing(path)  # no hard links here: check, then rename
        os.replace(scratch, target)
