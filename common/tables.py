"""Tables of the report: every table is saved as CSV (for tools) and Markdown (for readers)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import pandas as pd


def counted(n: int, noun: str) -> str:
    """"1 seed", "3 seeds": a count with its noun in the right number."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def to_markdown(table: pd.DataFrame, digits: int = 2, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table; floats rounded to ``digits``, numbers right-aligned."""
    frame = table.reset_index() if index else table.reset_index(drop=True)
    if index and frame.columns[0] == "index":
        frame = frame.rename(columns={"index": ""})

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:,.{digits}f}" if abs(value) < 1e4 or value != value else f"{value:,.0f}"
        return str(value).replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False, name=None)]
    return "\n".join([header, rule, *rows])


def save_table(table: pd.DataFrame, name: str, tables_dir: str | Path, digits: int = 2,
               index: bool = True) -> list[Path]:
    """Write ``<tables_dir>/<name>.csv`` and ``.md``; return the two paths."""
    tables_dir = Path(tables_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = tables_dir / f"{name}.csv", tables_dir / f"{name}.md"
    table.round(4).to_csv(csv_path, index=index)
    md_path.write_text(to_markdown(table, digits, index) + "\n")
    return [csv_path, md_path]


def cached_table(name: str, key: dict, compute: Callable[[], pd.DataFrame],
                 cache_dir: str | Path, recompute: bool = False) -> pd.DataFrame:
    """The table ``compute()`` returns, stored as ``<cache_dir>/<name>-<hash of key>.csv``.

    For expensive results derived from finished runs (e.g. an attack sweep): ``key`` holds
    everything that determines the table (run names, parameters, data fingerprint); a later
    call with the same key reads the CSV instead of recomputing. The key is saved beside it.
    """
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{name}-{digest}.csv"
    if path.exists() and not recompute:
        return pd.read_csv(path, index_col=0)
    table = compute()
    cache_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(path)
    path.with_suffix(".json").write_text(json.dumps(key, indent=2, sort_keys=True, default=str))
    return table
