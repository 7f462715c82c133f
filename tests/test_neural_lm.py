"""The tiny transformer language model: shapes, causality, the key/value cache, sampling, training,
Shumailov et al.'s fine-tune protocol and the generation loop. Tiny models only: seconds in all."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from collapse_edu import cli, neural_lm
from collapse_edu.loop import POLICIES
from collapse_edu.neural_lm import (
    IGNORE,
    ModelConfig,
    NeuralLM,
    TinyTransformer,
    TrainConfig,
    empty_caches,
    generate,
    lm_perplexity,
    sentence_batch,
    sentence_log_likelihoods,
    sentence_perplexities,
    simulate_transformer,
    train,
)
from collapse_edu.ngram import Sentences, load_corpus, prepare_corpus

TEXT = """The cat sat on the mat. The dog sat on the log! Did the cat see the dog?

A bird sang. The bird flew over the mat, and the cat watched it.

Cats and dogs are animals. Birds are animals too.

The log was old. The mat was new? Nobody knows.

The cat and the dog sat. A bird sat on the log. The mat was old.
"""

TINY = dict(width=8, layers=1, heads=2, context=12)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_net(vocab_size: int = 11, seed: int = 0, **config) -> TinyTransformer:
    torch.manual_seed(seed)
    net = TinyTransformer(ModelConfig(vocab_size, **{**TINY, **config}))
    with torch.no_grad():  # larger weights than the init, so that logits differ visibly between positions
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return net.eval()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return prepare_corpus(path, held_out=0.2, seed=0)


# --------------------------------------------------------------------------- the network


def test_shapes_and_parameter_count():
    net = tiny_net(vocab_size=11)
    ids = torch.randint(0, 11, (3, 7))
    assert net(ids).shape == (3, 7, 11)
    assert net.hidden(ids).shape == (3, 7, 8)
    width, vocab, context = 8, 11, 12
    block = 2 * 2 * width + (3 * width * width + 3 * width) + (width * width + width) + (8 * width * width + 5 * width)
    assert net.parameter_count() == vocab * width + context * width + block + 2 * width  # tied output layer
    assert net.config.vocab_size == 11


def test_causal_masking_later_tokens_do_not_change_earlier_logits():
    net = tiny_net()
    ids = torch.tensor([[0, 3, 5, 7, 2, 9, 4]])
    before = net(ids)
    for position in range(1, 7):
        changed = ids.clone()
        changed[0, position] = (changed[0, position] + 1) % 11
        after = net(changed)
        torch.testing.assert_close(after[0, :position], before[0, :position], rtol=0, atol=1e-6)
        assert not torch.allclose(after[0, position:], before[0, position:])  # it does change the rest


def test_cached_decoding_equals_recomputing_the_whole_prefix():
    net = tiny_net()
    ids = torch.randint(0, 11, (4, 9), generator=torch.Generator().manual_seed(1))
    full = net(ids)
    caches = empty_caches(net.config, 4, 9)
    one_by_one = torch.cat([net(ids[:, i : i + 1], caches, start=i) for i in range(9)], dim=1)
    torch.testing.assert_close(one_by_one, full, rtol=1e-5, atol=1e-5)
    caches = empty_caches(net.config, 4, 9)
    in_chunks = torch.cat([net(ids[:, :4], caches, 0), net(ids[:, 4:6], caches, 4), net(ids[:, 6:], caches, 6)], 1)
    torch.testing.assert_close(in_chunks, full, rtol=1e-5, atol=1e-5)


def _uncached_sample(net, generator, max_length, temperature=1.0, top_k=None):
    """Reference sampler: recompute the whole prefix every step, draw with the same rule."""
    ids = [0]
    for _ in range(max_length):
        logits = net(torch.tensor([ids]))[:, -1]
        token = int(neural_lm._draw(logits, generator, temperature, top_k)[0, 0])
        if token == 0:
            break
        ids.append(token)
    return ids[1:]


@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, None), (0.7, None), (1.5, 3)])
def test_cached_generation_equals_uncached_recomputation(temperature, top_k):
    net = tiny_net()
    for seed in range(6):
        cached = generate(net, 1, torch.Generator().manual_seed(seed), temperature=temperature, top_k=top_k)
        reference = _uncached_sample(net, torch.Generator().manual_seed(seed), 11, temperature, top_k)
        assert cached[0].tolist() == reference


def test_batched_generation_keeps_every_sentence_whole():
    net = tiny_net()
    sentences = generate(net, 300, 3, batch_size=64)
    assert len(sentences) == 300 and sentences.lengths.max() <= 11
    assert np.all(sentences.ids > 0)  # <s> only ends a sentence, never inside one
    again = generate(net, 300, 3, batch_size=64)
    np.testing.assert_array_equal(sentences.ids, again.ids)  # seeded: the same sentences
    assert generate(net, 0, 3).offsets.tolist() == [0]


def test_inverse_cdf_draws_follow_the_softmax():
    logits = torch.tensor([[2.0, 0.0, -1.0, 1.0, 0.5]]).repeat(20_000, 1)
    generator = torch.Generator().manual_seed(0)
    for temperature, top_k in ((1.0, None), (0.5, None), (1.0, 2)):
        drawn = neural_lm._draw(logits, generator, temperature, top_k)[:, 0].numpy()
        p = torch.softmax(logits[0] / temperature, 0).double().numpy()
        if top_k:
            p[np.argsort(-p)[top_k:]] = 0
        p /= p.sum()
        counts = np.bincount(drawn, minlength=5)
        assert np.all(counts[p == 0] == 0)
        used = p > 0
        assert stats.chisquare(counts[used], p[used] * counts.sum()).pvalue > 1e-3


def test_a_draw_leaves_its_logits_as_they_were():
    """The weights are computed in place in a buffer of their own, never in the caller's logits."""
    logits = torch.randn(50, 7, generator=torch.Generator().manual_seed(1))
    before = logits.clone()
    for temperature, top_k in ((1.0, None), (0.3, None), (2.0, 3)):
        neural_lm._draw(logits, torch.Generator().manual_seed(0), temperature, top_k)
        assert torch.equal(logits, before)


