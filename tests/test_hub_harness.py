"""The hub harness's own guards (no hub needed): a kernel that stops answering fails the run within
its timeout instead of hanging it, even while the server keeps the websocket alive with pings, and
a kernel the server reports dead fails at once (the run then opens the notebook again)."""

from __future__ import annotations

import json
import time

import pytest
import websocket
from hub_harness import KernelDied, KernelError, KernelSession


class SilentSocket:
    """A websocket whose kernel died: every read waits out its timeout (the server's pings are
    answered inside ``recv`` and never return a message)."""

    def __init__(self, messages=()):
        self.messages = list(messages)
        self.timeout = None
        self.sent = []

    def settimeout(self, seconds):
        self.timeout = seconds

    def recv(self):
        if self.messages:
            return json.dumps(self.messages.pop(0))
        time.sleep(min(self.timeout, 0.05))
        raise websocket.WebSocketTimeoutException("timed out")

    def send(self, text):
        self.sent.append(json.loads(text))


class FakeLearner:
    name = "learner-01"


def session(ws) -> KernelSession:
    kernel = KernelSession.__new__(KernelSession)
    kernel.learner, kernel.client_session, kernel.ws = FakeLearner(), "s", ws
    return kernel


def test_a_silent_kernel_fails_the_request_at_its_deadline():
    ws = SilentSocket()
    start = time.monotonic()
    with pytest.raises(KernelError, match="learner-01's kernel sent nothing for 0.3 s"):
        session(ws).request("kernel_info_request", {}, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 5
    assert ws.timeout <= 0.3  # every socket wait is bounded by what is left


def test_messages_for_other_requests_do_not_extend_the_deadline():
    chatter = [{"channel": "iopub", "parent_header": {"msg_id": "other"}, "msg_type": "status"}] * 3
    with pytest.raises(KernelError):
        session(SilentSocket(chatter)).request("kernel_info_request", {}, timeout=0.2)


def test_the_reply_is_returned():
    ws = SilentSocket()
    kernel = session(ws)
    original = kernel.send

    def send_and_answer(msg_type, content):
        msg_id = original(msg_type, content)
        ws.messages.append({"channel": "shell", "parent_header": {"msg_id": msg_id}, "content": {"status": "ok"}})
        return msg_id

    kernel.send = send_and_answer
    assert kernel.request("kernel_info_request", {}, timeout=5) == {"status": "ok"}


def test_a_kernel_the_server_reports_dead_fails_at_once():
    dead = {"channel": "iopub", "parent_header": {}, "msg_type": "status", "content": {"execution_state": "dead"}}
    start = time.monotonic()
    with pytest.raises(KernelDied, match="learner-01's kernel died"):
        session(SilentSocket([dead])).request("kernel_info_request", {}, timeout=60)
    assert time.monotonic() - start < 5


def test_run_lesson_opens_the_notebook_again_when_its_first_kernel_dies(monkeypatch):
    import hub_harness
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    opened = []

    class Learner:
        name = "learner-01"

        def read_notebook(self, path):
            return json.loads(nbformat.writes(notebook))

    class Kernel:
        def __init__(self, learner, path):
            opened.append(path)
            if len(opened) == 1:
                raise KernelDied("learner-01's kernel died (the server gave up restarting it)")

        def execute(self, code, timeout):
            if "peak_mb" in code:  # the probe
                probe = {"peak_mb": 100.0, "cpu_s": 1.0, "torch": False}
                return [{"output_type": "stream", "name": "stdout", "text": json.dumps(probe)}], {"status": "ok"}
            return [], {"status": "ok"}

        def close(self):
            pass

    monkeypatch.setattr(hub_harness, "KernelSession", Kernel)
    run = hub_harness.run_lesson(Learner(), "course/lessons/01.ipynb")
    assert run.ok and run.kernel_retries == 1 and opened == ["course/lessons/01.ipynb"] * 2

    opened.clear()

    def always_dies(self, learner, path):
        opened.append(path)
        raise KernelDied("died")

    monkeypatch.setattr(Kernel, "__init__", always_dies)
    run = hub_harness.run_lesson(Learner(), "course/lessons/01.ipynb")
    # the learner gives up after KERNEL_START_ATTEMPTS openings: a kernel that never starts fails the run
    assert not run.ok and "died" in run.errors[0]
    assert len(opened) == hub_harness.KERNEL_START_ATTEMPTS and run.kernel_retries == len(opened) - 1


def test_a_websocket_the_server_closes_counts_as_a_dead_kernel():
    class ClosedSocket(SilentSocket):
        def recv(self):
            raise websocket.WebSocketConnectionClosedException("Connection to remote host was lost.")

    with pytest.raises(KernelDied, match="closed learner-01's kernel websocket"):
        session(ClosedSocket()).request("kernel_info_request", {}, timeout=60)


def test_a_websocket_that_fails_while_the_kernel_starts_is_a_kernel_death_and_the_session_goes(monkeypatch):
    import hub_harness

    deleted = []

    class Response:
        def raise_for_status(self):
            pass

        def json(self):
            return {"id": "session-1", "kernel": {"id": "kernel-1"}}

    class Http:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def post(self, url, json, timeout):
            return Response()

        def delete(self, url, timeout):
            deleted.append(url)

    class Learner(FakeLearner):
        base, token = "http://127.0.0.1:1/user/learner-01/", "t"

        def session(self):
            return Http()

    def refused(*args, **kwargs):
        raise websocket.WebSocketBadStatusException("Handshake status %d %s", 500, "Internal Server Error")

    monkeypatch.setattr(websocket, "create_connection", refused)
    with pytest.raises(KernelDied, match="learner-01's kernel did not start: its websocket failed"):
        hub_harness.KernelSession(Learner(), "course/lessons/01.ipynb")
    assert deleted == ["http://127.0.0.1:1/user/learner-01/api/sessions/session-1"]
