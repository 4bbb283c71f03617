"""`python -m jazzgen.serve`: kept as the command's name; the command is ``jazzgen.commands.serve``."""
import sys

from jazzgen.commands.serve import main

if __name__ == "__main__":
    sys.exit(main())
