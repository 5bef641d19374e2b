"""The composition root: settings → service context → the app.

One place wires custody together (``build_context``, ``create_app``); ``custody serve``,
the operator's ``custody admin`` commands, the demo and the tests all use it, so none
of them assembles the server a second way.
"""

from custody.server.app import create_app
from custody.server.context import build_context, load_log_signer, operator_context

__all__ = ["build_context", "create_app", "load_log_signer", "operator_context"]
