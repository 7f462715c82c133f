"""Lesson 07: GAN mode metrics on hand-made samples, the targets, a short training run, the seed table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse_edu import gan_metrics as gm
from collapse_edu.gan import GANRun, grid_target, make_target, ring_target, save_runs, stored_run, train_gan

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
STD = 0.05
RESULTS = Path(__file__).resolve().parents[1] / "collapse_edu" / "results" / "gan_seeds.json"


# --------------------------------------------------------------------------- targets


def test_ring_target_geometry():
    ring = ring_target()
    assert ring.n_modes == 8 and ring.std == 0.02
    np.testing.assert_allclose(np.linalg.norm(ring.modes, axis=1), 2.0)
    np.testing.assert_allclose(ring.modes[0], [2.0, 0.0], atol=1e-12)
    gaps = np.linalg.norm(ring.modes - np.roll(ring.modes, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 2 * 2.0 * np.sin(np.pi / 8))


def test_grid_target_geometry():
    grid = grid_target()
    assert grid.n_modes == 25 and grid.std == 0.05
    assert sorted(set(grid.modes[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert make_target("grid").n_modes == 25 and make_target("ring").n_modes == 8


def test_real_samples_score_as_the_literature_expects():
    """Samples of the target itself: all modes, 98.9% high quality (2-D: P(chi2_2 <= 9) = 1 - exp(-9/2))."""
    for target in (ring_target(), grid_target()):
        samples = target.sample(20_000, seed=1)
        report = target.report(samples)
        p = 1 - math.exp(-4.5)  # P(chi2_2 <= 9): radius within 3 std in 2-D
        se = math.sqrt(p * (1 - p) / len(samples))
        assert report["modes"] == report["modes_strict"] == target.n_modes
        assert abs(report["high_quality"] - p) < 5 * se
        # reverse KL of an exact multinomial histogram: about (K - 1) / (2 n) nats
        assert report["reverse_kl"] < 10 * (target.n_modes - 1) / (2 * len(samples))


# --------------------------------------------------------------------------- metrics on hand-made samples


def test_high_quality_mask_by_hand():
    samples = np.array([[0.0, 0.0], [0.14, 0.0], [0.16, 0.0], [1.0, 1.1], [0.5, 0.5]])
    np.testing.assert_array_equal(gm.high_quality(samples, SQUARE, STD), [True, True, False, True, False])
    np.testing.assert_array_equal(gm.high_quality(samples, SQUARE, STD, n_std=1.0), [True, False, False, False, False])
    assert gm.high_quality_fraction(samples, SQUARE, STD) == pytest.approx(0.6)


def test_modes_captured_by_hand():
    # 25 good samples on mode 0, 3 good on mode 3, 10 poor ones near mode 1, none near mode 2
    samples = np.concatenate([np.zeros((25, 2)), np.tile([1.0, 1.0], (3, 1)), np.tile([1.3, 0.0], (10, 1))])
    np.testing.assert_array_equal(gm.mode_counts(samples, SQUARE, STD), [25, 0, 0, 3])
    np.testing.assert_array_equal(gm.mode_counts(samples, SQUARE, STD, quality_only=False), [25, 10, 0, 3])
    assert gm.modes_captured(samples, SQUARE, STD) == 2
    assert gm.modes_captured(samples, SQUARE, STD, min_count=20) == 1
    report = gm.mode_report(samples, SQUARE, STD)
    assert report["modes"] == 2 and report["modes_strict"] == 1
    assert report["high_quality"] == pytest.approx(28 / 38)


def test_reverse_kl_by_hand():
    one_mode = np.zeros((10, 2))
    assert gm.reverse_kl(one_mode, SQUARE) == pytest.approx(math.log(4))
    uniform = np.repeat(SQUARE, 5, axis=0)
    assert gm.reverse_kl(uniform, SQUARE) == pytest.approx(0.0)
    two_modes = np.repeat(SQUARE[:2], 5, axis=0)  # p = (1/2, 1/2, 0, 0) against q = 1/4 each
    assert gm.reverse_kl(two_modes, SQUARE) == pytest.approx(math.log(2))
    # against unequal true weights q = (0.4, 0.4, 0.1, 0.1): KL = log(0.5 / 0.4)
    assert gm.reverse_kl(two_modes, SQUARE, weights=[4, 4, 1, 1]) == pytest.approx(math.log(1.25))
    # quality does not matter for the histogram: a poor sample still counts for its nearest mode
    assert gm.reverse_kl(np.full((4, 2), 0.2), SQUARE) == pytest.approx(math.log(4))


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=4, max_size=4).filter(lambda c: sum(c) > 0))
def test_reverse_kl_matches_the_formula(counts):
    samples = np.repeat(SQUARE, counts, axis=0)
    p = np.array(counts) / sum(counts)
    expected = sum(pk * math.log(pk / 0.25) for pk in p if pk > 0)
    assert gm.reverse_kl(samples, SQUARE) == pytest.approx(expected, abs=1e-12)
    assert 0.0 <= gm.reverse_kl(samples, SQUARE) <= math.log(4) + 1e-12
    assert gm.modes_captured(samples, SQUARE, STD) == sum(c > 0 for c in counts)


def test_reverse_kl_counts_poor_samples_at_the_targets_width() -> None:
    """PacGAN's histogram assigns EVERY sample to its nearest mode, whatever its distance: with the target's
    own std (0.05), ten samples 0.3 from mode 0 (6 std: not high quality) and ten on mode 3 give
    p = (1/2, 0, 0, 1/2) against q = 1/4 each, so KL = log 2 (were the poor ones dropped, it would be
    (1/2) log 2)."""
    samples = np.concatenate([np.tile([0.3, 0.0], (10, 1)), np.tile([1.0, 1.0], (10, 1))])
    assert gm.high_quality_fraction(samples, SQUARE, STD) == pytest.approx(0.5)
    assert gm.reverse_kl(samples, SQUARE, STD) == pytest.approx(math.log(2))


def test_high_quality_includes_the_boundary() -> None:
    """VEEGAN's "within 3 std" includes a sample exactly 3 std from its mode (0.75 = 3 x 0.25, exact in
    binary floating point); one a hair further is not high quality."""
    samples = np.array([[0.75, 0.0], [0.0, 0.75], [0.75 + 1e-9, 0.0]])
    np.testing.assert_array_equal(gm.high_quality(samples, np.zeros((1, 2)), 0.25), [True, True, False])


def test_mode_report_counts_modes_with_at_least_one_and_at_least_strict_count() -> None:
    """``modes`` counts modes with at least one high-quality sample and ``modes_strict`` those with at least
    ``strict_count`` (default 20): exactly 20 on mode 0, 19 on mode 1 and a single one on mode 3 give 3
    modes, 1 strict; ``modes_captured`` agrees at min_count 1 and 20."""
    samples = np.concatenate([np.zeros((20, 2)), np.tile([1.0, 0.0], (19, 1)), [[1.0, 1.0]]])
    report = gm.mode_report(samples, SQUARE, STD)
    assert report["modes"] == 3 and report["modes_strict"] == 1
    assert gm.modes_captured(samples, SQUARE, STD) == 3
    assert gm.modes_captured(samples, SQUARE, STD, min_count=20) == 1


def test_metric_argument_validation():
    with pytest.raises(ValueError, match="samples"):
        gm.high_quality(np.zeros((3, 3)), SQUARE, STD)
    with pytest.raises(ValueError, match="modes"):
        gm.high_quality(np.zeros((3, 2)), np.zeros((0, 2)), STD)
    with pytest.raises(ValueError, match="std"):
        gm.high_quality(np.zeros((3, 2)), SQUARE, 0.0)
    with pytest.raises(TypeError, match="std"):
        gm.high_quality(np.zeros((3, 2)), SQUARE, "wide")
    with pytest.raises(ValueError, match="min_count"):
        gm.modes_captured(np.zeros((3, 2)), SQUARE, STD, min_count=0)
    with pytest.raises(ValueError, match="weights"):
        gm.reverse_kl(np.zeros((3, 2)), SQUARE, weights=[1, 1, 1])
    with pytest.raises(ValueError, match="samples"):
        gm.reverse_kl(np.zeros((0, 2)), SQUARE)
    with pytest.raises(ValueError, match="finite"):
        gm.high_quality(np.array([[np.nan, 0.0]]), SQUARE, STD)


# --------------------------------------------------------------------------- training


def test_short_training_run_is_seeded_and_shaped():
    kwargs = {"width": 16, "z_dim": 8, "batch": 32, "steps": 60, "snapshots": 4, "n_samples": 200, "progress": False}
    run = train_gan("ring", "pacgan", seed=3, **kwargs)
    assert isinstance(run, GANRun)
    assert run.snapshots.shape == (4, 200, 2) and run.steps.tolist() == [0, 20, 40, 60]
    assert run.d_loss.shape == run.g_loss.shape == (60,)
    assert np.all(np.isfinite(run.snapshots)) and np.all(np.isfinite(run.d_loss))
    assert run.occupancy().shape == (4, 8) and run.modes_over_training().shape == (4,)
    assert set(run.report()) == {"modes", "modes_strict", "high_quality", "reverse_kl"}
    again = train_gan("ring", "pacgan", seed=3, **kwargs)
    np.testing.assert_array_equal(run.samples, again.samples)
    other = train_gan("ring", "pacgan", seed=4, **kwargs)
    assert not np.array_equal(run.samples, other.samples)


def test_training_argument_validation():
    with pytest.raises(ValueError, match="method"):
        train_gan("ring", "unrolled", progress=False)
    with pytest.raises(ValueError, match="target"):
        train_gan("spiral", progress=False)
    with pytest.raises(ValueError, match="width"):
        train_gan(width=0, progress=False)
    with pytest.raises(ValueError, match="lr_g"):
        train_gan(lr_g=0.0, progress=False)
    with pytest.raises(ValueError, match="pack"):
        train_gan(method="pacgan", pack=1, progress=False)
    # before: a vanilla GAN ignored pack without a word
    with pytest.raises(ValueError, match=r"^pack is only used with method 'pacgan', got method 'vanilla'"):
        train_gan(method="vanilla", pack=2, progress=False)
    with pytest.raises(TypeError, match="steps"):
        train_gan(steps=10.5, progress=False)
    with pytest.raises(TypeError, match="decay"):
        train_gan(decay="yes", progress=False)
    with pytest.raises(ValueError, match="radius"):
        ring_target(radius=-1.0)
    with pytest.raises(ValueError, match="side"):
        grid_target(side=0)


def test_targets_too_large_for_memory_are_refused_by_name():
    """Before: ring_target(n_modes=10**15) and grid_target(side=10**8) raised a MemoryError from numpy."""
    with pytest.raises(ValueError, match=r"^n_modes = 1000000000000000 needs about .*: use fewer modes$"):
        ring_target(n_modes=10**15)
    with pytest.raises(
        ValueError, match=r"^side = 100000000 \(10000000000000000 modes\) needs about .*: use a smaller side$"
    ):
        grid_target(side=10**8)
    assert ring_target(n_modes=1000).n_modes == 1000 and grid_target(side=30).n_modes == 900


def test_seed_table_takes_one_method_by_name_and_refuses_bad_methods_and_seeds():
    """Before: seed_table(methods="vanilla") iterated the letters ("method must be one of ...; got 'v'")."""
    from collapse_edu.gan import seed_table

    tiny = {"steps": 2, "width": 4, "z_dim": 2, "batch": 4, "snapshots": 2, "n_samples": 20}
    rows = seed_table("ring", "vanilla", seeds=[0], **tiny)
    assert [(row["method"], row["seed"]) for row in rows] == [("vanilla", 0)]
    with pytest.raises(ValueError, match="^methods must be one of 'vanilla', 'pacgan'; got 'unrolled'"):
        seed_table("ring", ["vanilla", "unrolled"], seeds=[0], **tiny)  # refused before any training
    with pytest.raises(TypeError, match="^methods must be a method or a sequence"):
        seed_table("ring", 3, seeds=[0], **tiny)
    with pytest.raises(TypeError, match="^seeds must be a sequence of seeds"):
        seed_table("ring", "vanilla", seeds=3, **tiny)
    with pytest.raises(ValueError, match="^seeds must be >= 0"):
        seed_table("ring", "vanilla", seeds=[-1], **tiny)
    with pytest.raises(ValueError, match="^methods and seeds must each name at least one"):
        seed_table("ring", [], seeds=[0], **tiny)


def test_stored_runs_round_trip(tmp_path):
    kwargs = {"width": 16, "z_dim": 8, "batch": 32, "steps": 30, "snapshots": 4, "n_samples": 100, "progress": False}
    runs = [train_gan("ring", method, seed=5, **kwargs) for method in ("vanilla", "pacgan")]
    path = save_runs(runs, tmp_path / "runs.npz")
    for run in runs:
        back = stored_run(run.settings["method"], seed=5, path=path)
        np.testing.assert_array_equal(back.snapshots, run.snapshots)  # float32 in, float32 kept: exact
        np.testing.assert_array_equal(back.steps, run.steps)
        assert back.settings == run.settings and back.report() == run.report()
        np.testing.assert_allclose(back.d_loss, run.d_loss, rtol=1e-6)
    with pytest.raises(ValueError, match="ring-pacgan-6"):
        stored_run("pacgan", seed=6, path=path)
    with pytest.raises(ValueError, match="method"):
        stored_run("unrolled", path=path)
    with pytest.raises(ValueError, match="runs"):
        save_runs([], tmp_path / "none.npz")


def test_stored_run_says_what_is_wrong_with_the_file(tmp_path):
    """Before: a missing file gave numpy's bare FileNotFoundError, a text file numpy's talk of allow_pickle."""
    (tmp_path / "notes.txt").write_text("not runs\n")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(
        FileNotFoundError, match=r"^no stored GAN runs at .*missing\.npz; benchmarks/gan_seed_table\.py"
    ):
        stored_run(path=tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="no stored GAN runs"):
        stored_run(path=tmp_path)  # a folder
    with pytest.raises(
        ValueError, match=r"notes\.txt is not a file of stored GAN runs \(an \.npz written by save_runs\)$"
    ):
        stored_run(path=tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"one\.npy holds a single array"):
        stored_run(path=tmp_path / "one.npy")


def test_the_lessons_stored_run_has_todays_defaults():
    import inspect

    run = stored_run("pacgan", seed=0)
    defaults = {name: p.default for name, p in inspect.signature(train_gan).parameters.items()}
    for name in ("pack", "width", "depth", "z_dim", "lr_g", "lr_d", "batch", "steps", "d_steps", "decay", "n_samples"):
        assert run.settings[name] == defaults[name], name
    assert run.snapshots.shape == (defaults["snapshots"], defaults["n_samples"], 2)


# --------------------------------------------------------------------------- the precomputed seed table


def test_seed_table_json_shape():
    data = json.loads(RESULTS.read_text())
    assert {"produced_by", "command", "settings", "runs", "summary"} <= set(data)
    runs = data["runs"]
    methods = {row["method"] for row in runs}
    assert {"vanilla", "pacgan"} <= methods
    for row in runs:
        assert {"target", "method", "seed", "modes", "modes_strict", "high_quality", "reverse_kl"} <= set(row)
        n_modes = 8 if row["target"] == "ring" else 25
        assert 0 <= row["modes_strict"] <= row["modes"] <= n_modes
        assert 0.0 <= row["high_quality"] <= 1.0 and row["reverse_kl"] >= 0.0
    ring = [row for row in runs if row["target"] == "ring"]
    for method in ("vanilla", "pacgan"):
        assert len({row["seed"] for row in ring if row["method"] == method}) >= 5


# --------------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def packed_run() -> GANRun:
    return stored_run("pacgan", seed=0)


def test_the_legend_of_final_samples_covers_no_panel(packed_run):
    """Before: the legend sat inside the first panel, its box touching the ring's top mode."""
    from collapse_edu.figures import gan as figures

    fig = figures.compare_final([packed_run, packed_run])
    fig.canvas.draw()
    assert not any(ax.get_legend() for ax in fig.axes) and len(fig.legends) == 1
    box = fig.legends[0].get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {"generated samples", "true modes (3-std circle)"}


