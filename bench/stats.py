"""Medians and percentiles of repeated measurements."""

from __future__ import annotations

import math
from typing import Sequence


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation between ranks."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    weight = position - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


def paired_ratio(ours: Sequence[float], baseline: Sequence[float]) -> float:
    """The median of round-by-round ratios.

    Each round measures ours right after its baseline, so a ratio within a
    round cancels the slow drifts of a shared machine's load.
    """
    return median([o / b for o, b in zip(ours, baseline, strict=True)])


def paired_difference(ours: Sequence[float], baseline: Sequence[float]) -> float:
    return median([o - b for o, b in zip(ours, baseline, strict=True)])
