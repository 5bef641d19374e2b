"""The everyday commands of issue 16: ``login`` remembers its server, ``logout`` revokes the token
at the server, ``case list|show``, ``incident list``, shell completion, and an example and the
environment variables at the end of every command's help."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from custody.cli import help_text
from custody.cli.main import cli, main
from support.client import SERVER
from support.commands import command_tree
from support.paths import REPO_ROOT
from support.world import CPS, new_urn

from .conftest import Terminal


def test_login_remembers_the_server_and_logout_revokes_the_token(terminal: Terminal) -> None:
    app, officer = terminal.desks.app, terminal.desks.officer
    member = officer.member
    signing_in = {"CUSTODY_PASSWORD": member.password}
    first = terminal.ok(
        officer,
        "login",
        "--server",
        SERVER,
        "--email",
        member.email,
        CUSTODY_TOTP_CODE=app.code(member),
        **signing_in,
    )
    assert f"Logged in as {member.email}" in first.out
    assert json.loads((officer.home / "config.json").read_text()) == {"server": SERVER}
    token = json.loads((officer.home / "session.json").read_text())["token"]

    out = terminal.ok(officer, "logout").out
    assert "revoked at the server" in out
    assert not (officer.home / "session.json").exists()
    refused = app.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert terminal.run(officer.home, "inbox").code == 3  # not logged in

    again = terminal.ok(
        officer, "login", "--email", member.email, CUSTODY_TOTP_CODE=app.code(member), **signing_in
    )
    assert f"Logged in as {member.email}" in again.out
    assert terminal.ok(officer, "whoami", "--json").json()["email"] == member.email


def test_the_first_login_without_a_server_asks_for_one(terminal: Terminal, tmp_path: Path) -> None:
    ran = terminal.run(tmp_path / "new-machine", "login", "--email", "x@example.org")
    assert ran.code == 2
    assert "--server" in ran.err


def test_enrol_after_a_login_that_enrolled_has_nothing_to_do(
    terminal: Terminal, tmp_path: Path
) -> None:
    """At a terminal `custody login` finishes the enrolment itself; the README's `custody enrol`
    (the step for scripts) then says so instead of failing. With no login at all it fails."""
    done = terminal.ok(terminal.desks.officer, "enrol")
    assert (
        f"Nothing to enrol: this machine is signed in as {terminal.desks.officer.member.email}"
        in done.out
    )
    fresh = terminal.run(tmp_path / "fresh-machine", "enrol")
    assert fresh.code == 3
    assert "no enrolment in progress" in fresh.err


def test_case_list_and_show_name_the_transfers(terminal: Terminal, tmp_path: Path) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    exhibit = tmp_path / "exhibit.txt"
    exhibit.write_bytes(b"exhibit JD/1")
    sent = terminal.ok(officer, "send", exhibit, "--case", urn, "--to", CPS, "--json").json()

    quiet = new_urn()  # opened, nothing sent yet: the officer's, nobody else's
    opened = terminal.ok(officer, "case", "create", quiet, "--json").json()

    for who, sent_count, received_count in ((officer, 1, 0), (prosecutor, 0, 1)):
        [row] = [c for c in terminal.ok(who, "case", "list", "--json").json() if c["urn"] == urn]
        assert row["transfers"] == [sent["id"]]
        assert (row["sent"], row["received"], row["items"]) == (sent_count, received_count, 1)
        assert row["org"] == officer.member.org  # the police's case, as the prosecutor sees it
    cases = terminal.ok(officer, "case", "list", "--json").json()
    [empty] = [c for c in cases if c["urn"] == quiet]
    assert (empty["id"], empty["transfers"], empty["items"]) == (opened["id"], [], 0)
    assert empty["latest_at"] == empty["opened_at"]
    assert quiet not in {c["urn"] for c in terminal.ok(prosecutor, "case", "list", "--json").json()}
    outsider = terminal.desks.outsider.home
    assert urn not in {c["urn"] for c in terminal.ok(outsider, "case", "list", "--json").json()}
    listed = terminal.ok(prosecutor, "case", "list").out
    assert re.search(rf"^{urn}\s+0\s+1\s+1\s.*{officer.member.org}$", listed, re.M), listed

    shown = terminal.ok(prosecutor, "case", "show", urn, "--json").json()
    assert shown["urn"] == urn
    assert [t["id"] for t in shown["transfers"]] == [sent["id"]]
    text = terminal.ok(prosecutor, "case", "show", urn).out
    assert sent["id"] in text
    assert f"item {sent['items'][0]['id']}  12 B  " in text  # the plaintext's size
    assert re.search(rf"^{sent['id']} .* 1 item\(s\), 12 B  due", text, re.M), text
    assert f"from {officer.member.email}" in text
    assert terminal.run(terminal.desks.outsider.home, "case", "show", urn).code == 5


def test_incident_list_names_the_incidents_told_of(terminal: Terminal, tmp_path: Path) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    exhibit = tmp_path / "exhibit.txt"
    exhibit.write_bytes(b"exhibit JD/2")
    sent = terminal.ok(officer, "send", exhibit, "--case", urn, "--to", CPS, "--json").json()
    assert terminal.ok(prosecutor, "incident", "list", "--json").json() == []
    opened = terminal.ok(
        officer, "incident", "open", sent["id"], "--reason", "disc lost", "--json"
    ).json()
    [listed] = terminal.ok(prosecutor, "incident", "list", "--json").json()
    assert listed["id"] == opened["id"]
    assert listed["transfer"] == sent["id"]
    text = terminal.ok(prosecutor, "incident", "list").out
    assert re.search(rf"^{opened['id']}\s+OPEN\s+case {urn}", text, re.M), text
    # Another organisation's officer reads none of it.
    outsider = terminal.desks.outsider.home
    theirs = terminal.ok(outsider, "incident", "list", "--json").json()
    assert opened["id"] not in {i["id"] for i in theirs}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_script(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "_CUSTODY_COMPLETE" in script
    assert f"{shell}_complete" in script


def test_completion_completes_commands_and_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_CUSTODY_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "custody incident l")
    monkeypatch.setenv("COMP_CWORD", "2")
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 0
    assert capsys.readouterr().out.split() == ["plain,list"]


TREE = command_tree(cli)


def test_every_command_has_an_example_and_nothing_else_does() -> None:
    assert set(help_text.HELP) == set(TREE)


@pytest.mark.parametrize("path", sorted(TREE))
def test_help_ends_with_a_real_example_and_the_environment(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    example, env = help_text.HELP[path]
    # `eval "$(custody completion bash)"`: the command inside the substitution.
    inner = re.sub(r'"\$\((.*?)\)"', r"\1", example.split("|")[0])
    words = shlex.split(inner.replace("$(", "").replace(")", ""))
    words = words[words.index("custody") + 1 :]
    assert " ".join(words[: len(path.split())]) == path, example
    options = {opt for param in TREE[path].params for opt in param.opts}
    used = {w.split("=")[0] for w in words if w.startswith("--")}
    assert used <= options, f"{example}: {used - options}"

    assert main([*path.split(), "--help"]) == 0
    shown = capsys.readouterr().out
    assert f"Example:\n    {example}" in shown
    for variable in env:
        assert variable in shown


def test_docs_list_every_variable_a_command_reads() -> None:
    doc = (REPO_ROOT / "docs" / "cli.md").read_text()
    table = doc.split("## Environment variables")[1].split("\n## ")[0]
    named = {v for _, env in help_text.HELP.values() for v in env if re.fullmatch(r"[A-Z_]+", v)}
    documented = set(re.findall(r"^\| `(CUSTODY_[A-Z_]+)`", table, re.M))
    assert named - {"CUSTODY_DATA_DIR"} <= documented