def test_the_playground_title_stays_over_its_panel(monkeypatch, packed_run):
    """Before: one line held both mode counts and the high-quality share, and ran past the panel's edge."""
    from collapse_edu.figures import gan as figures

    monkeypatch.setattr(figures, "cached_run", lambda *args: packed_run)
    for method in ("vanilla", "pacgan"):
        fig = figures.gan_playground(method=method, width=256)
        fig.canvas.draw()
        left = fig.axes[0]
        panel, title = left.get_window_extent(), left.title.get_window_extent()
        assert panel.x0 <= title.x0 and title.x1 <= panel.x1, (title, panel)


def test_samples_are_drawn_above_the_mode_markers(packed_run):
    """A collapsed cloud sits on a mode's cross: the samples must be drawn over it, not under it."""
    from collapse_edu.figures import gan as figures

    for fig in (
        figures.compare_final([packed_run]),
        figures.snapshot_grid(packed_run, n_panels=4),
        figures.targets_figure(n=200),
    ):
        for ax in fig.axes:
            samples = [c for c in ax.collections if "samples" in str(c.get_label())]
            markers = [c for c in ax.collections if "modes" in str(c.get_label())] + list(ax.patches)
            if samples and markers:
                assert min(c.get_zorder() for c in samples) > max(m.get_zorder() for m in markers)


