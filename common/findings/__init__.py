"""The study's findings, one per question of the proposal, each with its number and the figure
that shows it: computed from the finished runs (``metrics.json``, over seeds) and the tables the
notebooks wrote, never typed, and worded by the rules of ``common.verdicts`` (stated for readers
by ``reading_rules``).

This module answers the study's question and assembles the findings; each notebook's own
sentences live in one module: ``baseline`` (notebook 01), ``dynamic`` (02), ``gating`` (03),
``robustness`` and ``energy`` (04); ``similarity`` words the class-similarity answers that 02 and
03 share, ``words`` the English they all use. The last finding, on training length, comes from
``common.lengths``. The README's Findings block and notebook 05 both print ``findings_markdown``
of ``findings``, so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import pandas as pd

from .. import seeds
from ..config import PROFILES
from ..lengths import SAME, analyses_by_length, glance_markdown, in_prose, length, outcome_detail, training_length
from ..manifest import DY_LABEL, SEEDS
from ..paths import RESULTS_DIR
from ..seeds import REFERENCE
from ..selection import GOALS
from ..verdicts import (COST_TOLERANCE, ENERGY_WORDS, QUESTION_COLUMNS, ROBUST_ACC, Finding, compared_with,
                        load_overview, read_table, same_cost, settled)
from . import baseline, dynamic, energy, gating, robustness, similarity  # one module per notebook's findings
from .words import listed

__all__ = ["baseline", "dynamic", "gating", "robustness", "energy", "similarity", "QUESTION", "ANALYSIS_TOPICS",
           "question", "short_answer", "answer_at_a_glance", "reading_rules", "findings", "about",
           "findings_markdown"]


QUESTION = "Does input dependence beat a static network of the same cost?"  # ``question``'s opening


class _Comparison(NamedTuple):
    """One of the question's comparisons, for a model with a finished run."""
    name: str        # as the answer names the model: "DY K=4", "the headline gated model"
    row: pd.Series   # its row over seeds (``seeds.overview``)
    prefix: str      # the columns of its difference: "delta" (against ResNet-20) or "nearest" (its static control)
    against: str     # what it is compared with, in words
    decided: bool    # every seed in: the interval gives a verdict

    @property
    def words(self) -> str:
        return f"{self.name} against {self.against}"

    @property
    def ahead(self) -> bool:
        """A gain shown: every seed in and the interval above 0."""
        return self.decided and seeds.verdict_word(self.row, self.prefix) == "ahead"


def _comparisons(over: pd.DataFrame) -> list[_Comparison]:
    """The question's comparisons (``verdicts.QUESTION_COLUMNS``), for each model with a finished run:
    DY at K = ``ANALYSIS_K`` against ResNet-20 (its share of ResNet-20's MACs said where they cost the
    same) and the headline gated model against the static network nearest in MACs."""
    found = []
    for label, prefix in QUESTION_COLUMNS.items():
        if label not in over.index:
            continue
        row = over.loc[label]
        share = row["macs"] / over.loc[REFERENCE, "macs"] if REFERENCE in over.index else None
        ratio = dynamic.parameter_ratio(over, label)
        params = f"{ratio:.1f}× its parameters" if ratio else "not equal parameters"
        against = ("ResNet-20" + (f" ({share:.0%} of ResNet-20's MACs, equal within {COST_TOLERANCE:.0%}; {params})"
                                  if share is not None and same_cost(share, 1.0) else "")
                   if prefix == "delta" else gating.nearest_words(over, row, compared_with(label, row), share=share))
        found.append(_Comparison(in_prose(label), row, prefix, against, settled(row[f"{prefix}_n"])))
    return found


def _answer(compared: list[_Comparison]) -> str:
    """The answer's first words: "Yes" (for both, for all), "Yes for <a>", "No gain shown", "No gain
    shown for <a>, no verdict yet for <b>" or "No verdict yet"."""
    ahead = [c.name for c in compared if c.ahead]
    bounded, open_ = [c.name for c in compared if c.decided], [c.name for c in compared if not c.decided]
    if ahead and len(ahead) == len(compared):
        return "Yes" + {1: "", 2: " for both"}.get(len(compared), f" for all {len(compared)}")
    return (f"Yes for {listed(ahead)}" if ahead else
            "No gain shown" if not open_ else
            f"No gain shown for {listed(bounded)}, no verdict yet for {listed(open_)}" if bounded else "No verdict yet")


