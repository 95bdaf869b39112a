"""``python -m core.cli``: the ``foveal`` command line."""

import sys

from core.cli.main import main

sys.exit(main())
