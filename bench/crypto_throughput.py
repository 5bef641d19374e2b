"""Throughput of custody's age layer against pyrage and the ``age`` tool, in one run.

Encrypts a plaintext file of ``--size-mib`` MiB to /dev/null and decrypts an
age file of it to /dev/null with: our SealPlan / decrypt_stream, pyrage's
encrypt_io / decrypt_io, and ``age -e`` / ``age -d``. Inputs sit in a
temporary folder (page cache warm after the first pass). Prints MB/s (10^6
bytes per second), the ratios ours/age and ours/pyrage, and this process's peak RSS
(the age child's RSS is not reported: a forked child inherits ours).

    .venv/bin/python bench/crypto_throughput.py --size-mib 512
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyrage

from custody.crypto.age import Identity, SealPlan, decrypt_stream


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    age = shutil.which("age")
    identity = Identity.generate()
    recipient = identity.recipient.to_string()

    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "plain.bin"
        sealed = Path(folder) / "sealed.age"
        identity_file = Path(folder) / "id.txt"
        identity_file.write_text(identity.to_string() + "\n")
        with plain.open("wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(block)
        plan = SealPlan.create([identity.recipient])
        with plain.open("rb") as src, sealed.open("wb") as dst:
            for piece in plan.iter_ciphertext(src, size):
                dst.write(piece)

        def ours_encrypt() -> None:
            with plain.open("rb") as src, open(os.devnull, "wb") as dst:
                for piece in SealPlan.create([identity.recipient]).iter_ciphertext(src, size):
                    dst.write(piece)

        def ours_decrypt() -> None:
            with sealed.open("rb") as src, open(os.devnull, "wb") as dst:
                decrypt_stream(src, dst, [identity])

        rage_recipient = pyrage.x25519.Recipient.from_str(recipient)
        rage_identity = pyrage.x25519.Identity.from_str(identity.to_string())

        def rage_encrypt() -> None:
            with plain.open("rb") as src, open(os.devnull, "wb") as dst:
                pyrage.encrypt_io(src, dst, [rage_recipient])

        def rage_decrypt() -> None:
            with sealed.open("rb") as src, open(os.devnull, "wb") as dst:
                pyrage.decrypt_io(src, dst, [rage_identity])

        results: dict[str, float] = {}
        results["ours encrypt"] = _timed(ours_encrypt)
        results["ours decrypt"] = _timed(ours_decrypt)
        ours_rss = _peak_rss_mib(resource.RUSAGE_SELF)
        results["pyrage encrypt"] = _timed(rage_encrypt)
        results["pyrage decrypt"] = _timed(rage_decrypt)
        if age:
            results["age encrypt"] = _timed(
                lambda: subprocess.run(
                    [age, "-e", "-r", recipient, "-o", os.devnull, str(plain)], check=True
                )
            )
            results["age decrypt"] = _timed(
                lambda: subprocess.run(
                    [age, "-d", "-i", str(identity_file), "-o", os.devnull, str(sealed)],
                    check=True,
                )
            )

    rate = {name: size / seconds / 1e6 for name, seconds in results.items()}
    print(f"size: {args.size_mib} MiB")
    for name, value in rate.items():
        print(f"{name:16} {value:8.0f} MB/s  ({results[name]:.2f} s)")
    for op in ("encrypt", "decrypt"):
        for other in ("age", "pyrage"):
            if f"{other} {op}" in rate:
                ratio = rate[f"ours {op}"] / rate[f"{other} {op}"]
                print(f"ours/{other} {op}: {ratio:.2f}x")
    print(f"peak RSS, this process after our runs: {ours_rss:.0f} MiB")
    print(f"peak RSS, this process after pyrage:   {_peak_rss_mib(resource.RUSAGE_SELF):.0f} MiB")
    print(
        f"peak RSS, largest age child:           {_peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )


if __name__ == "__main__":
    main()
