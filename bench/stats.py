"""Summary statistics shared by the benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float], unit: str, digits: int = 3) -> dict[str, float]:
    """count, p50, p95, p99, mean, min and max of `values`, keys suffixed with `_unit`."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        f"p50_{unit}": round(percentile(values, 50), digits),
        f"p95_{unit}": round(percentile(values, 95), digits),
        f"p99_{unit}": round(percentile(values, 99), digits),
        f"mean_{unit}": round(statistics.fmean(values), digits),
        f"min_{unit}": round(min(values), digits),
        f"max_{unit}": round(max(values), digits),
    }


def summary_ms(seconds: Sequence[float], digits: int = 3) -> dict[str, float]:
    return summary([s * 1000 for s in seconds], "ms", digits)
