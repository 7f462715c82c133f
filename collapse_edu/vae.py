"""A small variational autoencoder on the 8x8 digits, as a model family of the generation loop.

Shumailov et al. ("AI models collapse when trained on recursively generated data", Nature 631,
2024; arXiv:2305.17493) retrain a VAE on its own samples; this is the same experiment at the size
of scikit-learn's 8x8 digits, on a CPU, in about a second per generation.

The model (Kingma & Welling, "Auto-Encoding Variational Bayes", arXiv:1312.6114): an encoder
64 -> ``hidden`` -> (mu, log sigma^2) of a ``latent``-dimensional Gaussian q(z | x), a decoder
``latent`` -> ``hidden`` -> 64 pixel intensities y(z) in (0, 1), prior z ~ N(0, I). Training
maximises the evidence lower bound per image,

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || N(0, I)),

with one reparameterised z per image and step. The decoder is a Gaussian with one learned scale
s for all pixels, log p(x | z) = -sum_pixels [(x - y)^2 / (2 s^2) + log s] + const (a "calibrated
decoder": Rybkin et al., arXiv:2006.13202); ``likelihood="bernoulli"`` uses the classic cross-entropy
sum x log y + (1 - x) log(1 - y) instead, whose weak pull on grey levels lets the loop drive the
VAE into posterior collapse (KL -> 0, one mean image; by generation 4 or 5 in our runs with n = 200
and 500 images, seed 0).

A sample is the decoder's output y(z) for z ~ N(0, I) (the mean image, as usual for a VAE),
drawn from the loop's numpy random stream. The decoder averages over the posterior's spread, so
its samples are a little smoother than its training data, and the loss compounds, like the
narrowed sampling (lambda < 1) of the real-vs-synthetic lesson, on top of the finite-sample loss of
every refit.
Every fit trains from scratch (like the PCA + mixture family, which refits both parts), seeded
by the family's seed, the fit count and the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .continual import Adam, torch_threads
from .loop import ArrayFamily
from .validation import check_choice, check_float, check_int

#: The settings of the digits experiments (about 1 s per fit of 200-1000 images on one busy core).
VAE_DEFAULTS = {"latent": 8, "hidden": 128, "steps": 1000, "batch": 128, "lr": 3e-3, "likelihood": "gaussian"}
LIKELIHOODS = ("gaussian", "bernoulli")


class TinyVAE(nn.Module):
    """64 -> hidden -> (mu, log var) of the latent; latent -> hidden -> 64 logits."""

    def __init__(self, latent: int, hidden: int, likelihood: str = "gaussian"):
        super().__init__()
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self.log_scale = nn.Parameter(torch.tensor(-1.0))  # log s of the Gaussian decoder (learned)
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.mu(h), self.log_var(h).clamp(-12.0, 8.0)

    def elbo_terms(self, x: torch.Tensor, noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per image: the reconstruction term -log p(x | z) and KL(q(z | x) || N(0, I)), with
        z = mu + sigma * noise (``noise`` None: z = mu, a deterministic score)."""
        mu, log_var = self.encode(x)
        z = mu if noise is None else mu + torch.exp(0.5 * log_var) * noise
        logits = self.decoder(z)
        if self.likelihood == "gaussian":
            y = torch.sigmoid(logits)
            reconstruction = (0.5 * ((x - y) / self.log_scale.exp()) ** 2 + self.log_scale).sum(dim=1)
        else:
            reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
        kl = 0.5 * (mu**2 + log_var.exp() - 1.0 - log_var).sum(dim=1)
        return reconstruction, kl


@dataclass(eq=False)
class VAEModel:
    """One trained network per run, and the training set's final mean ELBO terms per run."""

    nets: list[TinyVAE] = field(repr=False)
    reconstruction: np.ndarray
    kl: np.ndarray

    @property
    def runs(self) -> int:
        return len(self.nets)


