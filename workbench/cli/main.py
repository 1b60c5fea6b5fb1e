"""The ``workbench`` entry point: parse, dispatch to the command's module, map errors to
exit codes.

Exit codes: 0 success (a run stopped with Ctrl-C included: it is tested and exported),
2 user error (one ``error: …`` line on stderr, no traceback), 1 internal error, 130
aborted by a second Ctrl-C."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from workbench.cli.common import ABORTED, Parser, UsageError
from workbench.errors import USER_ERRORS

#: The subcommands, in ``--help`` order; each is a module ``workbench.cli.<name>`` with
#: ``add_parser(subparsers)`` and ``run(args) -> exit code``.
COMMANDS = (
    "models",
    "datasets",
    "train",
    "check",
    "eval",
    "predict",
    "export",
    "lab",
    "explain",
    "sweep",
)


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"workbench.cli.{name}")


def build_parser() -> Parser:
    parser = Parser(prog="workbench", description="Fine-tune and understand pretrained models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        command_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:
            # argparse would blame the top-level parser; point at the subcommand's own help.
            raise UsageError(
                f"unrecognized arguments: {' '.join(extra)} (see workbench {args.command} --help)"
            )
        _quiet_libraries()  # after parsing: a usage error should not wait for transformers
        code = int(command_module(args.command).run(args) or 0)
    except USER_ERRORS as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if code == ABORTED and argv is None:  # this process is the `workbench` command
        # A run abandoned by a second Ctrl-C still has its worker thread inside torch;
        # finalizing the interpreter under it aborts the process (SIGABRT, "FATAL: exception
        # not rethrown"). Leave without finalizing: everything on disk is complete already.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _quiet_libraries() -> None:
    """Our progress bar and messages only: no per-load reports or bars from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


if __name__ == "__main__":
    sys.exit(main())
