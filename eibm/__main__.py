"""`python -m eibm`: the command line."""

import sys

from eibm.cli import main

sys.exit(main())
