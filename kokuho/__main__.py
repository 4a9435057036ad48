import sys

from kokuho.cli import main

sys.exit(main())
