"""The custody log, pure: entries, RFC 9162 Merkle proofs, C2SP signed notes and checkpoints.

Only the log: the entry format, tree hashing and proofs, checkpoints, tlog-proof
files, tlog-tiles, the item-heads map and replaying a stored log. Formats built
on it (the evidence bundle, :mod:`custody.bundle`) live outside. No I/O.
"""
