"""Finding, describing and executing the lesson notebooks.

A lesson is ``lessons/NN_name.ipynb``. Its title is the first ``# `` heading of its first markdown
cell; its expected time sits in the notebook metadata as ``{"collapse_edu": {"minutes": 30}}``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .outputs import HTML_MARKER, mark_html, write_notebook

if TYPE_CHECKING:  # nbformat takes over a second to import: loaded where a notebook is read or written
    import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass(frozen=True)
class Lesson:
    path: Path
    title: str
    minutes: int | None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]


#: A lesson's file name: two digits, an underscore, a name without dots (``01_x.v0.2.0-....ipynb``, a
#: new version that ``collapse-edu lab`` wrote beside a learner's changed copy, is not a lesson).
LESSON_NAME = re.compile(r"^\d\d_[^.]+\.ipynb$")


def lesson_paths(directory: Path) -> list[Path]:
    """The lesson notebooks in ``directory``, sorted by name."""
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb") if LESSON_NAME.match(p.name))


def lessons_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The lessons folder: ``explicit``, else $COLLAPSE_EDU_LESSONS, else ./lessons, else those of the
    learner's course copy the working directory lies in, else ./collapse-edu-course/lessons (where
    ``collapse-edu lab`` copies the course), else the checkout's, else the lessons shipped inside the
    installed package (:mod:`collapse_edu.course`)."""
    from .course import checkout_root, learners_copy, packaged_root

    copy = learners_copy()
    candidates = (
        [explicit]
        if explicit
        else [
            os.environ.get("COLLAPSE_EDU_LESSONS"),
            Path.cwd() / "lessons",
            copy / "lessons" if copy is not None else None,
            *(root / "lessons" for root in (checkout_root(), packaged_root()) if root is not None),
        ]
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and lesson_paths(Path(candidate)):
            return Path(candidate).resolve()
    if explicit and not Path(explicit).exists():
        raise ValueError(f"lessons folder {explicit!s} does not exist")
    if explicit and not Path(explicit).is_dir():
        raise ValueError(f"lessons folder {explicit!s} is a file; give the folder that holds the lessons")
    if explicit:
        raise ValueError(f"lessons folder {explicit!s} holds no lesson notebooks (NN_name.ipynb)")
    raise ValueError("cannot find the lessons folder (a broken install?); pass --lessons DIR")


class LessonError(RuntimeError):
    """A lesson failed while it was executed (the message names the lesson and the cell)."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook file, or a one-line ``ValueError`` naming the file if it is not a valid notebook."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("it has no list of cells")
        for number, cell in enumerate(notebook.cells, 1):  # what every command reads of a cell (cheaper than
            # nbformat.validate on a notebook full of figures)
            if not isinstance(cell, dict) or not isinstance(cell.get("source"), str):
                raise ValueError(f"cell {number} has no text as its source")
            if cell.get("cell_type") not in ("code", "markdown", "raw"):
                raise ValueError(f"cell {number} is of no known type ({str(cell.get('cell_type'))[:20]!r})")
        return notebook
    except OSError:
        raise
    except Exception as error:  # noqa: BLE001 - nbformat raises JSON, schema and conversion errors
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: not a readable Jupyter notebook ({reason[:160]})") from None


def read_lesson(path: Path) -> Lesson:
    notebook = read_notebook(path)
    title = path.stem
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            break
    settings = notebook.metadata.get("collapse_edu", {})
    minutes = settings.get("minutes") if isinstance(settings, dict) else None
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
        raise ValueError(f"{path}: metadata collapse_edu.minutes must be a whole number, got {minutes!r}")
    return Lesson(path=path, title=title, minutes=minutes)


def list_lessons(directory: str | os.PathLike | None = None) -> list[Lesson]:
    return [read_lesson(p) for p in lesson_paths(lessons_dir(directory))]


def find_lesson(name: str, directory: str | os.PathLike | None = None) -> Lesson:
    """A lesson by number (``1``, ``01``), stem (``01_gaussian_resampling``), file name or path. A path
    with a folder part is taken as written (from the working directory, else from the lessons folder,
    e.g. ``student/01_gaussian_resampling.ipynb``) and never stands for a lesson of the same file name."""
    name = str(name)
    if name.endswith(".ipynb") and Path(name).is_file():
        return read_lesson(Path(name).resolve())
    if name.endswith(".ipynb") and Path(name).is_dir():
        raise ValueError(f"lesson {name!r} is a folder, not a notebook file")
    if name.endswith(".ipynb") and Path(name).parent != Path("."):
        inside = lessons_dir(directory) / name
        if inside.is_file():
            return read_lesson(inside.resolve())
        raise ValueError(f"lesson {name!r}: no such notebook (not in the working directory or the lessons folder)")
    lessons = list_lessons(directory)
    key = Path(name).stem if name.endswith(".ipynb") else name  # "1.5" is not lesson 1
    found = [
        lesson
        for lesson in lessons
        if key in (lesson.name, lesson.number) or (key.isascii() and key.isdigit() and int(key) == int(lesson.number))
    ]
    if len(found) > 1:
        names = ", ".join(lesson.path.name for lesson in found)
        raise ValueError(f"lesson {name!r} is ambiguous: {names} share its number; give the file name")
    if found:
        return found[0]
    known = ", ".join(lesson.number for lesson in lessons)
    if name.endswith(".ipynb"):
        raise ValueError(f"lesson {name!r}: no such notebook; give an existing notebook path or one of {known}")
    raise ValueError(f"lesson must be one of {known} (or a notebook path); got {name!r}")


# The kernel's own peak resident memory in MB: VmHWM on Linux (ru_maxrss there can carry the peak of
# the process that started the kernel, since Linux keeps it across exec), else ru_maxrss.
PEAK_MEMORY_PROBE = (
    "import re, resource, sys\n"
    "try:\n"
    "    _peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 2**10\n"
    "except OSError:\n"
    "    _peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == 'darwin' else 2**10)\n"
    "print(_peak)"
)


def execute_notebook(path: Path, *, timeout: int = 600) -> tuple[nbformat.NotebookNode, float, float | None]:
    """Run every cell in a fresh kernel, in the notebook's folder.

    Returns (executed notebook, wall seconds, the kernel's peak resident memory in MB or None).
    The memory is read by one extra cell that is removed again before the notebook is returned.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = read_notebook(path)
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_PROBE))
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no per-cell timestamps: a re-run changes only what the cells show
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        try:
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines are not the learner's business
        except Exception:
            # Ctrl-C while a cell runs: nbclient's own handler shuts the kernel down (and records the
            # shutdown), which then surfaces as a dead kernel or an AssertionError of its cleanup
            if getattr(client, "_async_cleanup_kernel_future", None) is not None:
                raise KeyboardInterrupt from None
            raise
    except CellExecutionError as error:
        cell = _failed_cell(notebook)
        evalue = " ".join(str(error.evalue).split())  # one line, whatever the message holds
        raise LessonError(f"{path.name}: {cell} raised {error.ename}: {evalue}"[:300]) from None
    except CellTimeoutError:
        raise LessonError(f"{path.name}: {_failed_cell(notebook)} ran longer than --timeout {timeout} s") from None
    except DeadKernelError as error:
        raise LessonError(f"{path.name}: the kernel died ({error}); out of memory?") from None
    seconds = time.perf_counter() - start
    probe = notebook.cells.pop()
    strip_progress_bars(notebook)
    try:
        peak_mb = float(probe.outputs[0]["text"])
    except (IndexError, KeyError, ValueError):  # no resource module (Windows)
        peak_mb = None
    return notebook, seconds, peak_mb


