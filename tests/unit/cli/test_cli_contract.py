"""docs/cli.md is the CLI's contract for scripts: its exit-code table is the code's table, every
command it says prints JSON has ``--json`` and prints exactly the fields it lists, and every
command with ``--json`` is in it (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from custody.cli.main import cli
from custody.cli.output import EXIT_CODES, OTHER_EXITS
from custody.cli.views import (
    CaseTransfersOut,
    InitialisedOut,
    InvitedOut,
    NamedActorOut,
    NamesOut,
    ReceivedOut,
    TrailLineOut,
    VerifiedOut,
)
from custody.protocol import people as wire
from custody.protocol.accounts import MeOut, TokenOut
from custody.protocol.assurance import (
    AccessLineOut,
    AlertNoticeOut,
    GrantOut,
    ImpactItemOut,
    ImpactOut,
    ReportOut,
    SharedOut,
    ShareOut,
    TransferStateOut,
)
from custody.protocol.codes import ErrorCode
from custody.protocol.ledger import TrailEntryOut
from custody.protocol.transfers import (
    CaseOut,
    CaseSummaryOut,
    ItemOut,
    PartyOut,
    ReaderOut,
    TransferOut,
)
from support.commands import command_tree
from support.paths import REPO_ROOT

from .conftest import PASSPHRASE, Terminal

DOC = (REPO_ROOT / "docs" / "cli.md").read_text()

# What each command documented in docs/cli.md prints (one JSON object, or an array of them).
PRINTS: dict[str, type[BaseModel]] = {
    "inbox": TransferOut,
    "outbox": TransferOut,
    "show": TransferOut,
    "send": TransferOut,
    "ack": TransferOut,
    "receive": ReceivedOut,
    "revoke": TransferStateOut,
    "case create": CaseOut,
    "case list": CaseSummaryOut,
    "case show": CaseTransfersOut,
    "history": TrailEntryOut,
    "notices": AlertNoticeOut,
    "report": ReportOut,
    "share": ShareOut,
    "shared": SharedOut,
    "incident open": ImpactOut,
    "incident show": ImpactOut,
    "incident list": ImpactOut,
    "tokens list": TokenOut,
    "whoami": MeOut,
    "people list": wire.PersonOut,
    "people add": wire.PersonAddedOut,
    "units list": wire.UnitOut,
    "units create": wire.UnitOut,
    "verify": VerifiedOut,
    "admin init": InitialisedOut,
    "admin user create": InvitedOut,
}
NESTED: dict[str, type[BaseModel]] = {
    "item": ItemOut,
    "party": PartyOut,
    "reader": ReaderOut,
    "grant": GrantOut,
    "access": AccessLineOut,
    "impact item": ImpactItemOut,
    "trail line": TrailLineOut,
    "names": NamesOut,
    "named actor": NamedActorOut,
}


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:] if rows else rows  # the header


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _command(cell: str) -> str:
    """``show TRANSFER`` -> ``show``: the command's words, without its arguments."""
    return " ".join(w for w in cell.split() if not re.fullmatch(r"[A-Z][A-Z.|a-z]*", w))


def test_the_exit_code_table_in_the_docs_is_the_codes_table() -> None:
    documented = {
        (name, int(row[0])) for row in _rows(_section("Exit codes")) for name in _names(row[1])
    }
    in_code = {(code.value, exit_) for code, exit_ in EXIT_CODES.items()}
    in_code |= set(OTHER_EXITS.items())
    assert documented == in_code
    # Each exit code is one class: no code shares its number with a different class.
    by_exit: dict[int, set[str]] = {}
    for name, exit_ in documented:
        by_exit.setdefault(exit_, set()).add(name)
    assert by_exit[3].isdisjoint(by_exit[11])


def _documented_json() -> dict[str, list[str]]:
    section = _section("What `--json` prints")
    table = section.split("### Nested objects")[0]
    found: dict[str, list[str]] = {}
    for row in _rows(table):
        fields = _names(row[2])
        same = re.fullmatch(r"the same as `([^`]+)`", row[2])
        for cell in _names(row[0]):
            found[_command(cell)] = found[same[1]] if same else fields
    return found


def test_every_documented_json_field_is_the_models_own_in_order() -> None:
    documented = _documented_json()
    assert set(documented) == set(PRINTS)
    for command, model in PRINTS.items():
        assert documented[command] == list(model.model_fields), command
    nested = {row[0]: _names(row[2]) for row in _rows(DOC.split("### Nested objects")[1])}
    for name, model in NESTED.items():
        assert nested[name] == list(model.model_fields), name


COMMANDS = command_tree(cli)


@pytest.mark.parametrize("name", sorted(PRINTS))
def test_a_documented_json_command_takes_json(name: str) -> None:
    options = {opt for param in COMMANDS[name].params for opt in param.opts}
    assert "--json" in options


def test_every_command_with_json_is_documented() -> None:
    with_json = {
        name
        for name, command in COMMANDS.items()
        if any("--json" in param.opts for param in command.params)
    }
    assert with_json == set(PRINTS)


def test_a_wrong_passphrase_is_not_a_missing_login(terminal: Terminal, tmp_path: Path) -> None:
    officer = terminal.desks.officer
    source = tmp_path / "exhibit.txt"
    source.write_bytes(b"exhibit")
    wrong = terminal.run(
        officer.home,
        "send",
        source,
        "--case",
        "47XX1234567",
        "--to",
        "x",
        CUSTODY_PASSPHRASE=PASSPHRASE + "!",
    )
    assert wrong.code == OTHER_EXITS["wrong_passphrase"] == 11, wrong.err
    assert "passphrase does not open" in wrong.err
    nobody = terminal.run(tmp_path / "fresh-machine", "inbox", "--json")
    assert nobody.code == EXIT_CODES[ErrorCode.NOT_AUTHENTICATED] == 3
    assert nobody.out == ""
    assert "not logged in" in nobody.err
