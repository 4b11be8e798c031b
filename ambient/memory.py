"""Keeping the daemon's resident memory at what it uses, not at its start-up peak."""

from __future__ import annotations

import sys


def release_freed_heap() -> None:
    """Give the heap that start-up freed (compiling, building the config validator) back to the
    OS: glibc keeps freed blocks mapped, so RSS would stay at its start-up peak. Linux with
    glibc only; elsewhere (musl in the add-on image, macOS) nothing happens."""
    if sys.platform != "linux":
        return
    import ctypes

    # The symbols already loaded into this process (libc among them); musl has no malloc_trim.
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
