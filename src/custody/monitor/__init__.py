"""A monitor anyone can run (``custody monitor``): it follows a custody log through its public
checkpoint and tlog-tiles entry bundles, checks everything the log commits to, and watches for
entries of interest. See docs/ledger.md.
"""