def _largest_gains(compared: list[_Comparison], over: pd.DataFrame, epochs: int) -> str:
    """"The 95% intervals rule out a gain larger than … at <epochs> epochs" for the decided
    comparisons; a bound against a static control that costs more than the model is not a bound at
    equal cost, and says so. Nothing where a gain is shown."""
    decided = [c for c in compared if c.decided]
    if not decided or any(c.ahead for c in compared):
        return ""
    costlier = [f"{c.name}'s" for c in decided if c.prefix == "nearest" and gating.costlier(over, c.row)]
    # with one bound the remark needs no owner; with several it names whose bounds it qualifies
    remark = ("" if not costlier else ", against a static network that costs more than it" if len(decided) == 1
              else f" ({listed(costlier)} against " + ("a static network that costs more than it)" if len(costlier) == 1
                                                     else "static networks that cost more than they do)"))
    return (f"The 95% interval{'s rule' if len(decided) > 1 else ' rules'} out "
            + listed([f"a gain larger than {c.row[f'{c.prefix}_ci_high']:+.2f} points for {c.name}" for c in decided])
            + f" at {epochs} epochs" + remark)


def question(over: pd.DataFrame, profile: str = "full") -> Optional[Finding]:
    """The study's answer in one sentence: DY at K = ``ANALYSIS_K`` against ResNet-20 and the headline gated model
    against its static control, paired by seed (``_comparisons``); a model without a finished run at ``profile``
    is named as such. A sub-bullet gives the largest gains the intervals allow."""
    epochs = PROFILES[profile]["epochs"]
    compared = _comparisons(over)
    if not compared:
        return None
    answer = _answer(compared)
    open_ = [c.name for c in compared if not c.decided]
    text = (f"{QUESTION} {answer}: "
            + ", ".join(f"{seeds.signed_points(c.row, c.prefix)} for {c.words}" for c in compared)
            + (" (paired by seed, 95% intervals; an interval that includes 0 does not show a gain)"
               if any(c.row[f"{c.prefix}_n"] >= 2 for c in compared) else "")
            + (f"; a verdict on {listed(open_)} waits for {len(SEEDS)} seeds" + (" of each" if len(open_) > 1 else "")
               if open_ else "")
            + "".join(f"; {in_prose(label)} has no finished run at {epochs} epochs yet"
                      for label in QUESTION_COLUMNS if label not in over.index) + ".")
    gains = _largest_gains(compared, over, epochs)  # a sub-bullet: the lead gives the answer and its numbers
    text += f"\n- {gains}." if gains else ""
    return Finding("The study's question", text, None)


def short_answer(results_dir: str | Path = RESULTS_DIR) -> str:
    """The study's answer in one line, for the README's first screen: ``question``'s answer at each
    length with finished runs; "" without any."""
    answers = []
    for profile in ("full", "paper"):
        over = load_overview(results_dir, profile)[1]
        found = question(over, profile) if not over.empty else None
        if found is not None:  # its answer sits between the question and the colon
            answers.append((found.text.removeprefix(f"{QUESTION} ").split(": ", 1)[0], length(profile)))
    if not answers:
        return ""
    (first, at), *rest = answers
    return (f"**In short:** {first} at {at}" + "".join(f"; at {later}, {a[0].lower()}{a[1:]}" for a, later in rest)
            + ".")


def answer_at_a_glance(results_dir: str | Path = RESULTS_DIR) -> str:
    """What a reader sees first (the README's first screen, the top of notebook 05's findings): the
    short answer, then the table of the decisive models at both lengths; "" without any finished run."""
    answer = short_answer(results_dir)
    return answer and (f"{answer} The table below gives the numbers, and the first finding below explains them."
                       f"\n\n{glance_markdown(results_dir)}")


def _with_longer_answer(found: Optional[Finding], over: pd.DataFrame) -> Optional[Finding]:
    """The study's question (``found``, at 30 epochs) with its answer at 200 epochs (``over``: the
    ``paper`` profile's table over seeds) as a second line, so that both answers lead."""
    longer = question(over, "paper") if found is not None and not over.empty else None
    if longer is None:
        return found
    return found._replace(text=f"{found.text}\n- **At {length('paper')}.** {longer.text.removeprefix(f'{QUESTION} ')}")


