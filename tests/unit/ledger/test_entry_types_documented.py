"""docs/ledger.md's table of entry types and custody.ledger.events.EntryType are one list."""

from __future__ import annotations

import re

from custody.ledger.events import EntryType
from support.paths import REPO_ROOT

TABLE = re.compile(r"^\| (`[a-z_]+:[a-z_]+`(?:, `[a-z_]+:[a-z_]+`)*) \|", re.MULTILINE)


def _documented() -> list[str]:
    text = (REPO_ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    return [t for row in TABLE.findall(text) for t in re.findall(r"`([^`]+)`", row)]


def test_every_entry_type_is_documented_once() -> None:
    documented = _documented()
    assert sorted(documented) == sorted(set(documented)), "a type documented twice"
    missing = sorted({t.value for t in EntryType} - set(documented))
    assert not missing, f"docs/ledger.md does not document {missing}"


def test_the_docs_name_no_type_the_log_does_not_write() -> None:
    unknown = sorted(set(_documented()) - {t.value for t in EntryType})
    assert not unknown, f"docs/ledger.md documents types custody does not write: {unknown}"
