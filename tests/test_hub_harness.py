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
    monkeypatch.setattr(Kernel, "__init__", lambda self, learner, path: (_ for _ in ()).throw(KernelDied("died")))
    run = hub_harness.run_lesson(Learner(), "course/lessons/01.ipynb")
    assert not run.ok and "died" in run.errors[0]  # a second death is a failure, not another retry
