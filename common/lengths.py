"""The training-length comparison: the `paper` profile's models (200 epochs) beside the `full`
ones (30 epochs), for notebook 05's training-length section and the README's finding on it. Each
decisive comparison and each per-image analysis under both profiles, read by the rules of
``common.verdicts``, and whether its verdict is the same after the longer training; the training
curves; the published ResNet-20 on the data the runs trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd

from . import seeds
from .analysis import RATE_MATCHED, UNTRAINED, UNTRAINED_STATIC, control_partials, follows_split
from .config import PROFILES
from .literature import HE_RESNET20_ACC, RESNET20
from .manifest import (CONTROL_LABEL, DY_LABEL, HEADLINE_LABEL, KERNEL_SWEEP_LABELS, L0_SWEEP_LABELS, SEEDS,
                       parse_run, queue)
from .names import run_label
from .paths import PUBLISHED_CHECK, RESULTS_DIR
from .runs import CONFIG_FILE, HISTORY_FILE, METRICS_FILE, load_history, read_json
from .seeds import REFERENCE
from .tables import counted, to_markdown
from .verdicts import (QUESTION_COLUMNS, ROBUST_ACC, TEST_IMAGES, Finding, accuracy_text, against_constant,
                       binomial_differ, compared_with, cap_verdict, cap_words, energy_word, gates_per_image, learnt, learnt_by_seed, like_random, load_overview,
                       over_frontier, paired_by_seed, read_attention_controls, read_attention_seeds, read_energy,
                       read_gating_controls, read_gating_seeds,
                       read_input_dependence, read_mac_caps, read_robustness, same_cost, settled,
                       read_controls, untrained_twins, waiting, waits)


def paper_models() -> list[str]:
    """The labels of the models the ``paper`` profile trains (its queue in ``common.manifest``):
    ResNet-20 first, each model before its control."""
    labels = list(dict.fromkeys(run_label(*parse_run(run)) for run, _ in queue("paper")))
    order = [REFERENCE, DY_LABEL, HEADLINE_LABEL]
    return sorted(labels, key=lambda label: order.index(label) if label in order else len(order))


def reader_name(label: str) -> str:
    """A model's name in the training-length section: "headline gated model" for the headline's
    run label, which spells out its recipe."""
    return "headline gated model" if label == HEADLINE_LABEL else label


def in_prose(label: str) -> str:
    """A model's name inside a sentence: "the headline gated model", else its label."""
    return f"the {reader_name(label)}" if label == HEADLINE_LABEL else label


def length(profile: str) -> str:
    """A profile as the reader knows it: "30 epochs", "200 epochs"."""
    return f"{PROFILES[profile]['epochs']} epochs"


def other_profile(profile: str) -> str:
    """The other training length's profile: "paper" for "full", and "full" for any other."""
    return "paper" if profile == "full" else "full"


def profiles_side_by_side(results_dir: str | Path = RESULTS_DIR,
                          profiles=("full", "paper")) -> pd.DataFrame:
    """The ``paper`` profile's models under each profile: test accuracy (mean ± std, seeds),
    executed MACs, the paired difference against ResNet-20 and against the static network nearest
    in MACs (each within its profile); "pending" where a profile has no finished run of the model yet,
    "n/a" where it has no such comparison."""
    rows = {label: {} for label in paper_models()}
    for profile in profiles:
        _, over = load_overview(results_dir, profile)
        for label in rows:
            row = over.loc[label] if label in over.index else None
            at = length(profile)

            def cell(text):  # "pending": no finished run yet; "n/a": no such comparison
                return "pending" if row is None else "n/a" if text == "–" else text

            rows[label] |= {
                f"{at}: test acc (%)": cell(row is not None and accuracy_text(row)),
                f"{at}: MACs (M)": cell(row is not None and f"{row['macs'] / 1e6:.2f}"),
                f"{at}: Δ vs ResNet-20": cell(row is not None and seeds.signed(row, "delta")),
                f"{at}: Δ vs static nearest in MACs": cell(row is not None and seeds.signed(row, "nearest"))}
    table = pd.DataFrame(rows).T.rename_axis("model")
    return table.rename(index=reader_name)


# A dynamic model's margin (``seeds.overview``'s "margin" columns) in words.
FRONTIER_AT_OWN_MACS = "the static frontier at its own MACs (interpolated, seed by seed, between the static widths around them)"


SPLIT = " / "
# glance columns whose value can differ between the lengths, with the words the note names them by
SPLIT_COLUMNS = {"MACs (M)": "MACs", "compared with": "networks compared with"}
MACS_COLUMN, COMPARED_COLUMN = SPLIT_COLUMNS


def _joined(values: list[str]) -> str:
    """One value where the lengths agree, else each length's value: "10.19 / 9.09"."""
    return SPLIT.join(dict.fromkeys(values))


