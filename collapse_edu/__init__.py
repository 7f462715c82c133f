"""collapse-edu: a hands-on course on model collapse and the failures it is confused with.

The lessons live in ``lessons/``; this package holds what they import: the generation loop
(:mod:`collapse_edu.loop`), model families, closed-form theory, metrics, plots and widgets.
"""

__version__ = "0.1.0"

#: Where the course is published; the launch badges and the Colab install cell point here.
REPOSITORY = "collapse-edu/collapse-edu"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
