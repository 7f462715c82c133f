"""Claims of lesson 07 (GAN mode collapse), recomputed with the code the lesson calls.

The claims about the live vanilla run (seed 0) are recomputed by training it once more (about 10 s of
processor time); the PacGAN-4 run of section 3 is the stored run the lesson loads; the 20-seed
claims read the stored seed table (``benchmarks/gan_seed_table.py``: 40 GANs, too slow for a test),
and the test checks that its settings are today's defaults. The papers' numbers are checked against
the tables the lesson quotes.
"""

from __future__ import annotations

import inspect
import json
import math
import re

import numpy as np
import pytest
from claimlib import checked_output, checker_tests, claim, notebook, numbers_in

from collapse_edu import gan, gan_metrics
from collapse_edu.gan import train_gan

SEED_TABLE = gan.STORED_RUNS.parent / "gan_seeds.json"


@pytest.fixture(scope="module")
def vanilla() -> gan.GANRun:
    """Section 2's live run, trained as the lesson trains it."""
    return train_gan("ring", "vanilla", seed=0, progress=False)


@pytest.fixture(scope="module")
def pacgan() -> gan.GANRun:
    """Section 3's run, as the lesson loads it."""
    return gan.stored_run("pacgan", seed=0)


@pytest.fixture(scope="module")
def table() -> dict:
    data = json.loads(SEED_TABLE.read_text())
    defaults = {
        name: p.default
        for name, p in inspect.signature(train_gan).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in ("seed", "progress", "target", "method")
    }
    assert data["settings"] == defaults, "the seed table was made with other settings than train_gan's defaults"
    return data


def ring_runs(table: dict, method: str) -> list[dict]:
    return [r for r in table["runs"] if r["target"] == "ring" and r["method"] == method]


def sharp(row: dict) -> bool:
    return row["modes"] <= 2 and row["high_quality"] >= 0.5


def of_20(text: str) -> int:
    """The count in "k of 20" or "all 20"."""
    match = re.search(r"(\d+) of (?:the )?20|all 20", text)
    return 20 if match[1] is None else int(match[1])


def prose_with(marker: str) -> str:
    cells = [
        c.source for c in notebook("07").cells if c.cell_type == "markdown" and marker in " ".join(c.source.split())
    ]
    assert len(cells) == 1, marker
    return cells[0]


def sentence_with(marker: str) -> str:
    text = " ".join(prose_with(marker).split())
    start = text.index(marker)
    end = text.find(". ", start)
    return text[start : end if end >= 0 else len(text)]


def pct_range(text: str) -> tuple[float, float]:
    low, high = re.search(r"(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?)%", text).groups()
    return float(low), float(high)


def as_written(share: float, written: float) -> float:
    """``100 * share`` rounded to as many decimals as ``written`` shows (74 -> 0, 99.7 -> 1)."""
    decimals = len(repr(written).split(".")[1]) if not float(written).is_integer() else 0
    return round(100 * share, decimals)


def paper_table() -> dict[str, list[float]]:
    """PacGAN's Table 1 as the lesson quotes it: method -> the six means."""
    rows = {}
    for line in prose_with("PacGAN's Table 1 (arXiv:1712.04086), whole").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("GAN", "ALI", "PacGAN2", "PacGAN3", "PacGAN4"):
            rows[cells[0]] = [numbers_in(c)[0] for c in cells[1:]]
    return rows


# --------------------------------------------------------------------------- title and exercises


@claim(
    "07",
    "**Sections** (about 30 minutes): 1 · targets and metrics, with exercises 1 and 2 (8 min)",
    "5 · playground and exercise 3 (5 min)",
)
def test_section_times_add_up_to_the_total():
    title = notebook("07").cells[0].source
    minutes = [int(m) for m in re.findall(r"\((\d+) min\)", title[title.index("**Sections**") :])]
    assert sum(minutes) == 30 == notebook("07").metadata["collapse_edu"]["minutes"]
    exercises = [
        int(m) for c in notebook("07").cells for m in re.findall(r"^### Exercise.*\((\d+) min\)", c.source, re.M)
    ]
    assert len(exercises) == 3 and sum(exercises[:2]) <= minutes[0] and exercises[2] <= minutes[4]


@claim(
    "07",
    "one GAN is trained live (the vanilla GAN of section 2, about 10 s of processor time: a 10 s wait on a free core, "
    "a longer one on a busy machine)",
    "a vanilla run takes about 10 s of processor time on a free core, a PacGAN-4 run about 18 s",
)
def test_run_times(table, pacgan):
    vanilla_cpu = [r["cpu_seconds"] for r in ring_runs(table, "vanilla")]
    pacgan_cpu = [r["cpu_seconds"] for r in ring_runs(table, "pacgan")] + [pacgan.cpu_seconds]
    assert 6 <= np.median(vanilla_cpu) <= 14
    waits = [r["seconds"] for r in ring_runs(table, "vanilla")]  # the table was made on a busy machine
    assert table["machine"]["load_average_after"][0] > 2 and min(waits) > 2 * max(vanilla_cpu)
    assert 13 <= np.median(pacgan_cpu) <= 25
    assert round(np.median([r["cpu_seconds"] for r in ring_runs(table, "pacgan")])) == 18  # the stored table
    first_code = next(c.source for c in notebook("07").cells if 'gan.stored_run("pacgan"' in c.source)
    assert "Training PacGAN-4 takes about 18 s of processor time" in first_code


# --------------------------------------------------------------------------- section 1


@claim(
    "07",
    "the ring's eight islands sit 1.53 apart, the grid's 25 sit 2 apart, each far smaller than the gaps",
    "The modes are tiny and far apart: a generator has to put its mass on eight (or 25) separate islands",
    "what *mode collapse* of a GAN looks like on the standard toy targets (a ring of 8 and a 5 × 5 grid of Gaussians)",
)
def test_mode_geometry():
    table = prose_with("The mode-collapse literature tests GANs")
    assert "| `ring` | 8 | on a circle of radius 2 | 0.02 |" in table
    assert "| `grid` | 25 | a 5 x 5 grid, spacing 2 (coordinates -4, -2, 0, 2, 4) | 0.05 |" in table
    ring, grid = gan.make_target("ring"), gan.make_target("grid")
    assert np.allclose(np.linalg.norm(ring.modes, axis=1), 2) and ring.std == 0.02 and ring.n_modes == 8
    assert sorted(set(grid.modes[:, 0])) == [-4, -2, 0, 2, 4] and grid.std == 0.05 and grid.n_modes == 25
    for name, gap in (("ring", 1.53), ("grid", 2.0)):
        target = gan.make_target(name)
        d = np.linalg.norm(target.modes[:, None] - target.modes[None], axis=-1)
        nearest = d[d > 0].min()
        assert round(nearest, 2) == gap
        assert 3 * target.std * 2 < nearest / 5  # a 3-std circle's diameter is well under a fifth of the gap


