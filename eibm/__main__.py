"""`python -m eibm`: the command line, as the `eibm` command runs it."""

import sys

from eibm.launcher import main

sys.exit(main())