def test_top_k_one_is_greedy_and_low_temperature_nearly_greedy():
    net = tiny_net()
    greedy = _uncached_sample(net, torch.Generator().manual_seed(0), 11, top_k=1)
    for seed in range(3):
        assert generate(net, 1, seed, top_k=1)[0].tolist() == greedy
        assert generate(net, 1, seed, temperature=1e-3)[0].tolist() == greedy


# --------------------------------------------------------------------------- data, training, scoring


def test_sentence_batch_shifts_inputs_and_cuts_long_sentences():
    sentences = Sentences.from_lists([[2, 3, 4], [], [5, 6, 7, 8, 9, 10, 2]])
    inputs, targets = sentence_batch(sentences, np.array([0, 1, 2]), context=5)
    assert inputs.tolist() == [[0, 2, 3, 4, 0], [0, 0, 0, 0, 0], [0, 5, 6, 7, 8]]
    assert targets.tolist() == [[2, 3, 4, 0, IGNORE], [0, IGNORE, IGNORE, IGNORE, IGNORE], [5, 6, 7, 8, 9]]
    empty = Sentences.from_lists([[], []])
    assert sentence_batch(empty, np.array([0, 1]), 5)[1].tolist() == [[0], [0]]


def test_log_likelihoods_equal_the_sum_of_token_log_probabilities():
    net = tiny_net()
    rng = np.random.default_rng(0)
    sentences = Sentences.from_lists([rng.integers(2, 11, rng.integers(0, 15)).tolist() for _ in range(40)])
    log_p, events = sentence_log_likelihoods(net, sentences, tokens_per_batch=30)
    for i in range(len(sentences)):
        inputs, targets = sentence_batch(sentences, np.array([i]), net.config.context)
        expected = -F.cross_entropy(net(inputs)[0], targets[0], ignore_index=IGNORE, reduction="sum").item()
        assert log_p[i] == pytest.approx(expected, rel=1e-5, abs=1e-5)
        assert events[i] == min(sentences.lengths[i] + 1, net.config.context)
    assert lm_perplexity(net, sentences) == pytest.approx(np.exp(-log_p.sum() / events.sum()))
    np.testing.assert_allclose(sentence_perplexities(net, sentences), np.exp(-log_p / events), rtol=1e-5)