_PROGRESS_BAR = re.compile(r"\d+%\|")


def strip_progress_bars(notebook: nbformat.NotebookNode) -> int:
    """Remove tqdm progress bars from a notebook's outputs (a saved bar is frozen at whatever it showed
    when the notebook was written, typically "0%| | 0/20"); returns how many outputs were removed."""
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            text = (
                output.get("text", "")
                if output.output_type == "stream"
                else output.get("data", {}).get("text/plain", "")
            )
            if _PROGRESS_BAR.search(text if isinstance(text, str) else "".join(text)):
                removed += 1
                continue
            kept.append(output)
        cell.outputs = kept
    return removed


def _failed_cell(notebook: nbformat.NotebookNode) -> str:
    """'cell N' of the first code cell with an error output (or the last one that ran)."""
    ran = 0
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return f"cell {index}"
        if cell.get("execution_count"):
            ran = index
    return f"cell {ran + 1}" if ran else "a cell"


def write_html(notebook: nbformat.NotebookNode, target: Path) -> None:
    """Static HTML of an executed notebook (figures embedded, readable offline), marked as ours.

    Every figure carries its caption as alt text (:func:`collapse_edu.slides.add_alt_text`)."""
    import nbformat

    from .slides import add_alt_text, html_exporter

    notebook = nbformat.from_dict(notebook)
    add_alt_text(notebook)
    body, _ = html_exporter().from_notebook_node(notebook)
    target.write_text(mark_html(body), encoding="utf-8")


