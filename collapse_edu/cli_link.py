"""``collapse-edu link``: the nbgitpuller link that puts the course into every learner's home on a JupyterHub.

    collapse-edu link --hub https://hub.example.org [--lesson 01] [--repo URL] [--branch main] [--start-page]

A learner who opens the link logs in to the hub, which starts their server; nbgitpuller clones the
course repository into ``~/<repo folder>`` on the first visit and on later visits merges new commits
without overwriting the learner's own edits; then JupyterLab opens the lesson. The lesson's file name
is looked up in the local lessons folder, so lesson numbers are never typed into links by hand.
See ``deploy/README.md``.
"""

from __future__ import annotations

import argparse
import re
from urllib.parse import quote, urlencode, urlsplit

from . import lessons as lesson_files

DEFAULT_REPO = "https://github.com/collapse-edu/collapse-edu"
DEFAULT_BRANCH = "main"
REPO_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!/)[\w./~-]+$")  # git@github.com:org/repo.git
_BRANCH = re.compile(r"^(?![-/.])(?!.*(?:\.\.|//|@\{|\.lock$|/$|\.$))[\w./-]+$")


def hub_base(hub: str) -> str:
    """The hub's public address without a trailing slash: ``https://hub.example.org`` or, behind a path
    prefix, ``https://example.org/jupyter``. A pasted page address (``.../hub/home``) is cut at ``/hub/``."""
    try:  # urlsplit itself refuses some (an unclosed IPv6 bracket: "https://[::1")
        parts = urlsplit(hub.strip()) if isinstance(hub, str) else None
    except ValueError:
        parts = None
    try:
        port_ok = parts is not None and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number
        port_ok = False
    unsafe = isinstance(hub, str) and any(c.isspace() or c in "\"'<>`{}|\\^" for c in hub.strip())
    if (
        parts is None
        or unsafe
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"--hub must be the hub's address, an http(s) URL such as https://hub.example.org; got {hub!r}"
        )
    path = parts.path.rstrip("/")
    if path == "/hub" or path.endswith("/hub") or "/hub/" in path:
        path = path[: (path + "/").index("/hub/")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def repo_folder(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into: its last path component without ``.git``.

    ``https://github.com/collapse-edu/collapse-edu`` -> ``collapse-edu``; ``git@host:org/x.git`` -> ``x``."""
    message = f"--repo must be a git repository URL (https://, ssh://, file:// or git@host:path); got {repo!r}"
    if not isinstance(repo, str) or not repo.strip() or any(ch.isspace() for ch in repo.strip()):
        raise ValueError(message)
    repo = repo.strip()
    if _SCP_LIKE.match(repo):
        path = repo.split(":", 1)[1]
    else:
        parts = urlsplit(repo)
        if parts.scheme not in REPO_SCHEMES or parts.query or parts.fragment:
            raise ValueError(message)
        if parts.scheme != "file" and not parts.hostname:
            raise ValueError(message)
        path = parts.path
    folder = path.rstrip("/").rsplit("/", 1)[-1]
    folder = folder[: -len(".git")] if folder.endswith(".git") else folder
    if folder in ("", ".", "..", "~"):
        raise ValueError(f"--repo must name a repository (its last path part is the folder); got {repo!r}")
    return folder


def check_branch(branch: str) -> str:
    """A git branch name (letters, digits, ``. _ - /``, no ``..``), as nbgitpuller passes it to git."""
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise ValueError(f"--branch must be a git branch name such as main or workshop-2026; got {branch!r}")
    return branch


def nbgitpuller_link(
    hub: str, notebook: str, *, repo: str = DEFAULT_REPO, branch: str = DEFAULT_BRANCH, app: str = "lab"
) -> str:
    """``<hub>/hub/user-redirect/git-pull?repo=...&branch=...&targetpath=...&urlpath=...``.

    ``notebook`` is the path inside the repository (``lessons/01_gaussian_resampling.ipynb``);
    ``urlpath`` opens it in JupyterLab (``lab/tree/<repo folder>/<notebook>``) after the pull. The
    clone folder (``targetpath``) is always given, so the link does not depend on nbgitpuller's
    default for repository URLs that end in ``.git``."""
    if app not in ("lab", "tree"):
        raise ValueError(f"app must be 'lab' or 'tree', got {app!r}")
    folder = repo_folder(repo)
    if not isinstance(notebook, str) or not notebook or notebook.startswith("/") or ".." in notebook.split("/"):
        raise ValueError(f"notebook must be a relative path inside the repository, got {notebook!r}")
    query = {
        "repo": repo.strip(),
        "branch": check_branch(branch),
        "targetpath": folder,
        "urlpath": f"{app}/tree/{folder}/{notebook}" if app == "lab" else f"tree/{folder}/{notebook}",
    }
    return f"{hub_base(hub)}/hub/user-redirect/git-pull?{urlencode(query, quote_via=quote, safe='')}"


def start_page(link: str) -> str:
    """The link without scheme and host (``/hub/user-redirect/git-pull?...``): the value for
    ``c.JupyterHub.default_url``, which makes the link every learner's page after logging in."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _link(args: argparse.Namespace) -> int:
    hub_base(args.hub)  # the hub is checked before the lessons folder is read
    lesson = (
        lesson_files.find_lesson(args.lesson, args.lessons)
        if args.lesson is not None
        else lesson_files.list_lessons(args.lessons)[0]
    )
    folder = lesson_files.lessons_dir(args.lessons).resolve()
    where = lesson.path.resolve().parent
    if where not in (folder, folder / "student"):
        raise ValueError(
            f"--lesson must be one of the course's lessons (in {folder} or its student/ folder), got {lesson.path}"
        )
    student = "student/" if where == folder / "student" else ""
    link = nbgitpuller_link(args.hub, f"lessons/{student}{lesson.path.name}", repo=args.repo, branch=args.branch)
    print(start_page(link) if args.start_page else link)
    return 0


def add_link_command(commands: argparse._SubParsersAction) -> None:
    """Register ``collapse-edu link`` on the CLI's sub-command parser."""
    link = commands.add_parser(
        "link",
        help="print the nbgitpuller link that gives every learner on a JupyterHub the course",
        description="Print the nbgitpuller link that clones the course into each learner's home on a "
        "JupyterHub and opens a lesson in JupyterLab (see deploy/README.md).",
    )
    link.add_argument("--hub", required=True, metavar="URL", help="the hub's address, e.g. https://hub.example.org")
    link.add_argument("--lesson", metavar="NN", help="lesson to open: number or name (default: the first lesson)")
    link.add_argument("--repo", default=DEFAULT_REPO, metavar="URL", help=f"git repository (default: {DEFAULT_REPO})")
    link.add_argument("--branch", default=DEFAULT_BRANCH, help=f"branch to pull (default: {DEFAULT_BRANCH})")
    link.add_argument(
        "--start-page",
        action="store_true",
        help="print only the path (/hub/user-redirect/...), the value for c.JupyterHub.default_url",
    )
    link.set_defaults(handler=_link)