def test_a_uniform_model_has_perplexity_equal_to_the_vocabulary_size():
    net = tiny_net(vocab_size=13)
    with torch.no_grad():
        net.norm.weight.zero_()
        net.norm.bias.zero_()  # hidden states 0: every logit 0, every word 1/13
    sentences = Sentences.from_lists([[2, 3, 4], [5], [6, 7, 8, 9]])
    assert lm_perplexity(net, sentences) == pytest.approx(13.0)


def test_training_lowers_the_loss_on_a_repeated_pattern():
    sentences = Sentences.from_lists([[2, 3, 4, 5], [6, 7, 8]] * 30)
    net = tiny_net(vocab_size=11)
    before = lm_perplexity(net, sentences)
    losses = train(net, sentences, epochs=20, learning_rate=1e-2, batch_size=16, warmup=0.1, rng=0)
    assert len(losses) == 20 * 4
    assert lm_perplexity(net, sentences) < 0.25 * before and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert not net.training  # left in evaluation mode


# --------------------------------------------------------------------------- the family and its protocol


def family_for(corpus, **kwargs) -> NeuralLM:
    model = ModelConfig(len(corpus.vocab), **TINY)
    training = TrainConfig(epochs=2, finetune_epochs=1, batch_size=8, learning_rate=3e-3)
    return NeuralLM(len(corpus.vocab), model=model, training=training, held_out=corpus.held_out, **kwargs)


def _recording_train(monkeypatch) -> list[dict]:
    """Replace neural_lm.train by a wrapper that records the weights each training starts from."""
    starts = []
    real_train = neural_lm.train

    def recording(net, sentences, **kwargs):
        starts.append({k: v.clone() for k, v in net.state_dict().items()})
        return real_train(net, sentences, **kwargs)

    monkeypatch.setattr(neural_lm, "train", recording)
    return starts


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_finetune_protocol_starts_every_later_fit_from_the_first_model(corpus, monkeypatch):
    starts = _recording_train(monkeypatch)
    family = family_for(corpus, seed=0)
    first = family.fit([corpus.train])[0]
    base = {k: v.clone() for k, v in first.net.state_dict().items()}
    assert family.base is first.net and first.from_scratch
    second = family.fit([corpus.train, corpus.held_out])
    assert len(starts) == 3 and all(_same(s, base) for s in starts[1:])  # both runs start from the base
    assert _same(family.base.state_dict(), base)  # fine-tuning a copy leaves the base untouched
    assert not any(m.from_scratch for m in second)
    assert not _same(second[0].net.state_dict(), base)


def test_scratch_protocol_trains_every_fit_from_new_weights(corpus, monkeypatch):
    starts = _recording_train(monkeypatch)
    family = family_for(corpus, protocol="scratch", seed=0)
    first = family.fit([corpus.train])[0]
    later = family.fit([corpus.train])[0]
    assert later.from_scratch and family.base is first.net
    assert not _same(starts[1], {k: v for k, v in first.net.state_dict().items()})
    assert len(later.losses) == len(first.losses)  # the same number of from-scratch steps


def test_a_base_handed_in_is_generation_zero_without_training(corpus, monkeypatch):
    trained = family_for(corpus, seed=4).fit([corpus.train])[0].net
    starts = _recording_train(monkeypatch)
    family = family_for(corpus, base=trained, seed=4)
    first = family.fit([corpus.train])[0]
    assert first.net is trained and first.losses == [] and starts == []
    family.fit([corpus.train])
    assert len(starts) == 1 and _same(starts[0], trained.state_dict())


