"""Figures of lesson 03: an n-gram language model retrained on its own text."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..loop import History
from ..ngram import NGramRun, TextCorpus, fit_ngram, load_corpus, simulate_ngram, vocabulary_by_generation
from ..plots import finish, legend_outside, new_figure, plain_log_ticks, plot_band, plot_line, plot_theory, series_style
from ..validation import check_int

#: The panels of :func:`collapse_dashboard`: metric name -> (title, y label, log scale).
PANELS = {
    "vocabulary": ("Vocabulary the model can produce", "word types", False),
    "distinct_1": ("distinct-1 of generated text", "different words / words", False),
    "distinct_2": ("distinct-2 of generated text", "different bigrams / bigrams", False),
    "entropy": ("Mean next-token entropy", "bits", False),
    "perplexity_real": ("Perplexity of held-out REAL text", "perplexity (log scale)", True),
    "perplexity_self": ("Perplexity of its own samples", "perplexity (log scale)", True),
}


def vocabulary_theory(corpus: TextCorpus, order: int, generations: np.ndarray) -> np.ndarray:
    """Expected vocabulary per generation under pure resampling (policy replace, T = 1, no top-k;
    :func:`collapse_edu.ngram.vocabulary_by_generation`): generation 1 is fitted on the real text."""
    counts = fit_ngram(corpus.train, order, len(corpus.vocab)).unigram_counts[2:]
    return vocabulary_by_generation(counts, np.asarray(generations))


#: How the level of the model of all real training text is drawn (``reference=True``).
REFERENCE_STYLE = {"color": "0.35", "linestyle": (0, (1, 1.5)), "linewidth": 2.2, "marker": ""}
REFERENCE_LABEL = "all real data (one fit)"


def _series(ax: plt.Axes, t: np.ndarray, values: np.ndarray, label: str, i: int) -> None:
    """Median over runs with the full range of the runs shaded (a few runs: the band is min to max)."""
    if values.shape[1] > 1:
        plot_band(ax, t, values, label=label, i=i, quantiles=(0.0, 1.0))
    else:
        plot_line(ax, t, values[:, 0], label=label, i=i)


def _plain_log_axis(ax: plt.Axes) -> None:
    """Log scale with plain-number ticks (:func:`collapse_edu.plots.plain_log_ticks`); call it after the last plot."""
    ax.set_yscale("log")
    plain_log_ticks(ax)


def collapse_dashboard(
    histories: Mapping[str, History],
    *,
    theory_counts: np.ndarray | None = None,
    theory_kept: float = 1.0,
    panels: Sequence[str] = tuple(PANELS),
    ncols: int = 3,
    title: str = "",
    log: Sequence[str] = (),
    reference: bool = False,
    styles: Sequence[int] | None = None,
) -> plt.Figure:
    """Per-generation text metrics of one or more runs, one panel per metric (median and the range
    of the runs as a band when a history has several runs). ``theory_counts`` (the real word
    counts) adds the branching-process vocabulary theory to the vocabulary panel, for the first
    history (``theory_kept``: the share of the real sentences generation 1 was fitted on).
    ``reference`` draws on every panel the level of generation 0, the model of all the
    real training text (median over runs), as a grey dotted line: what one fit to real data keeps.
    Panels named in ``log`` get a log scale too (perplexities always have one). ``styles`` gives each
    history its series style (:func:`collapse_edu.plots.series_style` index; default 0, 1, 2, ...), so that
    a colour keeps one meaning across the figures of a lesson. One legend below the panels."""
    panels = [p for p in panels if all(p in h.metrics for h in histories.values())]
    styles = list(range(len(histories))) if styles is None else [int(i) for i in styles]
    if len(styles) != len(histories):
        raise ValueError(f"styles must give one style per history ({len(histories)}), got {len(styles)}")
    rows = -(-len(panels) // ncols)
    fig, axes = new_figure(min(ncols, len(panels)), rows, width=4.6 * min(ncols, len(panels)), height=3.6 * rows + 0.8)
    for ax, name in zip(axes, panels, strict=False):
        heading, ylabel, log_scale = PANELS[name]
        if name in log and not log_scale:
            ylabel, log_scale = f"{ylabel} (log scale)", True
        for i, (label, history) in zip(styles, histories.items(), strict=True):
            _series(ax, history.generations, history[name], label, i)
        if reference:  # drawn over the series, so that a curve on the same level does not hide it
            ax.axhline(
                float(np.median(next(iter(histories.values()))[name][0])),
                label=REFERENCE_LABEL,
                zorder=4,
                **REFERENCE_STYLE,
            )
        if name == "vocabulary" and theory_counts is not None:
            t = next(iter(histories.values())).generations
            theory = vocabulary_by_generation(theory_counts, t, theory_kept)
            plot_theory(ax, t, theory, label="theory (resampling)", on_top=True)
        if log_scale:
            _plain_log_axis(ax)
        finish(ax, title=heading, xlabel="generation", ylabel=ylabel, legend=False)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    legend_outside(fig, axes[:1])  # below the panels, where it covers no curve
    if title:
        fig.suptitle(title)
    return fig


def generated_text(run: NGramRun, generations: Sequence[int] = (0, 1, 5, 10, 20), count: int = 3, seed: int = 0):
    """Sentences per generation: real sentences for generation 0, samples of model t otherwise
    (the models must be kept: ``simulate_ngram(..., keep_models=True)``)."""
    seed = check_int("seed", seed, minimum=0)
    count = check_int("count", count, minimum=1)
    texts = {}
    rng = np.random.default_rng(seed)
    real = run.corpus.train
    for t in generations:
        if t == 0:
            picks = rng.choice(len(real), size=count, replace=False)
            texts[0] = real.take(picks).to_text(run.corpus.vocab)
        else:
            texts[t] = run.text(t, count=count, seed=seed + t)
    return texts


def forgotten_words(run: NGramRun, generations: Sequence[int] = (0, 1, 5, 10, 20), count: int = 6) -> dict[int, str]:
    """Per generation, the ``count`` words most frequent in the real text that the model of that
    generation can no longer produce (needs the kept models)."""
    vocab = run.corpus.vocab
    real = run.history.models[0][0].unigram_counts
    out = {}
    for t in generations:
        counts = run.history.models[t][0].unigram_counts
        lost = np.flatnonzero((real > 0) & (counts == 0))
        lost = lost[lost >= 2]
        top = lost[np.argsort(-real[lost], kind="stable")[:count]]
        words = ", ".join(f"{w} ({real[i]}x)" for w, i in zip(vocab.decode(top), top, strict=True))
        out[t] = f"{lost.size} words lost" + (f"; most common: {words}" if lost.size else "")
    return out


class TextTable:
    """Sentences side by side, one column per generation; HTML in Jupyter, plain text elsewhere.
    ``footer`` adds labelled rows (label -> {generation: text}). A string key is its own heading."""

    def __init__(
        self,
        texts: Mapping[int | str, Sequence[str]],
        footer: Mapping[str, Mapping[int | str, str]] | None = None,
        width: int = 60,
    ):
        self.texts = dict(texts)
        self.footer = dict(footer or {})
        self.width = width

    @staticmethod
    def _heading(t: int | str) -> str:
        if isinstance(t, str):
            return t
        return "real text (generation 0)" if t == 0 else f"generation {t}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{self._heading(t)}</th>" for t in self.texts)
        rows = []
        for k in range(max(len(v) for v in self.texts.values())):
            cell = "<td style='text-align:left;vertical-align:top;min-width:12em'>{}</td>"
            cells = "".join(cell.format(html.escape(v[k] if k < len(v) else "")) for v in self.texts.values())
            rows.append(f"<tr>{cells}</tr>")
        for label, values in self.footer.items():
            cells = "".join(cell.format("<i>" + html.escape(values.get(t, "")) + "</i>") for t in self.texts)
            rows.append(f"<tr style='border-top:2px solid #888'>{cells}</tr>")
            rows[-1] = rows[-1].replace("<i>", f"<b>{html.escape(label)}:</b> <i>", len(self.texts))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def __repr__(self) -> str:
        lines = []
        for t, sentences in self.texts.items():
            lines.append(f"--- {self._heading(t)}")
            for s in sentences:
                lines.append("  * " + (s if len(s) <= self.width * 2 else s[: self.width * 2 - 3] + "..."))
            for label, values in self.footer.items():
                lines.append(f"  {label}: {values.get(t, '')}")
        return "\n".join(lines)


def word_loss_by_count(run: NGramRun, max_count: int = 6) -> plt.Figure:
    """Share of words seen c times in the real text that are gone after one round of resampling
    (generation 1 -> 2), pooled over the runs, with +-2 standard errors, against the categorical /
    Poisson theory e^-c."""
    history = run.history
    if len(history.models) < 3:
        raise ValueError("needs the models of generations 0-2: simulate_ngram(..., keep_models=True)")
    max_count = check_int("max_count", max_count, minimum=1)
    real, after = word_counts_before_after(history)
    c = np.arange(1, max_count + 1)
    words = np.array([np.sum(real == k) for k in c])
    lost = np.array([np.mean(after[real == k] == 0) if n else np.nan for k, n in zip(c, words, strict=True)])
    se = np.sqrt(lost * (1 - lost) / np.maximum(words, 1))
    fig, (ax,) = new_figure(1, width=7, height=4.2)
    style = series_style(0)
    ax.errorbar(c, lost, yerr=[np.minimum(2 * se, lost), 2 * se], label="simulation (±2 SE)", capsize=3, **style)
    fine = np.linspace(1, max_count, 100)
    plot_theory(ax, fine, np.exp(-fine), label=r"theory: $e^{-c}$", i=0)
    runs = len(history.models[1])  # model 1 of every run is fitted on the same real text
    ax.set_xticks(c, [f"{k}\n({n // runs})" for k, n in zip(c, words, strict=True)])
    ax.set_ylim(bottom=-0.02)
    finish(
        ax,
        title="Words lost in one round of resampling" + (f" ({runs} runs pooled)" if runs > 1 else ""),
        xlabel="count c in the real text (number of such words)",
        ylabel="share lost",
    )
    return fig


def word_counts_before_after(history: History) -> tuple[np.ndarray, np.ndarray]:
    """Word counts (ids >= 2) in the training text of model 1 (the real text) and of model 2 (the
    first synthetic corpus), every run's words end to end: the data of one round of resampling."""
    before = np.concatenate([m.unigram_counts[2:] for m in history.models[1]])
    after = np.concatenate([m.unigram_counts[2:] for m in history.models[2]])
    return before, after


