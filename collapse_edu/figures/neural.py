"""Figures of lesson 04: a tiny transformer language model retrained on its own text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..loop import History
from ..ngram import vocabulary_by_generation
from ..plots import THEORY_STYLE, finish, label_line_ends, legend_key, legend_outside, new_figure, series_style
from ..validation import check_choice, check_float, check_int
from .text import REFERENCE_STYLE, _plain_log_axis, _series

#: Panels of :func:`dashboard`: metric name -> (title, y label, log scale).
PANELS = {
    "vocabulary": ("Vocabulary of its training text", "word types", False),
    "sentence_length": ("Length of generated sentences", "words (mean of 500)", False),
    "distinct_2": ("distinct-2 of generated text", "different bigrams / bigrams", False),
    "perplexity_real": ("Perplexity of held-out REAL text", "perplexity (log scale)", True),
    "perplexity_self": ("Perplexity of its own samples", "perplexity (log scale)", True),
    "judged_median": ("Its training text, judged by generation 0", "median sentence perplexity", True),
}

#: Label of the grey dotted line of :func:`dashboard` (``reference=True``): generation 0, not a fit to all real data.
GENERATION_0_LABEL = "generation 0 (median of the runs)"

#: Labels of the count buckets of :data:`collapse_edu.neural_lm.COUNT_BUCKETS`.
BUCKET_LABELS = ("seen once", "twice", "3 times", "4-7 times", "8-15 times", "16+ times")


def dashboard(
    histories: Mapping[str, History],
    *,
    panels: Sequence[str] = ("vocabulary", "sentence_length", "perplexity_real", "perplexity_self"),
    ncols: int = 2,
    reference: bool = False,
    title: str = "",
    styles: Sequence[int] | None = None,
) -> plt.Figure:
    """Per-generation metrics of several experiments, one panel per metric: the median over runs
    (or seeds) with their range shaded, a plain line for a single run. ``reference`` draws the
    level of generation 0 of the first experiment as a grey dotted line; ``styles`` picks each
    experiment's house style (default 0, 1, 2, ...)."""
    styles = list(styles) if styles is not None else list(range(len(histories)))
    if len(styles) != len(histories):
        raise ValueError(f"styles must give one style index per experiment ({len(histories)}); got {len(styles)}")
    unknown = [p for p in panels if p not in PANELS]
    if unknown:
        raise ValueError(f"panels must be among {', '.join(PANELS)}; got {', '.join(unknown)}")
    panels = [p for p in panels if any(p in h.metrics for h in histories.values())]
    rows = -(-len(panels) // ncols)
    cols = min(ncols, len(panels))
    fig, axes = new_figure(cols, rows, width=4.8 * cols, height=3.5 * rows + 0.9)
    for ax, name in zip(axes, panels, strict=False):
        heading, ylabel, log_scale = PANELS[name]
        for i, (label, history) in zip(styles, histories.items(), strict=True):
            if name in history.metrics:
                _series(ax, history.generations, history[name], label, i)
        if reference:
            first = next(iter(histories.values()))
            if name in first.metrics:
                ax.axhline(float(np.median(first[name][0])), label=GENERATION_0_LABEL, **REFERENCE_STYLE)
        if log_scale:
            _plain_log_axis(ax)
        ax.set_xticks(np.arange(0, max(len(h.generations) for h in histories.values()), 2 if rows * cols > 1 else 1))
        finish(ax, title=heading, xlabel="generation", ylabel=ylabel, legend=False)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    legend_outside(fig, axes[:1])
    if title:
        fig.suptitle(title)
    return fig


def judged_by_generation_0(
    perplexities: Mapping[str, np.ndarray],
    *,
    bins: np.ndarray | None = None,
    title: str = "Sentences as generation 0 sees them",
) -> plt.Figure:
    """Shumailov et al.'s histogram: the share of sentences per bin of per-sentence perplexity under
    the generation-0 model, one step line per text (label -> perplexities, or ``(counts, edges)``
    of a histogram already counted). The first text is drawn as a filled grey area."""
    bins = np.logspace(0, 5, 51) if bins is None else np.asarray(bins, float)
    fig, (ax,) = new_figure(1, width=8.5, height=4.6)
    for i, (label, values) in enumerate(perplexities.items()):
        if isinstance(values, tuple):
            counts, edges = (np.asarray(v, float) for v in values)
        else:
            counts, edges = np.histogram(np.clip(values, bins[0], bins[-1] * 0.999), bins)
            counts = counts.astype(float)
        share = counts / counts.sum()
        if i == 0:
            ax.stairs(share, edges, fill=True, color="0.8", label=label)
        else:
            style = series_style(i - 1)
            ax.stairs(share, edges, color=style["color"], linestyle=style["linestyle"], linewidth=2.2, label=label)
    ax.set_xscale("log")
    ax.set_xlim(5, edges[-1])  # the last bins hold the far tail
    finish(ax, title=title, xlabel="perplexity of a sentence under the generation-0 model (log scale)",
           ylabel="share of sentences", legend=False)  # fmt: skip
    ax.legend(loc="upper right", handlelength=3.5)  # long enough handles to show each line's dash pattern
    return fig


BUCKET_SHORT = ("1", "2", "3", "4-7", "8-15", "16+")  #: the buckets' names at the right end of their lines


def word_loss(
    one_round: Mapping[str, tuple[np.ndarray, np.ndarray]],
    surviving: np.ndarray,
    real_counts: np.ndarray,
    *,
    label: str = "transformer",
    max_count: int = 6,
) -> plt.Figure:
    """Two panels. Left: the share of the words seen c times in the real text that are missing from
    the first synthetic corpus, per model (label -> (counts in the real text, counts in the synthetic
    text), word ids aligned), with the resampling theory e^-c dashed. Right: the share of the real
    words of each :data:`~collapse_edu.neural_lm.COUNT_BUCKETS` bucket still in generation t's
    training text (``surviving``: shape (generations, buckets)), each with the branching-process
    theory of resampling with exact counts (lesson 03) dotted: 1 - q_(t-1)^c averaged over the
    bucket's words (``real_counts``: the real count of every word)."""
    from ..neural_lm import bucket_of

    max_count = check_int("max_count", max_count, minimum=1)
    fig, (left, right) = new_figure(2, width=14.5, height=5.0)
    c = np.arange(1, max_count + 1)
    for i, (name, (before, after)) in enumerate(one_round.items()):
        before, after = np.asarray(before), np.asarray(after)
        lost = np.array([np.mean(after[before == k] == 0) if np.any(before == k) else np.nan for k in c])
        left.plot(c, lost, label=name, **series_style(i))
    fine = np.linspace(1, max_count, 100)
    left.plot(fine, np.exp(-fine), label=r"resampling theory $e^{-c}$", color="0.3", **THEORY_STYLE)
    left.set_ylim(bottom=0)
    finish(left, title="Lost in the first synthetic corpus", xlabel="count c in the real text",
           ylabel="share of these words lost")  # fmt: skip
    surviving = np.asarray(surviving, float)
    generations = np.arange(surviving.shape[0])
    real_counts = np.asarray(real_counts)
    buckets = bucket_of(real_counts)
    # the buckets in shades of one sequential map (rare = dark), so that no bucket takes the colour that means
    # a model in the left panel
    shades = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, surviving.shape[1]))
    ends = []  # each bucket's share kept at the last generation, where its name is written
    for b in range(surviving.shape[1]):
        counts = real_counts[buckets == b]
        # data solid with markers, theory dotted without: line style alone tells them apart
        style = {**series_style(b), "color": shades[b], "linestyle": "-"}
        right.plot(generations, surviving[:, b] / counts.size, label=BUCKET_LABELS[b], **style)
        ends.append(surviving[-1, b] / counts.size)
        theory = vocabulary_by_generation(counts, generations) / counts.size
        right.plot(generations, theory, color=shades[b], **{**THEORY_STYLE, "linestyle": ":"})
    legend_key(right, "theory: resampling with\nexact counts (dotted,\nin each bucket's colour)", linestyle=":")
    right.set_ylim(0, 1.02)
    label_line_ends(right, generations[-1], np.array(ends), BUCKET_SHORT[: surviving.shape[1]], shades)
    right.set_xticks(generations[::2])
    finish(right, title=f"Real words still in the training text ({label})", xlabel="generation",
           ylabel="share of the real words kept", legend=False)  # fmt: skip
    # the legend outside the axes, where it covers no curve
    right.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=10, title="seen in the real text",
                 title_fontsize=10)  # fmt: skip
    return fig


