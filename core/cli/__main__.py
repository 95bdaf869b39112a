"""``python -m core.cli``: the ``foveal`` command line."""

import sys

from foveal.core.cli.main import main

sys.exit(main())
