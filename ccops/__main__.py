"""``python -m ccops`` is the same as the ``ccops`` command."""

import sys

from ccops.cli import main

sys.exit(main())
