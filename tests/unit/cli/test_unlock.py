"""The key unlock starts before a command's imports when the passphrase is in the environment
(issue 12), and changes nothing else: same keys, same errors, only for the same key file and
passphrase, and only for the commands that unlock."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from custody.cli import unlock
from custody.cli.main import COMMAND_INDEX, cli, main
from custody.client.config import Session
from custody.crypto.keys import UserKeys, WrongPassphrase
from custody.errors import Conflict

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a test key file's


def _commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _commands(sub)


def test_the_early_commands_are_those_that_unlock() -> None:
    ctx = click.Context(cli)
    unlocking = {
        name
        for name in COMMAND_INDEX
        for command in _commands(cli.get_command(ctx, name))  # type: ignore[arg-type]
        if command.callback and "unlock_keys(" in inspect.getsource(command.callback)
    }
    assert unlocking == unlock.UNLOCKING


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("CUSTODY_HOME", str(tmp_path))
    monkeypatch.setenv("CUSTODY_PASSPHRASE", PASSPHRASE)
    made = Session("http://127.0.0.1:1", "token", "2099-01-01T00:00:00Z", "u1", "a@b.example",
                   "org", "officer")
    made.save()
    made.key_file.parent.mkdir()
    made.key_file.write_bytes(UserKeys.generate().seal(PASSPHRASE, work_factor=10))
    yield made
    unlock._started = None


@pytest.fixture
def unsealed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each unseal ran in."""
    threads: list[str] = []
    real = UserKeys.unseal

    def recorded(data: bytes, passphrase: str) -> UserKeys:
        threads.append(threading.current_thread().name)
        return real(data, passphrase)

    monkeypatch.setattr(UserKeys, "unseal", recorded)
    return threads


def _same(a: UserKeys, b: UserKeys) -> bool:
    return a.age_recipient == b.age_recipient and a.signing_public == b.signing_public


def test_an_early_unlock_gives_the_keys_the_command_would_have_unlocked(
    session: Session, unsealed: list[str]
) -> None:
    expected = UserKeys.unseal(session.key_file.read_bytes(), PASSPHRASE)
    unsealed.clear()
    unlock.start("send")
    keys = unlock.unlock_keys(session)
    assert _same(keys, expected)
    assert unsealed == ["unlock"]  # in its own thread, once
    unlock.unlock_keys(session)  # taken once: a second unlock does its own
    assert unsealed == ["unlock", threading.current_thread().name]


def test_a_wrong_passphrase_fails_where_the_command_unlocks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTODY_PASSPHRASE", "not the passphrase")
    unlock.start("receive")  # raises nothing: the command decides when it needs the keys
    with pytest.raises(WrongPassphrase):
        unlock.unlock_keys(session)


def test_an_unlock_for_other_bytes_or_another_passphrase_is_not_used(
    session: Session, unsealed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unlock.start("share")
    replaced = UserKeys.generate()
    session.key_file.write_bytes(replaced.seal(PASSPHRASE, work_factor=10))
    assert _same(unlock.unlock_keys(session), replaced)
    assert unsealed[-1] == threading.current_thread().name

    unlock.start("bundle")
    monkeypatch.setenv("CUSTODY_PASSPHRASE", "another passphrase")
    with pytest.raises(WrongPassphrase):  # the early unlock under the old one is not taken
        unlock.unlock_keys(session)


@pytest.mark.parametrize(
    "argv",
    [["keys"], ["send", "--help"], ["receive", "-h"]],
    ids=["a command that does not unlock", "send --help", "receive -h"],
)
def test_nothing_starts_for_a_command_that_will_not_unlock(
    session: Session, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main(argv)
    capsys.readouterr()
    assert unlock._started is None


def test_nothing_starts_without_the_passphrase_or_the_key_file(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTODY_PASSPHRASE")
    unlock.start("send")
    assert unlock._started is None
    monkeypatch.setenv("CUSTODY_PASSPHRASE", PASSPHRASE)
    session.key_file.unlink()
    unlock.start("send")
    assert unlock._started is None
    with pytest.raises(Conflict, match="no keys on this machine"):
        unlock.unlock_keys(session)


def test_the_cli_starts_it_before_the_command_and_the_command_takes_it(
    session: Session, unsealed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The send unlocks, then stops at the server: nothing listens at port 1.
    code = main(["send", str(session.key_file), "--case", "47XX1234567", "--to", "x@y.example"])
    assert "cannot reach" in capsys.readouterr().err
    assert code != 0
    assert unsealed == ["unlock"]
    assert unlock._started is None
