"""A witness anyone can run (``custody witness``): C2SP tlog-witness over HTTP, cosigning the
checkpoints of the logs it follows after checking their consistency. It has its own key and
its own small database, and nothing of a custody server: no accounts, no case material.
See docs/ledger.md.
"""
