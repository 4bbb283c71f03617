"""`python -m jazzgen.ingest`: kept as the command's name; the command is ``jazzgen.commands.ingest``."""
import sys

from jazzgen.commands.ingest import main

if __name__ == "__main__":
    sys.exit(main())
