import sys

from a2a_bridge.cli import main

sys.exit(main())
