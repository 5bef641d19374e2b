"""Every command's example and the environment variables it reads, in one table.

``custody COMMAND --help`` ends with them (:func:`annotate`); tests check that every command
of the tree has an entry, that each example names a real command with real options, and
that docs/cli.md lists every variable.
"""

from __future__ import annotations

import click

# What every client command reads.
CLIENT = ("CUSTODY_HOME", "CUSTODY_DEBUG")
KEYS = ("CUSTODY_PASSPHRASE",)
# The operator's commands read the server's settings (docs/operations.md).
OPERATOR = ("CUSTODY_DATA_DIR", "CUSTODY_* settings (docs/operations.md)", "CUSTODY_DEBUG")

# command path -> (example, environment variables it reads)
HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "login": (
        "custody login --server https://custody.example --email you@force.example",
        (*CLIENT, "CUSTODY_SERVER", "CUSTODY_PASSWORD", "CUSTODY_TOTP_CODE", "CUSTODY_LOG_KEY"),
    ),
    "enrol": ("CUSTODY_TOTP_CODE=123456 custody enrol", (*CLIENT, "CUSTODY_TOTP_CODE")),
    "logout": ("custody logout", CLIENT),
    "whoami": ("custody whoami --json", CLIENT),
    "keys init": ("custody keys init", (*CLIENT, *KEYS, "CUSTODY_KEY_WORK_FACTOR")),
    "tokens list": ("custody tokens list --json", CLIENT),
    "tokens revoke": ("custody tokens revoke --all", CLIENT),
    "case create": ("custody case create 47XX1234567", CLIENT),
    "case list": ("custody case list --json", CLIENT),
    "case show": ("custody case show 47XX1234567", CLIENT),
    "send": (
        "custody send 'ABE interview.mp4' statement.pdf --case 47XX1234567 "
        "--to 'Crown Prosecution Service' --ack-within 24h",
        (*CLIENT, *KEYS),
    ),
    "inbox": ("custody inbox --json | jq -r '.[].id'", CLIENT),
    "outbox": ("custody outbox", CLIENT),
    "show": ("custody show TRANSFER --json", CLIENT),
    "receive": ("custody receive TRANSFER --out ./received", (*CLIENT, *KEYS)),
    "ack": ("custody ack TRANSFER", CLIENT),
    "revoke": ("custody revoke TRANSFER --reason 'sent to the wrong unit'", CLIENT),
    "notices": ("custody notices --json", CLIENT),
    "history": ("custody history ITEM", CLIENT),
    "report": ("custody report ITEM --json", CLIENT),
    "share": (
        "custody share ITEM --with counsel@chambers.example --expires 14d",
        (*CLIENT, *KEYS),
    ),
    "shared": ("custody shared --json", CLIENT),
    "incident list": ("custody incident list", CLIENT),
    "incident open": ("custody incident open TRANSFER --reason 'laptop stolen'", CLIENT),
    "incident show": ("custody incident show ID --json", CLIENT),
    "incident reported": ("custody incident reported ID", CLIENT),
    "incident close": ("custody incident close ID", CLIENT),
    "retention set": ("custody retention set 47XX1234567 --for 7y", CLIENT),
    "hold": ("custody hold ITEM --reason 'appeal lodged'", CLIENT),
    "bundle": ("custody bundle ITEM --out evidence.zip --names", (*CLIENT, *KEYS)),
    "verify": (
        'custody verify evidence.zip --log-key "$(cat log-key.txt)" --file interview.mp4',
        ("CUSTODY_DEBUG",),
    ),
    "checkpoint": ("custody checkpoint", CLIENT),
    "code check": (
        "custody code check --server https://custody.example",
        (*CLIENT, "CUSTODY_LOG_KEY"),
    ),
    "people list": ("custody people list --json", CLIENT),
    "people add": ("custody people add new.officer@force.example --role officer", CLIENT),
    "people disable": ("custody people disable EMAIL --reason 'left the force'", CLIENT),
    "people reset-2fa": ("custody people reset-2fa EMAIL --reason 'phone lost'", CLIENT),
    "people move": ("custody people move EMAIL --unit 'Major Crime'", CLIENT),
    "units list": ("custody units list --json", CLIENT),
    "units create": ("custody units create 'Major Crime'", CLIENT),
    "completion": ('eval "$(custody completion bash)"', ()),
    "demo": ("custody demo --workdir ./demo", ("CUSTODY_DEBUG",)),
    "serve": ("custody serve --data-dir ./custody-data --port 8443", OPERATOR),
    "admin init": ("custody admin init --data-dir ./custody-data", OPERATOR),
    "admin org create": (
        "custody admin org create 'Crown Prosecution Service' --kind prosecution",
        OPERATOR,
    ),
    "admin org list": ("custody admin org list", OPERATOR),
    "admin org webhook": (
        "custody admin org webhook 'Thames Valley Police' https://hooks.example/custody",
        OPERATOR,
    ),
    "admin unit create": ("custody admin unit create 'Major Crime' --org CPS", OPERATOR),
    "admin unit list": ("custody admin unit list --org CPS", OPERATOR),
    "admin user create": (
        "custody admin user create dc.jones@force.example --org 'Thames Valley Police' "
        "--role officer",
        OPERATOR,
    ),
    "admin user reset-2fa": (
        "custody admin user reset-2fa dc.jones@force.example --reason 'phone lost'",
        OPERATOR,
    ),
    "admin shred": ("custody admin shred ITEM --reason 'retention ended'", OPERATOR),
    "admin erase-reason": ("custody admin erase-reason COMMITMENT", OPERATOR),
    "admin scrub": ("custody admin scrub --data-dir ./custody-data", OPERATOR),
    "admin backup": (
        "custody admin backup --data-dir ./custody-data --out /backups/custody-2026-11-30",
        OPERATOR,
    ),
    "admin restore": (
        "custody admin restore /backups/custody-2026-11-30 --data-dir ./custody-data-restored",
        OPERATOR,
    ),
    "ledger verify": ("custody ledger verify --data-dir ./custody-data", OPERATOR),
    # A witness reads nothing from the environment: its folder and the logs it follows.
    "witness init": ("custody witness init ./witness --name witness.cps.example/w1", ()),
    "witness key": ("custody witness key ./witness", ()),
    "monitor": (
        "custody monitor --log https://custody.example --log-key \"$(cat log-key.txt)\" "
        "--case CASE_ID --every 60",
        (*CLIENT, "CUSTODY_MONITOR_WEBHOOK_SECRET"),
    ),
    "witness serve": (
        "custody witness serve ./witness --log \"$(cat log-key.txt)\" --port 8444", ()
    ),
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