@claim(
    "07",
    "a sample is **high quality** if it lies within 3 standard deviations of its nearest mode",
    "It is 0 for a perfect spread and $\\log 8 = 2.08$ when every sample sits nearest one mode",
    "A stricter count asks for at least 20 high-quality samples, so a few stray points do not count as a mode",
)
def test_metric_definitions():
    ring = gan.make_target("ring")
    spread = np.repeat(ring.modes, 100, axis=0)
    one = np.repeat(ring.modes[:1], 800, axis=0)
    assert gan_metrics.reverse_kl(spread, ring.modes) == pytest.approx(0, abs=1e-12)
    assert gan_metrics.reverse_kl(one, ring.modes) == pytest.approx(math.log(8)) and round(math.log(8), 2) == 2.08
    stray = np.concatenate([one, ring.modes[1:2] + 0.01])  # one stray high-quality point on mode 1
    assert gan_metrics.modes_captured(stray, ring.modes, ring.std) == 2
    assert gan_metrics.modes_captured(stray, ring.modes, ring.std, min_count=20) == 1
    assert gan_metrics.high_quality(
        np.array([[2 + 2.9 * ring.std, 0], [2 + 3.1 * ring.std, 0]]), ring.modes, ring.std
    ).tolist() == [True, False]


@claim(
    "07",
    "so the share within 3 standard deviations is $P(\\chi^2_2 \\le 9) = 1 - e^{-9/2} = 98.9\\%$, not the 99.7% of "
    "one dimension",
    "in 2-D the $\\chi^2_2$ distribution predicts that 98.9% of real samples are high quality, and 20,000 real samples "
    "score 98.8%",
)
def test_real_samples_are_high_quality_as_chi_squared_predicts():
    assert round(100 * (1 - math.exp(-4.5)), 1) == 98.9
    assert round(100 * math.erf(3 / math.sqrt(2)), 1) == 99.7
    for name in gan.TARGETS:
        target = gan.make_target(name)
        shares = [target.report(target.sample(10_000, seed=s))["high_quality"] for s in range(11, 14)]
        assert abs(np.mean(shares) - (1 - math.exp(-4.5))) < 0.003
    out = checked_output("07", "theory_hq")
    assert out.count("98.8% high quality (theory 98.9%)") == 2
    cell = next(c.source for c in notebook("07").cells if c.cell_type == "code" and "theory_hq" in c.source)
    assert "sample(20_000" in cell


# --------------------------------------------------------------------------- section 2


@claim(
    "07",
    "generator and discriminator are ReLU MLPs with 2 hidden layers of 64 units; the generator maps 256-dimensional "
    "Gaussian noise to a point in the plane",
    "Each training step makes 3 discriminator updates and then 1 generator update",
    "each on 128 real and 128 generated points, for 2,000 steps",
    "Adam with learning rate $10^{-3}$ for both networks and betas (0.5, 0.999)",
    "At 31 moments of training we record 2,500 samples from the **same** noise",
)
def test_settings_are_train_gans_defaults(vanilla):
    defaults = {n: p.default for n, p in inspect.signature(train_gan).parameters.items()}
    assert (defaults["depth"], defaults["width"], defaults["z_dim"]) == (2, 64, 256)
    assert (defaults["d_steps"], defaults["batch"], defaults["steps"]) == (3, 128, 2000)
    assert defaults["lr_g"] == defaults["lr_d"] == 1e-3 and defaults["decay"] is True
    assert (defaults["snapshots"], defaults["n_samples"]) == (31, 2500)
    assert vanilla.snapshots.shape == (31, 2500, 2) and vanilla.steps[-1] == 2000
    assert "betas=(0.5, 0.999)" in inspect.getsource(train_gan)


@claim(
    "07",
    "At seed 0 every sample ends nearest the same mode and over 90% of them are high quality",
    "like the textbook picture (VEEGAN's GAN on the ring: 1 mode, 99.3% high quality)",
    "on a single mode at seed 0",
)
def test_seed_0_ends_on_one_mode(vanilla):
    report = vanilla.report()
    assert vanilla.occupancy()[-1].max() == 1 and report["modes"] == 1 and report["high_quality"] > 0.9
    assert "| ring (8 modes) | 1.0 modes, 99.3% |" in prose_with("VEEGAN's Table 1")
    out = checked_output("07", "vanilla.report()")
    assert "at most 2 of 8 modes captured: True" in out and "at least 90% of the samples high quality: True" in out


@claim(
    "07",
    "that a GAN with a strong discriminator tends to end with its samples on **one or two** modes, sharply, and why",
    "one mitigation, **packing** (PacGAN): the discriminator judges four samples at once, and what it costs here",
    "why this is *not* model collapse: it happens inside **one** training run on **real** data",
)
def test_learning_goals(vanilla, pacgan, table, monkeypatch):
    assert vanilla.report()["modes"] == 1 and vanilla.report()["high_quality"] > 0.9
    assert sum(sharp(r) for r in ring_runs(table, "vanilla")) >= 15  # "tends to": most of 20 unseen seeds
    assert pacgan.settings["pack"] == 4 and pacgan.report()["high_quality"] < vanilla.report()["high_quality"]
    assert vanilla.settings["target"] == "ring"
    # one run on real data: every batch the discriminator sees as real is a fresh draw from the ring itself
    # (within 5 standard deviations of a real mode), never the generator's samples; watched over a short run
    real_batches = []
    step = gan.adversarial_step

    def record(real_batch):
        batch = real_batch()
        real_batches.append(batch.detach().numpy().reshape(-1, 2).copy())
        return batch

    def watched(generator, discriminator, opt_g, opt_d, real_batch, fake_batch, d_steps=3):
        return step(generator, discriminator, opt_g, opt_d, lambda: record(real_batch), fake_batch, d_steps)

    monkeypatch.setattr(gan, "adversarial_step", watched)
    train_gan("ring", "vanilla", seed=0, steps=4, progress=False)
    ring = gan.make_target("ring")
    assert len(real_batches) == 4 * 3  # 3 discriminator updates per step, each on its own real batch
    for points in real_batches:
        nearest = np.linalg.norm(points[:, None] - ring.modes[None], axis=-1).min(axis=1)
        assert len(points) == 128 and nearest.max() < 5 * ring.std
    assert len({points.tobytes() for points in real_batches}) == len(real_batches)  # fresh every time


