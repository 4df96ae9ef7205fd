"""``python -m embedzoo`` is the ``embedzoo`` command."""

import sys

from embedzoo.cli import main

if __name__ == "__main__":
    sys.exit(main())
