"""The course as files: where the lessons are, and a learner's working copy of them.

Where the course lives:

* in a git checkout: ``lessons/`` (the master notebooks), ``lessons/student/`` (the exercise
  versions, ``collapse-edu student --publish``) and ``benchmarks/`` beside the package;
* in an installed wheel: the same three folders inside the package, ``collapse_edu/packaged/``
  (``pyproject.toml`` maps ``lessons/`` and ``benchmarks/`` there at build time, so a wheel always
  holds the lessons of the checkout it was built from).

Both are read-only for the tool (``run --inplace`` in a checkout is the one exception). A learner
works in a copy: :func:`sync_course` copies the course into a folder of their own and, run again
after an upgrade, brings in new lessons and replaces the ones the learner has not touched, but never
overwrites a notebook the learner changed: the new version is written beside it
(``01_name.v0.2.0-1a2b3c4d.ipynb``) and the report says so, once: a version offered before is not
offered again, also if the learner deleted it. What was copied, with its SHA-256, is recorded in the
folder's manifest ``.collapse-edu-course.json``; a file whose content no longer matches the manifest
is the learner's.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

MANIFEST = ".collapse-edu-course.json"
#: The folders of the course, relative to its root, and the files of each that make up the course.
PARTS = {"lessons": ("[0-9][0-9]_*.ipynb",), "lessons/student": ("[0-9][0-9]_*.ipynb",), "benchmarks": ("*.py", "*.md")}
DEFAULT_COPY = "collapse-edu-course"


def packaged_root() -> Path | None:
    """The course inside an installed wheel (``collapse_edu/packaged``), or None in a checkout."""
    root = Path(__file__).resolve().parent / "packaged"
    return root if any((root / "lessons").glob("[0-9][0-9]_*.ipynb")) else None


def checkout_root() -> Path | None:
    """The git checkout this package is imported from (it has ``lessons/`` beside the package)."""
    root = Path(__file__).resolve().parents[1]
    return root if any((root / "lessons").glob("[0-9][0-9]_*.ipynb")) else None


def source_root() -> Path:
    """Where the course's own files are: the checkout's root, else the installed wheel's copy."""
    root = checkout_root() or packaged_root()
    if root is None:
        raise ValueError("this installation of collapse-edu holds no lessons (a broken install?); reinstall it")
    return root


def course_copy_of(path: str | os.PathLike) -> Path | None:
    """The learner's course copy that ``path`` is or lies in: the nearest folder, ``path`` or one above
    it, that holds a copy's manifest; None if there is none."""
    path = Path(os.path.abspath(path))
    for folder in (path, *path.parents):
        if (folder / MANIFEST).is_file():
            return folder
    return None


def learners_copy() -> Path | None:
    """The course copy a command started here means: the one the working directory lies in, else
    ``./collapse-edu-course`` if ``collapse-edu lab`` made one there; None if neither."""
    default = Path(DEFAULT_COPY)
    return course_copy_of(Path.cwd()) or (default if (default / MANIFEST).is_file() else None)


def master_folders() -> list[Path]:
    """Every folder holding master lessons that this installation knows of (never written into)."""
    return [root / "lessons" for root in (checkout_root(), packaged_root()) if root is not None]


def protected_folders(lessons: str | os.PathLike | None = None) -> list[Path]:
    """The folders no command writes into: the lessons folder in use (``lessons``, as ``--lessons``
    gives it, when there is one), every one of :func:`master_folders`, and the package itself."""
    from .lessons import lessons_dir

    try:
        in_use = [lessons_dir(lessons)]
    except ValueError:  # no lessons folder here: the command that asked writes no lesson anyway
        in_use = []
    return [*in_use, *master_folders(), Path(__file__).resolve().parent]


def course_files(root: Path) -> list[str]:
    """The course's files below ``root``, as sorted POSIX paths relative to it."""
    found = set()
    for folder, patterns in PARTS.items():
        for pattern in patterns:
            for path in (root / folder).glob(pattern):
                if path.is_file() and "." not in path.stem:  # not 01_x.v0.2.0-... copies
                    found.add(f"{folder}/{path.name}")
    return sorted(found)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _beside(rel: str, digest: str) -> str:
    """The name of a new version written beside a learner's changed file."""
    folder, _, name = rel.rpartition("/")
    stem, dot, suffix = name.partition(".")
    return f"{folder}/{stem}.v{__version__}-{digest[:8]}{dot}{suffix}"


@dataclass
class SyncReport:
    """What :func:`sync_course` did, file by file (paths relative to the course copy)."""

    folder: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (learner's file, new version beside it)
    foreign: list[str] = field(default_factory=list)  # those of ``kept`` that collapse-edu never wrote
    removed: list[str] = field(default_factory=list)  # no longer in the course, never changed by the learner
    left: list[str] = field(default_factory=list)  # no longer in the course, changed by the learner: left alone

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.kept or self.removed)

    def lines(self) -> list[str]:
        """One line per group, for the terminal."""
        out = []
        if self.added:
            out.append(f"added {len(self.added)} files: {_names(self.added)}")
        if self.updated:
            out.append(f"updated {len(self.updated)} files you had not changed: {_names(self.updated)}")
        for mine, new in self.kept:
            why = "collapse-edu did not write it" if mine in self.foreign else "you changed it"
            out.append(f"kept your {mine} ({why}); the course's new version is beside it: {new}")
        if self.removed:
            out.append(f"removed {len(self.removed)} files no longer in the course: {_names(self.removed)}")
        if self.left:
            out.append(f"left your changed {_names(self.left)} (no longer part of the course)")
        if not self.changed:
            out.append(f"the course in {self.folder} is up to date ({len(self.unchanged)} files)")
        return out


