"""The files ``collapse-edu`` writes, and the rule that keeps it from destroying anyone's work.

The rule, checked for every file a command would write *before* the command does any work:

* never write over one of the command's inputs (``monitor ref.csv cand.csv --html ref.csv``), even
  with ``--force``;
* never write into the master lessons folder (``student --out lessons``), even with ``--force``
  (``run NN --inplace`` is the one explicit way to update a lesson);
* never replace an existing file that the tool did not write itself, unless ``--force`` is given;
  the refusal names the files that would be replaced.

How the tool knows its own files: every file it writes carries a marker,

* notebooks: ``"collapse_edu": {"written_by": "collapse-edu", "sha256": ...}`` in the notebook
  metadata, the digest of the notebook as written: a notebook someone edited since (a learner's
  answers in a student copy) no longer matches and counts as theirs;
* HTML pages: the comment ``<!-- written by collapse-edu -->`` as the first line or right after the
  doctype line;
* figures: ``collapse-edu`` as the creator in the file's metadata, read where the format keeps it
  (PNG ``Software`` text chunk; PDF ``/Creator``; SVG and gzipped SVGZ ``dc:creator``; PS and EPS
  ``%%Creator``), so a figure that merely mentions the course is not taken for one of ours. Formats without metadata
  (JPEG, TIFF, GIF, ...) carry no marker, so an existing file in those formats is only replaced with
  ``--force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

WRITER = "collapse-edu"
HTML_MARKER = f"<!-- written by {WRITER} -->"
_FIGURE_METADATA = {
    "png": "Software",
    "pdf": "Creator",
    "svg": "Creator",
    "svgz": "Creator",
    "ps": "Creator",
    "eps": "Creator",
}
_FIGURE_MARKERS = {  # where each format keeps the creator that save_figure sets
    "pdf": re.compile(rb"/Creator \(collapse-edu\)"),
    "svg": re.compile(rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>collapse-edu</dc:title>"),
    "ps": re.compile(rb"^%%Creator: collapse-edu\r?$", re.M),
    "eps": re.compile(rb"^%%Creator: collapse-edu\r?$", re.M),
}


def notebook_digest(notebook: dict) -> str:
    """SHA-256 of a notebook's content (keys sorted) without the digest that the marker itself holds."""
    content = json.loads(json.dumps(notebook))
    marker = content.get("metadata", {}).get("collapse_edu")
    if isinstance(marker, dict):
        marker.pop("sha256", None)
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def write_notebook(notebook, path: str | os.PathLike) -> Path:
    """Write a copy of ``notebook`` to ``path`` with the tool's marker: the writer, the name written as
    (a renamed copy is not ours) and the digest of the notebook as written (an edited one is not ours)."""
    import nbformat

    path = Path(path)
    copy = nbformat.from_dict(notebook)
    marker = copy.metadata.setdefault("collapse_edu", {})
    marker.update(written_by=WRITER, written_as=path.name)
    marker.pop("sha256", None)
    marker["sha256"] = notebook_digest(json.loads(nbformat.writes(copy)))
    text = nbformat.writes(copy)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path


def notebook_marker(path: str | os.PathLike) -> dict:
    """The tool's marker of the notebook at ``path`` ({} if it has none or cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            marker = json.load(handle).get("metadata", {}).get("collapse_edu", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _png_software(handle) -> str | None:
    """The ``Software`` text of a PNG file (None if it has none or is no PNG)."""
    if handle.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IDAT" or kind == b"IEND":
            return None  # matplotlib writes its text chunks before the image data
        data = handle.read(length)
        handle.seek(4, os.SEEK_CUR)  # the chunk's CRC
        if kind == b"tEXt" and data.partition(b"\0")[0] == b"Software":
            return data.partition(b"\0")[2].decode("latin-1")


def mark_html(page: str) -> str:
    """The page with the tool's marker comment after its first line (the doctype)."""
    first, newline, rest = page.partition("\n")
    if first.lstrip().lower().startswith("<!doctype"):
        return f"{first}\n{HTML_MARKER}\n{rest}" if newline else f"{first}\n{HTML_MARKER}\n"
    return f"{HTML_MARKER}\n{page}"


