"""A real JupyterHub on loopback with many learners: the machinery of ``tests/test_hub.py`` and
``benchmarks/hub_load.py``.

:class:`LocalHub` starts ``jupyterhub`` (from PyPI) with its dummy authenticator and its simple
local-process spawner (every learner's server is a process of the current user with its own
temporary home folder) behind ``configurable-http-proxy`` (from npm), everything on 127.0.0.1 with
free ports. Learners are created, given API tokens and have their servers started and stopped through
the Hub REST API with an admin service token. Each :class:`Learner` then talks to their own server
only through the proxy and with their own token, as a browser would: they follow the nbgitpuller link
(:meth:`Learner.pull`), save notebooks through the contents API and run a notebook's cells in a kernel
opened the way JupyterLab opens one (a session, then the kernel's websocket: :class:`KernelSession`).

Linux only (peak memory is read with ``resource.getrusage``; process trees with psutil).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import nbformat
import psutil
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"

#: The lessons a workshop test runs, by role. Lessons get renumbered when one is inserted, so a lesson
#: is named here by its number only where that is stable (01) and otherwise by the name after the
#: number. The test checks each role: the numpy lesson must not import torch, the torch lesson must.
#: The torch lesson is the capstone, the workshop's last block (and the lightest torch lesson: ~13 CPU s).
WORKSHOP_LESSONS = {"numpy": "01", "torch": "capstone_diagnose_and_prevent"}

#: The last cell every run executes: the kernel's peak resident memory (ru_maxrss is in KiB on Linux),
#: its CPU seconds (including any child processes), whether the lesson imported torch, and its pid.
PROBE = (
    "import json as _json, os as _os, resource as _res, sys as _sys\n"
    "_me, _kids = _res.getrusage(_res.RUSAGE_SELF), _res.getrusage(_res.RUSAGE_CHILDREN)\n"
    "print(_json.dumps({'peak_mb': _me.ru_maxrss / 1024, 'pid': _os.getpid(), 'torch': 'torch' in _sys.modules,\n"
    "    'cpu_s': _me.ru_utime + _me.ru_stime + _kids.ru_utime + _kids.ru_stime}))"
)
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_lesson_file(key: str, lessons_dir: Path = LESSONS_DIR) -> Path:
    """A lesson by number (``"01"``) or by the name after its number (``"catastrophic_forgetting"``)."""
    pattern = f"{key}_*.ipynb" if key.isdigit() else f"[0-9][0-9]_{key}.ipynb"
    matches = sorted(lessons_dir.glob(pattern))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise ValueError(f"lesson key {key!r} must match exactly one notebook in {lessons_dir}; found {found}")
    return matches[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_command() -> str | None:
    """configurable-http-proxy: $CONFIGURABLE_HTTP_PROXY, the project's .venv/node_modules, or on PATH."""
    candidates = [
        os.environ.get("CONFIGURABLE_HTTP_PROXY"),
        str(Path(sys.prefix) / "node_modules" / ".bin" / "configurable-http-proxy"),
        str(REPO_ROOT / ".venv" / "node_modules" / ".bin" / "configurable-http-proxy"),
        shutil.which("configurable-http-proxy"),
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def hub_command() -> str | None:
    """The ``jupyterhub`` script next to this Python (the single-user servers use the same environment)."""
    path = Path(sys.executable).parent / "jupyterhub"
    return str(path) if path.is_file() else shutil.which("jupyterhub")


def load_average() -> float:
    return os.getloadavg()[0]


# --------------------------------------------------------------------------------------- the course


@dataclass(frozen=True)
class CourseRepo:
    """A bare git repository on this disk that nbgitpuller pulls from (a ``file://`` URL: no network)."""

    path: Path
    branch: str
    commit: str

    @property
    def url(self) -> str:
        return self.path.as_uri()

    @property
    def folder(self) -> str:
        return self.path.name

    def commit_change(self, relative: str, change: Callable[[Path], None], message: str) -> str:
        """A lecturer's update: clone, change one file, commit and push; returns the new commit."""
        work = self.path.parent / f"lecturer-{secrets.token_hex(3)}"
        git = ["git", "-c", "user.name=Lecturer", "-c", "user.email=lecturer@example.org"]
        subprocess.run([*git, "clone", "-q", "--branch", self.branch, self.url, str(work)], check=True)
        change(work / relative)
        subprocess.run([*git, "-C", str(work), "commit", "-q", "-am", message], check=True)
        subprocess.run([*git, "-C", str(work), "push", "-q", "origin", self.branch], check=True)
        head = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        shutil.rmtree(work)
        return head.stdout.strip()


def make_course_repo(parent: Path, *, source: Path = REPO_ROOT, branch: str = "workshop") -> CourseRepo:
    """A bare clone of the checkout's committed HEAD in ``parent/collapse-edu`` (uncommitted edits are not in it)."""
    path = parent / "collapse-edu"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "fetch", "-q", str(source), f"HEAD:refs/heads/{branch}"], check=True)
    subprocess.run(["git", "-C", str(path), "symbolic-ref", "HEAD", f"refs/heads/{branch}"], check=True)
    commit = subprocess.run(["git", "-C", str(path), "rev-parse", branch], capture_output=True, text=True, check=True)
    return CourseRepo(path=path, branch=branch, commit=commit.stdout.strip())


