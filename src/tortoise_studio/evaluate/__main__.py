"""`python -m tortoise_studio.evaluate RUN_DIR [--follow | --checkpoint STEP|all|best] [--set evaluation.KEY=VALUE ...]`."""

from __future__ import annotations

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
