"""``python -m tests.vectors``: regenerate or check the vectors, or publish the shipped maps."""

import sys

from tests.vectors import main

sys.exit(main(sys.argv[1:]))
