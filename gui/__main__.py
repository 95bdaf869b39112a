"""``python -m gui`` opens the Foveal window."""

import sys

from gui.app import main

sys.exit(main())
