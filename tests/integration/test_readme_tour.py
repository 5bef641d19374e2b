"""The README's tour runs as written (issue 16): every ```sh block under "A tour of the CLI",
in order, in one bash, against the real ``custody serve`` the tour itself starts, so the
README cannot drift from what the CLI does.

It runs where a person would paste it: in the repository, after the README's first command
(``bash scripts/demo.sh``, which made ``.venv``). What a fresh machine and a person at the
keyboard provide, the test provides, and nothing else is changed:

- ``HOME`` is an empty folder (the tour works under ``~``), and no ``CUSTODY_*`` variable
  of the test's own environment is passed on;
- ``CUSTODY_PASSWORD`` and ``CUSTODY_PASSPHRASE`` are set: what a person types at the
  password and passphrase prompts (the README says scripts set them);
- each ``custody enrol`` line runs with ``CUSTODY_TOTP_CODE`` set to the code an
  authenticator app shows for the secret the ``custody login`` before it printed;
- the port 8443 is replaced by a free one (other servers may run on this machine), and the
  line that starts ``custody serve`` in the background is followed by a wait until it
  answers ``/healthz`` (a person types slower than a server starts);
- the script starts with ``set -euo pipefail``, so any failing command fails the test, and
  stops whatever it left running when it ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

TOUR_HEADING = "\n## A tour of the CLI\n"
PASSWORD = "correct horse battery staple 16"  # noqa: S105 - what the tour's people type
PASSPHRASE = "a passphrase for the tour's keys"  # noqa: S105 - the same, for their keys

_PREAMBLE = """\
set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
tour_wait_for_server() {{
    {python} - <<'PY'
import time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen("http://127.0.0.1:{port}/healthz", timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("the tour's server did not answer /healthz")
PY
}}
tour_authenticator() {{
    {python} -c 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())' \\
        "$(grep -o 'secret: [A-Z2-7]*' {log} | tail -n 1 | cut -d' ' -f2)"
}}
"""


def tour_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's tour section, in order."""
    start = readme.index(TOUR_HEADING)
    end = readme.find("\n## ", start + len(TOUR_HEADING))
    section = readme[start : end if end != -1 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S)


def as_run(blocks: list[str], port: int) -> str:
    """The tour as the test runs it: the blocks joined, with the substitutions listed above."""
    lines = []
    for written in "\n".join(blocks).replace("8443", str(port)).splitlines():
        line = written
        if written.startswith("custody enrol"):
            line = f'CUSTODY_TOTP_CODE="$(tour_authenticator)" {written}'
        lines.append(line)
        if written.startswith("custody serve ") and written.split("#")[0].rstrip().endswith("&"):
            lines.append("tour_wait_for_server")
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_tour_is_the_readmes_sh_blocks_under_its_heading() -> None:
    blocks = tour_blocks((REPO_ROOT / "README.md").read_text())
    assert blocks[0].startswith(". .venv/bin/activate")  # the virtualenv, explained
    run = as_run(blocks, 1234)
    # The flow the issue asks of it: enrol shown, the prosecutor's keys made before the
    # officer sends, counsel's account made (and keys) before the share names it.
    order = [
        "custody admin init",
        "a.patel@cps.example --org",
        "counsel@chambers.example --org",
        "custody serve",
        "tour_wait_for_server",
        "--email a.patel@cps.example",
        "custody keys init",
        "custody send interview.mp4",
        "--email counsel@chambers.example",
        "custody share",
    ]
    positions = [run.index(marker) for marker in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert run.count('CUSTODY_TOTP_CODE="$(tour_authenticator)" custody enrol') == 3
    assert "8443" not in run
    assert ":1234" in run


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    if not (REPO_ROOT / ".venv" / "bin" / "custody").exists():
        pytest.fail("the README's first command makes .venv: run `bash scripts/demo.sh` first")
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "tour.log"
    port = _free_port()
    blocks = tour_blocks((REPO_ROOT / "README.md").read_text())
    script = tmp_path / "tour.sh"
    script.write_text(
        _PREAMBLE.format(python=sys.executable, port=port, log=log) + as_run(blocks, port)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env |= {"HOME": str(home), "CUSTODY_PASSWORD": PASSWORD, "CUSTODY_PASSPHRASE": PASSPHRASE}
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(script)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=240)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the server, if the tour left it
    took = time.monotonic() - started
    told = log.read_text(errors="replace")
    assert code == 0, f"the tour failed (exit {code}) after {took:.0f} s:\n{told[-6000:]}"

    # What the tour says happened did: the prosecutor's copy is the officer's file, the
    # bundle verified offline, and the later steps each left their mark.
    tour = home / "custody-tour"
    sent = (tour / "interview.mp4").read_bytes()
    assert len(sent) == 8 * 1024 * 1024
    assert (tour / "case-47XX1234567" / "interview.mp4").read_bytes() == sent
    assert (tour / "case-47XX1234567" / "statement.pdf").read_bytes() == (
        tour / "statement.pdf"
    ).read_bytes()
    assert any(n.endswith(".json") for n in zipfile.ZipFile(tour / "evidence.zip").namelist())
    assert "Bundle evidence.zip: VERIFIED" in told
    assert re.search(r"✓ content matches item", told)
    # --names: the court reads people, told whose word it is.
    assert "Names: attested by the operator of" in told
    assert re.search(
        r"#\d+ .*a\.patel@cps\.example \(prosecutor, CPS Thames and Chiltern\) \[\S+\]", told
    )
    assert re.search(r"^Shared item \S+ with counsel@chambers.example", told, re.M)
    assert "Nothing to enrol" not in told  # each enrol finished a login's enrolment
    assert told.count("Second factor enrolled") == 3
    assert re.search(r"^Revoked transfer ", told, re.M)
    assert re.search(r"^Incident \S+ marked reported", told, re.M)
    assert re.search(r"Revoked: transfer ", told)  # the prosecutor's notices name both
    assert re.search(r"Incident \S+: case 47XX1234567", told)
    assert "Ledger OK" in told
