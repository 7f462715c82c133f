"""``collapse-edu`` and ``python -m collapse_edu``: the command line (:mod:`collapse_edu.cli`).

It first holds numpy, OpenBLAS and PyTorch to their AVX2 code paths
(:func:`collapse_edu.environment.use_reproducible_cpu_env`), before anything imports numpy, so that
``collapse-edu simulate`` and every kernel that ``lab``, ``run`` and ``export`` start print the course's
committed numbers on any x86-64 CPU with AVX2.
"""

from __future__ import annotations

import sys

from .environment import use_reproducible_cpu_env


def main() -> int:
    use_reproducible_cpu_env()
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
