"""One line of the benchmark table: our figure, the baseline's, and the goal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    what: str
    ours: str
    baseline: str
    # "0.63x", "+0.42 s": how ours compares, in the goal's terms.
    comparison: str
    goal: str
    # None: the row only reports a figure and has no goal to meet.
    met: bool | None
    # Measured facts that explain the figure (latencies, sample counts).
    note: str = ""
    # The raw medians behind the row, for the smoke test and the details.
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "reported"
        return "yes" if self.met else "**no**"