def policy_comparison(
    histories: Mapping[str, History],
    *,
    panels: Sequence[str] = ("perplexity_real", "vocabulary", "sentence_length", "perplexity_self"),
) -> plt.Figure:
    """The precomputed runs of several policies (median and range over seeds) on the panels of
    :func:`dashboard`, with the level of generation 0 as a grey dotted line. Blue, orange, purple:
    the vermillion of the figures around it means the bigram."""
    return dashboard(histories, panels=panels, reference=True, styles=(0, 4, 3, 5, 6, 7, 1, 2)[: len(histories)])


def relative_to_generation_1(history: History, name: str) -> np.ndarray:
    """A metric divided by its generation-1 value, run by run (both models start at 1)."""
    values = np.asarray(history[name], float)
    return values / values[1:2]


def side_by_side(
    transformer: History,
    bigram: History,
    *,
    panels: Sequence[str] = ("perplexity_real", "vocabulary", "sentence_length", "perplexity_self"),
) -> plt.Figure:
    """The transformer's and the bigram's fully synthetic loops on shared axes: every metric divided
    by its generation-1 value (both models are trained on all the real text there), median and range
    over the runs."""
    rows = {}
    for label, history in (("transformer (precomputed seeds)", transformer), ("bigram (lesson 03)", bigram)):
        generations = min(len(transformer.generations), len(bigram.generations))
        metrics = {n: relative_to_generation_1(history, n)[:generations] for n in panels if n in history.metrics}
        rows[label] = History(history.policy, history.n, metrics)
    fig = dashboard(rows, panels=panels)
    for ax in fig.axes:
        if ax.get_visible():
            log = " (log scale)" if ax.get_yscale() == "log" else ""
            ax.set_ylabel(f"relative to generation 1{log}")
            ax.axhline(1.0, color="0.35", linewidth=1, linestyle=(0, (1, 1.5)))
    return fig


