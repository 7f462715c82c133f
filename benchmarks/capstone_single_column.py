"""Where one column of the capstone's logs gives the answer away (lesson 09, issue 13's target).

For every column of the logs, the best single-column rule (:func:`collapse_edu.capstone.best_single_column_rules`:
at most five intervals of one summary of the column, fitted to the very cases it is scored on) is fitted
to the mystery sets of ``--seeds`` (the lesson's: 1-40, 200 cases). The script prints its share right
and then, per variant of the pool (a setting and a story), the share of that variant's cases the rule
gets right, with the median of the summary the rule reads. A variant that one column names at 100%
with a summary value far from every other cause's is a leak: the redesign has to give that column a
look-alike from another cause, or move the variant's scale into the others' range.

    python benchmarks/capstone_single_column.py                  # the lesson's 200 cases
    python benchmarks/capstone_single_column.py --seeds 101 909  # other hidden seeds (the checker's are 101-808)
    python benchmarks/capstone_single_column.py --columns heldout_loss train_loss
    python benchmarks/capstone_single_column.py --shuffled 5   # what fitting alone gets: answers shuffled
    python benchmarks/capstone_single_column.py --kinds        # how far the kind of training alone goes
    python benchmarks/capstone_single_column.py --own-scales 3 # every run on its own scale: do shapes suffice?

Why the columns score as they do: each failing cause belongs to one kind of training
(:data:`collapse_edu.capstone.TRAINING_KINDS`: overfitting to fixed data, model collapse to retraining on
the model's outputs, forgetting to tasks in turn, mode collapse to a GAN), so a rule that knows only the
kind gets every case but the healthy ones right (80% of a set with one case per cause), and a column that
reads the kind off the numbers comes close to that without telling healthy runs from failing ones.

It reads the stored pool (``collapse_edu/results/capstone_pool.npz``) and writes nothing.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from collapse_edu import capstone


def variant_table(seeds: range, columns: list[str]) -> str:
    """Markdown: per column, the best rule's share right overall and on the cases of each variant."""
    logs, causes = capstone.cases(seeds)
    by_variant: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, key_and_cause in enumerate(zip(capstone.case_variants(seeds), causes, strict=True)):
        by_variant[key_and_cause].append(i)
    rules = capstone.best_single_column_rules(logs, causes)
    lines = []
    for column in columns:
        rule, share = rules[column]
        lines += [f"### {column}: {share:.1%} of {len(logs)} cases right", "", f"Rule: {rule}", ""]
        lines += [
            "| variant | cause | cases | rule right | median of the summary |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        summary = capstone.SUMMARIES[rule.summary]
        rows = []
        for (key, cause), index in by_variant.items():
            right = np.mean([rule(logs[i]) == cause for i in index])
            median = float(np.median([summary(logs[i][column]) for i in index]))
            rows.append((median, f"| {key} | {cause} | {len(index)} | {right:.0%} | {median:.3g} |"))
        lines += [row for _, row in sorted(rows)] + [""]
    return "\n".join(lines)


def shuffled_table(seeds: range, shuffles: int) -> str:
    """Markdown: per column, the best rule's share right when the answers are shuffled among the same logs
    (:func:`collapse_edu.capstone.shuffled_single_column_shares`): the floor that fitting alone reaches."""
    logs, causes = capstone.cases(seeds)
    found = capstone.shuffled_single_column_shares(logs, causes, shuffles)
    lines = [
        f"### Answers shuffled ({shuffles} times) among the {len(logs)} cases",
        "",
        "| column | median share right | highest |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {column} | {np.median(v):.1%} | {max(v):.1%} |" for column, v in found.items()]
    return "\n".join(lines)


def kinds_table(seeds: range) -> str:
    """Markdown: the rule that knows only each case's kind of training, and per column the share of cases
    whose kind its best rule names right (:func:`collapse_edu.capstone.training_kind_columns`), beside the
    share whose cause it names right."""
    named, share = capstone.training_kind_share(seeds)
    logs, causes = capstone.cases(seeds)
    lines = [f"### Knowing only the kind of training: {share:.1%} of {len(logs)} cases right", ""]
    lines += [f"- {kind} -> {cause}" for kind, cause in named.items()]
    lines += ["", "| column | kind named right | cause named right |", "| --- | ---: | ---: |"]
    by_cause = capstone.best_single_column_rules(logs, causes)
    for column, kind_share in capstone.training_kind_columns(seeds).items():
        lines.append(f"| {column} | {kind_share:.1%} | {by_cause[column][1]:.1%} |")
    return "\n".join(lines)


def own_scales(logs: list[capstone.RunLog], seed: int, offsets: bool) -> list[capstone.RunLog]:
    """The same logs, every column of every run on a scale of its own: multiplied by a factor drawn
    log-uniformly from 0.2-5 and, with ``offsets``, shifted by one drawn uniformly from 0-2. Only what a
    column's shape says (where it turns, its ratio of last to first) is left the same."""
    rng = np.random.default_rng(seed)
    scaled = []
    for log in logs:
        columns = {"checkpoint": log["checkpoint"]}
        for column in capstone.COLUMNS[1:]:
            factor = float(np.exp(rng.uniform(np.log(0.2), np.log(5.0))))
            columns[column] = factor * log[column] + (float(rng.uniform(0.0, 2.0)) if offsets else 0.0)
        scaled.append(capstone.RunLog(log.label, columns))
    return scaled


def own_scales_table(seeds: range, draws: int) -> str:
    """Markdown: the best rule of each column when every run's columns are on scales of their own
    (:func:`own_scales`), fitted to the cases of ``seeds`` and also scored on the next as many mystery
    sets' cases whose runs the fitted cases do not hold (held out); with the reference diagnosis's share."""
    logs, causes = capstone.cases(seeds)
    later = range(seeds.stop, seeds.stop + len(seeds))
    seen = set(capstone.case_runs(seeds))
    fresh = [i for i, run in enumerate(capstone.case_runs(later)) if run not in seen]
    later_logs, later_causes = capstone.cases(later)
    held_logs, held_causes = [later_logs[i] for i in fresh], [later_causes[i] for i in fresh]
    lines = [
        f"### Every run on its own scale: best single-column rule on {len(logs)} cases, and on {len(held_logs)} "
        "held-out ones",
        "",
        "| scales | draw | best column in-sample | best column held-out | reference diagnosis |",
        "| --- | ---: | --- | --- | ---: |",
    ]
    for offsets in (False, True):
        for draw in range(draws):
            fitted = own_scales(logs, 2 * draw, offsets)
            held = own_scales(held_logs, 2 * draw + 1, offsets)
            rules = capstone.best_single_column_rules(fitted, causes)
            inside = max(rules, key=lambda column: rules[column][1])
            outside = {
                c: np.mean([r(log) == a for log, a in zip(held, held_causes, strict=True)])
                for c, (r, _) in rules.items()
            }
            best_out = max(outside, key=outside.get)
            reference = np.mean([capstone.diagnose(log) == a for log, a in zip(fitted, causes, strict=True)])
            lines.append(
                f"| factor{' and offset' if offsets else ''} | {draw} | {inside} {rules[inside][1]:.1%} "
                f"({rules[inside][0].summary}) | {best_out} {outside[best_out]:.1%} | {reference:.1%} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 41), metavar=("FIRST", "STOP"),
                        help="mystery sets FIRST .. STOP-1 (default: the lesson's 1-40)")  # fmt: skip
    parser.add_argument("--columns", nargs="+", default=list(capstone.COLUMNS[1:]), choices=capstone.COLUMNS[1:])
    parser.add_argument("--shuffled", type=int, default=0, metavar="K",
                        help="instead: the best shares with the answers shuffled K times")  # fmt: skip
    parser.add_argument("--kinds", action="store_true",
                        help="instead: the kind of training alone, and how well each column reads it")  # fmt: skip
    parser.add_argument("--own-scales", type=int, default=0, metavar="K",
                        help="instead: every run's columns on scales of their own, K draws")  # fmt: skip
    args = parser.parse_args()
    if args.shuffled < 0:
        parser.error(f"--shuffled must be a count of shuffles, 1 or more, got {args.shuffled}")
    if args.own_scales < 0:
        parser.error(f"--own-scales must be a count of draws, 1 or more, got {args.own_scales}")
    if args.own_scales:
        print(own_scales_table(range(*args.seeds), args.own_scales))
    elif args.kinds:
        print(kinds_table(range(*args.seeds)))
    elif args.shuffled:
        print(shuffled_table(range(*args.seeds), args.shuffled))
    else:
        print(variant_table(range(*args.seeds), args.columns))


if __name__ == "__main__":
    main()
