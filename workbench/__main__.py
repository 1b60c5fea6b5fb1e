"""``python -m workbench`` is the ``workbench`` command (also under ``accelerate launch``)."""

import sys

from workbench.cli.main import main

sys.exit(main())
