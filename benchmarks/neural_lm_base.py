"""Store lesson 04's generation-0 transformer, so the lesson loads it instead of training it.

Trains ``collapse_edu.neural_lm.train_base`` on the embedded corpus with the default settings and
seed 0 (one torch thread, the code paths of the committed outputs) and stores the weights with the
recipe they depend on (:func:`collapse_edu.neural_lm.base_recipe`) in
``collapse_edu/results/neural_lm_base.npz``. :func:`collapse_edu.neural_lm.base_model` uses the file
only while that recipe is unchanged, so a change of the defaults or of the corpus means training
again; re-run this script then. Run from the repository root:

    python benchmarks/neural_lm_base.py
"""

from __future__ import annotations

import argparse
import os
import time

from collapse_edu import neural_lm
from collapse_edu.environment import RESULTS_DIR, machine_info, run_on_avx2_code_paths
from collapse_edu.ngram import load_corpus


def main() -> None:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS_DIR / neural_lm.BASE_FILE))
    args = parser.parse_args()
    corpus = load_corpus()
    start = time.perf_counter()
    net = neural_lm.train_base(corpus, seed=0, progress=True)
    seconds = time.perf_counter() - start
    path = neural_lm.save_base(net, corpus, seed=0, path=args.out)
    print(
        f"trained in {seconds:.1f} s on {machine_info()['processor']}; perplexity of the held-out text "
        f"{neural_lm.lm_perplexity(net, corpus.held_out):.1f}; wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
