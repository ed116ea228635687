"""`python -m bench`: run the benchmarks and write docs/performance.md."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.rows import Row
from bench.runner import GROUPS, run
from bench.scale import FULL, SMOKE

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny counts, seconds instead of minutes (what CI runs)")
    parser.add_argument("--output", type=Path,
                        help=f"where to write the table (default {DEFAULT_OUTPUT}; "
                        "with --smoke or --only, nowhere unless given)")
    parser.add_argument("--only", action="append", choices=GROUPS,
                        help="run only these benchmark groups (repeatable)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record py-spy profiles of the emulator into DIR")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR and keep the emulators' data and logs there")
    arguments = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # bench/filter_scale.py runs emulators in this process; their calls are not news.
    logging.getLogger("emulator").setLevel(logging.WARNING)
    scale = SMOKE if arguments.smoke else FULL
    partial = arguments.smoke or arguments.only
    output = arguments.output or (None if partial else DEFAULT_OUTPUT)
    rows = run(scale, output, tuple(arguments.only or GROUPS), arguments.profile, arguments.keep)
    print(table(rows))
    if output is not None:
        print(f"\nwritten to {output}")
    return 0


def table(rows: list[Row]) -> str:
    return "\n".join(
        f"{r.what}\n    ours {r.ours} | baseline {r.baseline} | {r.comparison} | "
        f"goal {r.goal} | {r.verdict}"
        for r in rows
    )


if __name__ == "__main__":
    sys.exit(main())
