"""What a lesson's master notebook carries for learners who open it online (Binder, Colab, GitHub).

* **Launch links** in the title cell, two per platform: *exercises* (``lessons/student/NN_name.ipynb``,
  the default for learners: solutions left to write, checkers say "not written yet") and *with
  solutions* (the master ``lessons/NN_name.ipynb``). :func:`launch_line` writes the line,
  :func:`set_launch_links` puts it into a title cell in place of the old badge lines.
* **Hidden solutions everywhere**: JupyterLab and Notebook 7 collapse a cell's input when its
  metadata has ``jupyter.source_hidden``; Colab ignores that field and hides a code cell's input only
  in its *form view*: cell metadata ``"cellView": "form"`` with a ``#@title`` first line shows the
  title and a "Show code" button instead of the code. :func:`hide_solutions` gives every solution cell
  both. (GitHub's static viewer shows all code whatever the metadata; it is the "with solutions"
  reading view.)

``scripts/sync_lessons.py`` applies both to every master lesson; both are idempotent.
"""

from __future__ import annotations

import nbformat

from . import REPOSITORY

BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
#: The first line of every solution cell in a master lesson (Colab shows it as the form's title).
COLAB_TITLE = "#@title Solution (hidden: try the exercise first; double-click to show the code)"
LAUNCH_HOSTS = ("mybinder.org/v2/gh/", "colab.research.google.com/github/")


def binder_url(path: str, branch: str = "main") -> str:
    """Binder link that opens ``path`` (relative to the repository root) in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{branch}?urlpath=lab/tree/{path}"


def colab_url(path: str, branch: str = "main") -> str:
    """Colab link that opens ``path`` (relative to the repository root) from GitHub."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{branch}/{path}"


def launch_line(name: str) -> str:
    """The title cell's launch line for the lesson file ``name`` (``01_gaussian_resampling.ipynb``)."""
    exercises, solutions = f"lessons/student/{name}", f"lessons/{name}"
    return (
        "**Run it online.** *Exercises* (start here: you write the solutions, the checkers tell you how you did): "
        f"[![Exercises on Binder]({BINDER_BADGE})]({binder_url(exercises)}) "
        f"[![Exercises on Colab]({COLAB_BADGE})]({colab_url(exercises)}) · "
        f"*with solutions*: [Binder]({binder_url(solutions)}) · [Colab]({colab_url(solutions)})"
    )


def set_launch_links(source: str, name: str) -> str:
    """A title cell's source with its launch lines replaced by :func:`launch_line` (in the first one's place).

    A cell without launch lines gets the line after its first (``# NN · Title``) line."""
    lines = source.split("\n")
    new = launch_line(name)
    found = [i for i, line in enumerate(lines) if any(host in line for host in LAUNCH_HOSTS)]
    if not found:
        return "\n".join([lines[0], "", new, *lines[1:]])
    out = []
    for i, line in enumerate(lines):
        if i == found[0]:
            out.append(new)
        elif i not in found:
            out.append(line)
    return "\n".join(out)


def is_solution_cell(cell) -> bool:
    from .student import has_solution

    return cell.cell_type == "code" and has_solution(cell.source)


def hide_solutions(notebook: nbformat.NotebookNode) -> int:
    """Give every solution cell the Colab form title and both hiding flags; returns how many changed."""
    changed = 0
    for cell in notebook.cells:
        if not is_solution_cell(cell):
            continue
        before = (cell.source, dict(cell.metadata))
        collapse_as_form(cell, COLAB_TITLE)
        changed += (cell.source, dict(cell.metadata)) != before
    return changed


def collapse_as_form(cell, title: str) -> None:
    """Start a code cell collapsed on JupyterLab (``source_hidden``) and on Colab (a form: ``cellView``
    and ``title`` as its first line, replacing any title it had)."""
    lines = cell.source.split("\n")
    if lines and lines[0].lstrip().startswith(("#@title", "# @title")):
        lines = lines[1:]
    cell.source = "\n".join([title, *lines])
    cell.metadata["cellView"] = "form"
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True


def drop_colab_form(cell) -> None:
    """Undo :func:`hide_solutions` for one cell (the exercise versions show the code to complete)."""
    lines = cell.source.split("\n")
    if lines and lines[0].lstrip().startswith(("#@title", "# @title")):
        cell.source = "\n".join(lines[1:])
    cell.metadata.pop("cellView", None)
    cell.metadata.get("jupyter", {}).pop("source_hidden", None)
    if "jupyter" in cell.metadata and not cell.metadata["jupyter"]:
        del cell.metadata["jupyter"]


def sync_master(notebook: nbformat.NotebookNode, name: str) -> bool:
    """Launch links and hidden solutions for one master lesson; True if anything changed."""
    title = notebook.cells[0]
    before = title.source
    title.source = set_launch_links(title.source, name)
    return bool(hide_solutions(notebook)) or title.source != before
