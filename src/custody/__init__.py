"""custody: end-to-end encrypted transfer of case material, with a custody ledger.

Layers, each calling only downwards::

    cli, api            adapters: parse input, call a service or the server, render output
    client              the HTTP client the CLI and the demo drive the server with
    services            use cases; own the transaction; append the ledger entry with the change
    domain              entities, the transfer state machine, policies (pure)
    crypto | ledger     pure libraries with their own vectors
    store               database (SQLAlchemy + Alembic) and blob stores
"""

__version__ = "0.1.0"
