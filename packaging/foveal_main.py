"""The bundle's entry point: the same ``foveal`` command as the installed console script."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program that starts child processes needs this first
    from foveal.core.cli import main

    sys.exit(main())