def test_occupancy_maps_share_one_labelled_scale_and_the_legend_covers_no_curve(packed_run, monkeypatch):
    from collapse_edu.figures import gan as figures
    from collapse_edu.widgets import labels_collide

    fig = figures.occupancy_figure(packed_run)
    image = fig.axes[0].images[0]
    assert image.get_clim() == (0, 1)
    assert any(ax.get_ylabel() == "share of samples nearest each mode" for ax in fig.axes)
    right = fig.axes[1]
    fig.canvas.draw()
    box = right.get_legend().get_window_extent()
    for line in right.get_lines():
        x, y = line.get_transform().transform(line.get_xydata()).T
        inside = (box.x0 <= x) & (x <= box.x1) & (box.y0 <= y) & (y <= box.y1)
        assert not np.any(inside), line.get_label()

    monkeypatch.setattr(figures, "cached_run", lambda *args: packed_run)
    fig = figures.gan_playground(method="pacgan")
    heat = [ax for ax in fig.axes if ax.images][0]
    assert heat.images[0].get_clim() == (0, 1)
    assert any(ax.get_ylabel() == "share of samples nearest each mode" for ax in fig.axes)  # its colour bar
    report = packed_run.report()
    assert f"({report['modes_strict']} with >= 20 HQ)" in fig.axes[0].get_title()
    fig.canvas.draw()
    assert not labels_collide(fig, fig.canvas.get_renderer())


def test_cached_run_remembers_runs_by_their_settings_not_by_progress(capsys):
    from collapse_edu.gan import cached_run

    first = cached_run("ring", "vanilla", 16, 1e-3, 1e-3, 20, 3, 1, progress="training")
    assert cached_run("ring", "vanilla", 16, 1e-3, 1e-3, 20, 3, 1) is first  # the same run, not trained again
    assert cached_run("ring", "vanilla", 16, 1e-3, 1e-3, 21, 3, 1) is not first
    assert "training" in capsys.readouterr().err  # the bar of the first call, on stderr outside a notebook
