"""``custody completion bash|zsh|fish``: the shell's tab completion for custody, by click."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from custody.cli.output import say

SHELLS = ("bash", "zsh", "fish")
# The variable click's completion reads; it must match the program name `custody`.
COMPLETE_VAR = "_CUSTODY_COMPLETE"

_INSTALL = {
    "bash": 'add to ~/.bashrc:  eval "$(custody completion bash)"',
    "zsh": 'add to ~/.zshrc:   eval "$(custody completion zsh)"',
    "fish": "run once:          custody completion fish > ~/.config/fish/completions/custody.fish",
}


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the script that lets SHELL complete custody's commands and options.

    \b
    bash: add to ~/.bashrc    eval "$(custody completion bash)"
    zsh:  add to ~/.zshrc     eval "$(custody completion zsh)"
    fish: custody completion fish > ~/.config/fish/completions/custody.fish
    """
    root = ctx.find_root().command
    made = get_completion_class(shell)
    assert made is not None  # noqa: S101 - click ships all three  # nosec B101
    script = made(root, {}, "custody", COMPLETE_VAR).source()
    say(script.rstrip("\n"))


COMMANDS = [completion]
