"""Entry point of the packaged application: the same `tinyopt` command as the pip install."""

import multiprocessing
import sys

from tinyopt.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