def overviews(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper")) -> dict[str, pd.DataFrame]:
    """Each profile's table over seeds (``verdicts.load_overview``), shortest training first."""
    return {profile: load_overview(results_dir, profile)[1] for profile in profiles}


def at_a_glance(tables: dict[str, pd.DataFrame], runs: Optional[dict[str, pd.DataFrame]] = None) -> pd.DataFrame:
    """The study's answer as one small table, from ``overviews``' ``tables``: each model of the
    ``paper`` profile at each length, its test accuracy and its paired difference against the network
    the study's question compares it with (``verdicts.compared_with``); ``glance_note`` says how to
    read it. ``runs`` (each profile's ``seed_table``) lets a one-seed difference say where the
    other network's run lies among its seeds."""
    table = {}
    for label in paper_models():
        rows = {profile: over.loc[label] if label in over.index else None for profile, over in tables.items()}
        prefix = QUESTION_COLUMNS.get(label, "delta")
        found = [row for row in rows.values() if row is not None]
        cells = {MACS_COLUMN: _joined([f"{row['macs'] / 1e6:.2f}" for row in found]) or "pending",
                 COMPARED_COLUMN: "–" if label == REFERENCE else _joined([compared_with(label, row)
                                                                          for row in found]) or "–"}
        for profile, row in rows.items():
            at = length(profile)
            cells[f"{at}: test acc (%)"] = "pending" if row is None else accuracy_text(row)
            cells[f"{at}: Δ (points) [95% CI]"] = ("–" if label == REFERENCE else "pending" if row is None
                                                   else _delta_cell(row, prefix, (runs or {}).get(profile)))
        table[reader_name(label)] = cells
    return pd.DataFrame(table).T.rename_axis("model")


def _delta_cell(row: pd.Series, prefix: str, runs: Optional[pd.DataFrame] = None) -> str:
    """A glance Δ: ``seeds.signed``'s text; for a one-seed difference of a model with that seed alone,
    the two accuracies it is taken between, "+0.08 (seed 0 only; 88.19% against ResNet-20's 88.11%)",
    since the accuracy column gives the other network's mean over its seeds, not that seed's, and
    where that run lies among the other network's seeds (``seeds.paired_rank`` of ``runs``)."""
    if row[f"{prefix}_n"] == 1 and row["n"] == 1:
        other = row["test_acc"] - row[f"{prefix}_mean"]
        name = compared_with(row.name, row)
        rank = seeds.paired_rank(runs, row.name, name) if runs is not None else ""
        return seeds.signed(row, prefix, f"{row['test_acc']:.2f}% against {name}'s {other:.2f}%"
                            + (f", {rank}" if rank else ""))
    return seeds.signed(row, prefix)


GLANCE_NOTE = ("Test accuracy on the JPEG copy's 10,000 test images, mean ± std over seeds. Δ: the difference from "
               "the network compared with, paired by seed, with its 95% interval (Student's t): an interval that "
               "includes 0 does not show a difference, and its upper end is the largest gain it allows; "
               "\"seed 0 only\": the two networks share one finished seed, so there is no interval, and the difference "
               "is between their runs of that seed, not between their means. MACs per image; a gated model's are "
               "those it executes, averaged over the test images.")


def glance_note(glance: pd.DataFrame) -> str:
    """``GLANCE_NOTE``, and which of ``glance``'s columns give each length's value ("30 epochs / 200
    epochs") because the lengths differ there."""
    split = [name for column, name in SPLIT_COLUMNS.items() if glance[column].str.contains(SPLIT).any()]
    both = SPLIT.join(length(profile) for profile in ("full", "paper"))
    return f"{GLANCE_NOTE} {' and '.join(split)} that differ between the lengths read \"{both}\"." if split else GLANCE_NOTE


def unequal_costs(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A sentence for each length (``overviews``' ``tables``) at which a model of the study's question
    (``QUESTION_COLUMNS``) is not at equal cost (``verdicts.same_cost``) with the network it is
    compared with."""
    said = []
    for profile, over in tables.items():
        for label in QUESTION_COLUMNS:
            control = compared_with(label, over.loc[label]) if label in over.index else None
            if control not in over.index:
                continue
            macs, other = over.loc[label, "macs"], over.loc[control, "macs"]
            if not same_cost(macs, other):
                row = over.loc[label]
                # the frontier interpolates a static network of the model's own cost where widths bracket it
                frontier = (f"; at equal cost, {in_prose(label)} is {seeds.signed_points(row, 'margin')} against "
                            f"{FRONTIER_AT_OWN_MACS}" if row["margin_n"] >= 1 else "")
                said.append(f"At {length(profile)} {control} ({other / 1e6:.2f}M MACs) costs "
                            f"{abs(other / macs - 1):.0%} {'more' if other > macs else 'less'} than "
                            f"{in_prose(label)} ({macs / 1e6:.2f}M): the Δ there is against a "
                            f"{'costlier' if other > macs else 'cheaper'} network{frontier}.")
    return said


def glance_markdown(results_dir: str | Path = RESULTS_DIR) -> str:
    """``at_a_glance`` as Markdown with the note that says how to read it and where the costs differ."""
    loaded = {profile: load_overview(results_dir, profile) for profile in ("full", "paper")}
    tables = {profile: over for profile, (_, over) in loaded.items()}
    glance = at_a_glance(tables, {profile: runs for profile, (runs, _) in loaded.items()})
    return " ".join([f"{to_markdown(glance)}\n\n{glance_note(glance)}", *unequal_costs(tables)])


def training_histories(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper"),
                       in_progress: bool = True) -> dict[str, dict[str, pd.DataFrame]]:
    """Per model of the ``paper`` profile (by ``reader_name``): the per-epoch history of each of
    its runs under ``profiles`` as {"<profile> seed <s>": history}; the runs still training too
    with ``in_progress`` (their folders are not committed, so a page that a clone must regenerate
    leaves them out)."""
    wanted = paper_models()
    found: dict[str, dict[str, pd.DataFrame]] = {label: {} for label in wanted}
    for profile in profiles:
        for config_path in sorted(Path(results_dir).glob(f"*-{profile}-seed*/{CONFIG_FILE}")):
            config = read_json(config_path)
            label = run_label(config["model"], config.get("model_kwargs") or {})
            finished = (config_path.parent / METRICS_FILE).exists()
            if (label in found and (config_path.parent / HISTORY_FILE).exists() and config.get("holdout", 0) == 0
                    and (finished or in_progress)):
                found[label][f"{profile} seed {config['seed']}"] = load_history(config_path.parent)
    return {reader_name(label): runs for label, runs in found.items()}


def profile_epochs(profiles=("full", "paper")) -> dict[str, int]:
    """Each profile's epochs, for the training curves' x-axes."""
    return {profile: PROFILES[profile]["epochs"] for profile in profiles}


def _verb(count: int, verb: str) -> str:
    """"1 keeps", "2 keep": a count and its verb."""
    return f"{count} {verb}{'s' if count == 1 else ''}"


def comparisons(table: pd.DataFrame) -> dict[str, dict]:
    """The study's decisive comparisons in one profile's ``seed_table``: ResNet-20 against He et
    al.'s accuracy, DY against ResNet-20 (test and training images), and the headline gated model
    against ResNet-20, against its static control (of equal MACs at the `full` profile) and over
    the static frontier at its own MACs."""
    dy = DY_LABEL
    headline, control = HEADLINE_LABEL, CONTROL_LABEL
    return {
        f"ResNet-20 (JPEG copy) against He et al.'s {HE_RESNET20_ACC:.2f}% (original images)":
            against_constant(table.loc[table["label"] == REFERENCE, "test_acc"], HE_RESNET20_ACC),
        f"{dy} against ResNet-20": paired_by_seed(table, dy, REFERENCE),
        f"{dy} against ResNet-20 on the training images": paired_by_seed(table, dy, REFERENCE, "train_acc"),
        "headline gated model against ResNet-20": paired_by_seed(table, headline, REFERENCE),
        f"headline gated model against {control} (its static control)": paired_by_seed(table, headline, control),
        "headline gated model over the static frontier at its MACs (static widths on both sides of them)":
            over_frontier(table, headline),
    }


SAME = f"same at {length('paper')}?"  # the last column of the training-length tables


def conclusions(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper")) -> pd.DataFrame:
    """Each decisive comparison (``comparisons``) under each profile: the difference in points
    (paired by seed, 95% interval), what the interval supports, and whether that verdict is the
    same at the longer training: "same", "changes: <a> → <b>", or "pending (<n> of <all> seeds compared …)"
    until both profiles have the study's seeds (``common.manifest.SEEDS``) of it. Then the
    comparisons that only the shortest profile trains (``_sweeps``)."""
    tables = {profile: load_overview(results_dir, profile) for profile in profiles}
    table = _conclusions({profile: found[0] for profile, found in tables.items()})
    shortest = tables[profiles[0]][1]
    if shortest.empty:
        return table
    return pd.concat([table, _sweeps(shortest, profiles)])


def _sweeps(over: pd.DataFrame, profiles) -> pd.DataFrame:
    """The conclusions over the sweeps (K, the uniform L0 weight), which the longer profiles do
    not train, in the columns of ``_conclusions``."""
    dy, uniform = KERNEL_SWEEP_LABELS, L0_SWEEP_LABELS
    longest = length(profiles[-1])
    groups = {"DY K = 2…5 against ResNet-20 (the sweep over K)": (dy, "delta", f"the sweep over K is not trained at {longest}"),
              "uniform-L0 gated models over the static frontier":
                  (uniform, "margin", f"they are not trained at {longest}")}
    rows = {}
    for name, (labels, prefix, why) in groups.items():
        found = over.reindex([label for label in labels if label in over.index])
        if found.empty:
            continue
        words = [seeds.verdict_word(row, prefix) for _, row in found.iterrows()]
        row = {f"{length(profiles[0])}: Δ (points) [95% CI]": "; ".join(
                   (f"{label.split(' ', 1)[-1]} " if len(found) > 1 else "") + seeds.signed(r, prefix)
                   for label, r in found.iterrows()),
               f"{length(profiles[0])}: verdict": ", ".join(dict.fromkeys(words))}
        row |= {f"{length(p)}: {c}": "–" for p in profiles[1:] for c in ("Δ (points) [95% CI]", "verdict")}
        row[SAME] = f"{length(profiles[0])} only ({why})"
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("comparison")


def _outcome(first: Optional[str], last: Optional[str], pending: str) -> str:
    """The last column of a training-length table: "same", "changes: a → b" or ``pending``
    ("pending (why)"); ``outcome_detail`` reads it back."""
    if first is None or last is None:
        return pending
    return "same" if first == last else f"changes: {first} → {last}"


def outcome_detail(cell: str) -> str:
    """What follows the kind in an ``_outcome`` cell: "a → b" of "changes: a → b", the reason of
    "pending (reason)"; "" for "same"."""
    if cell.startswith("changes: "):
        return cell.removeprefix("changes: ")
    return cell.removeprefix("pending (").removesuffix(")") if cell.startswith("pending (") else ""


def _conclusions(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``conclusions`` from each profile's ``seed_table`` (profiles in order, shortest first)."""
    profiles = list(tables)
    found = {profile: comparisons(table) for profile, table in tables.items()}
    rows = {}
    for name in found[profiles[0]]:
        row, words = {}, []
        for profile in profiles:
            values = found[profile][name]
            word = seeds.verdict_word(values, "d")
            row[f"{length(profile)}: Δ (points) [95% CI]"] = seeds.signed(values, "d") if values["d_n"] else "–"
            row[f"{length(profile)}: verdict"] = (word if settled(values["d_n"]) else waiting(values["d_n"])
                                                  if values["d_n"] else "–")
            words.append(word if settled(values["d_n"]) else None)
        seeds_done, outside = found[profiles[-1]][name]["d_n"], found[profiles[-1]][name].get("d_outside", 0)
        row[SAME] = _outcome(words[0], words[-1], f"pending ({seeds_done:.0f} of {len(SEEDS)} seeds compared "
                                                  f"at {length(profiles[-1])}" + (
            f"; {outside} finished {'seed lies' if outside == 1 else 'seeds lie'} {seeds.OUTSIDE_FRONTIER}"
            if outside else "") + ")")
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("comparison")


def _similarity_rows(table: Optional[pd.DataFrame], what: str, model: str,
                     by_seed: Optional[pd.DataFrame] = None) -> dict[str, tuple]:
    """A similarity-controls table's two conclusions: does ``what`` follow the vehicle/animal split
    beyond a static ResNet-20's features, and is that learnt (against the untrained ``model``)?
    The per-seed controls table ``by_seed``, with two or more seeds, adds on how many it is learnt."""
    found = read_controls(table)
    if found is None:
        return {}
    partial, random = found.partial, control_partials(table).get(UNTRAINED_STATIC)
    rows = {f"{what}: follows the vehicle/animal split?": (
        "partial correlation given ResNet-20's features (an untrained ResNet-20's features)",
        f"{partial:+.2f}" + (f" ({random:+.2f})" if random is not None else ""),
        ("follows, but so do random features" if like_random(table, partial) else "follows") if follows_split(partial)
        else "does not follow")}
    twins = untrained_twins(table)
    over_seeds = by_seed is not None and len(by_seed) > 1
    if twins:
        rows[f"{what}: learnt?"] = (
            f"partial correlation, trained against an untrained {model}"
            + (f" (and one {RATE_MATCHED})" if RATE_MATCHED in twins else "")
            + ("; the verdict is seed 0's, with the number of seeds on which it is learnt" if over_seeds else ""),
            f"trained {partial:+.2f}, untrained {twins[UNTRAINED]:+.2f}"
            + (f" ({twins[RATE_MATCHED]:+.2f})" if RATE_MATCHED in twins else "")
            + (f"; learnt on {len(learnt_by_seed(by_seed))} of {len(by_seed)} seeds" if over_seeds else ""),
            "learnt" if learnt(table, partial) else "not learnt")
    return rows


def analyses(results_dir: str | Path, profile: str) -> dict[str, tuple[str, str, str]]:
    """The per-image analyses' conclusions in one profile (seed 0 of each model; the attack on
    compute over every seed of the headline gated model attacked), from the tables
    notebooks 02-04 wrote: {question: (what is measured, its numbers, its conclusion in a word or
    two)}; a question whose table is missing is left out."""
    dy, headline = DY_LABEL, HEADLINE_LABEL
    rows = _similarity_rows(read_attention_controls(results_dir, profile), f"{dy} attention", dy,
                            read_attention_seeds(results_dir, profile))
    rows |= _similarity_rows(read_gating_controls(results_dir, profile), "gates' channel usage", "gated model",
                             read_gating_seeds(results_dir, profile))
    dependence = read_input_dependence(results_dir, profile)
    if dependence is not None and headline in dependence.index:
        d = dependence.loc[headline]
        per_image = gates_per_image(d)
        rows["gates: decide per image?"] = (
            "live gates conditional, per-image MACs spread (std / mean); seed 0",
            f"{d['live gates conditional (%)']:.0f}%, {d['MACs spread (%)']:.1f}%",
            "per image" if per_image else "not per image")
        costs = d["Δ frozen (points)"] < 0 and binomial_differ(d["test acc"], d["frozen-gate acc"], TEST_IMAGES)
        rows["gates: freezing them costs accuracy?"] = (
            "test accuracy with every gate frozen to its majority decision, minus as trained (points); seed 0",
            f"{d['Δ frozen (points)']:+.2f}", "costs accuracy" if costs else "no cost shown")
    robustness = read_robustness(results_dir, profile)
    if robustness is not None:
        eps, largest, most = robustness.eps, robustness.largest, robustness.most
        shown = robustness.strongest.reindex([REFERENCE, dy, headline])  # "–" for a model not attacked
        strongest = shown.dropna()
        if REFERENCE in strongest.index and robustness.paired is not None:
            differ = robustness.differ_words(strongest.index, reader_name)
            rows[f"attacks: models differ at ε = {eps:g}/255?"] = (
                f"accuracy (%) surviving every PGD variant image by image, {' / '.join(map(reader_name, shown.index))}; "
                f"{robustness.images} test images, seed 0; differences paired by image", " / ".join("–" if v != v else f"{v:.1f}" for v in shown),
                ", ".join(differ) if differ else "not distinguishable")
        rows[f"attacks: a model robust at ε = {largest:g}/255?"] = (
            "highest accuracy (%) under PGD of any model attacked", f"{most:.1f}",
            "some model robust" if most >= ROBUST_ACC else "no model robust")
    energy = read_energy(results_dir, profile)
    if energy is not None:
        gain, n_seeds = energy.ratio.mean(), len(energy.top)
        rows["energy attack: the headline gated model spends more?"] = (
            f"at ε = {energy.eps:g}/255: mean MACs attacked / clean (uniform noise), share of the saving taken back "
            f"(stealthy attack); mean over the seeds attacked",
            f"{gain:.2f}× (noise {energy.noise.mean():.3f}×), {energy.shares['energy'].mean():.1f}% "
            f"({energy.shares['stealthy'].mean():.1f}%), {counted(n_seeds, 'seed')}",
            f"spends {energy_word(gain)}")
    caps = read_mac_caps(results_dir, profile)
    if caps is not None and len(caps):
        gap = caps["capped − static"].dropna()
        if len(gap):
            rows["MAC cap: beats the static network costing the cap?"] = (
                "capped − static accuracy (points) over the caps, paired by seed with its 95% interval; the "
                "static network is read off each seed's frontier of the thin networks trained at that length",
                f"{gap.min():+.2f} to {gap.max():+.2f}" + _cap_counts(caps), cap_verdict(caps))
    return rows


def _cap_counts(caps: pd.DataFrame) -> str:
    """" (behind at 4 of 6 caps)" where the caps differ in their verdict and every cap has the
    study's seeds, so that a conclusion kept at both lengths ("static higher at some caps") still
    shows how many; else ""."""
    words = cap_words(caps[caps["capped − static"].notna()])
    if len(set(words)) < 2 or not all(word in ("behind", "ahead", "not distinguishable") for word in words):
        return ""  # one word for every cap: the conclusion says it
    ahead = words.count("ahead")
    return f" (behind at {words.count('behind')}{f', ahead at {ahead}' if ahead else ''} of {len(words)} caps)"


def analyses_by_length(results_dir: str | Path = RESULTS_DIR, profiles=("full", "paper")
                       ) -> pd.DataFrame:
    """Each per-image analysis (``analyses``) under each profile, as "<numbers>: <conclusion>",
    and whether the conclusion is the same at the longer training ("same", "changes: <a> →
    <b>", or "pending" until notebooks 02-04 have run on the longer profile's models:
    ``make report PROFILE=paper``). Seed 0 of each model (the attacks on compute: every seed of
    the headline gated model, with an interval where there are two or more)."""
    found = {profile: analyses(results_dir, profile) for profile in profiles}
    rows = {}
    for name, (measure, *_) in found[profiles[0]].items():
        values = [found[profile].get(name) for profile in profiles]
        row = {"measure": measure}
        row |= {length(profile): f"{v[1]}: {v[2]}" if v else "–" for profile, v in zip(profiles, values)}
        first, last = (v[2] if v else None for v in (values[0], values[-1]))
        row[SAME] = (f"pending ({last})" if last and waits(last) else
                     _outcome(first, last, f"pending (not analysed at {length(profiles[-1])})"))
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("question")


def published_check(results_dir: str | Path, fingerprint: str) -> Optional[dict]:
    """The published ResNet-20's scores on the data with this fingerprint, as recorded by
    ``make published`` (``common.published``); None if not measured there."""
    path = Path(results_dir) / PUBLISHED_CHECK
    return json.loads(path.read_text()).get(fingerprint) if path.exists() else None


def _published(results_dir: str | Path, ours: pd.Series) -> str:
    """What the published ResNet-20 trained on the original images scores on the copy that the
    `paper` ResNet-20 runs trained on (``common.published``), as it is and fine-tuned on the copy,
    beside ``ours`` (the `paper` ResNet-20's ``overview`` row); "" if not measured."""
    sources = {m["data_source"]["fingerprint"] for m in seeds.load_runs(results_dir, "paper")
               if run_label(m["model"], m.get("model_kwargs")) == REFERENCE}
    entries = [e for e in (published_check(results_dir, s) for s in sorted(sources)) if e]
    if not entries:
        return ""
    e = entries[0]
    published = (f"{e['source']}'s published {e['network']} ({e['published_test_acc']:.2f}% on the original test "
                 f"images) classifies {e['test_acc']:.2f}% of the copy's test images correctly ({e['train_acc']:.2f}% of "
                 "its training images)")
    tuned = e.get("finetuned")
    if not tuned:
        return f". The copy is not a lossless stand-in for the original images: {published}"
    reaches = tuned["test_acc"] >= HE_RESNET20_ACC
    n = int(ours["n"])
    return (f". An indirect check points at {'our training' if reaches else 'the copy'}: {published}, and after "
            f"{tuned['epochs']} epochs of fine-tuning on the copy's training images (peak learning rate "
            f"{tuned['lr']:g}, fixed beforehand; one run) {tuned['test_acc']:.2f}% of its test images, "
            f"{tuned['test_acc'] - ours['test_acc']:+.2f} points from ours ({ours['test_acc']:.2f}%, "
            + (f"mean of {n} seeds" if n > 1 else "1 seed") + "): "
            + ("a ResNet-20 can reach He et al.'s " if reaches else
               "a ResNet-20 that learnt from the original images stays below He et al.'s ")
            + f"{HE_RESNET20_ACC:.2f}% on the copy")


def _control_cost(full_over: pd.DataFrame, paper_over: pd.DataFrame) -> str:
    """A sentence when, at the ``paper`` profile, the headline gated model's executed MACs differ
    from its static control's (``same_cost``; the control was chosen at equal MACs at the
    ``full`` profile); "" otherwise."""
    headline, control = HEADLINE_LABEL, CONTROL_LABEL
    if not {headline, control} <= set(paper_over.index):
        return ""
    gated, static = paper_over.loc[headline, "macs"], paper_over.loc[control, "macs"]
    if same_cost(gated, static):
        return ""
    before = (f" (at {length('full')}: {full_over.loc[headline, 'macs'] / 1e6:.2f}M against "
              f"{full_over.loc[control, 'macs'] / 1e6:.2f}M)" if {headline, control} <= set(full_over.index) else "")
    n = int(paper_over.loc[headline, "n"])
    return (f"At {length('paper')} the headline gated model executes {gated / 1e6:.2f}M MACs on average "
            f"({counted(n, 'seed')}), "
            f"{100 * gated / static:.0f}% of its static control's {static / 1e6:.2f}M{before}: trained longer, its "
            f"gates switch {'more' if gated < static else 'fewer'} channels off, so the comparison with the "
            f"control is not at equal cost (the control costs {'more' if gated < static else 'less'}: "
            + ("a gain over it still counts, a loss may be the control's extra MACs)" if gated < static
               else "a loss against it still counts, a gain may be the gated model's extra MACs)"))


def _on_the_same_seeds(full_table: pd.DataFrame, paper_table: pd.DataFrame, label: str) -> str:
    """" (87.50% on the same seed)": ``label``'s 30-epoch accuracy over just the seeds finished at
    200 epochs, where those are fewer than its 30-epoch seeds, so that a reader can compare the same
    runs at both lengths; "" otherwise."""
    long_seeds = set(paper_table.loc[paper_table["label"] == label, "seed"])
    short_runs = full_table[full_table["label"] == label]
    if not long_seeds or len(long_seeds) >= len(short_runs) or not long_seeds <= set(short_runs["seed"]):
        return ""
    same = short_runs.loc[short_runs["seed"].isin(long_seeds), "test_acc"].mean()
    return f" ({same:.2f}% on the same {'seed' if len(long_seeds) == 1 else 'seeds'})"


def training_length(results_dir: str | Path = RESULTS_DIR, in_progress: bool = True
                    ) -> Optional[Finding]:
    """What the ``paper`` runs say beside the ``full`` ones (``conclusions``,
    ``analyses_by_length``); with ``in_progress``, where the paper queue stands (not for pages
    that must not change while a run trains). The counts lead; the rest follows as sub-bullets,
    one subject each."""
    full_table, full_over = load_overview(results_dir, "full")
    paper_table, paper_over = load_overview(results_dir, "paper")
    if REFERENCE not in full_over.index:
        return None  # no full-profile ResNet-20 to compare with (e.g. a smoke-only results folder)
    still = _queue_progress(results_dir, len(paper_table)) if in_progress else ""
    done = [label for label in map(reader_name, paper_models()) if label in paper_over.rename(index=reader_name).index]
    if not done:
        epochs = PROFILES["paper"]["epochs"]
        return Finding("Training length", (
            f"No run of the {epochs}-epoch `paper` profile has finished: every conclusion here rests on "
            f"{length('full')}, where ResNet-20 reaches {accuracy_text(full_over.loc[REFERENCE])} against He et "
            f"al.'s {HE_RESNET20_ACC:.2f}% (original images, ~164 epochs). The report's training-length "
            f"section sets each conclusion about the {len(paper_models())} {epochs}-epoch models at both lengths as "
            f"their runs finish ({len(paper_table)} of {len(queue('paper'))} so far).{still}"), None)
    lead, verdicts = _verdicts_item(_conclusions({"full": full_table, "paper": paper_table}))
    counted_analyses, per_image = _analyses_item(results_dir)
    cost = _control_cost(full_over, paper_over)
    items = [f"**Verdicts.** {verdicts}" if verdicts else "", per_image,
             _accuracy_item(done, full_table, full_over, paper_table, paper_over),
             _published_item(results_dir, paper_over), f"**Cost.** {cost}" if cost else "", still.strip()]
    return Finding("Training length", lead + counted_analyses + "."
                   + "".join(f"\n- {item.rstrip('.')}." for item in items if item), "05_profiles.png")


def _queue_progress(results_dir: str | Path, finished: int) -> str:
    """" Of the 15 runs planned at 200 epochs (5 models × 3 seeds): 13 finished; 2 training (…);
    0 queued. …": where the ``paper`` queue stands (``finished``: its finished runs)."""
    epochs, long = PROFILES["paper"]["epochs"], length("paper")
    histories = training_histories(results_dir, in_progress=True)
    running = [f"{label} seed {run.split()[-1]} at epoch {len(h)}"
               for label, runs in histories.items() for run, h in runs.items()
               if run.startswith("paper") and len(h) < epochs]
    planned = len(queue("paper"))
    per_model = {run for run, _ in queue("paper")}
    shape = (f"{len(per_model)} models × {len(SEEDS)} seeds" if planned == len(per_model) * len(SEEDS)
             else f"{len(per_model)} models")
    return (f" Of the {planned} runs planned at {long} ({shape}): {finished} finished; {len(running)} training"
            + (f" ({', '.join(running)} of {epochs})" if running else "")
            + f"; {planned - finished - len(running)} queued. Accuracy during training is not a result.")


def _verdicts_item(table: pd.DataFrame) -> tuple[str, str]:
    """The decisive comparisons of ``_conclusions``' ``table``: the lead's count of those that
    changed, kept their verdict or wait, and the sub-bullet that names them (what changed first,
    then what is still open)."""
    long = length("paper")
    by_outcome = {outcome: [name for name, row in table.iterrows() if row[SAME].startswith(outcome)]
                  for outcome in ("same", "changes", "pending")}
    lead = (f"Of the {sum(map(len, by_outcome.values()))} decisive comparisons over seeds, "
            f"{len(by_outcome['changes'])} changed, "
            f"{len(by_outcome['same'])} kept {'its' if len(by_outcome['same']) == 1 else 'their'} verdict and "
            f"{len(by_outcome['pending'])} wait for runs at {long}")
    verdicts = ". ".join(filter(None, [
        "Changed: " + "; ".join(f"{name} ({outcome_detail(table.loc[name, SAME])})"
                                for name in by_outcome["changes"]) if by_outcome["changes"] else "",
        "Same verdict at both lengths — " + "; ".join(f"{name}: {table.loc[name, f'{long}: verdict']}"
                                                     for name in by_outcome["same"]) if by_outcome["same"] else "",
        f"Waiting for runs at {long} before a verdict: "
        + "; ".join(f"{name} ({outcome_detail(table.loc[name, SAME])})"
                    for name in by_outcome["pending"])
        if by_outcome["pending"] else ""]))
    return lead, verdicts


def _analyses_item(results_dir: str | Path) -> tuple[str, str]:
    """The per-image analyses of ``analyses_by_length``: the lead's count of those that keep or
    change their conclusion (so that a change is not only in a sub-bullet; "" before any has both
    lengths), and the sub-bullet that names them ("" without analyses)."""
    long = length("paper")
    by_length = analyses_by_length(results_dir)
    outcome = by_length[SAME] if len(by_length) else pd.Series(dtype=str)
    changed = [f"{name} ({outcome_detail(outcome[name])})" for name in outcome.index
               if outcome[name].startswith("changes")]
    single = [name for name in outcome.index if outcome[name].startswith("pending") and
              waits(outcome_detail(outcome[name]))]
    one_seed = len(single)  # made, but on fewer seeds than a verdict needs
    pending = outcome.str.startswith("pending").sum() - one_seed
    analysed = len(outcome) - pending - one_seed
    kept = _verb((outcome == "same").sum(), "keep")
    parts = ([f"of the {analysed} with a conclusion at both lengths, {kept} it"
              + (f"; changed: {'; '.join(changed)}" if changed else "")] if analysed else [])
    parts += [f"{one_seed} {'rests' if one_seed == 1 else 'rest'} in part on fewer than {len(SEEDS)} seeds at {long}: "
              f"no verdict yet ({'; '.join(name + ' ' + by_length.loc[name, long].split(': ')[0] for name in single)})"
              ] if one_seed else []
    parts += [f"{pending} not yet made"] if pending else []
    lead = (f"; of the {analysed} analyses of notebooks 02–04 with a conclusion at both lengths (mostly on seed 0 "
            f"alone), {kept} it and {_verb(len(changed), 'change')}" if analysed else "")
    item = ("" if not len(outcome) else
            f"The {len(outcome)} analyses of notebooks 02–04 (class structure of attention and channel "
            f"usage, the gates' decisions, the attacks) are not yet made at {long}." if not parts[:-1] and pending
            else f"**Analyses of notebooks 02–04** ({len(outcome)} in all; on seed 0, except the attacks on "
            f"compute, which use every seed of the headline gated model): {'; '.join(parts)}.")
    return lead, item


def _accuracy_item(done: list[str], full_table: pd.DataFrame, full_over: pd.DataFrame, paper_table: pd.DataFrame,
                   paper_over: pd.DataFrame) -> str:
    """Test accuracy at both lengths of the ``paper`` models with a finished run (``done``, by
    ``reader_name``), one-seed ones beside the same seed at 30 epochs."""
    short, long = length("full"), length("paper")
    paper_named, full_named = paper_over.rename(index=reader_name), full_over.rename(index=reader_name)
    unfinished = [label for label in map(reader_name, paper_models()) if label not in done]
    labels = {reader_name(label): label for label in paper_models()}
    return ("**Accuracy.** " + f"With at least one seed finished at {long}: " + ", ".join(done)
            + (f"; none finished yet: {', '.join(unfinished)}" if unfinished else "") + ". Test accuracy: "
            + "; ".join(f"{label} {accuracy_text(paper_named.loc[label])} at {long}"
                        + (f" against {accuracy_text(full_named.loc[label])} at {short}"
                           + _on_the_same_seeds(full_table, paper_table, labels[label])
                           if label in full_named.index else "")
                        for label in done))


def _published_item(results_dir: str | Path, paper_over: pd.DataFrame) -> str:
    """Our 200-epoch ResNet-20 against the published ones, all trained on the original images,
    with the check of what the JPEG copy costs (``_published``); "" without a 200-epoch ResNet-20."""
    if REFERENCE not in paper_over.index:
        return ""
    reference = paper_over.loc[REFERENCE, "test_acc"]
    return (f"**Against published ResNet-20s.** Ours at {length('paper')} against the published ones, all trained "
            "on the original images: " + ", ".join(
                f"{p.source.split(' (')[0]} {p.static_acc:.2f}% ({reference - p.static_acc:+.2f} points)"
                for p in RESNET20) + ". This study has not trained on the original images, so how "
            "much of that gap the JPEG copy costs is not measured directly"
            + _published(results_dir, paper_over.loc[REFERENCE]))
