"""Every command's example, and the environment variables it reads: a rule by kind of
command (client, key-unlocking, operator) and a table of the commands that differ from it.

``custody COMMAND --help`` ends with them (:func:`annotate`); tests check that every command
of the tree has an entry, that each example names a real command with real options, and
that docs/cli.md lists every variable.
"""

from __future__ import annotations

import click

# What every client command reads.
CLIENT = ("CUSTODY_HOME", "CUSTODY_DEBUG")
# The commands that unlock the person's keys, and so read the passphrase too (custody.cli.unlock
# starts their unlock early; a test holds this set to their code).
UNLOCKING = frozenset({"send", "receive", "share", "bundle"})
KEYS = ("CUSTODY_PASSPHRASE",)
# The operator's commands read the server's settings (docs/operations.md).
OPERATOR = ("CUSTODY_DATA_DIR", "CUSTODY_* settings (docs/operations.md)", "CUSTODY_DEBUG")
_OPERATORS = ("admin", "serve", "ledger verify")
_LOG_KEY = ("CUSTODY_LOG_KEY",)

# command path -> its example
EXAMPLES: dict[str, str] = {
    "login": "custody login --server https://custody.example --email you@force.example",
    "enrol": "CUSTODY_TOTP_CODE=123456 custody enrol",
    "logout": "custody logout",
    "whoami": "custody whoami --json",
    "keys init": "custody keys init",
    "tokens list": "custody tokens list --json",
    "tokens revoke": "custody tokens revoke --all",
    "case create": "custody case create 47XX1234567",
    "case list": "custody case list --json",
    "case show": "custody case show 47XX1234567",
    "send": (
        "custody send 'ABE interview.mp4' statement.pdf --case 47XX1234567 "
        "--to 'Crown Prosecution Service' --ack-within 24h"
    ),
    "inbox": "custody inbox --json | jq -r '.[].id'",
    "outbox": "custody outbox",
    "show": "custody show TRANSFER --json",
    "receive": "custody receive TRANSFER --out ./received",
    "ack": "custody ack TRANSFER",
    "revoke": "custody revoke TRANSFER --reason 'sent to the wrong unit'",
    "notices": "custody notices --json",
    "history": "custody history ITEM",
    "report": "custody report ITEM --json",
    "share": "custody share ITEM --with counsel@chambers.example --expires 14d",
    "shared": "custody shared --json",
    "incident list": "custody incident list",
    "incident open": "custody incident open TRANSFER --reason 'laptop stolen'",
    "incident show": "custody incident show ID --json",
    "incident reported": "custody incident reported ID",
    "incident close": "custody incident close ID",
    "retention set": "custody retention set 47XX1234567 --for 7y",
    "hold": "custody hold ITEM --reason 'appeal lodged'",
    "bundle": "custody bundle ITEM --out evidence.zip --names",
    "verify": 'custody verify evidence.zip --log-key "$(cat log-key.txt)" --file interview.mp4',
    "checkpoint": "custody checkpoint",
    "code check": "custody code check --server https://custody.example",
    "people list": "custody people list --json",
    "people add": "custody people add new.officer@force.example --role officer",
    "people disable": "custody people disable EMAIL --reason 'left the force'",
    "people reset-2fa": "custody people reset-2fa EMAIL --reason 'phone lost'",
    "people move": "custody people move EMAIL --unit 'Major Crime'",
    "units list": "custody units list --json",
    "units create": "custody units create 'Major Crime'",
    "completion": 'eval "$(custody completion bash)"',
    "demo": "custody demo --workdir ./demo",
    "serve": "custody serve --data-dir ./custody-data --port 8443",
    "admin init": "custody admin init --data-dir ./custody-data",
    "admin org create": "custody admin org create 'Crown Prosecution Service' --kind prosecution",
    "admin org list": "custody admin org list",
    "admin org webhook": (
        "custody admin org webhook 'Thames Valley Police' https://hooks.example/custody"
    ),
    "admin unit create": "custody admin unit create 'Major Crime' --org CPS",
    "admin unit list": "custody admin unit list --org CPS",
    "admin user create": (
        "custody admin user create dc.jones@force.example --org 'Thames Valley Police' "
        "--role officer"
    ),
    "admin user reset-2fa": (
        "custody admin user reset-2fa dc.jones@force.example --reason 'phone lost'"
    ),
    "admin shred": "custody admin shred ITEM --reason 'retention ended'",
    "admin erase-reason": "custody admin erase-reason COMMITMENT",
    "admin scrub": "custody admin scrub --data-dir ./custody-data",
    "admin backup": (
        "custody admin backup --data-dir ./custody-data --out /backups/custody-2026-11-30"
    ),
    "admin restore": (
        "custody admin restore /backups/custody-2026-11-30 --data-dir ./custody-data-restored"
    ),
    "ledger verify": "custody ledger verify --data-dir ./custody-data",
    "witness init": "custody witness init ./witness --name witness.cps.example/w1",
    "witness key": "custody witness key ./witness",
    "monitor": (
        "custody monitor --log https://custody.example --log-key \"$(cat log-key.txt)\" "
        "--case CASE_ID --every 60"
    ),
    "witness serve": "custody witness serve ./witness --log \"$(cat log-key.txt)\" --port 8444",
}

# The commands that read more, or less, than `reads`'s rule gives them.
_READS: dict[str, tuple[str, ...]] = {
    "login": (*CLIENT, "CUSTODY_SERVER", "CUSTODY_PASSWORD", "CUSTODY_TOTP_CODE", *_LOG_KEY),
    "enrol": (*CLIENT, "CUSTODY_TOTP_CODE"),
    "keys init": (*CLIENT, *KEYS, "CUSTODY_KEY_WORK_FACTOR"),
    "code check": (*CLIENT, *_LOG_KEY),
    "monitor": (*CLIENT, "CUSTODY_MONITOR_WEBHOOK_SECRET"),
    # Commands that need no account: the verifier and the demo read only CUSTODY_DEBUG; a
    # witness reads nothing (its folder and the logs it follows are its arguments).
    "verify": ("CUSTODY_DEBUG",),
    "demo": ("CUSTODY_DEBUG",),
    "completion": (),
    "witness init": (),
    "witness key": (),
    "witness serve": (),
}


def reads(path: str) -> tuple[str, ...]:
    """The environment variables ``custody PATH`` reads."""
    if path in _READS:
        return _READS[path]
    if path.startswith(_OPERATORS):
        return OPERATOR
    return (*CLIENT, *KEYS) if path in UNLOCKING else CLIENT


# command path -> (example, environment variables it reads)
HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    path: (example, reads(path)) for path, example in EXAMPLES.items()
}


def epilog(path: str) -> str | None:
    """The end of ``custody PATH --help``: its example, and what it reads from the environment.
    (``\\b`` keeps click from rewrapping the lines.)"""
    found = HELP.get(path)
    if found is None:
        return None
    example, env = found
    text = f"\b\nExample:\n  {example}"
    if env:
        text += "\n\n\b\nEnvironment:\n  " + ", ".join(env)
    return text


def annotate(command: click.Command, path: str) -> None:
    """Give ``command`` (and, for a group, each of its commands) its example and variables."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            annotate(sub, f"{path} {name}".strip())
        return
    command.epilog = epilog(path)
