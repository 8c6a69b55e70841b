"""The generated blocks of README.md (the findings) and results/README.md (every run, the tables
over seeds, the selection tables): written between marker comments from ``results/``, so neither
page ever disagrees with the committed runs.

    python -m common.readme          # rewrite the blocks (``make report`` does this too)
    python -m common.readme --check  # exit 1 if any block is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import seeds
from .findings import answer_at_a_glance, findings, findings_markdown
from .flops import RESNET20_MACS
from .lengths import length
from .names import run_label
from .paths import REPO_ROOT, RESULTS_DIR, portable
from .runs import RunFileError, list_finished_runs, trained_on
from .selection import load_proxies, select_headline, proxy_frontier
from .verdicts import load_overview

README = REPO_ROOT / "README.md"
RESULTS_README = RESULTS_DIR / "README.md"
SELECTION_DIR = RESULTS_DIR / "recipe_selection"


def _marker(name: str, end: bool = False) -> str:
    return f"<!-- {name}:{'end' if end else 'start'} -->"


TABLE_START, TABLE_END = _marker("results-table"), _marker("results-table", end=True)


def results_table(results_dir: Path = RESULTS_DIR) -> str:
    """Markdown table of every finished run under ``results_dir`` (one row per metrics.json)."""
    rows = []
    for _, m in list_finished_runs(results_dir):
        macs = m.get("avg_executed_macs", m["macs"])
        rows.append(f"| {run_label(m['model'], m.get('model_kwargs'))} | {m['params']:,} | "
                    f"{macs / 1e6:.2f}M | {m['train_acc']:.2f} | {m['test_acc']:.2f} | "
                    f"{m['profile']} | {m['epochs']} | {m['seed']} | {m['data_source']['name']} | "
                    f"{m['train_seconds'] / 3600:.2f} h, {trained_on(m)} | `{m['run']}` |")
    header = ("| model | params | MACs (avg executed) | train acc (%) | test acc (%) | profile | "
              "epochs | seed | data | training time | run |\n"
              "|---|---:|---:|---:|---:|---|---:|---:|---|---|---|")
    body = "\n".join(rows) if rows else "| *no finished runs yet* |||||||||||"
    return f"{header}\n{body}"


def selection_table(selection_dir: Path = SELECTION_DIR) -> str:
    """Markdown table of the hold-out runs that chose the training recipe; best marked.

    These runs train on part of the training set and are scored on the held-out rest; they
    never evaluate on the test set.
    """
    runs = list_finished_runs(selection_dir)
    if not runs:
        return "*no hold-out runs yet*"
    best = max(m["val_acc"] for _, m in runs)
    rows = [f"| {c['lr']} | {c['label_smoothing']} | {c['epochs']} | {m['train_size']:,} | "
            f"{c['holdout']:,} | {'**' if m['val_acc'] == best else ''}{m['val_acc']:.2f}"
            f"{'** (chosen)' if m['val_acc'] == best else ''} | `{m['run']}` |"
            for c, m in sorted(runs, key=lambda r: (r[0]["lr"], r[0]["label_smoothing"]))]
    header = ("| peak lr | label smoothing | epochs | training images | held-out images | "
              "held-out acc (%) | run |\n|---:|---:|---:|---:|---:|---:|---|")
    return header + "\n" + "\n".join(rows)




def gating_calibration_table(calibration_dir: Path = SELECTION_DIR / "gating") -> str:
    """Markdown table of the hold-out runs that calibrated the gated model's L0 weight.

    Like the recipe selection, they are scored on a training-set hold-out only: held-out
    accuracy and the average MACs executed on the held-out images, as a share of ResNet-20's.
    """
    runs = list_finished_runs(calibration_dir)
    if not runs:
        return "*no calibration runs yet*"
    rows = [f"| {c['model_kwargs'].get('l0_weight')} | {c['epochs']} | {m['train_size']:,} | "
            f"{c['holdout']:,} | {m['val_acc']:.2f} | {m['avg_executed_macs'] / 1e6:.2f}M | "
            f"{100 * m['avg_executed_macs'] / RESNET20_MACS:.0f}% | `{m['run']}` |"
            for c, m in sorted(runs, key=lambda r: r[0]["model_kwargs"].get("l0_weight", 0))]
    header = ("| L0 weight | epochs | training images | held-out images | held-out acc (%) | "
              "avg executed MACs | of ResNet-20 | run |\n|---:|---:|---:|---:|---:|---:|---:|---|")
    return header + "\n" + "\n".join(rows)


def conditional_proxy_table(selection_dir: Path = SELECTION_DIR) -> str:
    """Markdown tables of the selection rule's hold-out proxies: the static frontier, then every gated
    variant with its margin over that frontier and the selection rule's verdict
    (``common.selection``)."""
    static = proxy_frontier(selection_dir)
    lines = ["| static proxy | held-out acc (%) | MACs | of ResNet-20 | run |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| {run_label(r.model, r.kwargs)} | {r.acc:.2f} | {r.macs / 1e6:.2f}M | "
              f"{100 * r.macs / RESNET20_MACS:.1f}% | `{r.run}` |" for r in static.itertuples()]
    gated = load_proxies(selection_dir / "conditional")
    if gated.empty:
        return "\n".join(lines + ["", "*no gated proxies finished yet*"])
    table = select_headline(gated, static)
    lines += ["", "| gated proxy | held-out acc (%) | avg executed MACs | of ResNet-20 | live gates "
              "conditional | MACs spread | static frontier there (%) | margin (points) | "
              "qualifies | run |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in table.itertuples():
        verdict = ("yes" if r.qualifies else "no") + (" (**headline**)" if r.headline else "")
        # No extrapolation: below the thinnest static proxy there is no frontier to compare with.
        frontier, margin = (("outside the static proxies", "–") if r.frontier_acc != r.frontier_acc
                            else (f"{r.frontier_acc:.2f}", f"{r.margin:+.2f}"))
        lines.append(f"| {run_label(r.model, r.kwargs)} | {r.acc:.2f} | {r.macs / 1e6:.2f}M | "
                     f"{100 * r.macs / RESNET20_MACS:.1f}% | {100 * r.live_conditional:.0f}% | "
                     f"{100 * r.macs_cv:.1f}% | {frontier} | {margin} | {verdict} | `{r.run}` |")
    return "\n".join(lines)


def seeds_table(results_dir: Path = RESULTS_DIR, profiles=("full", "paper")) -> str:
    """Markdown table of every model over its seeds (``common.seeds.overview``), one per training
    length, each under its length."""
    parts = []
    for profile in profiles:
        over = load_overview(results_dir, profile)[1]
        parts.append(f"**{length(profile)}**\n\n"
                     + (seeds.overview_markdown(over, RESNET20_MACS) if not over.empty else "*no finished runs yet*"))
    return "\n\n".join(parts)


def readme_sections(results_dir: Path = RESULTS_DIR) -> dict[Path, dict[str, str]]:
    """The generated sections of each page, by marker name."""
    return {README: {"answer": answer_at_a_glance(results_dir),
                     "findings": findings_markdown(findings(results_dir), "figures/full")},
            RESULTS_README: {
                "seeds-table": seeds_table(results_dir),
                "results-table": results_table(results_dir),
                "recipe-selection": selection_table(results_dir / "recipe_selection"),
                "gating-calibration": gating_calibration_table(
                    results_dir / "recipe_selection" / "gating"),
                "conditional-proxies": conditional_proxy_table(results_dir / "recipe_selection")}}


def readme_with_sections(readme: str, sections: dict[str, str]) -> str:
    """``readme`` with the text between each section's start and end markers replaced."""
    for name, content in sections.items():
        start, end = _marker(name), _marker(name, end=True)
        if start not in readme or end not in readme:
            raise ValueError(f"README lacks the markers {start} ... {end}")
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{start}\n{content}\n{end}{tail}"
    return readme