def written_by_tool(path: str | os.PathLike) -> bool:
    """Whether ``path`` carries the marker of a file this tool wrote (see the module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    try:
        if suffix == "ipynb":
            with open(path, encoding="utf-8") as handle:
                notebook = json.load(handle)
            marker = notebook.get("metadata", {}).get("collapse_edu", {})
            if not isinstance(marker, dict) or marker.get("written_by") != WRITER:
                return False
            # a digest that no longer matches: edited since; no digest at all: written before digests were kept
            return "sha256" not in marker or marker["sha256"] == notebook_digest(notebook)
        with open(path, "rb") as handle:
            if suffix in ("html", "htm"):
                first_lines = handle.read(4096).splitlines()[:2]
                return any(line.strip().startswith(HTML_MARKER.encode()) for line in first_lines)
            if suffix == "png":
                return _png_software(handle) == WRITER
            if suffix == "svgz":  # gzipped SVG: the metadata block comes first
                import gzip

                with gzip.open(handle) as unzipped:
                    return bool(_FIGURE_MARKERS["svg"].search(unzipped.read(1 << 16)))
            if suffix in _FIGURE_MARKERS:
                head = handle.read(1 << 16)
                handle.seek(max(0, path.stat().st_size - (1 << 16)))
                return any(_FIGURE_MARKERS[suffix].search(part) for part in (head, handle.read()))
    except (OSError, ValueError, AttributeError, struct.error):
        return False
    return False


def _supported_formats() -> dict[str, str]:
    """The figure formats matplotlib can write here (pgf left out: it needs LaTeX)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return {k: v for k, v in FigureCanvasBase.get_supported_filetypes().items() if k != "pgf"}


def figure_path(path: str | os.PathLike) -> Path:
    """The file matplotlib really writes for ``path``: without an extension it appends the default
    format's (``sigma`` -> ``sigma.png``). Raises ``ValueError`` for a format it cannot write."""
    import matplotlib as mpl

    text = os.fspath(path)
    try:
        if Path(text).is_dir():
            raise ValueError(f"{text} is a folder: give a file name (for example {Path(text) / 'figure.png'})")
    except OSError as error:
        raise ValueError(f"cannot write {text[:80]}: {error.strerror}") from None
    name = os.path.basename(text)
    if name.startswith(".") and name[1:].lower() in _supported_formats():  # ".png": a format without a name
        raise ValueError(f"{text} has no file name before its extension: give one (for example figure{name})")
    suffix = os.path.splitext(text)[1][1:].lower()
    if not suffix:
        return Path(text.rstrip(".") + "." + mpl.rcParams["savefig.format"])
    formats = _supported_formats()
    if suffix not in formats:
        raise ValueError(f"cannot save a figure as .{suffix} ({text}); use one of: {', '.join(sorted(formats))}")
    return Path(text)


def save_figure(figure, path: str | os.PathLike) -> Path:
    """Save ``figure`` with the tool's marker where the format has metadata; returns the file written."""
    target = figure_path(path)
    key = _FIGURE_METADATA.get(target.suffix.lower().lstrip("."))
    figure.savefig(target, metadata={key: WRITER} if key else None)
    return target


_MASTERS = "which holds the master lessons (choose a folder outside it; `student --publish` updates lessons/student)"
_PACKAGE = Path(__file__).resolve().parent  # the collapse_edu package: its modules, its data, its results


def _is_package(folder: Path) -> bool:
    try:
        return Path(folder).resolve() == _PACKAGE
    except OSError:
        return False


def _holds(folder: Path) -> str:
    """What a protected folder holds, for a refusal."""
    return "the collapse_edu package's own files" if _is_package(folder) else "the master lessons"


