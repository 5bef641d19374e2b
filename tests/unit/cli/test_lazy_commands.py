"""``custody`` imports a command's module only when that command runs (issue 12): the table in
``custody.cli.main`` names every command each module exports, ``custody --help`` and
completion list them from it unchanged, and starting the CLI imports no client or server code."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import click
import pytest

import custody.cli
from custody.cli.main import COMMAND_INDEX, cli


def _exported() -> dict[str, click.Command]:
    """Every command a module of custody.cli lists in its COMMANDS."""
    found: dict[str, click.Command] = {}
    for module in pkgutil.iter_modules(custody.cli.__path__, "custody.cli."):
        for command in getattr(importlib.import_module(module.name), "COMMANDS", ()):
            assert command.name not in found, command.name
            found[command.name] = command
    return found


def _resolved() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    commands = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in commands.items() if command is not None}


def test_the_table_names_every_command_the_modules_export() -> None:
    exported, resolved = _exported(), _resolved()
    assert set(resolved) == set(COMMAND_INDEX)
    assert set(exported) <= set(resolved)
    for name, command in exported.items():
        assert resolved[name] is command, name


def test_each_entry_is_the_command_of_its_name_and_its_summary_is_its_own() -> None:
    for name, command in _resolved().items():
        assert command.name == name
        # The whole first sentence, which click shortens to the width of the screen.
        assert command.get_short_help_str(10_000) == COMMAND_INDEX[name][1], name


def _eager() -> click.Group:
    """What `cli` was before it was lazy: a plain group holding every command."""
    return click.Group(
        "custody", commands=_resolved(), params=cli.params, help=cli.help,
        context_settings=cli.context_settings,
    )


@pytest.mark.parametrize("width", [60, 80, 120])
def test_help_lists_the_commands_as_click_would_from_the_commands_themselves(width: int) -> None:
    def shown(group: click.Group) -> str:
        ctx = click.Context(group, info_name="custody", terminal_width=width,
                            **group.context_settings)
        return group.get_help(ctx)

    assert shown(cli) == shown(_eager())


@pytest.mark.parametrize(
    ("incomplete", "names"),
    [
        ("", sorted(COMMAND_INDEX)),
        ("in", ["inbox", "incident"]),
        ("--v", ["--version"]),
        ("zz", []),
    ],
)
def test_completion_offers_the_commands_as_click_would(incomplete: str, names: list[str]) -> None:
    def offered(group: click.Group) -> list[tuple[str, str | None]]:
        ctx = click.Context(group, info_name="custody", **group.context_settings)
        return [(item.value, item.help) for item in group.shell_complete(ctx, incomplete)]

    assert [value for value, _ in offered(cli)] == names
    assert offered(cli) == offered(_eager())


# What a command's start must not import: the HTTP client, the server, the crypto, the models.
HEAVY = ("httpx", "custody.client", "custody.server", "cryptography", "pydantic", "rich",
         "sqlalchemy", "fastapi")
_IMPORTED = """
import json, sys
from custody.cli.main import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("argv", "completing", "shown"),
    [
        ([], None, "Commands:"),
        (["--help"], None, "Commands:"),
        (["--version"], None, "version 0"),
        ([], "custody in", "plain,incident"),
        (["inbox", "--help"], None, "Transfers sent to you."),
    ],
)
def test_starting_imports_no_command_it_does_not_run(
    argv: list[str], completing: str | None, shown: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_CUSTODY", "COMP_"))}
    if completing:
        env |= {"_CUSTODY_COMPLETE": "bash_complete", "COMP_WORDS": completing, "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-c", _IMPORTED, json.dumps(argv)], env=env,
                          capture_output=True, text=True, check=True, timeout=60)
    *said, last = done.stderr.splitlines()
    assert shown in done.stdout + "\n".join(said)
    imported = json.loads(last)
    commands = [m for m in imported if m.startswith("custody.cli.") and m.endswith("_cmds")]
    if argv[:1] == ["inbox"]:
        assert "custody.cli.transfer_cmds" in commands  # the command it runs, and what it needs
    else:
        assert commands == []
        assert [m for m in imported if m.startswith(HEAVY)] == []