def transformer_explorer(
    policy: str = "replace",
    real_fraction: float = 0.1,
    temperature: float = 1.0,
    generations: int = 4,
    base=None,
) -> plt.Figure:
    """The explorer of lesson 04. For the precomputed settings (temperature 1; fully synthetic,
    10% fresh real text or accumulate) it draws the precomputed runs (median and range over
    seeds, all generations). For any other setting it runs ``generations`` generations live from
    the generation-0 model ``base`` (default: :func:`collapse_edu.neural_lm.base_model`, seed 0,
    trained once per session), one run, next to the precomputed fully synthetic runs."""
    from .. import neural_lm

    policy = check_choice("policy", policy, ("replace", "fresh-real", "accumulate"))
    real_fraction = check_float("real_fraction", real_fraction, 0.0, 1.0)
    temperature = check_float("temperature", temperature, 0.0, strict_minimum=True)
    generations = check_int("generations", generations, minimum=2, maximum=10)
    results = neural_lm.load_runs()
    precomputed = {"replace": "fully synthetic", "fresh-real": "10% real", "accumulate": "accumulate"}
    stored = results["settings"]["policies"]
    matches = temperature == 1.0 and policy in stored and (policy != "fresh-real" or real_fraction == stored[policy])
    seeds = len(results["seeds"])
    replace = neural_lm.runs_history(results, "replace")
    if matches:
        label = f"{precomputed[policy]}, T = 1 ({seeds} seeds, precomputed)"
        histories = {label: neural_lm.runs_history(results, policy)}
        if policy != "replace":
            histories[f"fully synthetic ({seeds} seeds, precomputed)"] = replace
        title = "Precomputed runs (benchmarks/neural_lm_runs.py)"
    else:
        run = neural_lm.simulate_transformer(
            None,
            generations=generations,
            policy=policy,
            real_fraction=real_fraction if policy == "fresh-real" else None,
            temperature=temperature,
            base=base if base is not None else neural_lm.base_model(progress=True),
            seed=0,
            progress="generations",
        )
        label = f"{run.history.policy}, T = {temperature:g} (live, one run)"
        histories = {label: run.history, f"fully synthetic, T = 1 ({seeds} seeds, precomputed)": replace}
        title = "Live run from this lesson's generation 0"
    return dashboard(histories, reference=True, title=title)
