"""One house style for every figure, and the recurring plot pieces.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); every series
also gets its own line style and marker, so figures read in greyscale and on a projector.
Convention in every lesson: a **simulation** is a solid line (median) with a shaded band
(5-95% of runs); its **theory** is a dashed line of the same colour on the same axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.ticker import MaxNLocator

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
# No plain dashes among the series styles: "--" is reserved for theory curves; and no plain dots (":"), which
# mark reference levels (real data, the model of all real data, chance).
LINESTYLES = (
    "-",
    "-.",
    (0, (10, 2, 2, 2)),
    (0, (5, 1)),
    (0, (3, 1, 1, 1, 1, 1)),
    (0, (1, 1)),
    (0, (8, 2)),
    (0, (4, 2, 1, 2)),
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
THEORY_STYLE = {"linestyle": "--", "linewidth": 2.2, "alpha": 0.95, "marker": "none"}

HOUSE_STYLE = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.framealpha": 0.85,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "image.cmap": "viridis",
    # opaque white figures: readable in JupyterLab's dark theme and on dark slides (no transparent
    # background that would put black labels on a dark page)
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "axes.prop_cycle": cycler(color=OKABE_ITO) + cycler(linestyle=LINESTYLES) + cycler(marker=MARKERS),
}


def use_house_style() -> None:
    """Apply the course style to every later figure (one call at the top of each lesson)."""
    mpl.rcParams.update(HOUSE_STYLE)


def series_style(i: int) -> dict:
    """Colour, line style and marker of the i-th series (cycles after eight)."""
    i %= len(OKABE_ITO)
    return {"color": OKABE_ITO[i], "linestyle": LINESTYLES[i], "marker": MARKERS[i]}


def _markevery(length: int) -> int:
    return max(1, length // 10)


BAND_ALPHA = 0.18  #: opacity of a band's fill
BAND_EDGE_ALPHA = 0.6  #: opacity of its thin outline, which stays traceable where bands of several series overlap


def shade_band(
    ax: plt.Axes, x: np.ndarray, low: np.ndarray, high: np.ndarray, color, alpha: float = BAND_ALPHA, linestyle="-"
):
    """A band between ``low`` and ``high``: a light fill in ``color`` with a thin outline in the same colour
    and in ``linestyle`` (its series' line style), so that where two bands overlap (and their fills mix)
    each band's edges can still be followed, also by a reader who cannot tell the two colours apart."""
    from matplotlib.colors import to_rgba

    return ax.fill_between(x, low, high, facecolor=to_rgba(color, alpha), edgecolor=to_rgba(color, BAND_EDGE_ALPHA),
                           linewidth=0.9, linestyle=linestyle)  # fmt: skip


def label_line_ends(
    ax: plt.Axes, x: float, ends: np.ndarray, labels: Sequence[str], colors, gap: float = 0.045
) -> None:
    """Write each line's label just right of its last point (``ends``: the last y values), in its colour, so
    that neighbouring shades are told apart where the lines end; labels closer than ``gap`` (in axis units
    of y) are pushed apart, keeping their order."""
    order = np.argsort(ends)
    placed = np.array(ends, float)[order]
    low, high = sorted(ax.get_ylim())
    span = (high - low) or 1.0
    for k in range(1, placed.size):
        placed[k] = max(placed[k], placed[k - 1] + gap * span)
    for k, i in enumerate(order):
        ax.annotate(labels[i], (x, ends[i]), xytext=(x + 0.25, placed[k]), textcoords="data", color=colors[i],
                    fontsize=10, fontweight="bold", va="center", ha="left", annotation_clip=False)  # fmt: skip
    ax.set_xlim(right=x + 0.9)


def plot_band(
    ax: plt.Axes,
    x: np.ndarray,
    runs: np.ndarray,
    *,
    label: str,
    i: int = 0,
    quantiles: tuple[float, float] = (0.05, 0.95),
    center: str = "median",
) -> None:
    """Simulation: median (or mean) over runs as a line, the quantile band shaded.

    ``runs`` has shape ``(len(x), runs)``.
    """
    style = series_style(i)
    line = np.median(runs, axis=1) if center == "median" else np.mean(runs, axis=1)
    low, high = np.quantile(runs, quantiles, axis=1)
    shade_band(ax, x, low, high, style["color"], linestyle=style["linestyle"])
    ax.plot(x, line, label=label, markevery=_markevery(len(x)), **style)


def plot_line(ax: plt.Axes, x: np.ndarray, y: np.ndarray, *, label: str, i: int = 0) -> None:
    """One simulated series in the house style."""
    ax.plot(x, y, label=label, markevery=_markevery(len(x)), **series_style(i))


def plot_theory(
    ax: plt.Axes, x: np.ndarray, y: np.ndarray, *, label: str | None, i: int = 0, on_top: bool = False
) -> None:
    """Theory: a dashed line in the colour of the simulation it belongs to (``i``), no markers.

    ``on_top=True`` draws it thin and black above the simulation instead, so a theory that the
    simulation's line would hide stays visible."""
    if on_top:
        ax.plot(x, y, label=label, color="black", linestyle="--", linewidth=1.3, marker="none", zorder=4)
    else:
        ax.plot(x, y, label=label, color=series_style(i)["color"], **THEORY_STYLE)


def legend_key(ax: plt.Axes, label: str, *, linestyle: str = "--", color: str = "0.3", **style) -> None:
    """A legend entry (grey unless ``color`` says otherwise) that explains a line style rather than a
    series ("theory (dashed)")."""
    ax.plot([], [], color=color, linestyle=linestyle, marker="", label=label, **style)


def finish(
    ax: plt.Axes,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    legend: bool = True,
    loc: str = "best",
    title_y: float | None = None,
) -> None:
    """Title, axis labels and legend: every axes in the course gets all three.

    ``title_y=1.0`` pins the title to the top of the axes; by default matplotlib re-places it at
    every draw, above any tick labels on top, a pass over the y axis that a slider's figure (with
    no top tick labels) can skip."""
    ax.set_title(title, y=title_y)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc=loc)


