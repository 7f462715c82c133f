"""The deployment files in deploy/ agree with each other, with ``collapse-edu link`` and with the lessons.

No TLJH server or Kubernetes cluster runs here (deploy/README.md says what is tested where): these
checks catch a start page that points at a renamed lesson, limits that differ between the one-server
and the cluster recipe, and an image without nbgitpuller."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from collapse_edu.cli_link import nbgitpuller_link, start_page

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
FIRST_LESSON = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))[0]


def values() -> dict:
    return yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())


def tljh_settings() -> dict[str, str]:
    """``tljh-config set KEY VALUE`` lines of the TLJH installer."""
    text = (DEPLOY / "tljh" / "install.sh").read_text()
    return dict(re.findall(r"^tljh-config set (\S+) (\S+)$", text, flags=re.MULTILINE))


def tljh_hub_config(learners_python: str | None = None) -> Config:
    """The hub settings the TLJH snippet makes, loaded as JupyterHub loads it (``learners_python`` in
    place of TLJH's /opt/tljh/user/bin/python, which this machine does not have)."""
    config = Config()
    source = (DEPLOY / "tljh" / "jupyterhub_config.d" / "collapse_edu.py").read_text()
    if learners_python is not None:
        source = source.replace('"/opt/tljh/user/bin/python"', repr(learners_python))
    exec(compile(source, "collapse_edu.py", "exec"), {"get_config": lambda: config})
    return config


def test_start_page_is_the_link_to_the_first_lesson_in_both_recipes():
    expected = start_page(nbgitpuller_link("https://hub.example.org", f"lessons/{FIRST_LESSON.name}"))
    assert tljh_hub_config().JupyterHub.default_url == expected
    assert values()["hub"]["config"]["JupyterHub"]["default_url"] == expected


def test_learners_open_jupyterlab():
    assert values()["singleuser"]["defaultUrl"] == "/lab"
    assert tljh_hub_config().Spawner.default_url == "/lab"
    assert tljh_settings()["user_environment.default_app"] == "jupyterlab"


def test_limits_and_culling_agree_between_tljh_and_kubernetes():
    singleuser, tljh = values()["singleuser"], tljh_settings()
    assert singleuser["memory"]["limit"] == tljh["limits.memory"]
    assert str(singleuser["cpu"]["limit"]) == tljh["limits.cpu"]
    assert values()["cull"]["enabled"] is True and tljh["services.cull.enabled"] == "true"
    assert str(values()["cull"]["timeout"]) == tljh["services.cull.timeout"]
    assert str(values()["cull"]["every"]) == tljh["services.cull.every"]
    kernel_culling = json.loads((DEPLOY / "jupyter_server_config.json").read_text())
    assert singleuser["extraFiles"]["kernel-culling"]["data"] == kernel_culling
    assert kernel_culling["MappingKernelManager"]["cull_idle_timeout"] < values()["cull"]["timeout"]


def test_sizing_table_quotes_the_limits_the_recipes_set():
    teaching = (ROOT / "docs" / "teaching.md").read_text()
    singleuser = values()["singleuser"]
    for figure in (singleuser["memory"]["limit"], singleuser["memory"]["guarantee"], str(values()["cull"]["timeout"])):
        assert figure in teaching, f"docs/teaching.md does not mention {figure}"


def test_per_learner_hub_memory_is_computed_from_the_measured_hub():
    """The sizing table's "with 10 at once" figures are (whole hub - hub and proxy) / 10, from the measured rows."""
    teaching = (ROOT / "docs" / "teaching.md").read_text()
    lesson_01 = re.search(r"^\| 10 \| \d+ s \| \d+ s \| \d+ \| ([\d.]+) GB \|", teaching, re.M)
    lesson_08 = re.search(r"ran lesson 08.*?([\d.]+) GB for the whole hub", teaching, re.S)
    hub = re.search(r"less the\s+([\d.]+) GB of the hub and its proxy", teaching)
    row = re.search(r"^\| memory per learner with 10 at once .*?\| ([\d.]+) GB \| ([\d.]+) GB \|", teaching, re.M)
    left = re.search(r"\(([\d.]+) GB left after 1 GB for the system and ([\d.]+) GB", teaching)
    per_8gb = r"^\| learners per 8 GB .*?\| (\d+) alone, (\d+) from .*?\| (\d+) alone, (\d+) from"
    alone = re.search(per_8gb, teaching, re.M)
    assert lesson_01 and lesson_08 and hub and row and left and alone
    per_learner = [(float(m.group(1)) - float(hub.group(1))) / 10 for m in (lesson_01, lesson_08)]
    assert [f"{x:.2f}" for x in per_learner] == [row.group(1), row.group(2)]
    assert float(left.group(1)) == pytest.approx(8 - 1 - float(left.group(2)), abs=0.05)
    assert int(alone.group(2)) == int(float(left.group(1)) / float(row.group(1)))
    assert int(alone.group(4)) == int(float(left.group(1)) / float(row.group(2)))


def test_the_learners_image_has_nbgitpuller_and_the_course():
    requirements = (ROOT / "binder" / "requirements.txt").read_text().split("\n")
    lines = [line.strip() for line in requirements if line.strip() and not line.startswith("#")]
    assert any(line.startswith("nbgitpuller") for line in lines) and "." in lines


def test_the_recipes_shell_scripts_parse():
    for script in sorted(DEPLOY.rglob("*.sh")):
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script.relative_to(ROOT)}: {done.stderr}"


def test_the_learners_image_starts_on_the_code_paths_of_the_committed_outputs():
    """binder/start (repo2docker runs it before the image's every command) exports what
    ``python -m collapse_edu.environment`` prints (on an x86-64 CPU with AVX2: numpy, OpenBLAS and
    PyTorch held to AVX2), then runs the command it was given."""
    from collapse_edu import environment

    start = ROOT / "binder" / "start"
    assert os.access(start, os.X_OK), "repo2docker runs binder/start only when it is executable"
    clean = {k: v for k, v in os.environ.items() if k not in environment.AVX2_CODE_PATHS}
    clean["PATH"] = f"{Path(sys.executable).parent}:{clean.get('PATH', '')}"  # its `python` is the course's
    exports = subprocess.run(
        [sys.executable, "-m", "collapse_edu.environment"], capture_output=True, text=True, env=clean, check=True
    ).stdout
    expected = dict(re.fullmatch(r"export (\w+)='(.*)'", line).groups() for line in exports.splitlines())
    done = subprocess.run([str(start), "env"], capture_output=True, text=True, env=clean, check=True)
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert {name: seen.get(name) for name in expected} == expected and "PATH" in seen


def test_tljh_starts_the_learners_servers_on_the_code_paths_collapse_edu_prints(monkeypatch):
    from collapse_edu import environment

    for name in environment.AVX2_CODE_PATHS:  # the hub's own environment has none of them
        monkeypatch.delenv(name, raising=False)
    expected = environment.reproducible_cpu_env()  # all of them on an x86-64 CPU with AVX2, none elsewhere
    assert tljh_hub_config(sys.executable).Spawner.environment == expected
    assert tljh_hub_config().Spawner.environment == {}  # no TLJH here: nothing set, no error
