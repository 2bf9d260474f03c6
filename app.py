"""Runs the Tortoise Studio web UI: `python app.py [--listen HOST:PORT] [--auth USER:PASS] [--share] [--workspace DIR]`.

The same as `tortoise-studio ui`.
"""

import sys

from tortoise_studio.cli import main

if __name__ == "__main__":
    sys.exit(main(["ui", *sys.argv[1:]]))
