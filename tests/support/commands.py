"""The CLI's command tree, read in process (click's own view of it): every command by the
words that name it, e.g. ``"incident list"``."""

from __future__ import annotations

import click


def command_tree(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command below ``group``, each by its full name (``prefix`` and the group words)."""
    ctx = click.Context(group)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found.update(command_tree(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found
