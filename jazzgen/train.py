"""`python -m jazzgen.train`: kept as the command's name; the command is ``jazzgen.commands.train``."""
import sys

from jazzgen.commands.train import main

if __name__ == "__main__":
    sys.exit(main())