def _names(paths: list[str], limit: int = 4) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def read_manifest(folder: Path) -> dict:
    """The manifest of a course copy ({} for a folder that has none)."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a collapse-edu manifest ({error}); move it away and run again") from None
    if not isinstance(manifest, dict) or manifest.get("written_by") != "collapse-edu":
        raise ValueError(f"{path} was not written by collapse-edu; move it away and run again")
    return manifest


def _umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sync_course(folder: str | os.PathLike, source: Path | None = None, *, dry_run: bool = False) -> SyncReport:
    """Copy the course into ``folder`` or bring an earlier copy up to date; never overwrite the learner's work.

    For each file of the course: missing -> copied; identical -> left; unchanged since the last copy
    (its SHA-256 is the manifest's) -> replaced by the new version; otherwise the learner's (or
    someone else's) file is kept and the new version is written beside it. Files that left the
    course are removed only if the learner never changed them. A version offered beside a file once
    is not offered again (the manifest remembers it). Refuses a folder inside the master lessons, the
    package or another course copy, and checks every path before it writes anything. Idempotent: a
    second run with the same version changes nothing.
    """
    from .outputs import check_folder, lies_within

    source = source or source_root()
    folder = check_folder(folder, protected=master_folders() + [source / "lessons"], what="lab")
    for master in master_folders() + [source, Path(__file__).resolve().parent]:
        try:
            if folder.resolve().is_relative_to(master.resolve()):
                raise ValueError(f"{folder} lies inside the course's own files ({master}); choose another --dir")
        except OSError:
            pass
    outer = course_copy_of(folder.resolve().parent)  # "..", or a link into a copy, as what they stand for
    if not (folder / MANIFEST).is_file() and outer is not None:
        raise ValueError(f"{folder} lies inside the course copy {outer}: bring that one up to date (--dir {outer})")
    manifest = read_manifest(folder) if folder.is_dir() else {}
    recorded: dict = manifest.get("files", {}) if isinstance(manifest.get("files"), dict) else {}
    report = SyncReport(folder=folder)
    files: dict[str, dict] = {}
    plan: list[tuple[Path, Path]] = []
    for rel in course_files(source):
        src = source / rel
        digest = sha256(src)
        target = folder / rel
        entry = recorded.get(rel, {}) if isinstance(recorded.get(rel), dict) else {}
        if not target.exists():
            plan.append((src, target))
            report.added.append(rel)
            files[rel] = {"sha256": digest, "version": __version__}
        elif target.is_dir():
            raise ValueError(f"{target} is a folder where the course has a file; move it away and run again")
        else:
            current = sha256(target)
            if current == digest:
                report.unchanged.append(rel)
                files[rel] = {"sha256": digest, "version": entry.get("version", __version__)}
            elif entry.get("sha256") == current:
                plan.append((src, target))
                report.updated.append(rel)
                files[rel] = {"sha256": digest, "version": __version__}
            elif digest in (entry.get("sha256"), entry.get("offered_sha256")) or entry.get("offered") == _beside(
                rel, digest
            ):  # (a manifest of 0.1.0 names the offer only)
                # changed by the learner, and the course has nothing newer, or this version was offered before
                report.unchanged.append(rel)
                files[rel] = dict(entry)
            else:
                new = _beside(rel, digest)
                if not (folder / new).exists():  # an offered copy the learner has since edited stays theirs
                    plan.append((src, folder / new))
                report.kept.append((rel, new))
                if not entry:
                    report.foreign.append(rel)
                files[rel] = dict(entry) if entry else {"sha256": None, "version": None}
                files[rel].update(offered=new, offered_sha256=digest)
    for rel, entry in recorded.items():
        ours = isinstance(rel, str) and rel and lies_within(folder / rel, folder)  # a manifest naming others is ignored
        if rel in files or not isinstance(entry, dict) or not ours:
            continue
        target = folder / rel
        if target.is_file() and sha256(target) == entry.get("sha256"):
            report.removed.append(rel)
        elif target.exists():
            report.left.append(rel)
    own = [*master_folders(), source, Path(__file__).resolve().parent]  # the course's own files
    for _, target in plan:  # where each file leads, through any link on the way, decides
        if any(lies_within(target.parent, master) or lies_within(target, master) for master in own):
            raise ValueError(
                f"{target} leads into the course's own files (the master lessons or the package): lab never writes "
                "there; remove the link and run again"
            )
        for parent in (folder / rel for rel in target.relative_to(folder).parents):
            if parent.exists() and not parent.is_dir():
                raise ValueError(f"{parent} is a file where the course has a folder; move it away and run again")
    if dry_run:
        return report
    mode = 0o666 & ~_umask()  # what an ordinary new file gets (mkstemp's own files are private, 0600)
    for src, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a temporary file of its own (created, never opened through a link), then renamed over the target
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(src.read_bytes())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    for rel in report.removed:
        (folder / rel).unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(
        json.dumps({"written_by": "collapse-edu", "version": __version__, "files": files}, indent=1) + "\n",
        encoding="utf-8",
    )
    return report
