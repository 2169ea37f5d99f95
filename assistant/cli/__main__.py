"""``python -m assistant.cli``: the same as the ``briefing`` command."""

import sys

from assistant.cli import main

sys.exit(main())
