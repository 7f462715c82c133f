"""``collapse-edu simulate FAMILY --plot``: the figure draws the numbers the command printed.

Every family, with each option that changes the numbers: the JSON columns printed must appear as
lines of the figure (median or mean over runs, per generation), the theory printed next to them
must be drawn, and no theory may be drawn where none was printed.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from collapse_edu.cli import main
from collapse_edu.figures.text import REFERENCE_STYLE


def run_plot(tmp_path: Path, monkeypatch, *argv: str, write: bool = False) -> tuple[dict, object, Path]:
    """Run ``collapse-edu simulate ... --json --plot``; returns (printed JSON, the figure, the file).

    Rendering a PNG costs about a second, so the file is only written with ``write=True``; the
    figure object is what the checks read."""
    drawn = []
    original = Figure.savefig

    def spy(figure, path, *args, **kwargs):
        drawn.append(figure)
        if write:
            original(figure, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "figure.png"
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["simulate", *argv, "--json", "--plot", str(target), "--force"])
    assert status == 0, err.getvalue()
    assert f"figure written to {target}" in err.getvalue()
    assert not write or target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (figure,) = drawn
    return json.loads(out.getvalue()), figure, target


def lines(figure):
    return [line for ax in figure.axes for line in ax.get_lines()]


def has_line(figure, x, y) -> bool:
    """A line of the figure whose points are (x, y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    for line in lines(figure):
        xd, yd = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if xd.shape == x.shape and np.allclose(xd, x) and np.allclose(yd, y, rtol=1e-9, atol=1e-12, equal_nan=True):
            return True
    return False


def theory_lines(figure) -> int:
    """Dashed lines without markers: the house style of a theory curve (simulations carry markers).
    The grey "all real data" reference of the text figures is a measured level, not theory."""
    return sum(
        1
        for line in lines(figure)
        if line.get_linestyle() == "--"
        and line.get_marker() in ("None", "none", "", None)
        and len(line.get_xdata())
        and line.get_color() != REFERENCE_STYLE["color"]
    )


def column(rows: list[dict], name: str, index: str = "generation") -> tuple[np.ndarray, np.ndarray]:
    return np.array([row[index] for row in rows], float), np.array([row[name] for row in rows], float)


def assert_drawn(data: dict, figure, simulated: list[str], theory: list[str], index: str = "generation") -> None:
    rows = data["generations"]
    for name in simulated:
        assert has_line(figure, *column(rows, name, index)), f"printed column {name} is not drawn"
    printed = [name for name in theory if rows[-1].get(name) is not None]
    for name in printed:
        assert has_line(figure, *column(rows[1:] if "error" in name else rows, name, index)), f"{name} is not drawn"
    if not printed:
        assert theory_lines(figure) == 0, "a theory curve is drawn but none was printed"


GAUSSIAN = ["gaussian", "--n", "20", "--generations", "15", "--runs", "50"]


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--policy", "accumulate"],
        ["--policy", "accumulate-subsample"],
        ["--policy", "fresh-real", "--real-fraction", "0.3"],
        ["--ddof", "1"],
        ["--ddof", "1", "--policy", "accumulate"],
        ["--direct"],
        ["--n", "12", "--generations", "9", "--runs", "7", "--seed", "3"],
    ],
    ids=repr,
)
def test_gaussian_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, *GAUSSIAN, *options, write=not options)
    assert_drawn(data, figure, ["sigma_median", "sigma2_mean"], ["theory_sigma_median", "theory_sigma2_mean"])
    policy = data["parameters"]["policy"]
    assert policy == "replace" or policy in figure.axes[0].get_title()


def test_gaussian_plot_theory_matches_simulation_under_accumulate(tmp_path, monkeypatch):
    """The exact accumulate moments printed (and drawn) agree with the simulated mean."""
    data, _, _ = run_plot(tmp_path, monkeypatch, "gaussian", "--n", "20", "--generations", "20", "--runs", "4000",
                          "--policy", "accumulate")  # fmt: skip
    final = data["generations"][-1]
    assert abs(final["sigma2_mean"] - final["theory_sigma2_mean"]) < 0.02
    assert abs(final["mu2_mean"] - final["theory_mu2_mean"]) < 0.2 * final["theory_mu2_mean"]


