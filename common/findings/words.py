"""The English the findings share: lists, ranges, signed differences."""

from __future__ import annotations

import pandas as pd


def value_range(values: pd.Series, spec: str, prefix: str = "", sep: str = " to ") -> str:
    """"-4.3 to +1.3" over ``values`` in the format ``spec`` (each after ``prefix``, the two joined
    by ``sep``), or the one value when they agree."""
    low, high = (prefix + format(v, spec) for v in (values.min(), values.max()))
    return low if low == high else f"{low}{sep}{high}"


def listed(parts: list[str]) -> str:
    """"a, b and c"."""
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def higher(points: float) -> str:
    """"0.34 points higher than", "0.20 points lower than" or "level with" (no verdict: the
    words of a difference without an interval)."""
    if abs(points) < 0.005:
        return "level with"
    return f"{abs(points):.2f} points {'higher than' if points > 0 else 'lower than'}"


def std_suffix(std: float) -> str:
    """" ± 0.12", or "" with one seed (no spread)."""
    return f" ± {std:.2f}" if std == std else ""
