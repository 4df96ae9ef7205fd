"""``python -m embedzoo`` is the ``embedzoo`` command."""

import sys

from embedzoo.cli import main

sys.exit(main())