#: The explorer's largest number of generations: a run that must grow is run this far at once.
EXPLORER_GENERATIONS = 60
_EXPLORER_RUNS: dict[tuple, History] = {}  # settings (all but generations) -> the longest run so far
EXPLORER_LABEL_GAP = 0.17  #: axes widths from each y axis to its label in the explorer
_EXPLORER_KEEP = 8  #: settings remembered (each a few kB)


def _explorer_history(generations: int, **settings) -> History:
    """``simulate_ngram(generations=generations, **settings).history``, served from the longest run
    already computed with these settings when there is one (a run of T generations is the head of a
    longer run with the same seed, :meth:`History.head`), so that moving only the generations
    slider redraws without simulating again. A run that must grow is run to
    max(``generations``, :data:`EXPLORER_GENERATIONS`) once the first short run is on record."""
    generations = check_int("generations", generations, minimum=1)
    key = tuple(sorted(settings.items()))
    stored = _EXPLORER_RUNS.get(key)
    if stored is None or len(stored.generations) <= generations:
        length = generations if stored is None else max(generations, EXPLORER_GENERATIONS)
        stored = simulate_ngram(load_corpus(), generations=length, progress="generations", **settings).history
        _EXPLORER_RUNS.pop(key, None)
        while len(_EXPLORER_RUNS) >= _EXPLORER_KEEP:
            _EXPLORER_RUNS.pop(next(iter(_EXPLORER_RUNS)))
        _EXPLORER_RUNS[key] = stored
    return stored.head(generations)


