"""The English the findings share: lists and ranges."""

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

