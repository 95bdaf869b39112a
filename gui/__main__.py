"""``python -m foveal.gui`` opens the Foveal window."""

import sys

from foveal.gui.app import main

sys.exit(main())
