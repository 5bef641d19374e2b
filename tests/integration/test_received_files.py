"""What `custody receive` leaves on the recipient's disk: the file, its name, and who may read it.

Security review (lows): a 250-byte file name could be sent but never received (the temporary
name passed the 255-byte limit); received plaintext was written 0644 (readable by any account
on the machine).
"""

from __future__ import annotations

import stat
from pathlib import Path

from support.server import People, make_file, new_case


def test_a_long_name_is_received_and_only_its_owner_may_read_it(
    people: People, tmp_path: Path
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    name = "a" * 246 + ".pdf"  # 250 bytes: the file system allows 255
    content = b"%PDF-1.7 a statement\n"
    file = make_file(tmp_path / "out", name, content=content)
    transfer = officer.send([file], new_case(officer))
    out = tmp_path / "in"
    prosecutor.ok("receive", transfer, "--out", str(out))
    received = out / name
    assert received.read_bytes() == content
    assert stat.S_IMODE(received.stat().st_mode) == 0o600
    assert [p.name for p in out.iterdir()] == [name]  # no temporary file left behind