def output_files(lesson: Lesson, out_dir: Path) -> list[Path]:
    """The files :func:`run_lesson` writes into ``out_dir``."""
    return [out_dir / lesson.path.name, out_dir / f"{lesson.name}.html"]


def run_lesson(
    lesson: Lesson, out_dir: Path | None, *, inplace: bool = False, timeout: int = 600
) -> tuple[float, float | None]:
    """Execute a lesson; write it to ``out_dir`` as .ipynb and .html, and/or back in place.

    Returns (wall seconds, peak kernel memory in MB or None).
    """
    notebook, seconds, peak_mb = execute_notebook(lesson.path, timeout=timeout)
    notebook.metadata["kernelspec"] = KERNELSPEC
    if inplace:
        import nbformat

        nbformat.write(notebook, lesson.path)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_notebook(notebook, out_dir / lesson.path.name)
        write_html(notebook, out_dir / f"{lesson.name}.html")
    return seconds, peak_mb


def export_site(
    lessons: list[Lesson], out_dir: Path, *, execute: bool = True, timeout: int = 600, progress: bool = True
) -> Path:
    """Execute every lesson into ``out_dir`` (.ipynb + .html) and write an ``index.html``.

    ``execute=False`` converts the committed (already executed) notebooks as they are, in seconds.
    Returns the index page. Figures are embedded in the pages, so the folder works without a server.
    """
    import html

    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for lesson in tqdm(lessons, desc="lessons", disable=not progress):
        if execute:
            seconds, peak_mb = run_lesson(lesson, out_dir, timeout=timeout)
            timing = f"{seconds:.0f} s, " + (f"{peak_mb:.0f} MB" if peak_mb is not None else "?")
        else:
            notebook = read_notebook(lesson.path)
            write_notebook(notebook, out_dir / lesson.path.name)
            write_html(notebook, out_dir / f"{lesson.name}.html")
            timing = "as committed"
        rows.append(
            f"<tr><td>{lesson.number}</td><td><a href='{lesson.name}.html'>{html.escape(lesson.title)}</a></td>"
            f"<td>{lesson.minutes or '?'} min</td><td>{timing}</td>"
            f"<td><a href='{lesson.path.name}'>notebook</a></td></tr>"
        )
    index = out_dir / "index.html"
    index.write_text(
        f"""<!doctype html>
{HTML_MARKER}<html lang="en"><head><meta charset="utf-8"><title>Model collapse, hands-on</title>
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.5}}
td,th{{padding:.3em .8em;text-align:left}} tr:nth-child(even){{background:#f3f3f3}}</style></head><body>
<h1>Model collapse, hands-on</h1>
<p>Every lesson below was executed top to bottom. Text, code and figures are in the pages and readable offline;
formulas are typeset only online (MathJax from a CDN), and the launch badges and widget controls load from the
internet too. Interactive controls need a live kernel: open the notebooks in JupyterLab (<code>collapse-edu
lab</code>), on Binder or on Colab.</p>
<table><tr><th>#</th><th>lesson</th><th>learner time</th><th>run time, peak memory</th><th>download</th></tr>
{chr(10).join(rows)}
</table></body></html>""",
        encoding="utf-8",
    )
    return index