def test_the_first_fit_is_seeded(corpus):
    a = family_for(corpus, seed=2).fit([corpus.train])[0]
    b = family_for(corpus, seed=2).fit([corpus.train])[0]
    c = family_for(corpus, seed=3).fit([corpus.train])[0]
    assert _same(a.net.state_dict(), b.net.state_dict()) and not _same(a.net.state_dict(), c.net.state_dict())
    template = family_for(corpus)
    alone = neural_lm.train_base(corpus, model=template.config, training=template.training, seed=2)
    assert _same(alone.state_dict(), a.net.state_dict())  # train_base is exactly the first fit


@pytest.mark.parametrize("policy", POLICIES)
def test_loop_integration_with_every_policy(corpus, policy):
    real_fraction = 0.5 if policy == "fresh-real" else None
    run = simulate_transformer(
        corpus,
        generations=3,
        runs=2,
        policy=policy,
        real_fraction=real_fraction,
        model=ModelConfig(len(corpus.vocab), **TINY),
        training=TrainConfig(epochs=2, finetune_epochs=1, batch_size=8),
        eval_sentences=20,
        seed=1,
        keep_models=True,
    )
    h = run.history
    names = {"vocabulary", "train_tokens", "perplexity_real", "perplexity_self", "distinct_1", "distinct_2"}
    assert names <= set(h.metrics) and h["vocabulary"].shape == (4, 2)
    real_words = neural_lm.word_types(corpus.train)
    assert np.all(h["vocabulary"][:2] == real_words)  # generations 0 and 1 train on all the real text
    assert np.all(h["perplexity_real"] > 1) and np.all(np.isfinite(h["perplexity_real"]))
    if policy == "accumulate":
        assert np.all(h["vocabulary"] == real_words)  # the real text stays in the pool
        assert np.all(np.diff(h["train_tokens"][1:], axis=0) > 0)
    assert len(run.text(3, count=2, run=1)) == 2
    assert h.models[0][0].net is h.models[0][1].net is run.family.base  # one generation-0 model


def test_threads_are_restored(corpus):
    torch.set_num_threads(1)
    family = family_for(corpus, threads=2)
    family.fit([corpus.train])
    assert torch.get_num_threads() == 1