@claim(
    "07",
    'Both names say "collapse" and both end with a model that produces less variety than the data',
    "Then both effects would add up: each generation would lose modes to mode collapse, and the lost modes could never "
    "come back because the next generation never sees them",
)
def test_mode_collapse_is_not_model_collapse(vanilla):
    from collapse_edu import theory

    # both lose variety: the GAN's samples sit on 1 of 8 modes; lesson 01's refitted Gaussian loses variance
    assert vanilla.report()["reverse_kl"] > 1
    assert np.all(np.diff(theory.expected_variance(np.arange(0, 50, 10), 100)) < 0)
    # a next GAN trained on these samples would see no data on 7 of the 8 modes
    counts = gan_metrics.mode_counts(vanilla.samples, vanilla.target.modes, vanilla.target.std, quality_only=False)
    assert np.sum(counts == 0) == 7


@claim(
    "07",
    "In all, 16 of the 20 ended on at most 2 modes with at least half of their samples high quality",
    "The vanilla GAN ended in a sharp collapse (at most 2 modes, at least half of the samples high quality) in",
    "ends with its samples on one or two modes, sharply, in",
)
def test_share_of_sharp_collapses(table):
    rows = ring_runs(table, "vanilla")
    count = sum(sharp(r) for r in rows)
    assert len(rows) == 20 and 0 < count < 20  # likely, not certain
    for marker in (
        "In all, ",
        "The vanilla GAN ended in a sharp collapse",
        "ends with its samples on one or two modes",
    ):
        assert of_20(sentence_with(marker)) == count, marker
    assert table["summary"][0]["collapsed"] == count


@claim(
    "07",
    "On one or two modes, sharply.",
    "Seed 0 is one of the cleaner outcomes, though",
    "Over 20 other seeds (section 4) the vanilla GAN ended with high-quality samples on exactly 1 mode in 7, on 2 "
    "modes in 9 and on 3 or 4 modes in 4 (the papers' count: a single high-quality sample puts a mode in); in 6 of "
    "the 9 two-mode runs the samples split about evenly between the two (50–53% on the larger one)",
    "on exactly 1 mode in 7 and on 2 modes in 9",
    "on a single mode at seed 0 and in 7 of those 20",
)
def test_how_many_modes_the_vanilla_runs_end_on(table, vanilla):
    rows = ring_runs(table, "vanilla")
    one = [r for r in rows if r["modes"] == 1]
    two = [r for r in rows if r["modes"] == 2]
    more = [r for r in rows if r["modes"] > 2]
    assert (len(one), len(two), len(more)) == (7, 9, 4)
    assert {r["modes"] for r in more} == {3, 4}
    assert "modes nearest to >= 1 high-quality sample" in table["metrics"]["modes"]  # the papers' count
    assert np.median([r["modes"] for r in rows]) == 2  # one OR two modes, not "one mode"
    even = [r for r in two if r["top_share"] <= 0.535]  # the larger mode holds at most 53.5% of the samples
    assert len(even) == 6
    assert (round(100 * min(r["top_share"] for r in even)), round(100 * max(r["top_share"] for r in even))) == (50, 53)
    assert all(r["top_share"] > 0.6 for r in two if r not in even)  # the other three are clearly uneven
    # sharply: at least half of the samples high quality on every one- and two-mode run
    assert all(r["high_quality"] >= 0.5 for r in one + two)
    # seed 0 is among the cleaner outcomes: one mode, a higher high-quality share than most seeds
    assert vanilla.report()["modes"] == 1
    assert vanilla.report()["high_quality"] > np.median([r["high_quality"] for r in rows])


@claim(
    "07",
    "At step 0 the samples are a compact blob near the centre of the ring, far from every mode; by step 267 they have "
    "spread into a wide arc across several modes, and up to step 600 fewer than 10% of them are high quality",
    "by the middle of training over 90% of the samples are nearest the same mode, soon after all of them, and the "
    "cloud then shrinks onto it until nearly all samples are high quality",
)
def test_snapshot_caption(vanilla):
    from collapse_edu.figures.gan import snapshot_grid

    occupancy = vanilla.occupancy()
    quality = vanilla.occupancy(quality_only=True).sum(axis=1)
    fig = snapshot_grid(vanilla, n_panels=8)  # the panels the lesson shows
    shown = [int(re.match(r"step (\d+)", ax.get_title())[1]) for ax in fig.axes if ax.get_title()]
    assert shown[:3] == [0, 267, 600]
    # step 0: a compact blob near the centre, far from every mode
    start = vanilla.snapshots[0]
    centre = start.mean(axis=0)
    assert np.linalg.norm(centre) < 0.5 and np.quantile(np.linalg.norm(start - centre, axis=1), 0.9) < 0.25
    assert np.linalg.norm(start[:, None] - vanilla.target.modes[None], axis=-1).min() > 1.0
    # steps 267 and 600: a wide arc near the ring's radius, spread over several modes
    for step in (267, 600):
        points = vanilla.snapshots[list(vanilla.steps).index(step)]
        assert abs(np.median(np.linalg.norm(points, axis=1)) - 2) < 0.2
        angles = np.angle(points[:, 0] + 1j * points[:, 1])
        mean = np.angle(np.exp(1j * angles).mean())
        turn = np.degrees(np.angle(np.exp(1j * (angles - mean))))
        assert np.quantile(turn, 0.95) - np.quantile(turn, 0.05) > 80  # the middle 90% span over 80 degrees
    early = (vanilla.steps > 0) & (vanilla.steps <= 600)
    assert np.all(quality[vanilla.steps <= 600] < 0.1)
    assert np.all((occupancy[early] >= 0.02).sum(axis=1) >= 3)  # spread over several modes
    # the run is trained live, and CPUs round differently (an AVX-512 Xeon puts 93% on the mode at step 1,000 where
    # the AVX2 EPYC that made the committed outputs put all): the caption says what holds on both
    late = vanilla.steps >= 1000
    assert np.all(occupancy[late].max(axis=1) >= 0.9) and len(set(occupancy[late].argmax(axis=1))) == 1
    whole = np.flatnonzero(late & (occupancy.max(axis=1) == 1))[0]  # "soon after": within a fifth of training
    assert vanilla.steps[whole] <= 1400 and np.all(occupancy[whole:].max(axis=1) == 1)
    assert quality[late][0] < quality[-1] and quality[-1] > 0.95


