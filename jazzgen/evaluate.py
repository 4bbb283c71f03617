"""`python -m jazzgen.evaluate`: kept as the command's name; the command is ``jazzgen.commands.evaluate``."""
import sys

from jazzgen.commands.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
