"""`python -m jazzgen COMMAND`: the same as the ``jazzgen`` command (``jazzgen.commands.cli.main``)."""
import sys

from jazzgen.commands.cli import main

if __name__ == "__main__":
    sys.exit(main())