# --------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: ModelConfig(10, width=10, heads=4), ValueError, "width must be a multiple of heads"),
        (lambda: ModelConfig(1), ValueError, "vocab_size must be >= 2"),
        (lambda: ModelConfig(10, dropout=1.0), ValueError, "dropout must be <= 0.9"),
        (lambda: TrainConfig(epochs=0), ValueError, "epochs must be > 0"),
        (lambda: TrainConfig(batch_size=0), ValueError, "batch_size must be >= 1"),
        (lambda: TrainConfig(learning_rate=-1), ValueError, "learning_rate must be > 0"),
        (lambda: NeuralLM(10, model=ModelConfig(12)), ValueError, "model.vocab_size (12) must equal vocab_size (10)"),
        (lambda: NeuralLM(10, protocol="fresh"), ValueError, "protocol must be one of 'finetune', 'scratch'"),
        (lambda: NeuralLM(10, temperature=0), ValueError, "temperature must be >= 1e-06"),
        (lambda: NeuralLM(10, top_k=11), ValueError, "top_k must be <= 10"),
        (lambda: NeuralLM(10, threads=0), ValueError, "threads must be >= 1"),
        (lambda: NeuralLM(10, training="fast"), TypeError, "training must be a TrainConfig"),
        (lambda: NeuralLM(11, base=tiny_net(vocab_size=11, width=16)), ValueError, "base must be a TinyTransformer"),
        (lambda: generate(tiny_net(), 5, 0, max_length=12), ValueError, "max_length must be <= 11"),
        (lambda: generate(tiny_net(), -1, 0), ValueError, "count must be >= 0"),
        (lambda: generate(tiny_net(), 5, 0, temperature=-1.0), ValueError, "temperature must be >= 1e-06"),
        (lambda: tiny_net()(torch.zeros(1, 13, dtype=torch.long)), ValueError, "positions must stay below the context"),
        (lambda: train(tiny_net(), Sentences.from_lists([]), epochs=1, learning_rate=1e-3), ValueError, "sentences"),
        (lambda: lm_perplexity(tiny_net(), Sentences.from_lists([])), ValueError, "at least one sentence"),
        (lambda: simulate_transformer("no/such/file.txt"), FileNotFoundError, "file.txt"),
    ],
)
def test_bad_arguments_are_named(make, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


# --------------------------------------------------------------------------- the command line


def test_cli_simulate_transformer(corpus, tmp_path, capsys):
    path = tmp_path / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    plot = tmp_path / "transformer.png"
    args = ["simulate", "transformer", "--corpus", str(path), "--held-out", "0.2", "--width", "8", "--layers", "1",
            "--epochs", "2", "--generations", "2", "--eval-sentences", "20", "--seed", "3"]  # fmt: skip
    assert cli.main([*args, "--policy", "fresh-real", "--real-fraction", "0.5", "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [row["generation"] for row in out["generations"]] == [0, 1, 2]
    assert out["parameters"]["policy"] == "fresh-real (r = 0.5)" and out["parameters"]["seed"] == 3
    assert out["parameters"]["model"]["width"] == 8 and plot.stat().st_size > 0
    for bad, message in (
        (["--policy", "fresh-real"], "--real-fraction is required"),
        (["--real-fraction", "0.5"], "only used with --policy fresh-real"),
        (["--temperature", "0"], "temperature must be >= 1e-06"),
        (["--width", "6"], "width must be a multiple of heads"),
    ):
        with pytest.raises(SystemExit) as stop:
            cli.main([*args, *bad])
        assert stop.value.code == 2 and message in capsys.readouterr().err


def test_a_stored_base_is_used_only_for_its_own_recipe(corpus, tmp_path):
    quick = TrainConfig(epochs=1, batch_size=8)
    net = neural_lm.train_base(corpus, training=quick, seed=5)
    path = str(tmp_path / "base.npz")
    assert neural_lm.save_base(net, corpus, seed=5, training=quick, path=path) == path
    assert neural_lm.stored_base(corpus, seed=5, path=path) is None  # trained otherwise than the defaults
    neural_lm.save_base(net, corpus, seed=5, path=path)  # (as if) trained with the defaults
    loaded = neural_lm.stored_base(corpus, seed=5, path=path)
    assert loaded is not None and _same(loaded.state_dict(), net.state_dict())
    assert neural_lm.stored_base(corpus, seed=6, path=path) is None  # another seed
    assert neural_lm.stored_base(load_corpus(None), seed=5, path=path) is None  # another corpus
    assert neural_lm.stored_base(corpus, seed=5, path=str(tmp_path / "none.npz")) is None
    with pytest.raises(ValueError, match="net must be a TinyTransformer"):
        neural_lm.save_base(TinyTransformer(ModelConfig(len(corpus.vocab), **TINY)), corpus, path=path)


def test_the_shipped_base_is_current_and_base_model_loads_it():
    stored = neural_lm.stored_base(load_corpus(None), seed=0)
    assert stored is not None, "results/neural_lm_base.npz is stale: run python benchmarks/neural_lm_base.py"
    neural_lm._BASES.pop(0, None)
    assert _same(neural_lm.base_model(0).state_dict(), stored.state_dict())


def test_the_bucket_panel_names_each_bucket_where_its_line_ends():
    """Neighbouring viridis shades are hard to pair with the legend: each bucket's name sits at the right end of
    its line, in its colour, in the order of the lines, never on top of another name."""
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    from collapse_edu.figures import neural as neural_figures

    real_counts = np.array([0, 0] + [1] * 40 + [2] * 30 + [3] * 20 + [5] * 20 + [10] * 20 + [30] * 20)
    sizes = np.array([40, 30, 20, 20, 20, 20])
    ends = np.array([0.30, 0.31, 0.32, 0.6, 0.9, 1.0])  # three close ends: their names must be pushed apart
    surviving = np.vstack([sizes, sizes, np.round(sizes * ends)])
    fig = neural_figures.word_loss({"model": (real_counts, real_counts)}, surviving, real_counts)
    plt.close(fig)
    right = fig.axes[1]
    names = {t.get_text(): t for t in right.texts}
    assert list(names) == ["1", "2", "3", "4-7", "8-15", "16+"]
    data_lines = [line for line in right.lines if line.get_linestyle() == "-" and line.get_marker() not in ("", "None")]
    heights = []
    for line, name in zip(data_lines, names, strict=True):
        text = names[name]
        assert mcolors.same_color(text.get_color(), line.get_color())
        assert text.xy == (2, line.get_ydata()[-1])  # points at the line's last value
        assert text.get_position()[0] > 2 and right.get_xlim()[1] > text.get_position()[0]
        heights.append(text.get_position()[1])
    assert np.all(np.diff(heights) >= 0.045 * 1.02 - 1e-9)  # in order and apart


def test_share_above_counts_the_bins_from_the_level_up():
    histogram = np.zeros(len(neural_lm.PERPLEXITY_BINS) - 1)
    histogram[[0, 29, 30, 49]] = [1, 2, 3, 4]  # bin 30 starts at perplexity 10^3
    assert neural_lm.PERPLEXITY_BINS[30] == pytest.approx(1000)
    assert neural_lm.share_above(histogram, 1000) == pytest.approx(7 / 10)
    assert neural_lm.share_above(histogram, 1) == pytest.approx(1)
    assert neural_lm.share_above(np.stack([histogram, 2 * histogram]), 10**4.9).tolist() == pytest.approx([0.4, 0.4])
    with pytest.raises(ValueError, match="level must be a bin edge"):
        neural_lm.share_above(histogram, 999)


def test_perplexity_histogram_counts_and_refuses_impossible_perplexities():
    """Before: nan was dropped from the counts without a word, a negative perplexity or one below 1 was
    counted in the first bin, infinity in the last."""
    counts = neural_lm.perplexity_histogram([1.0, 10.0, 999.0, 1000.0, 1e7])
    assert counts.sum() == 5 and counts[0] == 1 and counts[10] == 1 and counts[29] == 1 and counts[30] == 1
    assert counts[-1] == 1  # above 10^5: the last bin
    for bad in ([np.nan, 2.0], [np.inf], [-3.0, 2.0], [0.5]):
        with pytest.raises(ValueError, match=r"^perplexities must be finite and >= 1, got "):
            neural_lm.perplexity_histogram(bad)
    with pytest.raises(TypeError, match="^perplexities must be a number or an array of numbers"):
        neural_lm.perplexity_histogram(None)


def test_a_network_too_large_for_memory_is_refused_before_torch_allocates_it():
    """Before: vocab_size = 10^9 failed inside torch's allocator with a RuntimeError (or took the machine's
    memory), when the network was built or, for a family, when generation 0 started training."""
    huge = ModelConfig(10**9)  # a configuration alone allocates nothing
    message = r"^a transformer with vocab_size = 1000000000, width = 64, layers = 2 \(64,000,104,192 parameters\)"
    with pytest.raises(ValueError, match=message + r".*: use a smaller vocab_size, width or layers$"):
        TinyTransformer(huge)
    with pytest.raises(ValueError, match=message):
        NeuralLM(10**9)
    with pytest.raises(TypeError, match="^config must be a ModelConfig, got dict"):
        TinyTransformer({"vocab_size": 10})


@pytest.mark.parametrize("config", [{}, {"width": 16, "layers": 3, "heads": 4, "context": 20}])
def test_the_memory_check_counts_the_parameters_of_the_network(config, monkeypatch):
    """The estimate is the network's parameter count (4 bytes each): exactly the memory allowed passes."""
    net = tiny_net(**config)
    needed = 4 * net.parameter_count()
    monkeypatch.setattr("collapse_edu.validation.available_memory", lambda: needed)
    assert tiny_net(**config).parameter_count() == net.parameter_count()
    monkeypatch.setattr("collapse_edu.validation.available_memory", lambda: needed - 1)
    with pytest.raises(ValueError, match="vocab_size"):
        tiny_net(**config)


def test_the_explorer_runs_a_live_setting_from_the_given_generation_0():
    """Lesson 04's explorer: a setting that was not precomputed trains live from the generation 0 it is given
    (which stays as it was) and draws the run next to the precomputed fully synthetic seeds."""
    import matplotlib.pyplot as plt

    from collapse_edu.figures import neural as figures

    base = neural_lm.base_model(seed=0)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    fig = figures.transformer_explorer(policy="fresh-real", real_fraction=0.5, generations=2, base=base)
    assert fig._suptitle.get_text() == "Live run from this lesson's generation 0"
    labels = fig.axes[0].get_legend_handles_labels()[1] + [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("(live, one run)" in label for label in labels) and any("precomputed" in label for label in labels)
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())
    plt.close(fig)
    with pytest.raises(ValueError, match="^base must be a TinyTransformer"):
        figures.transformer_explorer(temperature=1.3, generations=2, base={"perplexity_real": 145.0})


def test_a_draw_too_large_to_keep_is_refused_before_sampling():
    """Before: generate(net, 10**12) sampled for hours before it would run out of memory."""
    net = tiny_net(vocab_size=11)
    limit = net.config.context - 1
    message = rf"^count = 1000000000000 sentences of up to {limit} words needs about .* draw fewer$"
    with pytest.raises(ValueError, match=message):
        generate(net, 10**12)


def test_a_net_and_words_of_another_vocabulary_are_refused():
    """Before: word ids beyond the net's vocabulary gave "IndexError: index out of range in self", and a net that
    is not one gave an AttributeError."""
    net = tiny_net(vocab_size=11)
    foreign = Sentences.from_lists([[1, 2, 3], [4, 40]])
    with pytest.raises(ValueError, match=r"^sentences hold word id 40, but the net knows 11 words"):
        neural_lm.lm_perplexity(net, foreign)
    with pytest.raises(ValueError, match=r"^sentences hold word id 40"):
        neural_lm.train(net, foreign, epochs=1, learning_rate=1e-3)
    with pytest.raises(TypeError, match=r"^net must be a TinyTransformer \(train_base, stored_base\), got str"):
        generate("net", 3)
    assert np.isfinite(neural_lm.lm_perplexity(net, Sentences.from_lists([[1, 2, 3], [4, 10]])))


def test_side_by_side_names_its_log_axes() -> None:
    """Every panel of the transformer-and-bigram figure is relative to generation 1; the perplexity panels are drawn
    on a log scale and say so in their axis label, the linear ones do not."""
    import matplotlib.pyplot as plt

    from collapse_edu.figures import neural as neural_figures
    from collapse_edu.loop import History, Policy

    names = ("perplexity_real", "vocabulary", "sentence_length", "perplexity_self")
    values = 1.0 + np.arange(4 * 3 * 2, dtype=float).reshape(4, 3, 2)  # (generations, runs) per metric
    history = History(Policy(), 10, {name: values[:, :, i % 2] for i, name in enumerate(names)})
    fig = neural_figures.side_by_side(history, history)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert len(axes) == 4
    for ax in axes:
        log = ax.get_yscale() == "log"
        assert ax.get_ylabel() == "relative to generation 1" + (" (log scale)" if log else "")
    assert sum(ax.get_yscale() == "log" for ax in axes) == 2
    plt.close(fig)
