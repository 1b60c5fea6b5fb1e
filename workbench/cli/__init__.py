"""The ``workbench`` command line: one module per command.

==================  ==========================================================
``main``            the entry point: parser from every command, dispatch, exit codes
``common``          setting flags from the config fields, config from flags, open a run
``console``         progress bar, findings and the second Ctrl-C while a run trains
``models`` …        one module per command (``models``, ``datasets``, ``train``,
                    ``check``, ``eval``, ``predict``, ``export``, ``lab``, ``explain``,
                    ``sweep``),
                    each with ``add_parser(subparsers)`` and ``run(args)``
``causal_lm``       what ``eval``/``predict``/``explain``/``train`` print for a causal LM
==================  ==========================================================

Flags of ``train`` are derived from the config dataclasses (``--lr``, ``--batch-size``,
``--lora-r`` ...): one declaration per setting.
"""

from workbench.cli.common import config_from_args
from workbench.cli.main import build_parser, main

__all__ = ["build_parser", "config_from_args", "main"]