def stale_pages(results_dir: Path = RESULTS_DIR) -> dict[Path, str]:
    """The pages whose generated blocks differ from ``results/``, with their up-to-date text."""
    pages = {}
    for page, sections in readme_sections(results_dir).items():
        new = readme_with_sections(page.read_text(), sections)
        if new != page.read_text():
            pages[page] = new
    return pages


def update_readme(results_dir: Path = RESULTS_DIR) -> list[Path]:
    """Regenerate the pages' blocks from ``results/``; the pages that changed."""
    stale = stale_pages(results_dir)
    for page, text in stale.items():
        page.write_text(text)
    return list(stale)


def main(argv=None) -> None:
    """The command line; a run file that cannot be read stops it with one line (exit 1) naming
    the file and the fix, before any page is written."""
    parser = argparse.ArgumentParser(description="Regenerate the README's blocks from results/.")
    parser.add_argument("--check", action="store_true", help="only say whether a block is stale")
    args = parser.parse_args(argv)
    try:
        changed = list(stale_pages()) if args.check else update_readme()
    except RunFileError as err:
        sys.exit(f"error: {err}")
    if args.check:
        print(f"stale: {', '.join(portable(p) for p in changed)}; run `python -m common.readme`"
              if changed else "up to date")
        sys.exit(1 if changed else 0)
    print(f"updated {', '.join(portable(p) for p in changed)}" if changed else "up to date")


if __name__ == "__main__":
    main()
