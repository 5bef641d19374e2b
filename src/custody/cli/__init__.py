"""The ``custody`` command: one module per command group, errors rendered in one place."""