# ------------------------------------------------------------------------------------------ the hub

HUB_CONFIG = """\
# Written by tests/hub_harness.py: a throw-away hub on loopback for tests and benchmarks.
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{workdir}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{workdir}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.services = [{{"name": "workshop-admin", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "workshop-admin",
        "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "access:servers"],
        "services": ["workshop-admin"],
    }}
]
"""


@dataclass
class Learner:
    """One learner: a hub user with an API token and a home folder (their server's root)."""

    name: str
    token: str
    hub_url: str
    home: Path

    @property
    def base(self) -> str:
        return f"{self.hub_url}/user/{self.name}/"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"token {self.token}"
        return session

    def get(self, path: str, **kwargs) -> requests.Response:
        with self.session() as session:
            return session.get(self.base + path.lstrip("/"), timeout=kwargs.pop("timeout", 120), **kwargs)

    def read_notebook(self, path: str) -> dict:
        """The notebook model's content from the contents API (what JupyterLab loads)."""
        response = self.get(f"api/contents/{path}", params={"type": "notebook", "content": 1})
        response.raise_for_status()
        return response.json()["content"]

    def save_notebook(self, path: str, notebook: dict) -> None:
        """Save as JupyterLab saves: PUT the whole notebook model to the contents API."""
        with self.session() as session:
            response = session.put(
                self.base + f"api/contents/{path}",
                json={"type": "notebook", "format": "json", "content": notebook},
                timeout=120,
            )
        response.raise_for_status()

    def browser(self, timeout: float = 120) -> requests.Session:
        """A cookie session logged in through the hub's login form (any password: dummy authenticator)."""
        session = requests.Session()
        session.get(f"{self.hub_url}/hub/login", timeout=timeout).raise_for_status()
        form = {"username": self.name, "password": "any", "_xsrf": session.cookies.get("_xsrf", "")}
        response = session.post(f"{self.hub_url}/hub/login", data=form, timeout=timeout, allow_redirects=False)
        if response.status_code != 302:
            raise AssertionError(f"{self.name}: logging in answered {response.status_code}: {response.text[:300]}")
        return session

    def pull(self, link: str, timeout: float = 300) -> PullResult:
        """Log in and follow an nbgitpuller link the way a browser does.

        The hub's ``user-redirect`` sends the learner to their server's ``git-pull`` page (through the
        server's OAuth login with the hub); the page's script calls ``git-pull/api`` with the parameters
        written into the page and reads its event stream until the pull is ``finished`` (or fails), then
        goes to ``urlpath``: here that page is requested too and must answer 200."""
        start = time.perf_counter()
        with self.browser() as session:
            page = session.get(link, timeout=timeout)
            page.raise_for_status()
            if not urlsplit(page.url).path.startswith(f"/user/{self.name}/git-pull"):
                raise AssertionError(f"{self.name}: the link led to {page.url}, not to the learner's git-pull page")
            params = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', page.text))
            params = {key: unquote(html.unescape(value)) for key, value in params.items()}
            query = {"repo": params["repo"], "targetpath": params["targetpath"]}
            if "branch" in params:
                query["branch"] = params["branch"]
            events: list[dict] = []
            api = f"{self.hub_url}{params['base-url']}git-pull/api?{urlencode(query)}"
            with session.get(api, stream=True, timeout=timeout) as stream:
                stream.raise_for_status()
                for line in stream.iter_lines(decode_unicode=True):
                    if line and line.startswith("data: "):
                        events.append(json.loads(line[len("data: ") :]))
                        if events[-1].get("phase") in ("finished", "error"):
                            break
            phase = events[-1].get("phase") if events else None
            landing = session.get(f"{self.hub_url}{params['base-url']}{params['path']}", timeout=timeout)
        output = "".join(e.get("output", "") for e in events)
        if phase != "finished":
            message = events[-1].get("message", "") if events else "no events"
            raise AssertionError(f"{self.name}: nbgitpuller ended with {phase!r}: {message}\n{output[-2000:]}")
        if landing.status_code != 200:
            raise AssertionError(f"{self.name}: after the pull, {landing.url} answered {landing.status_code}")
        return PullResult(self.name, time.perf_counter() - start, params["path"], output)


