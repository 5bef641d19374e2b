"""The commands the README and docs show exist, with the options they show.

Every ``custody ...`` line in a shell block of README.md or docs/*.md is
resolved against the real command tree; a renamed command or option makes
this fail, so the docs cannot drift from the CLI.
"""

from __future__ import annotations

import re
import shlex

import click
import pytest

from custody.cli.main import cli
from support.paths import REPO_ROOT

REPO = REPO_ROOT
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(?:sh|bash|shell)\n(.*?)```", re.DOTALL)


def _documented() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in _BLOCK.findall(doc.read_text()):
            # A line ending in a backslash continues on the next, as in the shell.
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                command = line.split("#", 1)[0].strip()
                for prefix in (".venv/bin/custody ", "custody "):
                    if command.startswith(prefix):
                        found.append((doc.name, command.removeprefix(prefix)))
    return found


def _resolve(argv: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    path = ["custody"]
    ctx = click.Context(cli)
    while isinstance(command, click.Group) and argv and not argv[0].startswith("-"):
        sub = command.get_command(ctx, argv[0])
        if sub is None:
            break
        path.append(argv.pop(0))
        command = sub
    return command, path


DOCUMENTED = _documented()


def test_the_docs_show_commands() -> None:
    assert len(DOCUMENTED) >= 15, DOCUMENTED


@pytest.mark.parametrize(("doc", "line"), DOCUMENTED, ids=[f"{d}:{c[:40]}" for d, c in DOCUMENTED])
def test_documented_command_exists(doc: str, line: str) -> None:
    argv = shlex.split(line.replace("$(", "").replace(")", ""))
    command, path = _resolve(argv)
    named = " ".join(path)
    assert not isinstance(command, click.Group), f"{doc}: '{line}' names no command ({named})"
    options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    used = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    unknown = used - options
    assert not unknown, f"{doc}: '{line}' uses options {unknown} that {named} lacks"


def test_unknown_command_is_caught() -> None:
    command, _ = _resolve(["admin", "frobnicate"])
    assert isinstance(command, click.Group)