def new_figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 8.0, height: float = 4.5, **kwargs
) -> tuple[plt.Figure, np.ndarray]:
    """A figure in the house style with constrained layout; axes always returned as an array."""
    use_house_style()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False, **kwargs)
    return fig, axes.ravel()


def image_grid(
    ax: plt.Axes, images: np.ndarray, *, rows: int, cols: int, title: str = "", cmap: str = "gray_r"
) -> None:
    """Tile ``images`` (shape ``(k, h, w)``) into one picture on ``ax``, k <= rows * cols."""
    images = np.asarray(images, float)
    k, h, w = images.shape
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for index in range(min(k, rows * cols)):
        r, c = divmod(index, cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = images[index]
    ax.imshow(canvas, cmap=cmap, interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():  # no frame line along two sides of the picture
        spine.set_visible(False)


def legend_outside(fig: plt.Figure, axes: Sequence[plt.Axes]) -> None:
    """One shared legend below the axes (for small multiples with the same series)."""
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)))


def legend_below(ax: plt.Axes, *, offset: float = 0.2, ncols: int = 2, **style) -> None:
    """The axes' legend centred under it, its top ``offset`` axes heights below the axes (under the tick
    labels and the x label): for a panel where any place inside would cover a curve or a bar."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -offset), ncols=ncols, **style)


NICE_MANTISSAS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
"""The numbers an extra end label may take, times a power of ten (1, 2, 3 and 5 only across over three decades)."""


def _end_name(end: float, named: Sequence[float], low: float, high: float) -> float | None:
    """A label for one end of a log axis from ``low`` to ``high``: when more than 15% of the axis's height
    lies between ``end`` and the nearest named tick, the nice number (:data:`NICE_MANTISSAS`) nearest
    ``end`` that keeps at least 10% of the height from that tick; ``None`` when the end is named well
    enough or no such number fits."""
    if not named:
        return None
    height = np.log(high / low)
    nearest = named[0] if end == low else named[-1]
    if abs(np.log(nearest / end)) <= 0.15 * height:
        return None
    k = int(np.floor(np.log10(end)))
    mantissas = NICE_MANTISSAS if high / low <= 1000 else (1, 2, 3, 5)
    candidates = sorted({float(f"{m * 10.0**j:.6g}") for j in (k - 1, k, k + 1) for m in mantissas})
    beyond = (lambda v: v < nearest) if end == low else (lambda v: v > nearest)  # between the end and the tick
    fitting = [v for v in candidates if low <= v <= high and beyond(v) and abs(np.log(nearest / v)) >= 0.1 * height]
    return min(fitting, key=lambda v: abs(np.log(v / end))) if fitting else None


def plain_log_ticks(ax: plt.Axes, max_labels: int = 7) -> None:
    """Fix a log-scale y axis's ticks, labelled as plain numbers (0.5, not 5 x 10^-1), from the
    limits the axis has now: call it after the last plot on ``ax``.

    Every power of ten is labelled (every k-th when more than ``max_labels`` decades are in view;
    the others get unlabelled ticks); across up to six decades the minor ticks at 2-9 times a power
    of ten show, and across up to three those at 2, 3 and 5 are labelled, so labels never crowd. A
    range inside one decade labels its minor ticks; a range narrower than a decade that those would
    leave with fewer than four names, or with an end more than 25% beyond the nearest name, gets
    evenly spaced ticks instead, so every part of the axis can be read. An end left unnamed over more
    than 15% of the height gets one more label, a nice number near it (:func:`_end_name`). The ticks are
    computed once here rather than at every draw, which keeps a redrawn figure cheap."""
    low, high = sorted(ax.get_ylim())
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        return
    inside = lambda values: [v for v in values if low <= v <= high]  # noqa: E731

    def label(y: float) -> str:  # 0.001, 0.5, 20, 1,000, 1,000,000: never 1e+06 next to 100000
        y = float(f"{y:.6g}")
        return f"{y:,.0f}" if y >= 1000 and y.is_integer() else f"{y:g}"

    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    decades = inside([10.0**k for k in range(first, last + 1)])
    step = max(1, int(np.ceil(len(decades) / max_labels)))
    major = [y for y in decades if round(np.log10(y)) % step == 0]
    minor = [y for y in decades if y not in major] if len(decades) <= 4 * max_labels else []
    labelled: list[float] = []
    if last - first <= 6:
        between = inside([float(f"{m * 10.0**k:.6g}") for k in range(first, last + 1) for m in range(2, 10)])
        minor += between
        if last - first <= 3:
            labelled = [y for y in between if round(y / 10 ** np.floor(np.log10(y)), 6) in (2, 3, 5)]
        if len(major) + len(labelled) < 2:  # a range inside one decade: name every minor tick
            labelled = between
    named = sorted({*major, *labelled})
    sparse = len(named) < 4 or named[0] / low > 1.25 or high / named[-1] > 1.25  # an end of the axis unnamed
    if len(named) < 2 or (high / low < 10 and sparse):  # less than a decade in view: evenly spaced plain numbers
        major, minor, labelled = inside(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)), [], []
    named = sorted({*major, *labelled})
    for end in (low, high):  # name an end of the axis that would otherwise stay unnamed
        extra = _end_name(end, named, low, high)
        if extra is not None:
            minor.append(extra)
            labelled.append(extra)
    ax.set_yticks(major, [label(y) for y in major])
    minor = sorted(set(minor))
    ax.set_yticks(minor, [label(y) if y in labelled else "" for y in minor], minor=True)