@dataclass
class PullResult:
    learner: str
    seconds: float
    path: str  # where the page sent the learner afterwards (urlpath)
    output: str


class LocalHub:
    """JupyterHub + configurable-http-proxy on 127.0.0.1, learners' homes under ``workdir/homes``.

    Use as a context manager; :meth:`stop` ends the hub, which stops every learner's server, then ends
    any process it started that is still alive (by pid)."""

    def __init__(
        self,
        workdir: Path,
        *,
        proxy: str,
        start_page: str | None = None,
        spawn_timeout: int = 600,
        start_timeout: float = 300,
    ) -> None:
        self.workdir = Path(workdir)
        self.start_page = start_page  # JupyterHub.default_url: where a learner lands after logging in
        self.homes = self.workdir / "homes"
        self.proxy = proxy
        self.spawn_timeout = spawn_timeout
        self.start_timeout = start_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.process: subprocess.Popen | None = None
        self.log = self.workdir / "jupyterhub.log"
        self._started: dict[int, psutil.Process] = {}

    # -- life cycle
    def start(self) -> LocalHub:
        hub = hub_command()
        if hub is None:
            raise RuntimeError("jupyterhub is not installed in this environment (pip install -e '.[test]')")
        singleuser = str(Path(hub).with_name("jupyterhub-singleuser"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.homes.mkdir(exist_ok=True)
        args = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(
            HUB_CONFIG.format(
                port=self.port,
                hub_port=free_port(),
                proxy_api_port=free_port(),
                proxy=self.proxy,
                workdir=self.workdir,
                homes=self.homes,
                singleuser=singleuser,
                args=args,
                timeout=self.spawn_timeout,
                token=self.token,
            )
            + (f"c.JupyterHub.default_url = {self.start_page!r}\n" if self.start_page else "")
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [hub, "-f", str(config)], cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._remember(self.process.pid)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with status {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/hub/api/", timeout=5).status_code == 200:
                    return self
            time.sleep(0.5)
        raise RuntimeError(f"jupyterhub did not answer within {self.start_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 120) -> None:
        if self.process is None:
            return
        self._remember_tree()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the hub stops every server and the proxy
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        for process in self._started.values():  # anything this hub started and left behind, by pid
            with contextlib.suppress(psutil.Error):
                process.kill()
        self.process = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_errors(self, limit: int = 40) -> str:
        """The hub log's error and warning lines about kernels (the single-user servers log there too)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no hub log)"
        marks = ("[E ", "[C ", "ZMQError", "Traceback", "dead", "restart", "Address already in use")
        lines = [line for line in text.splitlines() if any(mark in line for mark in marks)]
        return "\n".join(lines[-limit:]) or "(no error lines in the hub log)"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    def _remember(self, pid: int) -> None:
        with contextlib.suppress(psutil.Error):
            self._started.setdefault(pid, psutil.Process(pid))

    def _remember_tree(self) -> None:
        for process in self.processes():
            self._remember(process.pid)

    def processes(self) -> list[psutil.Process]:
        """The hub and everything it runs: the proxy, learners' servers and their kernels."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    # -- the REST API, as the admin service
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers, timeout=120, **kwargs
        )

    def add_learners(self, names: Iterable[str]) -> list[Learner]:
        """Create users and one API token each (POST /users, POST /users/{name}/tokens)."""
        names = list(names)
        response = self.api("POST", "users", json={"usernames": names})
        if response.status_code not in (201, 409):
            raise RuntimeError(f"creating users answered {response.status_code}: {response.text[:300]}")
        learners = []
        for name in names:
            token = self.api("POST", f"users/{name}/tokens", json={"note": "workshop learner", "expires_in": 86400})
            token.raise_for_status()
            learners.append(Learner(name, token.json()["token"], self.url, self.homes / name))
        return learners

    def user(self, name: str) -> dict:
        response = self.api("GET", f"users/{name}")
        response.raise_for_status()
        return response.json()

    def start_servers(self, learners: Iterable[Learner], timeout: float | None = None) -> dict[str, float]:
        """POST /users/{name}/server for every learner at once; returns seconds until each was ready."""
        learners = list(learners)
        start = time.perf_counter()
        for learner in learners:
            response = self.api("POST", f"users/{learner.name}/server")
            if response.status_code not in (201, 202):
                raise RuntimeError(f"starting {learner.name}'s server answered {response.status_code}: {response.text}")
        ready: dict[str, float] = {}
        deadline = time.monotonic() + (timeout or self.spawn_timeout)
        while len(ready) < len(learners):
            if time.monotonic() > deadline:
                missing = [learner.name for learner in learners if learner.name not in ready]
                raise RuntimeError(f"servers not ready in time: {missing}\n{self.log_tail()}")
            for learner in learners:
                if learner.name not in ready and self.user(learner.name)["servers"].get("", {}).get("ready"):
                    ready[learner.name] = time.perf_counter() - start
            time.sleep(0.5)
        self._remember_tree()
        return ready

    def server_pid(self, learner: Learner) -> int | None:
        server = self.user(learner.name)["servers"].get("")
        return (server or {}).get("state", {}).get("pid")

    def stop_server(self, learner: Learner, timeout: float = 120) -> None:
        """DELETE /users/{name}/server and wait until the hub reports it stopped."""
        self.stop_servers([learner], timeout)

    def stop_servers(self, learners: Iterable[Learner], timeout: float = 300) -> None:
        """DELETE /users/{name}/server for every learner, then wait until the hub reports all stopped."""
        learners = list(learners)
        for learner in learners:
            response = self.api("DELETE", f"users/{learner.name}/server")
            if response.status_code not in (202, 204):
                raise RuntimeError(f"stopping {learner.name}'s server answered {response.status_code}: {response.text}")
        deadline = time.monotonic() + timeout
        for learner in learners:
            while "" in self.user(learner.name)["servers"]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{learner.name}'s server did not stop within {timeout:.0f} s")
                time.sleep(0.5)


# ------------------------------------------------------------------------------- running notebooks


class KernelError(RuntimeError):
    pass


class KernelDied(KernelError):
    """The server reported the kernel dead: it failed to start and every automatic restart failed."""


RECEIVE_SLICE = 5.0  #: longest single socket wait (s) while waiting for a kernel message


class KernelSession:
    """A notebook's kernel, opened as JupyterLab opens it: POST /api/sessions (the kernel starts in the
    notebook's folder), then the kernel's websocket (``/api/kernels/{id}/channels``, JSON messages)."""

    def __init__(self, learner: Learner, path: str, *, timeout: float = 300) -> None:
        import websocket

        self.learner = learner
        self.client_session = uuid.uuid4().hex
        with learner.session() as http:
            response = http.post(
                learner.base + "api/sessions",
                json={"path": path, "type": "notebook", "name": Path(path).name, "kernel": {"name": "python3"}},
                timeout=timeout,
            )
        response.raise_for_status()
        self.session_id = response.json()["id"]
        self.kernel_id = response.json()["kernel"]["id"]
        ws_url = learner.base.replace("http://", "ws://", 1) + f"api/kernels/{self.kernel_id}/channels"
        try:
            self.ws = websocket.create_connection(
                f"{ws_url}?session_id={self.client_session}",
                header=[f"Authorization: token {learner.token}"],
                timeout=timeout,
            )
            self.request("kernel_info_request", {}, timeout=timeout)
        except (websocket.WebSocketException, OSError) as error:
            # The server refuses or closes the kernel's websocket when the kernel fails to start
            # (a 500 from the channels handler, or the socket dropped once the kernel is dead).
            self.close()  # the session goes, so that opening the notebook again starts a new kernel
            raise KernelDied(
                f"{learner.name}'s kernel did not start: its websocket failed ({type(error).__name__}: {error})"
            ) from error
        except Exception:
            self.close()
            raise

    def _message(self, msg_type: str, content: dict) -> dict:
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": self.learner.name,
            "session": self.client_session,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "5.3",
        }
        return {"header": header, "parent_header": {}, "metadata": {}, "content": content, "buffers": []}

    def send(self, msg_type: str, content: dict) -> str:
        message = self._message(msg_type, content)
        message["channel"] = "shell"
        self.ws.send(json.dumps(message))
        return message["header"]["msg_id"]

    def receive(self, timeout: float) -> dict:
        """The next message, or KernelError after ``timeout`` seconds without one. The socket waits
        at most :data:`RECEIVE_SLICE` s per read: the server's websocket pings are answered inside
        ``recv`` and would restart one long socket timeout forever (a kernel that died at start-up
        then hangs the run instead of failing it)."""
        import websocket
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message

        deadline = time.monotonic() + max(timeout, 0.01)
        while True:
            self.ws.settimeout(min(max(deadline - time.monotonic(), 0.01), RECEIVE_SLICE))
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                if time.monotonic() >= deadline:
                    raise KernelError(
                        f"{self.learner.name}'s kernel sent nothing for {timeout:.3g} s (did it die?)"
                    ) from None
                continue
            except websocket.WebSocketConnectionClosedException:
                raise KernelDied(f"the server closed {self.learner.name}'s kernel websocket (did it die?)") from None
            message = deserialize_binary_message(frame) if isinstance(frame, bytes) else json.loads(frame)
            if message.get("msg_type") == "status" and message.get("content", {}).get("execution_state") == "dead":
                raise KernelDied(f"{self.learner.name}'s kernel died (the server gave up restarting it)")
            return message

    def request(self, msg_type: str, content: dict, *, timeout: float) -> dict:
        """Send on the shell channel and return the reply's content."""
        msg_id = self.send(msg_type, content)
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise KernelError(f"no {msg_type} reply from {self.learner.name}'s kernel within {timeout:.0f} s")
            message = self.receive(deadline - time.monotonic())
            if message.get("channel") == "shell" and message.get("parent_header", {}).get("msg_id") == msg_id:
                return message["content"]

    def send_execute(self, code: str) -> str:
        """Queue ``code`` for execution (as JupyterLab does for each cell) and return the request's id."""
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
        return self.send("execute_request", content)

    def wait_busy(self, msg_id: str, timeout: float) -> None:
        """Wait until the kernel reports it started work on ``msg_id``."""
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise KernelError(f"{self.learner.name}'s kernel did not start the cell within {timeout:.0f} s")
            message = self.receive(deadline - time.monotonic())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message.get("msg_type") == "status" and message["content"].get("execution_state") == "busy":
                return

    def execute(self, code: str, *, timeout: float = 600) -> tuple[list, dict]:
        """Run ``code``; returns (nbformat outputs, the execute_reply content) once the reply has come and
        the kernel is idle again (so every output of the cell has arrived)."""
        msg_id = self.send_execute(code)
        outputs, reply, idle = [], None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            if time.monotonic() > deadline:
                raise KernelError(f"cell did not finish within {timeout:.0f} s:\n{code[:300]}")
            message = self.receive(deadline - time.monotonic())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message.get("msg_type")
            if message.get("channel") == "shell" and kind == "execute_reply":
                reply = message["content"]
            elif kind == "status" and message["content"].get("execution_state") == "idle":
                idle = True
            elif kind in OUTPUT_TYPES:
                outputs.append(nbformat.v4.output_from_msg(message))
            elif kind == "clear_output":
                outputs.clear()
        return outputs, reply

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()  # (absent when the websocket never opened)
        with contextlib.suppress(requests.RequestException), self.learner.session() as http:
            http.delete(self.learner.base + f"api/sessions/{self.session_id}", timeout=60)


@dataclass
class LessonRun:
    """One learner's run of one lesson: every code cell in order in a new kernel, then the probe."""

    learner: str
    lesson: str
    started: float = 0.0  # time.time() when the session was requested
    seconds: float = float("nan")  # wall time from opening the notebook to the last cell's end
    kernel_seconds: float = float("nan")  # until the kernel answered kernel_info (start-up)
    cells: int = 0
    errors: list[str] = field(default_factory=list)
    peak_mb: float = float("nan")
    cpu_s: float = float("nan")
    imported_torch: bool | None = None
    kernel_retries: int = 0  # kernels that died at start-up and were replaced by opening the notebook again

    @property
    def ok(self) -> bool:
        return not self.errors and self.cells > 0

    def as_dict(self) -> dict:
        return asdict(self)


def describe_error(output: dict) -> str:
    trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    return f"{output.get('ename')}: {output.get('evalue')}\n{trace[-1500:]}"


KERNEL_START_ATTEMPTS = 3  #: times a learner opens the notebook before a kernel that will not start fails the run


def run_lesson(learner: Learner, path: str, *, cell_timeout: float = 600) -> LessonRun:
    """Open the notebook ``path`` (relative to the learner's home) in a new kernel and run all its code
    cells in order, stopping at the first error like JupyterLab's *Run All*; then read the probe."""
    run = LessonRun(learner.name, Path(path).stem, started=time.time())
    start = time.perf_counter()
    kernel = None
    try:
        notebook = nbformat.reads(json.dumps(learner.read_notebook(path)), as_version=4)
        while kernel is None:
            try:
                kernel = KernelSession(learner, path)
            except KernelError:
                # A kernel can die at start-up when the local TCP ports it was given are taken by another
                # learner's kernel starting in the same second (ZMQError: Address already in use; the
                # server's restarts reuse those ports). The learner's remedy: open the notebook again.
                if run.kernel_retries + 1 >= KERNEL_START_ATTEMPTS:
                    raise
                run.kernel_retries += 1
        run.kernel_seconds = time.perf_counter() - start
        for cell in notebook.cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            outputs, reply = kernel.execute(cell.source, timeout=cell_timeout)
            run.cells += 1
            errors = [describe_error(o) for o in outputs if o.get("output_type") == "error"]
            if errors or reply.get("status") != "ok":
                run.errors.append(f"cell {run.cells}: " + (errors[0] if errors else str(reply)[:500]))
                break
        run.seconds = time.perf_counter() - start
        if run.ok:
            outputs, _ = kernel.execute(PROBE, timeout=cell_timeout)
            text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
            probe = json.loads(text)
            run.peak_mb, run.cpu_s, run.imported_torch = probe["peak_mb"], probe["cpu_s"], probe["torch"]
    except Exception as error:  # recorded per learner, so one failure does not hide the others
        run.errors.append(f"{type(error).__name__}: {error}")
    finally:
        if kernel is not None:
            kernel.close()
    return run


def run_together(
    learners: list[Learner], path: str | Callable[[Learner], str], *, cell_timeout: float = 600
) -> list[LessonRun]:
    """Every learner runs the lesson at the same moment (threads released by one barrier)."""
    barrier = threading.Barrier(len(learners))

    def one(learner: Learner) -> LessonRun:
        barrier.wait()
        return run_lesson(learner, path(learner) if callable(path) else path, cell_timeout=cell_timeout)

    with ThreadPoolExecutor(max_workers=len(learners)) as pool:
        return list(pool.map(one, learners))


def pull_all(learners: list[Learner], link: str, *, workers: int = 8) -> list[PullResult]:
    """Every learner follows the link (at most ``workers`` at once: a class does not click in the same second)."""
    with ThreadPoolExecutor(max_workers=min(workers, len(learners))) as pool:
        return list(pool.map(lambda learner: learner.pull(link), learners))


# ------------------------------------------------------------------------------------- measurement


class TreeMonitor:
    """Samples the hub's process tree every ``interval`` seconds in a thread: the peak of its summed
    proportional set size (PSS: shared pages split between the processes sharing them, so the sum is
    what the tree costs the machine) and RSS, the peak PSS of each learner's server with its kernels,
    and the load average."""

    def __init__(self, hub: LocalHub, learners: Iterable[Learner] = (), interval: float = 2.0) -> None:
        self.hub = hub
        self.interval = interval
        self.peak_pss_mb = 0.0
        self.peak_rss_mb = 0.0
        self.hub_and_proxy_mb = 0.0
        self.learner_peak_mb: dict[str, float] = {}
        self.loads: list[float] = []
        self._servers: dict[int, str] = {}
        for learner in learners:
            pid = hub.server_pid(learner)
            if pid:
                self._servers[pid] = learner.name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pss = rss = hub_own = 0.0
        per_learner: dict[str, float] = {}
        hub_pid = self.hub.process.pid if self.hub.process else None
        for process in self.hub.processes():
            try:
                info = process.memory_full_info()
                owner = next(
                    (self._servers[p.pid] for p in [process, *process.parents()] if p.pid in self._servers), None
                )
            except psutil.Error:
                continue
            mb, rss_mb = info.pss / 2**20, info.rss / 2**20
            pss, rss = pss + mb, rss + rss_mb
            if owner is not None:
                per_learner[owner] = per_learner.get(owner, 0.0) + mb
            elif process.pid == hub_pid or process.ppid() == hub_pid:
                hub_own += mb
        self.peak_pss_mb, self.peak_rss_mb = max(self.peak_pss_mb, pss), max(self.peak_rss_mb, rss)
        self.hub_and_proxy_mb = max(self.hub_and_proxy_mb, hub_own)
        for name, mb in per_learner.items():
            self.learner_peak_mb[name] = max(self.learner_peak_mb.get(name, 0.0), mb)
        self.loads.append(load_average())

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Phase:
    """All learners running one lesson at once, with the hub-wide figures."""

    lesson: str
    runs: list[LessonRun]
    seconds: float  # first start to last finish
    peak_pss_mb: float
    peak_rss_mb: float
    hub_and_proxy_mb: float
    learner_peak_mb: dict[str, float]
    load_before: float
    load_max: float

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["runs"] = [run.as_dict() for run in self.runs]
        return data


def run_phase(hub: LocalHub, learners: list[Learner], path: str, *, interval: float = 2.0) -> Phase:
    load_before = load_average()
    with TreeMonitor(hub, learners, interval=interval) as monitor:
        start = time.perf_counter()
        runs = run_together(learners, path)
        seconds = time.perf_counter() - start
        monitor.sample()
    return Phase(
        lesson=Path(path).stem,
        runs=runs,
        seconds=seconds,
        peak_pss_mb=monitor.peak_pss_mb,
        peak_rss_mb=monitor.peak_rss_mb,
        hub_and_proxy_mb=monitor.hub_and_proxy_mb,
        learner_peak_mb=dict(monitor.learner_peak_mb),
        load_before=load_before,
        load_max=max(monitor.loads or [load_before]),
    )


def median(values: list[float]) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def format_phase(phase: Phase) -> str:
    """A per-learner table and the hub's totals, as printed by the test and the benchmark."""
    lines = [
        f"{phase.lesson}: {len(phase.runs)} learners at once",
        f"{'learner':<12} {'wall s':>7} {'kernel up s':>11} {'cells':>5} {'kernel CPU s':>12} "
        f"{'peak kernel MB':>14} {'server+kernel PSS MB':>20}  result",
    ]
    for run in phase.runs:
        result = "ok" if run.ok else "FAILED: " + run.errors[0].splitlines()[0][:80]
        if run.kernel_retries:
            result += f" (kernel died at start-up, notebook opened again {run.kernel_retries}x)"
        lines.append(
            f"{run.learner:<12} {run.seconds:>7.1f} {run.kernel_seconds:>11.1f} {run.cells:>5} {run.cpu_s:>12.1f} "
            f"{run.peak_mb:>14.0f} {phase.learner_peak_mb.get(run.learner, float('nan')):>20.0f}  {result}"
        )
    walls = [run.seconds for run in phase.runs]
    lines.append(
        f"hub total: all finished in {phase.seconds:.1f} s (learner wall time median {median(walls):.1f} s, "
        f"max {max(walls):.1f} s); kernel CPU {sum(r.cpu_s for r in phase.runs if r.ok):.0f} s in all; "
        f"peak kernel memory summed {sum(r.peak_mb for r in phase.runs if r.ok):.0f} MB; "
        f"whole hub tree peak PSS {phase.peak_pss_mb:.0f} MB (RSS {phase.peak_rss_mb:.0f} MB, "
        f"hub + proxy {phase.hub_and_proxy_mb:.0f} MB); load average {phase.load_before:.1f} before, "
        f"{phase.load_max:.1f} at most; {os.cpu_count()} cores"
    )
    return "\n".join(lines)