def ngram_collapse(
    order: int = 2,
    policy: str = "replace",
    real_fraction: float = 0.2,
    temperature: float = 1.0,
    top_k: int = 0,
    generations: int = 20,
    seed: int = 0,
    runs: int = 5,
    eval_sentences: int = 500,
) -> plt.Figure:
    """Interactive view: vocabulary, distinct-2 and held-out perplexity of ``runs`` runs on the
    embedded corpus, with the level of the model of all real text as a reference (``top_k = 0``
    means no top-k; ``real_fraction`` is used by ``fresh-real`` only). The defaults are lesson 03's
    section 2: five runs, seed 0, distinct-n measured on 500 sentences per model (distinct-n
    depends on the sample size, so only equal sizes compare)."""
    corpus = load_corpus()
    history = _explorer_history(
        generations,
        order=order,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction if policy == "fresh-real" else None,
        temperature=temperature,
        top_k=top_k or None,
        eval_sentences=eval_sentences,
        seed=seed,
    )
    label = f"order {order}, {history.policy}, T = {temperature:g}" + (f", top-{top_k}" if top_k else "")
    theory = None
    if policy == "replace" and temperature == 1.0 and not top_k:
        theory = fit_ngram(corpus.train, order, len(corpus.vocab)).unigram_counts[2:]
    fig = collapse_dashboard(
        {label: history},
        theory_counts=theory,
        panels=("vocabulary", "distinct_2", "perplexity_real"),
        title=f"{label}; {runs} runs",
        reference=True,
    )
    for ax in fig.axes:  # room for tick labels as wide as "0.375" or "5,000", whatever the settings:
        ax.yaxis.set_label_coords(-EXPLORER_LABEL_GAP, 0.5)  # a redraw never moves a label into the next panel
    return fig
