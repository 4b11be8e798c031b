"""The heap that start-up freed goes back to the OS (glibc's malloc_trim)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Runs in its own interpreter so that pytest's own allocations do not blur the figures.
# 40,000 blocks of 1 KiB (above pymalloc's 512 B, so from glibc's heap), then one block that
# pins the top of the heap: freeing the blocks cannot shrink the heap from the top, so the
# pages stay resident until malloc_trim releases the free ones in the middle.
_PROBE = """
from pathlib import Path
from ambient.memory import release_freed_heap

def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

blocks = [bytes(1024) + bytes([i % 256]) for i in range(40_000)]
pin = bytes(1024) + b"pin"
del blocks
before = rss_kib()
release_freed_heap()
after = rss_kib()
print(before - after)
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_release_freed_heap_returns_freed_pages_to_the_os() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    released_kib = int(result.stdout)
    assert released_kib > 20 * 1024  # of the ~40 MiB freed
