"""The suite's fixtures and helpers are the ``support`` package (tests/support), loaded here as
a pytest plugin; tests import its helpers by name (``from support.server import ...``)."""

pytest_plugins = ["support.plugin"]
