"""``python -m pushd``."""

import sys

from pushd.probe import main

sys.exit(main())
