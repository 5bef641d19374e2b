"""``python -m custody`` is the ``custody`` command."""

import sys

from custody.cli.main import main

sys.exit(main())