@claim(
    "07",
    "Early on the mass is spread over several neighbouring modes; then one row takes nearly all of it and, from soon "
    "after the middle of training, all of it to the end",
    "every sample counts, also one far from every mode",
    "modes captured climbs to a few while the cloud sweeps across the ring (up to 5 modes with at least one "
    "high-quality sample, at most 2 with 20 or more), then falls to 1 on both counts early in the second half of "
    "training and stays there, far below the dotted line of all 8",
)
def test_vanilla_occupancy_caption(vanilla):
    occupancy = vanilla.occupancy()
    assert np.allclose(occupancy.sum(axis=1), 1)  # every sample counts for its nearest mode ...
    assert vanilla.occupancy(quality_only=True).sum(axis=1).min() < 0.01  # ... also the ones on no mode
    top = occupancy.argmax(axis=1)
    middle = list(vanilla.steps).index(1000)
    assert np.all(occupancy[middle:].max(axis=1) >= 0.9) and np.all(top[middle:] == top[-1])  # nearly all
    settled = np.flatnonzero(occupancy.max(axis=1) == 1)[0]
    assert middle <= settled and vanilla.steps[settled] <= 1400  # all of it from soon after the middle
    assert np.all(top[settled:] == top[-1]) and np.all(occupancy[settled:].max(axis=1) == 1)
    captured, strict = vanilla.modes_over_training(), vanilla.modes_over_training(20)
    assert captured.max() == 5 and strict.max() == 2
    one = np.flatnonzero((captured == 1) & (strict == 1))  # early in the second half, and then to the end
    later = one[one >= middle][0]
    assert vanilla.steps[later] <= 1400 and np.all(captured[later:] == 1) and np.all(strict[later:] == 1)


@claim(
    "07",
    "That reverse KL is about $\\log 8 = 2.08$ nats for a generator whose samples are spread exactly like one of the "
    "eight modes, but thousands of nats for the same spread round the ring's centre, 100 standard deviations from "
    "every mode",
    "a generator narrower than a mode pays a little more",
    "the reverse KL it effectively minimises charges little for missing modes and much for samples between them",
    "split evenly over two modes, each spread like a mode, it is $\\log 4 = 1.39$ nats",
    "Missing modes cost little next to samples between modes",
    "The objective would still rather have all eight (it is 0 there), but a generator that sits sharply on one or "
    "two modes cannot reach the others by small steps: moving mass to another mode means passing through the gaps, "
    "where samples cost hundreds of nats or more",
)
def test_reverse_kl_of_continuous_generators():
    ring = gan.make_target("ring")

    def log_data(x):
        d2 = ((x[:, None, :] - ring.modes[None]) ** 2).sum(-1) / ring.std**2
        m = (-d2 / 2).max(axis=1, keepdims=True)
        return (m[:, 0] + np.log(np.exp(-d2 / 2 - m).mean(axis=1))) - np.log(2 * np.pi * ring.std**2)

    def reverse_kl(centre, width=1.0):  # KL(N(centre, (width std)^2 I) || data), Monte Carlo
        std = width * ring.std
        x = centre + std * np.random.default_rng(5).standard_normal((20_000, 2))
        log_g = -((x - centre) ** 2).sum(-1) / (2 * std**2) - np.log(2 * np.pi * std**2)
        return float(np.mean(log_g - log_data(x)))

    assert reverse_kl(ring.modes[0]) == pytest.approx(math.log(8), abs=0.01)
    narrower = [reverse_kl(ring.modes[0], width) - math.log(8) for width in (0.9, 0.5)]
    assert 0 < narrower[0] < narrower[1] < 1  # a little more (0.64 nats at half the width)
    # an even mixture of two sharp modes: KL(g || data) = log 4
    x = ring.modes[[0, 1]].repeat(10_000, axis=0) + ring.std * np.random.default_rng(6).standard_normal((20_000, 2))
    d2 = ((x[:, None, :] - ring.modes[None, [0, 1]]) ** 2).sum(-1) / ring.std**2
    log_g = np.log(np.exp(-d2 / 2).mean(axis=1)) - np.log(2 * np.pi * ring.std**2)
    two = float(np.mean(log_g - log_data(x)))
    assert two == pytest.approx(math.log(4), abs=0.01) and round(math.log(4), 2) == 1.39
    assert 1000 < reverse_kl(np.zeros(2)) < 10_000
    gap = (ring.modes[0] + ring.modes[1]) / 2  # halfway between two neighbouring modes
    assert 300 < reverse_kl(gap) < 1000  # hundreds of nats
    assert np.linalg.norm(ring.modes, axis=1).min() / ring.std == pytest.approx(100)


