"""custody.files: what a hint to the kernel may and may not do."""

from __future__ import annotations

import os
from pathlib import Path

from custody.files import drop_cached


def test_dropping_a_written_file_from_the_cache_keeps_every_byte(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / "blob"
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        drop_cached(f.fileno(), 0, len(data))  # dirty pages: written out, not lost
        os.fsync(f.fileno())
        drop_cached(f.fileno(), 0, len(data))
    assert path.read_bytes() == data


def test_a_descriptor_that_takes_no_advice_is_left_alone() -> None:
    read, write = os.pipe()  # posix_fadvise on a pipe fails with ESPIPE
    try:
        drop_cached(write, 0, 1)
        drop_cached(write, 0, 0)
        os.write(write, b"x")
        assert os.read(read, 1) == b"x"
    finally:
        os.close(read)
        os.close(write)
