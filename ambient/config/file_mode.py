"""Whether others than its owner can read a file a secret comes from: ``ambient check`` warns
of the HA token, the broker's password and the store key read from such a file."""

from __future__ import annotations

import stat
from pathlib import Path


def loose_mode(path: Path) -> int | None:
    """``path``'s permission bits when group or others have any; None when only its owner
    has, or it cannot be read (nothing to warn of: reading the config says what is wrong)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None
