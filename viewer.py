#!/usr/bin/env python3
"""Live avatar preview: ``python viewer.py [--model SPEC] [--checkpoint CKPT] [--seed S]``.

``--web [--port P]`` serves the same controls as a web page; ``--screenshot PATH [--params FILE]``
writes a PNG without a display. See docs/VIEWER.md.
"""

import sys

from mesh_avatar.viewer.app import main

if __name__ == "__main__":
    sys.exit(main())