def _which_holds(folder: Path) -> str:
    return f"which holds {_holds(folder)} (choose a folder outside it)" if _is_package(folder) else _MASTERS


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def lies_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies anywhere below the folder ``folder``."""
    try:
        return folder.is_dir() and path.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def check_targets(
    targets: Iterable[str | os.PathLike],
    *,
    inputs: Iterable[str | os.PathLike] = (),
    protected: Iterable[str | os.PathLike] = (),
    force: bool = False,
    what: str = "this command",
    new_folders: bool = False,
) -> list[Path]:
    """Check, before any work, that every target may be written under the rule of this module.

    ``inputs`` are files the command reads; ``protected`` are folders it must never write into
    (the master lessons). Raises ``ValueError`` (one line, naming the files) for a target that is
    an input, sits in a protected folder, is a folder, lies under a file, cannot be created, or
    exists without the tool's marker (unless ``force``), or whose folder does not exist (unless
    ``new_folders``: the command creates its output folder). Returns the targets as paths.
    """
    targets = [Path(t) for t in targets]
    inputs = [Path(p) for p in inputs]
    protected = [Path(p) for p in protected]
    foreign = []
    for i, target in enumerate(targets):
        name = str(target)
        if any(_same(target, other) for other in targets[:i]):
            raise ValueError(f"{what} would write {name} twice: give each output its own name")
        for source in inputs:
            if _same(target, source):
                raise ValueError(f"{name} is an input of {what}: refusing to write over it (choose another name)")
            if lies_within(target, source):
                raise ValueError(f"{name} lies in {source}, an input folder of {what}: choose another place")
        for folder in protected:  # where the target leads, through any link, decides
            if _inside(target, folder):
                shown = target.parent if target.resolve().parent == target.parent.resolve() else target
                raise ValueError(
                    f"{shown} {'holds' if shown == target.parent else 'leads into a folder that holds'} "
                    f"{_holds(folder)}: {what} never writes into it (choose another folder)"
                )
            if lies_within(target, folder):
                raise ValueError(f"{target} leads into {folder}, {_which_holds(folder)}: {what} never writes there")
        try:
            if target.is_dir():
                raise ValueError(f"{name} is a folder: give a file name")
            exists = target.exists()
        except OSError as error:
            raise ValueError(f"cannot write {name[:80]}: {error.strerror}") from None
        ancestor = target.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ValueError(f"cannot write {name}: {ancestor} is a file, not a folder")
        if ancestor != target.parent and not new_folders:
            raise ValueError(f"cannot write {name}: the folder {target.parent} does not exist")
        if not os.access(ancestor if not exists else target, os.W_OK):
            raise ValueError(f"cannot write {name}: permission denied")
        if exists and not force and not written_by_tool(target):
            foreign.append(target)
    if foreign:
        names = ", ".join(str(p) for p in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ValueError(
            f"{what} would replace {len(foreign)} existing file{'s' if len(foreign) > 1 else ''} that "
            f"collapse-edu did not write: {names}; add --force to replace them"
        )
    return targets


def check_folder(folder: str | os.PathLike, *, protected: Iterable[str | os.PathLike] = (), what: str) -> Path:
    """An output folder: not a file, not under a file, not a protected (master lessons) folder."""
    folder = Path(folder)
    try:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is a file, not a folder: choose another folder")
    except OSError as error:
        raise ValueError(f"cannot use {str(folder)[:80]}: {error.strerror}") from None
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"cannot create {folder}: {ancestor} is a file, not a folder")
    for other in protected:
        if _same(folder, Path(other)):
            holds = _holds(Path(other))
            raise ValueError(f"{folder} holds {holds}: {what} never writes into it (choose another folder)")
        if lies_within(folder, Path(other)):
            raise ValueError(f"{folder} lies in {other}, {_which_holds(Path(other))}: {what} never writes there")
    if folder.is_dir():  # a real write, not a permission bit: root may "write" /proc, which refuses files
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise ValueError(f"cannot write into {str(folder)[:80]}: {error.strerror}") from None
    return folder
