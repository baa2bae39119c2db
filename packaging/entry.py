"""Entry point of the packaged application: the same `tinyopt` command as the pip install."""

import multiprocessing
import sys

from core.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
