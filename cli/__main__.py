"""`python -m cli ...`: the headless commands, as `tinyopt <command>` runs them."""

import sys

from cli.commands import main

sys.exit(main())