class VAE(ArrayFamily):
    """A small VAE family for :func:`~collapse_edu.loop.run_generations`; data ``(runs, n, 64)``
    with pixels in [0, 1] (the digits of :func:`collapse_edu.mixtures.load_digit_split`).

    ``fit`` trains one network per run for ``steps`` Adam steps on minibatches of ``batch`` images;
    ``sample`` decodes z ~ N(0, I); ``log_likelihood`` is the ELBO at the encoder's mean (for
    self-curation); ``describe`` records the final reconstruction and KL terms (nats per image)."""

    sample_bytes = 8 * 64

    def __init__(
        self,
        latent: int = VAE_DEFAULTS["latent"],
        hidden: int = VAE_DEFAULTS["hidden"],
        *,
        steps: int = VAE_DEFAULTS["steps"],
        batch: int = VAE_DEFAULTS["batch"],
        lr: float = VAE_DEFAULTS["lr"],
        seed: int = 0,
        threads: int | None = 1,
        likelihood: str = VAE_DEFAULTS["likelihood"],
    ):
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self.latent = check_int("latent", latent, 1, 64)
        self.hidden = check_int("hidden", hidden, 1, 4096)
        self.steps = check_int("steps", steps, minimum=1, maximum=100_000)  # as train_gan: hours beyond
        self.batch = check_int("batch", batch, minimum=1)
        self.lr = check_float("lr", lr, 0.0, strict_minimum=True)
        self.seed = check_int("seed", seed, minimum=0)
        self.threads = None if threads is None else check_int("threads", threads, minimum=1)
        self._fits = 0

    def _train(self, images: np.ndarray, generator: torch.Generator) -> tuple[TinyVAE, float, float]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=generator)))
            net = TinyVAE(self.latent, self.hidden, self.likelihood)
        x = torch.as_tensor(images, dtype=torch.float32)
        optimiser = Adam(list(net.parameters()), lr=self.lr)
        size = min(self.batch, len(x))
        for _ in range(self.steps):
            index = torch.randint(len(x), (size,), generator=generator)
            noise = torch.randn(size, self.latent, generator=generator)
            reconstruction, kl = net.elbo_terms(x[index], noise)
            optimiser.zero_grad()
            (reconstruction + kl).mean().backward()
            optimiser.step()
        with torch.no_grad():
            reconstruction, kl = net.elbo_terms(x, None)
        net.eval()
        return net, float(reconstruction.mean()), float(kl.mean())

    def fit(self, data: np.ndarray) -> VAEModel:
        data = np.asarray(data, float)
        if data.ndim != 3 or data.shape[2] != 64:
            raise ValueError(f"data must have shape (runs, n, 64) (8x8 images), got {data.shape}")
        if data.shape[1] < 2:
            raise ValueError(f"n must be >= 2 images to train a VAE, got {data.shape[1]}")
        if not (np.all(np.isfinite(data)) and data.min() >= 0.0 and data.max() <= 1.0):
            raise ValueError(
                f"data must hold pixels in [0, 1] (load_digit_split's scale; raw scikit-learn digits go to 16: "
                f"divide by 16), got values from {np.nanmin(data):g} to {np.nanmax(data):g}"
            )
        self._fits += 1
        nets, reconstruction, kl = [], [], []
        with torch_threads(self.threads):
            for r, images in enumerate(data):
                generator = torch.Generator().manual_seed(
                    int(np.random.SeedSequence([self.seed, self._fits, r]).generate_state(1)[0])
                )
                net, rec, div = self._train(np.clip(images, 0.0, 1.0), generator)
                nets.append(net)
                reconstruction.append(rec)
                kl.append(div)
        return VAEModel(nets, np.array(reconstruction), np.array(kl))

    @torch.no_grad()
    def sample(self, model: VAEModel, size: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((model.runs, size, self.latent)).astype(np.float32)
        with torch_threads(self.threads):
            images = [torch.sigmoid(net.decoder(torch.from_numpy(z[r]))).numpy() for r, net in enumerate(model.nets)]
        return np.stack(images).astype(float)

    @torch.no_grad()
    def log_likelihood(self, model: VAEModel, data: np.ndarray) -> np.ndarray:
        """ELBO of every image at z = the encoder's mean (deterministic), ``(runs, m)``, in nats."""
        x = torch.as_tensor(np.clip(np.asarray(data, float), 0.0, 1.0), dtype=torch.float32)
        with torch_threads(self.threads):
            rows = [-(sum(net.elbo_terms(x[r], None))).numpy() for r, net in enumerate(model.nets)]
        return np.stack(rows).astype(float)

    def broadcast(self, model: VAEModel, runs: int) -> VAEModel:
        if model.runs == runs:
            return model
        if model.runs != 1:
            raise ValueError(f"can only repeat a single-run model for {runs} runs, got {model.runs} runs")
        return VAEModel(model.nets * runs, np.repeat(model.reconstruction, runs), np.repeat(model.kl, runs))

    def describe(self, model: VAEModel) -> dict[str, np.ndarray]:
        return {"reconstruction": model.reconstruction, "kl": model.kl}