def reading_rules() -> str:
    """The rules that turn the analyses' numbers into the words of the findings and of
    ``lengths.analyses_by_length``, as a Markdown list."""
    return "\n".join([
        "- **Ahead or behind**: a difference paired by seed whose 95% interval excludes 0; **not "
        "distinguishable**: one that includes 0; with one seed, no verdict. The comparisons of the study's "
        f"models (ResNet-20, {DY_LABEL}, the headline gated model and its static control) wait for all "
        f"{len(SEEDS)} seeds: with two, the interval is shown without a verdict; the sweeps over K and the L0 "
        "weight are read on the seeds they have. This rule is for comparisons over seeds; the analyses of "
        "notebooks 02–04 (on seed 0, except the attacks on compute, which use every seed of the headline gated "
        "model) are read by the "
        "rules below.",
        f"- {similarity.split_rule()}",
        f"- {similarity.learnt_rule()}",
        f"- **Per image** (gating): at least {100 * GOALS['min_live_conditional']:.0f}% of live gates conditional "
        f"and per-image MACs varying by at least {100 * GOALS['min_macs_cv']:.0f}%, the selection rule's criteria.",
        "- **Differ under attack**: the difference from ResNet-20 on the same test images, paired by image "
        "(an image robust if it survives every PGD variant), has a 95% interval that excludes 0 (each model's own "
        "interval, not corrected for the several models compared: among several, one may exclude 0 by chance); "
        "**robust**: at least "
        f"{ROBUST_ACC:g}% under the strongest PGD at the largest ε.",
        "- **Spends " + " / ".join(word for _, word in ENERGY_WORDS) + " / hardly more** under the energy "
        "attack: mean executed MACs at least " + " / ".join(f"{least:g}×" for least, _ in ENERGY_WORDS)
        + f" / under {ENERGY_WORDS[-1][0]:g}× the clean ones.",
        f"- **{SAME}** (training-length tables): *same* when the verdict or conclusion is the same at both "
        f"lengths, *changes: a → b* when it is not; a comparison over seeds is *pending* until both lengths "
        f"have its {len(SEEDS)} seeds, an analysis until notebooks 02–04 have run on the {length('paper')} "
        f"models; *{length('full')} only* where the {length('paper')} profile does not train what it needs.",
    ])


def findings(results_dir: str | Path = RESULTS_DIR, profile: str = "full") -> list[Finding]:
    """Every finding that the committed results support (one whose runs or tables are missing
    is left out)."""
    results_dir = Path(results_dir)
    table, over = load_overview(results_dir, profile)
    found = [question(over, profile) if not over.empty else None,
             dynamic.dynamic_convolution(over, table, read_table(results_dir, "dy_speed"))
             if not over.empty else None,
             dynamic.attention_by_class(results_dir, profile),
             gating.channel_gating(over, results_dir, profile) if not over.empty else None,
             gating.channels_by_class(results_dir, profile),
             robustness.label_attacks(results_dir, profile),
             energy.energy_attack(over, results_dir, profile),
             training_length(results_dir, in_progress=False)]
    if profile == "full":
        found[0] = _with_longer_answer(found[0], load_overview(results_dir, "paper")[1])
    found = [f for f in found if f is not None]
    return _with_longer_training(found, results_dir) if profile == "full" else found


# The finding each per-image analysis of ``lengths.analyses`` belongs to, by the question's subject.
ANALYSIS_TOPICS = {f"{DY_LABEL} attention": dynamic.ATTENTION, "gates' channel usage": gating.CHANNELS,
                   "gates": gating.MACS, "attacks": robustness.ATTACKS, "energy attack": energy.COMPUTE,
                   "MAC cap": energy.COMPUTE}


def _with_longer_training(found: list[Finding], results_dir: Path) -> list[Finding]:
    """``found`` (the 30-epoch findings) with a closing sentence on each whose analysis reaches
    another conclusion at 200 epochs (``lengths.analyses_by_length``), so that no finding reads
    as settled where the longer training says otherwise."""
    by_length = analyses_by_length(results_dir)
    outcome = by_length[SAME] if len(by_length) else pd.Series(dtype=str)
    notes: dict[str, str] = {}
    for asked_of, same in outcome.items():
        if same.startswith("changes: "):
            subject, asked = asked_of.split(": ", 1)
            notes[ANALYSIS_TOPICS[subject]] = notes.get(ANALYSIS_TOPICS[subject], "") + (
                f" At {length('paper')}, on seed 0 alone, the answer to “{asked}” changes ({outcome_detail(same)}): "
                f"one training run, not yet a verdict (see Training length).")
    def noted(text: str, note: str) -> str:  # at the end of the lead, before any sub-bullets
        lead, *details = text.split("\n")
        return "\n".join([lead + note, *details])

    return [f._replace(text=noted(f.text, notes.get(f.topic, ""))) for f in found]


def about(found: list[Finding], topic: str) -> Optional[Finding]:
    """The finding of ``found`` on ``topic`` (e.g. ``dynamic.ACCURACY``), or None: how notebook 05
    shows each finding again in its section, the same text as in its list of findings."""
    return next((f for f in found if f.topic == topic), None)


def findings_markdown(found: list[Finding], figures: Optional[str] = None) -> str:
    """One bullet per finding, its figure linked under ``figures`` (a path prefix; None: no
    links, e.g. where the figures follow on the same page)."""
    lines = []
    for f in found:
        lead, *details = f.text.split("\n")  # a long finding: a lead sentence, then indented sub-bullets
        link = f" ([figure]({figures}/{f.figure}))" if f.figure and figures else ""
        lines.append(f"- **{f.topic}{'' if f.topic.endswith('?') else '.'}** {lead}{link}")
        lines += [f"  {detail}" for detail in details]
    return "\n".join(lines)
