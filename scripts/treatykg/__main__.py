"""Allow ``python -m treatykg``."""

import sys

from treatykg.cli import main

sys.exit(main())
