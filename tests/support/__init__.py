"""What the tests build on, loaded as a pytest plugin (``pytest_plugins`` in tests/conftest.py).

One way to build a world (:mod:`support.world`): a fresh database with organisations and
people made through the services, on which a test then works at the layer it is about:

- the services themselves (``World``, ``Cast``: actors and the context);
- the app in process (:mod:`support.in_process`: ``create_app`` and a TestClient;
  :mod:`support.browser` for the web pages; :mod:`support.client` for ``custody.client``
  on people's machines, over the TestClient's transport);
- a real ``custody serve`` (:mod:`support.server`), shared by the integration tests, one per
  backend, with people driving the real CLI (:mod:`support.cli`).

Also: fresh databases (:mod:`support.databases`), real SMTP and webhook receivers
(:mod:`support.mail`), a hostile proxy and forged logs (:mod:`support.hostile`), the
bundle tests' world (:mod:`support.bundles`) and where the shared vectors are
(:mod:`support.paths`). The fixtures are in :mod:`support.plugin`; tests import helpers
by name (``from support.server import new_case``), never from a conftest.
"""