@claim(
    "07",
    "So one or two sharp modes are where the generator tends to stay (in these runs the learning rates also fall to "
    "zero over the second half of training), and whether it ends on one or on two differs from seed to seed",
    "so a generator on a few sharp modes tends to stay there",
)
def test_a_generator_on_few_sharp_modes_stays_there(table):
    """Seed 0 shows it once (test_vanilla_occupancy_caption). The evidence over seeds: the vanilla GAN runs of
    lesson 09's capstone pool (seeds 100-147, none of them the lesson's), trained with train_gan's defaults and
    logged at 15 snapshots over the second half of training (steps 1,067 to 2,000; 500 fixed-noise outputs each).
    Their ``quality`` column is the high-quality share relative to real data's, ``output_shift`` the total
    variation between the nearest-mode histograms of consecutive snapshots, and every kept run ends on few sharp
    modes (cause "mode collapse": at most 3 effective modes, at least half of the outputs high quality).

    Measured: from the first logged snapshot at which a run is sharp (quality >= 0.5) to the end, the sum of its
    output shifts, which by the triangle inequality bounds the total variation between the nearest-mode histogram
    then and at the end: the share of outputs that moved to another mode. 47 runs: at most 0.144, median 0.05,
    16 runs with no output changing its nearest mode at all; and no step between snapshots moves more than 0.07,
    far from a hop of the main mode (at least 1/3 of the outputs when at most 3 effective modes are used, as
    exp(entropy) <= 3 means the largest share is >= 1/3). Not measured: the
    first half of training (the pool does not log it), and whether the falling learning rates or the gaps between
    modes keep the generator in place (both act over these steps, as the sentence says)."""
    from collapse_edu import capstone

    assert "decay: bool = True" in inspect.getsource(gan.train_gan)  # rates fall to zero over the second half
    assert {1, 2} <= {r["modes"] for r in ring_runs(table, "vanilla")}  # both endings occur over seeds
    pool = capstone.load_pool()
    settings = dict(pool.meta["gan_settings"]["gan-vanilla"])
    defaults = {
        name: p.default
        for name, p in inspect.signature(train_gan).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    # n_samples only sizes the fixed noise of the snapshots, drawn from its own generator: the training is the same
    assert "fixed_z = torch.randn(n_samples, z_dim, generator=torch.Generator().manual_seed(seed + 3))" in (
        inspect.getsource(gan.train_gan)
    )
    assert settings.pop("n_samples") >= capstone.RING_SAMPLES
    assert settings["method"] == "vanilla" and settings == {name: defaults[name] for name in settings}
    assert capstone.GAN_LOGGED[0] == settings["snapshots"] // 2 + 1  # the log starts just after the halfway point

    runs = pool.where(key="gan-vanilla")
    assert len(runs) >= 40 and all(pool.causes[i] == "mode collapse" for i in runs)
    moved, hops, sharp_from = [], [], []
    for i in runs:
        log = pool.columns(i)
        sharp = np.flatnonzero(log["quality"] >= 0.5)
        assert sharp.size, pool.seeds[i]  # every run is sharp by the end
        sharp_from.append(sharp[0])
        moved.append(log["output_shift"][sharp[0] + 1 :].sum())  # >= TV(histogram when sharp, at the end)
        hops.append(log["output_shift"].max())
    moved = np.array(moved)
    assert np.mean(np.array(sharp_from) <= 2) > 0.75  # most are sharp within the first three logged snapshots
    assert moved.max() < 0.2 and np.median(moved) < 0.1  # the occupancy barely moves once sharp (0.144, 0.05)
    assert max(hops) < 0.1  # and never by a jump from one mode to another (largest single move 0.07)


# --------------------------------------------------------------------------- section 3


def record_networks(monkeypatch) -> list[dict]:
    """Record every network train_gan builds: its input size and the rows of every batch it is fed."""
    made: list[dict] = []
    build = gan.mlp

    def recording_mlp(n_in, width, depth, n_out):
        net = build(n_in, width, depth, n_out)
        entry = {"n_in": n_in, "rows": []}
        net.register_forward_hook(lambda module, args, out: entry["rows"].append(args[0].shape[0]))
        made.append(entry)
        return net

    monkeypatch.setattr(gan, "mlp", recording_mlp)
    return made


@claim(
    "07",
    "We use $m = 4$ (PacGAN-4; the paper reports PacGAN2, PacGAN3 and PacGAN4), so the discriminator reads 8 numbers",
    "the discriminator's first layer takes 8 inputs instead of 2, and a batch of 128 packs holds $128 \\times 4 = 512$ "
    "points, so every update draws four times as many real and generated points as the vanilla GAN's",
    "The discriminator now judges packs, and every update draws four times as many points",
    "Two things changed at once: the discriminator sees packs, and each update uses four times as many points (the "
    "generator's update too: 512 generated points against the vanilla GAN's 128)",
    "This course has no vanilla run with 512 points per update, so it does not tell the two effects apart",
    '`gan.train_gan("ring", "vanilla", batch=512)` would be the control',
)
def test_packing_draws_batch_times_pack_points(monkeypatch, table):
    assert inspect.signature(train_gan).parameters["pack"].default == 4
    drawn = {}
    for method in gan.METHODS:
        made = record_networks(monkeypatch)
        train_gan("ring", method, steps=2, snapshots=2, n_samples=10, progress=False)
        generator, discriminator = made
        drawn[method] = (discriminator["n_in"], max(generator["rows"]), set(discriminator["rows"]))
    assert drawn["vanilla"] == (2, 128, {256, 128})  # 128 real + 128 generated per update; 128 for the G step
    assert drawn["pacgan"] == (8, 512, {256, 128})  # still 256 inputs, but each holds 4 points
    assert "PacGAN2" in paper_table() and "PacGAN4" in paper_table()
    # no vanilla run with 512 points per update: the seed table and the stored runs all use batch 128
    assert table["settings"]["batch"] == 128
    assert all(gan.stored_run(m, seed=0).settings["batch"] == 128 for m in ("pacgan",))
    # the control the lesson names: a vanilla GAN whose updates see 512 points, like PacGAN-4's, without packs
    made = record_networks(monkeypatch)
    train_gan("ring", "vanilla", batch=512, steps=2, snapshots=2, n_samples=10, progress=False)
    generator, discriminator = made
    assert (discriminator["n_in"], max(generator["rows"])) == (2, 512)


@claim(
    "07",
    "Four real samples almost always come from at least two different modes (all four from one mode: probability "
    "$1/8^3 \\approx 0.2\\%$)",
)
def test_real_packs_are_diverse():
    ring = gan.make_target("ring")
    assert round(100 / 8**3, 1) == 0.2
    for seed in range(11, 16):
        index, _ = gan_metrics.nearest_mode(ring.sample(40_000, seed=seed), ring.modes)
        packs = index.reshape(-1, 4)
        same = np.mean(np.all(packs == packs[:, :1], axis=1))
        assert same < 0.005


@claim(
    "07",
    "More modes, blurrier samples: PacGAN-4 captures all 8 modes, but only 34.8% of its samples are high quality, "
    "against over 90% for the vanilla run; many of its samples lie on the ring between the modes",
    "In our runs the price of coverage is quality: 34.8% of PacGAN-4's samples are high quality, against over 90% of "
    "the vanilla GAN's; after 2,000 steps the packed generator (a continuous map of continuous noise) still runs "
    "through the gaps between the islands",
)
def test_pacgan_seed_0_covers_with_low_quality(pacgan, vanilla):
    report = pacgan.report()
    assert report["modes"] == 8 and round(100 * report["high_quality"], 1) == 34.8
    assert vanilla.report()["high_quality"] > 0.9
    last = pacgan.samples
    radius = np.linalg.norm(last, axis=1)
    on_ring_between = (np.abs(radius - 2) < 0.2) & ~gan_metrics.high_quality(
        last, pacgan.target.modes, pacgan.target.std
    )
    assert on_ring_between.mean() > 0.5
    out = checked_output("07", "report_pac")
    assert "8 of 8 modes captured" in out and "high-quality share 34.8%" in out


@claim(
    "07",
    "the vanilla generator ends as one tight cloud on a single mode; the packed one puts samples on all eight, joined "
    "by a thin ring of low-quality samples between neighbouring modes",
)
def test_final_samples_caption(pacgan, vanilla):
    v = vanilla.samples
    assert vanilla.report()["modes"] == 1 and np.linalg.norm(v - v.mean(axis=0), axis=1).max() < 0.5
    p = pacgan.samples
    assert pacgan.report()["modes_strict"] == 8
    radius = np.linalg.norm(p, axis=1)
    assert np.mean(np.abs(radius - 2) < 0.2) > 0.95  # the samples lie along the ring
    angles = np.angle(p[:, 0] + 1j * p[:, 1])
    assert np.histogram(angles, bins=64, range=(-np.pi, np.pi))[0].min() > 0  # no gap along the ring


@claim(
    "07",
    "from step 500 on, every mode's row holds 10–16% of the samples (an even share is 1/8 = 12.5%)",
    "Modes captured with at least 1 high-quality sample reaches 8 by step 600; with at least 20 it stays at 0 for the "
    "first 900 steps and reaches 8 only late in training, while the learning rates decay",
)
def test_pacgan_occupancy_caption(pacgan):
    occupancy = pacgan.occupancy()
    after = pacgan.steps >= 500
    low, high = pct_range(sentence_with("from step 500 on, every"))
    assert (round(100 * occupancy[after].min()), round(100 * occupancy[after].max())) == (low, high)
    assert low < 100 / 8 < high and round(100 / 8, 1) == 12.5
    assert occupancy[pacgan.steps < 500].min() < low / 100  # from step 500 on, not before
    loose, strict = pacgan.modes_over_training(1), pacgan.modes_over_training(20)
    assert np.all(loose[pacgan.steps >= 600] == 8)
    assert np.all(strict[pacgan.steps < 900] == 0)
    assert pacgan.steps[np.flatnonzero(strict == 8)[0]] > 1000  # the second half, when the rates decay
    assert np.all(strict[pacgan.steps >= 1600] == 8)


@claim(
    "07",
    "Shares this close differ only by faint shades of the colour scale, so the labels on the right give them at the "
    "last step: 11% to 16%",
    "with each row's share at the last step written on the right",
)
def test_occupancy_maps_label_each_rows_last_share(pacgan, vanilla):
    from collapse_edu.figures import gan as figures

    low, high = (int(n) for n in re.findall(r"(\d+)%", sentence_with("at the last step: 11%")))
    last = pacgan.occupancy()[-1]
    assert (round(100 * last.min()), round(100 * last.max())) == (low, high)
    for run in (pacgan, vanilla):
        heat = figures.occupancy_figure(run).axes[0]
        right = [child for child in heat.child_axes if child.get_ylabel() == "share at the last step"]
        assert len(right) == 1
        shown = [label.get_text() for label in right[0].get_yticklabels()]
        assert shown == [f"{share:.0%}" for share in run.occupancy()[-1]]
    assert "100%" in [f"{share:.0%}" for share in vanilla.occupancy()[-1]]  # one row holds all of it


@claim(
    "07",
    "the PacGAN run of section 3 and the 20-seed table of section 4 are precomputed",
)
def test_stored_run_has_todays_settings(pacgan):
    defaults = {n: p.default for n, p in inspect.signature(train_gan).parameters.items()}
    for name in ("pack", "width", "depth", "z_dim", "lr_g", "lr_d", "batch", "steps", "d_steps", "decay", "n_samples"):
        assert pacgan.settings[name] == defaults[name], name
    assert pacgan.settings["method"] == "pacgan" and pacgan.settings["seed"] == 0 and len(pacgan.steps) == 31
    assert "packs of 4" in checked_output("07", "report_pac")


@claim(
    "07",
    "It no longer settles: it hops. At seed 0 with one update per step and `lr_d` 1e-4, the most popular mode "
    "changes from one snapshot to the next at most snapshots",
    "most of the time nearly all samples crowd around one mode, at least half of them within half the gap to the next "
    "mode, "
    "without landing on it (under 5% high quality at every snapshot)",
    "That is a game that does not settle, not mode collapse as lesson 09 counts it (few modes *and* sharp samples), "
    "so its pool of mystery runs leaves such runs out",
)
def test_a_weak_discriminator_makes_the_generator_hop():
    run = train_gan("ring", "vanilla", seed=0, d_steps=1, lr_d=1e-4, progress=False)  # the playground's setting
    occupancy = run.occupancy()
    changes = np.diff(occupancy.argmax(axis=1)) != 0
    assert changes.sum() > len(changes) / 2
    assert np.median(occupancy.max(axis=1)) >= 0.9
    # crowding around one mode: nearly all samples nearest it AND half of them within half the gap to the next
    modes = run.target.modes
    half_gap = np.linalg.norm(modes[0] - modes[1]) / 2
    crowded = [
        occupancy[i].max() >= 0.9
        and np.median(np.linalg.norm(run.snapshots[i] - modes[occupancy[i].argmax()], axis=1)) < half_gap
        for i in range(len(run.steps))
    ]
    assert sum(crowded) > len(crowded) / 2  # most of the time
    assert run.occupancy(quality_only=True).sum(axis=1).max() < 0.05

    from collapse_edu import capstone

    outcome = capstone.gan_outcome(run.snapshots)
    assert outcome["effective_modes"] <= 3 and outcome["high_quality"] < 0.5  # few modes, not sharp
    assert capstone.outcome(capstone.gan_log(run.snapshots, 0), "gan-vanilla", outcome) is None  # left out
    assert "gan-slow-critic" not in capstone.VARIANT_KEYS and len(capstone.GAN_VARIANTS) == 2


# --------------------------------------------------------------------------- section 4


@claim(
    "07",
    "trained both methods with exactly the settings above on 20 seeds the lesson does not otherwise use (100–119)",
    "Training 40 GANs takes about 10 minutes of processor time (580 s; 42 minutes of wall-clock time on the shared "
    "machine the table was made on)",
    "over 20 other seeds",
)
def test_seed_table_is_twenty_unseen_seeds(table):
    for method in gan.METHODS:
        assert sorted(r["seed"] for r in ring_runs(table, method)) == list(range(100, 120))
    assert round(sum(r["cpu_seconds"] for r in table["runs"]), -1) == 580 and round(table["total_seconds"] / 60) == 42
    out = checked_output("07", "sharp collapse")
    assert out.count("20 seeds") == 2


@claim(
    "07",
    "**What our own table says.** The vanilla GAN ended in a sharp collapse",
    "high quality: a partial collapse, not a spread",
    "It never captured more than 4 of the 8 modes",
    "PacGAN-4 captured all 8 modes in all 20 seeds",
)
def test_our_table_paragraph(table):
    vanilla, pacgan = ring_runs(table, "vanilla"), ring_runs(table, "pacgan")
    text = " ".join(prose_with("**What our own table says.**").split())
    collapsed = [r for r in vanilla if sharp(r)]
    low, high = pct_range(text[text.index("sharp collapse") :])
    assert (low, high) == (
        as_written(min(r["high_quality"] for r in collapsed), low),
        as_written(max(r["high_quality"] for r in collapsed), high),
    )
    assert high < 100  # the best run is not 100% high quality
    others = [r for r in vanilla if not sharp(r)]
    if others:
        part = text[text.index("The other") :]
        assert int(re.search(r"The other (\d+)", part)[1]) == len(others)
        modes = numbers_in(re.search(r"ended on ([\d–]+) modes", part)[1].replace("–", " "))
        assert modes[0] == min(r["modes"] for r in others) and modes[-1] == max(r["modes"] for r in others)
        low, high = pct_range(part)  # their high-quality shares
        assert (low, high) == (
            as_written(min(r["high_quality"] for r in others), low),
            as_written(max(r["high_quality"] for r in others), high),
        )
    assert f"never captured more than {max(r['modes'] for r in vanilla)} of the 8" in text
    part = text[text.index("PacGAN-4 captured") :]
    if part.startswith("PacGAN-4 captured all 8 modes in"):  # then every covered run has all 8
        assert sum(r["modes"] >= 7 for r in pacgan) == sum(r["modes"] == 8 for r in pacgan) == of_20(part)
    else:
        assert of_20(part) == sum(r["modes"] >= 7 for r in pacgan)
        all8 = re.search(r"all 8 in (\d+) of 20|all 8 in all 20", part)
        assert int(all8[1] or 20) == sum(r["modes"] == 8 for r in pacgan)
    assert pct_range(part) == (
        round(100 * min(r["high_quality"] for r in pacgan)),
        round(100 * max(r["high_quality"] for r in pacgan)),
    )


@claim(
    "07",
    "Over 20 other seeds PacGAN-4 captured at least 7 modes in",
    "Packing four samples per discriminator input (PacGAN-4) captured at least 7 of the 8 modes in",
    "Expect yes: over the 20 seeds of section 4 PacGAN-4 captured at least 7 modes in all 20 (all 8 in every one)",
)
def test_pacgan_coverage_share(table):
    rows = ring_runs(table, "pacgan")
    count = sum(r["modes"] >= 7 for r in rows)
    assert count >= 15
    hq = (round(100 * min(r["high_quality"] for r in rows)), round(100 * max(r["high_quality"] for r in rows)))
    for marker in (
        "Over 20 other seeds PacGAN-4",
        "Packing four samples per discriminator",
        "over the 20 seeds of section 4",
    ):
        assert of_20(sentence_with(marker)) == count, marker
    for marker in ("Over 20 other seeds PacGAN-4", "Packing four samples per discriminator"):
        assert pct_range(sentence_with(marker)) == hq, marker
    assert table["summary"][1]["covered"] == count
    assert count == 20 and all(r["modes"] == 8 for r in rows)  # "expect yes", "all 8 in every one"


@claim(
    "07",
    "VEEGAN's Table 1 (arXiv:1705.07761), modes captured and high-quality share",
    "PacGAN's Table 1 (arXiv:1712.04086), whole; means ± standard error over 10 trials",
    "their plain GAN already captures most modes (6.3 of 8 on the ring, 17.3 of 25 on the grid) with high quality "
    "(98.2% and 94.8%)",
    "Packing raises the count to 7.8–7.9 of 8 and 23.8–24.8 of 25 and cuts the reverse KL from 0.45 to 0.07–0.10 on "
    "the ring and from 0.70 to 0.04–0.13 on the grid, while the high-quality share moves by at most 3.5 points "
    "(95.6–97.7% against 98.2% on the ring, 91.3–94.2% against 94.8% on the grid)",
    "VEEGAN's GAN, with other networks and training, collapses fully on the ring (1 mode at 99.3%)",
    "PacGAN's own experiments do not show this price: their Table 1 (quoted whole in section 4) reports 95.6–97.7% "
    "high quality for PacGAN2, PacGAN3 and PacGAN4 on the ring, against 98.2% for their GAN",
    "with PacGAN's grid column (17.3 modes for their GAN, 23.8–24.8 with packing) and VEEGAN's (3.3 and 24.6)",
)
def test_paper_numbers_as_quoted():
    t = paper_table()
    # Table 1 of arXiv:1712.04086 (means): ring modes, HQ %, rev. KL; grid modes, HQ %, rev. KL. Checked
    # against the table as the authors publish it (synthetic_data_experiments/results/Table1.png of their code).
    assert t == {
        "GAN": [6.3, 98.2, 0.45, 17.3, 94.8, 0.70],
        "ALI": [6.6, 97.6, 0.36, 24.1, 95.7, 0.14],
        "PacGAN2": [7.9, 95.6, 0.07, 23.8, 91.3, 0.13],
        "PacGAN3": [7.8, 97.7, 0.10, 24.6, 94.2, 0.06],
        "PacGAN4": [7.8, 95.9, 0.07, 24.8, 93.6, 0.04],
    }
    packed = [t[m] for m in ("PacGAN2", "PacGAN3", "PacGAN4")]

    def span(i):
        return min(r[i] for r in packed), max(r[i] for r in packed)

    assert span(0) == (7.8, 7.9) and span(3) == (23.8, 24.8)
    assert span(2) == (0.07, 0.10) and span(5) == (0.04, 0.13)
    assert span(1) == (95.6, 97.7) and span(4) == (91.3, 94.2)
    assert round(max(t["GAN"][1] - span(1)[0], t["GAN"][4] - span(4)[0]), 1) == 3.5
    veegan = prose_with("VEEGAN's Table 1")
    assert "| grid (25 modes) | 3.3 modes, 0.5% | 24.6 modes, 40.0% |" in veegan


@claim(
    "07",
    "our PacGAN-4 matches their coverage but not their quality: its samples still bridge the gaps between the modes",
    "at a cost in quality in our small runs",
    "Why our runs differ we have not tested; our guesses are our small networks and short training (the playground "
    "lets you try a wider network or more steps), or that each packed update draws four times as many points "
    "(section 3); we have not separated these",
    "guesses we have not tested: our generator is small and trained for only 2,000 steps, and each packed update "
    "draws four times as many points",
)
def test_our_pacgan_against_the_papers(table, pacgan):
    rows = ring_runs(table, "pacgan")
    # bridging the gaps: the seed-0 run has low-quality samples along the ring all the way between its modes
    p = pacgan.samples
    between = (np.abs(np.linalg.norm(p, axis=1) - 2) < 0.2) & ~gan_metrics.high_quality(
        p, pacgan.target.modes, pacgan.target.std
    )
    angles = np.angle(p[between, 0] + 1j * p[between, 1])
    assert np.histogram(angles, bins=32, range=(-np.pi, np.pi))[0].min() > 0
    # a guess, not a result: no stored run varies the network or the training length ...
    assert table["settings"]["width"] == 64 and table["settings"]["steps"] == 2000
    # ... but the playground offers both
    playground = next(c.source for c in notebook("07").cells if "figures.gan_playground" in c.source)
    assert re.search(r"width=\(16, 256,", playground) and re.search(r"steps=\(500, 8000,", playground)
    assert np.mean([r["modes"] for r in rows]) >= 7.5
    assert max(r["high_quality"] for r in rows) < 0.9 < min(paper_table()[m][1] / 100 for m in ("PacGAN2", "PacGAN4"))


@claim(
    "07",
    "our vanilla runs look like VEEGAN's GAN, not PacGAN's",
)
def test_our_vanilla_against_the_papers(table):
    modes = [r["modes"] for r in ring_runs(table, "vanilla")]
    assert abs(np.mean(modes) - 1.0) < abs(np.mean(modes) - paper_table()["GAN"][0])


# --------------------------------------------------------------------------- exercises

WRONG_ANSWERS = {
    "is_high_quality": [
        # compares the SQUARED distance with 3 * std
        "def is_high_quality(samples, modes, std):\n"
        "    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1)\n"
        "    return d2.min(axis=1) <= 3 * std\n",
        # per coordinate (a 3-std square instead of a circle)
        "def is_high_quality(samples, modes, std):\n"
        "    d = np.abs(samples[:, None, :] - modes[None, :, :]).max(axis=-1)\n"
        "    return d.min(axis=1) <= 3 * std\n",
        # the distance to the first mode, not the nearest
        "def is_high_quality(samples, modes, std):\n    return np.linalg.norm(samples - modes[0], axis=1) <= 3 * std\n",
        # one standard deviation instead of three
        "def is_high_quality(samples, modes, std):\n"
        "    d = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)\n"
        "    return d.min(axis=1) <= std\n",
    ],
    "modes_captured_from": [
        # strictly more than min_count
        "def modes_captured_from(good, min_count=1):\n    return int(np.sum(np.asarray(good) > min_count))\n",
        # ignores min_count: every mode with any high-quality sample
        "def modes_captured_from(good, min_count=1):\n    return int(np.sum(np.asarray(good) > 0))\n",
        # sums the samples instead of counting the modes
        "def modes_captured_from(good, min_count=1):\n"
        "    good = np.asarray(good)\n"
        "    return int(good[good >= min_count].sum())\n",
    ],
    "reverse_kl_from": [
        # log base 2 (bits, not nats)
        "def reverse_kl_from(counts):\n"
        "    counts = np.asarray(counts, dtype=float)\n"
        "    p = counts / counts.sum()\n"
        "    p = p[p > 0]\n"
        "    return float(np.sum(p * np.log2(p * len(counts))))\n",
        # K = the number of occupied modes instead of all modes
        "def reverse_kl_from(counts):\n"
        "    counts = np.asarray(counts, dtype=float)\n"
        "    p = counts / counts.sum()\n"
        "    p = p[p > 0]\n"
        "    return float(np.sum(p * np.log(p * len(p))))\n",
        # the forward KL(q || p): infinite as soon as a mode is empty
        "def reverse_kl_from(counts):\n"
        "    counts = np.asarray(counts, dtype=float)\n"
        "    p = counts / counts.sum()\n"
        "    q = np.full(len(counts), 1 / len(counts))\n"
        "    with np.errstate(divide='ignore'):\n"
        "        return float(np.sum(q * np.log(q / p)))\n",
    ],
}

test_checkers = checker_tests("07", WRONG_ANSWERS)


@claim(
    "07",
    "One training step, exactly as `gan.train_gan` runs it 2,000 times",
    "Training the discriminator several times between generator updates (here 3 updates per step) keeps it near "
    "the best discriminator for the current generator as long as the generator changes slowly enough, the regime in "
    "which Goodfellow et al. (2014, arXiv:1406.2661, Section 3, Algorithm 1 and Proposition 1) analyse the game.",
)
def test_train_gan_runs_the_shown_step_2000_times_with_3_discriminator_updates(monkeypatch):
    """The sentence states the design (k = 3 discriminator updates per generator update, Algorithm 1's k) and
    cites why (Goodfellow et al., Section 3: "This results in D being maintained near its optimal solution, so
    long as G changes slowly enough"); it makes no measured comparison. Checked: the k of every step is 3."""
    defaults = inspect.signature(train_gan).parameters
    assert defaults["steps"].default == 2000 and defaults["d_steps"].default == 3
    assert "the k of Goodfellow et al. 2014, Algorithm 1" in " ".join(train_gan.__doc__.split())
    calls = []
    step = gan.adversarial_step

    def counting_step(*args, **kwargs):
        calls.append(args[-1] if len(args) == 7 else kwargs.get("d_steps"))
        return step(*args, **kwargs)

    monkeypatch.setattr(gan, "adversarial_step", counting_step)
    train_gan("ring", "vanilla", seed=0, steps=20, progress=False)
    assert calls == [3] * 20  # one shown step per training step, each with 3 discriminator updates


@claim(
    "07",
    "How many of the 25 modes are captured (at least 1 high-quality sample, the count both papers report), and how "
    "many with at least 20?",
    "final samples with modes captured (at least 1 high-quality sample, and in brackets at least 20) and the "
    "high-quality share in the title",
    "The count with at least 20 is stricter than theirs; the gap between the two counts shows how many modes hold "
    "only a few stray samples",
)
def test_the_playground_shows_both_mode_counts(monkeypatch, pacgan):
    """Also: the >= 20 count is never above the >= 1 count; the gap is the modes with 1-19 samples."""
    from collapse_edu.figures import gan as figures

    monkeypatch.setattr(figures, "cached_run", lambda *args: pacgan)
    fig = figures.gan_playground(method="pacgan")
    title = fig.axes[0].get_title()
    report = pacgan.report()
    assert f"{report['modes']} modes captured ({report['modes_strict']} with >= 20 HQ)" in title
    assert f"{100 * report['high_quality']:.0f}% HQ" in title
    assert "VEEGAN, Sec. 5.1" in prose_with("a sample is **high quality**")  # the count this lesson uses is VEEGAN's
    loose, strict = pacgan.modes_over_training(1), pacgan.modes_over_training(20)
    assert np.all(strict <= loose) and np.any(strict < loose)
    counts = np.round(pacgan.occupancy(quality_only=True) * pacgan.snapshots.shape[1])
    assert np.array_equal(loose - strict, ((counts >= 1) & (counts < 20)).sum(axis=1))


@claim(
    "07",
    "(Harder, optional, a minute or more per run) The grid: try `target` grid, `method` pacgan and the longest run "
    "the slider offers.",
)
def test_the_longest_pacgan_run_takes_a_minute_or_more(table):
    """Read from the stored seed table (no timing in a test): the processor seconds of the 20 PacGAN-4
    runs of 2,000 steps, scaled to the playground's longest run (the cost of a step does not depend on
    the target: the same networks and batch)."""
    playground = next(
        "".join(cell.source) for cell in notebook("07").cells if "figures.gan_playground" in "".join(cell.source)
    )
    longest = int(re.search(r"steps=\(\s*\d+,\s*(\d+),", playground).group(1))
    seconds = [run["cpu_seconds"] for run in table["runs"] if run["method"] == "pacgan"]
    per_step = np.median(seconds) / table["settings"]["steps"]
    assert len(seconds) == 20 and longest * per_step >= 60, (longest, per_step)
