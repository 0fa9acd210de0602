import sys

from joinstall.cli import main

sys.exit(main())
