"""`python -m jazzgen.generate`: kept as the command's name; the command is ``jazzgen.commands.generate``."""
import sys

from jazzgen.commands.generate import main

if __name__ == "__main__":
    sys.exit(main())
