"""``python -m authenticator_sim``."""

import sys

from authenticator_sim.cli import main

sys.exit(main())