CATEGORICAL = ["categorical", "--categories", "20", "--n", "100", "--generations", "10", "--runs", "30"]


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--policy", "accumulate"],
        ["--policy", "accumulate-subsample"],
        ["--policy", "fresh-real", "--real-fraction", "0.2"],
        ["--distribution", "uniform"],
        ["--zipf-exponent", "2", "--seed", "4"],
    ],
    ids=repr,
)
def test_categorical_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, *CATEGORICAL, *options)
    assert_drawn(data, figure, ["surviving_mean", "heterozygosity_mean"], ["surviving_theory", "heterozygosity_theory"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    words = "the a model data text real synthetic word sentence story".split()
    rng = np.random.default_rng(0)
    paragraphs = [
        " ".join(" ".join(rng.choice(words, size=rng.integers(4, 9))).capitalize() + "." for _ in range(5))
        for _ in range(40)
    ]
    path.write_text("\n\n".join(paragraphs))
    return path


NGRAM_COLUMNS = ["vocabulary", "distinct_1", "distinct_2", "entropy", "perplexity_real", "perplexity_self"]


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--temperature", "0.7"],
        ["--top-k", "3"],
        ["--policy", "accumulate"],
        ["--policy", "fresh-real", "--real-fraction", "0.5"],
        ["--order", "1"],
        ["--runs", "2"],
    ],
    ids=repr,
)
def test_ngram_plot(tmp_path, monkeypatch, corpus, options):
    base = ["ngram", "--corpus", str(corpus), "--generations", "3", "--eval-sentences", "20"]
    data, figure, _ = run_plot(tmp_path, monkeypatch, *base, *options)
    assert_drawn(data, figure, NGRAM_COLUMNS, ["theory_vocabulary"])
    title = figure.get_suptitle()
    assert f"temperature {data['parameters']['temperature']:g}" in title and data["parameters"]["policy"] in title


MIXTURE = ["mixture", "--n", "100", "--generations", "5"]
MIXTURE_COLUMNS = [
    "pooled_variance_mean",
    "pooled_std_median",
    "light_std_median",
    "heavy_std_median",
    "light_weight_median",
    "separation_median",
    "theory_pooled_variance",
]


@pytest.mark.parametrize(
    "options",
    [[], ["--runs", "3"], ["--separation", "3"], ["--components", "3"], ["--max-iter", "2"], ["--warm-start"]],
    ids=repr,
)
def test_mixture_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, *MIXTURE, *options)
    assert_drawn(data, figure, MIXTURE_COLUMNS[:-1], MIXTURE_COLUMNS[-1:])


REGRESSION = ["regression", "--dim", "2", "--samples", "12", "--generations", "6", "--runs", "40"]


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--noise", "5"],
        ["--ridge", "1"],
        ["--policy", "accumulate"],
        ["--policy", "accumulate", "--design", "fresh"],
        ["--policy", "fresh-real", "--real-fraction", "0.5"],
        ["--policy", "accumulate-subsample"],
        ["--dim", "3", "--samples", "20", "--seed", "2"],
    ],
    ids=repr,
)
def test_regression_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, *REGRESSION, *options)
    rows = data["generations"][1:]  # generation 0 is the truth (error 0): not on the log axis
    assert has_line(figure, *column(rows, "error_mean"))
    if "theory_error_mean" in rows[-1]:
        assert has_line(figure, *column(rows, "theory_error_mean"))
    else:
        assert theory_lines(figure) == 0
    parameters = data["parameters"]
    title = figure.axes[0].get_title()
    assert f"noise {parameters['noise']:g}" in title and f"{parameters['design']} X" in title
    assert ("ridge" in title) == (parameters["ridge"] > 0)


@pytest.mark.parametrize("options", [[], ["--method", "pacgan"], ["--target", "grid"]], ids=repr)
def test_gan_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, "gan", "--steps", "30", "--width", "8", *options)
    rows = data["generations"]
    assert has_line(figure, *column(rows, "modes", "step"))
    assert has_line(figure, *column(rows, "modes_strict", "step"))


@pytest.mark.parametrize(
    "options",
    [[], ["--method", "ewc"], ["--method", "replay", "--k", "2"], ["--scenario", "task-incremental"]],
    ids=repr,
)
def test_continual_plot(tmp_path, monkeypatch, options):
    data, figure, _ = run_plot(tmp_path, monkeypatch, "continual", "--steps", "3", "--hidden", "16", *options)
    rows = data["generations"]
    assert has_line(figure, *column(rows, "average_accuracy", "task"))
    assert has_line(figure, *column(rows, "accuracy_task_1", "task"))
    matrix = np.array([[row[f"accuracy_task_{j + 1}"] for j in range(len(rows))] for row in rows])
    shown = np.where(np.triu(np.ones_like(matrix, bool), 1), np.nan, matrix)  # tasks not yet trained: blank
    images = [np.ma.filled(image.get_array().astype(float), np.nan) for ax in figure.axes for image in ax.get_images()]
    assert any(np.allclose(image, shown, equal_nan=True) for image in images)
