"""Writing output files: all or nothing."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from doctrack.errors import UsageError


@contextlib.contextmanager
def atomic_writer(output: str) -> Iterator[IO[bytes]]:
    """A new file next to ``output``, renamed over ``output`` when the block ends well.

    A failure (or an interruption) leaves ``output`` as it was and no temporary file
    behind. The new file gets the usual permissions (0666 less the umask), as if written
    directly. Errors of the file system become a one-line usage error.
    """
    path = Path(output)
    if path.name in {"", ".", ".."}:
        raise UsageError(f"cannot write {output!r}: not a file name")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    if "\x00" in output:
        raise UsageError(f"cannot write {output!r}: a path cannot hold a NUL character")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UsageError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
