"""``python -m pushd``."""

import sys

from pushd.cli import main

sys.exit(main())
