"""The record every benchmark keeps of its machine (``machine_info``) and the summary file it writes
(``write_summary``): the facts have the keys and types the result files store, the summary round-trips
through JSON in each of the three layouts the benchmarks use, and a failed write never damages the
summary that was there before."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import runpy
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from collapse_edu import environment
from collapse_edu.environment import DEFAULT_PACKAGES, MACHINE_FACTS, RunClock, machine_info, write_summary

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


# --------------------------------------------------------------------------- machine_info


def test_machine_info_reports_every_fact_and_the_default_packages_with_sensible_types():
    info = machine_info()
    assert list(info) == [*MACHINE_FACTS, *DEFAULT_PACKAGES]
    assert info["date"] == datetime.date.today().isoformat()
    assert datetime.datetime.fromisoformat(info["datetime"]).date() == datetime.date.today()
    assert info["python"] == platform.python_version()
    assert info["architecture"] == platform.machine() and info["system"] == platform.system()
    assert info["processor"] in (platform.processor(), platform.machine()) and info["processor"]
    assert isinstance(info["cpu_model"], str) and info["cpu_model"].strip()
    assert isinstance(info["cpus"], int) and info["cpus"] >= 1
    assert isinstance(info["usable_cores"], int) and 1 <= info["usable_cores"] <= info["cpus"]
    assert info["numpy"] == np.__version__
    if hasattr(os, "getloadavg"):
        loads = info["load_averages"]
        assert isinstance(loads, tuple) and len(loads) == 3 and all(x >= 0 for x in loads)
        assert isinstance(info["load_average"], float) and info["load_average"] >= 0
    if sys.platform.startswith("linux"):
        assert isinstance(info["memory_gb"], float) and info["memory_gb"] > 0
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            if any(line.startswith("model name") for line in cpuinfo):
                assert info["cpu_model"] not in (platform.machine(), "")  # the model, not the architecture


def test_machine_info_returns_the_named_fields_in_order_under_their_keys():
    """What gan_seed_table.py and hub_load.py store: facts, a package version, facts under other keys."""
    info = machine_info(
        "python", "numpy", "processor=architecture", "cores=cpus", "load_average_at_start=load_averages"
    )
    assert list(info) == ["python", "numpy", "processor", "cores", "load_average_at_start"]
    assert info["python"] == platform.python_version() and info["numpy"] == np.__version__
    assert info["processor"] == platform.machine() and info["cores"] == os.cpu_count()
    if hasattr(os, "getloadavg"):
        assert isinstance(info["load_average_at_start"], tuple) and len(info["load_average_at_start"]) == 3
    json.dumps(info)  # every fact can be stored as it is


def test_machine_info_names_the_bad_field():
    with pytest.raises(ValueError, match=r"fields: 'pyhton' is neither a machine fact \(date, .*python"):
        machine_info("python", "pyhton")
    with pytest.raises(ValueError, match="'cpu model'"):
        machine_info("cpu model")
    with pytest.raises(TypeError, match="fields must be strings"):
        machine_info("python", 3)  # type: ignore[arg-type]


def test_a_package_that_is_not_installed_has_no_version(monkeypatch):
    assert environment.package_version("collapse_edu_no_such_package") is None
    monkeypatch.setattr(environment, "DEFAULT_PACKAGES", ("numpy", "collapse_edu_no_such_package"))
    info = machine_info()
    assert info["numpy"] == np.__version__ and info["collapse_edu_no_such_package"] is None


def test_cpu_facts_fall_back_where_the_os_says_less(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert environment.usable_cores() == (os.cpu_count() or 1)
    monkeypatch.delattr(os, "getloadavg", raising=False)
    assert environment.load_averages() is None and environment.load_average() is None

    def no_file(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(environment, "open", no_file, raising=False)  # the module's open, not pytest's
    assert environment.cpu_model() == (platform.processor() or platform.machine())


def test_run_clock_records_cpu_and_wall_seconds_and_the_load_at_both_ends(monkeypatch):
    """The three timing keys curation_digits.py and generative_replay.py store under ``machine``."""
    loads = iter([1.25, 3.96])
    monkeypatch.setattr(environment, "load_average", lambda: next(loads))
    clock = RunClock()
    start = time.process_time()
    while time.process_time() - start < 0.05:  # burn a little CPU time
        pass
    record = clock.record()
    assert list(record) == ["cpu_seconds", "wall_seconds", "load_average_start_end"]
    assert record["load_average_start_end"] == [1.2, 4.0]
    assert 0 <= record["cpu_seconds"] <= record["wall_seconds"] + 0.1
    assert record["wall_seconds"] >= 0.0
    monkeypatch.setattr(environment, "load_average", lambda: None)  # no load average (Windows)
    assert RunClock().record()["load_average_start_end"] == [None, None]


# --------------------------------------------------------------------------- write_summary

PAYLOAD = {
    "description": "a summary",
    "settings": {"n": 500, "keep": 0.5, "families": ["pca-gmm", "vae"]},
    "runs": {"a|b": [[[0.25, 0.5], [1.0, 0.0]]]},
    "machine": {"python": "3.11.7", "load_average_start_end": [0.8, 6.1], "device": None},
}


def test_write_summary_round_trips_compact_json_and_makes_the_folder(tmp_path):
    """continual_seeds.py, curation_digits.py, generative_replay.py: compact JSON in a folder made on demand."""
    path = write_summary(tmp_path / "results" / "summary.json", PAYLOAD)
    assert path == tmp_path / "results" / "summary.json"
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == PAYLOAD
    assert text.endswith("}\n") and text.count("\n") == 1 and ", " not in text and '": ' not in text


def test_write_summary_indents_and_puts_innermost_lists_on_one_line(tmp_path):
    """gan_seed_table.py, hub_load.py and slider_latency.py indent by one; neural_lm_runs.py also keeps
    every innermost list of numbers on one line."""
    indented = write_summary(tmp_path / "indented.json", PAYLOAD, indent=1).read_text(encoding="utf-8")
    assert indented == json.dumps(PAYLOAD, indent=1) + "\n"
    inline = write_summary(tmp_path / "inline.json", PAYLOAD, indent=1, inline_lists=True).read_text(encoding="utf-8")
    assert json.loads(inline) == PAYLOAD
    assert '"load_average_start_end": [0.8, 6.1]' in inline and "[0.25, 0.5]" in inline
    assert '"families": ["pca-gmm", "vae"]' not in inline  # lists of strings stay as they were
    assert len(inline.splitlines()) < len(indented.splitlines())


def test_write_summary_keeps_nan_as_the_benchmarks_did(tmp_path):
    """slider_latency.py stores NaN where the kernel never answered: Python's json reads it back."""
    path = write_summary(tmp_path / "nan.json", {"kernel_started": float("nan")}, indent=1)
    assert math.isnan(json.loads(path.read_text())["kernel_started"])


def test_write_summary_replaces_an_earlier_summary_and_leaves_nothing_beside_it(tmp_path):
    """A re-run replaces the summary (neural_lm_runs.py rewrites its file after every run)."""
    path = tmp_path / "gan_seeds.json"
    write_summary(path, {"runs": [1]})
    write_summary(path, {"runs": [1, 2]}, indent=1)
    assert json.loads(path.read_text()) == {"runs": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["gan_seeds.json"]


def test_a_failed_write_leaves_the_earlier_summary_whole(tmp_path, monkeypatch):
    path = write_summary(tmp_path / "summary.json", PAYLOAD)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_summary(path, {"runs": object()})
    assert path.read_bytes() == before

    def interrupted(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(environment.os, "replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        write_summary(path, {"runs": [1, 2, 3]})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # the partial file is gone


def test_write_summary_refuses_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="payload must be a dict"):
        write_summary(tmp_path / "x.json", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="indent must be None or a whole number"):
        write_summary(tmp_path / "x.json", {}, indent=-1)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_summary(tmp_path, {})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the benchmark scripts


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_script_imports_and_shows_its_options(script, monkeypatch, capsys):
    """Every script in benchmarks/ still imports (the helpers it uses exist) and parses --help."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # hub_load.py and slider_latency.py add tests/
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    monkeypatch.setattr(environment, "run_on_avx2_code_paths", lambda: None)  # never replace pytest's process
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--help" in out


def test_results_dir_is_the_packages_own_folder():
    import collapse_edu
    from collapse_edu import capstone, mixtures
    from collapse_edu.environment import RESULTS_DIR

    assert RESULTS_DIR == Path(collapse_edu.__file__).resolve().parent / "results"
    assert capstone.POOL_FILE.parent == mixtures.RESULTS.parent == RESULTS_DIR and RESULTS_DIR.is_dir()


def test_a_benchmark_outside_a_checkout_stops_in_one_line(tmp_path):
    from collapse_edu.environment import require_source_checkout

    script = tmp_path / "course" / "benchmarks" / "hub_load.py"
    with pytest.raises(SystemExit, match=r"hub_load.py uses the test suite's machinery \(tests/hub_harness.py\)"):
        require_source_checkout(script, "hub_harness.py")
    (tmp_path / "course" / "tests").mkdir(parents=True)
    (tmp_path / "course" / "tests" / "hub_harness.py").write_text("")
    assert require_source_checkout(script, "hub_harness.py") == tmp_path / "course" / "tests"


# --------------------------------------------------------------------------- reproducible numbers

AVX2_CPU = environment.avx2_x86_cpu()


def _clear_code_path_variables(monkeypatch):
    for name in [*environment.AVX2_CODE_PATHS, environment.NATIVE_CPU_SWITCH]:
        monkeypatch.delenv(name, raising=False)


def test_avx2_code_paths_on_an_x86_cpu_with_avx2_only(monkeypatch):
    _clear_code_path_variables(monkeypatch)
    monkeypatch.setattr(environment.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(environment, "_cpu_flags", lambda: {"sse2", "avx", "avx2", "fma", "avx512f"})
    assert environment.reproducible_cpu_env() == environment.AVX2_CODE_PATHS
    monkeypatch.setattr(environment, "_cpu_flags", lambda: {"sse2", "avx"})  # no AVX2: Haswell kernels would crash
    assert environment.reproducible_cpu_env() == {}
    monkeypatch.setattr(environment, "_cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(environment.platform, "machine", lambda: "arm64")  # Apple silicon: none of these apply
    assert environment.reproducible_cpu_env() == {}


def test_variables_already_set_and_the_native_switch_are_respected(monkeypatch):
    _clear_code_path_variables(monkeypatch)
    monkeypatch.setattr(environment.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(environment, "_cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    added = environment.use_reproducible_cpu_env()
    assert "OPENBLAS_CORETYPE" not in added and os.environ["OPENBLAS_CORETYPE"] == "Zen"
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2" and set(added) == set(environment.AVX2_CODE_PATHS) - {
        "OPENBLAS_CORETYPE"
    }
    _clear_code_path_variables(monkeypatch)
    monkeypatch.setenv(environment.NATIVE_CPU_SWITCH, "1")
    assert environment.use_reproducible_cpu_env() == {} and "ATEN_CPU_CAPABILITY" not in os.environ


@pytest.mark.skipif(not AVX2_CPU, reason="the AVX2 code paths apply to x86-64 CPUs with AVX2 only")
def test_the_command_line_sets_the_code_paths_before_numpy_loads(monkeypatch):
    """`collapse-edu` (collapse_edu.__main__) sets them first: numpy in its process, and every kernel it
    starts, runs without its AVX-512 targets."""
    import subprocess

    _clear_code_path_variables(monkeypatch)
    probe = (
        "import os, sys; sys.argv = ['collapse-edu', 'list']; from collapse_edu.__main__ import main; main(); "
        "import numpy; print(os.environ['OPENBLAS_CORETYPE'], os.environ['NPY_DISABLE_CPU_FEATURES'])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "Haswell X86_V4 AVX512_ICL AVX512_SPR"
    exports = subprocess.run(
        [sys.executable, "-m", "collapse_edu.environment"], capture_output=True, text=True, check=True
    ).stdout
    assert exports.splitlines() == [f"export {k}='{v}'" for k, v in environment.AVX2_CODE_PATHS.items()]


@pytest.mark.skipif(not (AVX2_CPU and os.environ.get("CI")), reason="the test script's environment, on an AVX2 CPU")
def test_the_test_script_runs_the_suite_on_the_avx2_code_paths():
    """scripts/test.sh exports the variables before pytest starts, so the claims recompute the stored
    runs, and nbval's kernels the checked outputs, on the code paths that made them."""
    assert all(os.environ.get(name) == value for name, value in environment.AVX2_CODE_PATHS.items())


#: The benchmarks that write the course's stored results (collapse_edu/results/).
RESULT_WRITERS = (
    "capstone_pool",
    "continual_seeds",
    "curation_digits",
    "gan_seed_table",
    "generative_replay",
    "mixture_protocols",
    "neural_lm_runs",
)


@pytest.mark.parametrize("name", RESULT_WRITERS)
def test_every_result_writer_starts_on_the_avx2_code_paths_first(name, monkeypatch):
    """Its main() calls run_on_avx2_code_paths before anything else (before even --help is read)."""

    class Restarted(Exception):
        pass

    def restart():
        raise Restarted

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", [name, "--help"])
    monkeypatch.setattr(environment, "run_on_avx2_code_paths", restart)
    script = next(p for p in BENCHMARKS if p.stem == name)
    with pytest.raises(Restarted):
        runpy.run_path(str(script), run_name="__main__")


def test_run_on_avx2_code_paths_starts_the_script_again_with_the_missing_variables(monkeypatch, capsys):
    started = []
    monkeypatch.setattr(environment.os, "execve", lambda path, argv, env: started.append((path, argv, env)))
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-u", "benchmarks/mixture_protocols.py", "--runs", "2"])
    monkeypatch.setattr(environment, "reproducible_cpu_env", lambda: {"OPENBLAS_CORETYPE": "Haswell"})
    environment.run_on_avx2_code_paths()
    ((path, argv, env),) = started
    assert path == sys.executable and argv == [sys.executable, "-u", "benchmarks/mixture_protocols.py", "--runs", "2"]
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["PATH"] == os.environ["PATH"]
    assert "AVX2 code paths: OPENBLAS_CORETYPE" in capsys.readouterr().err
    monkeypatch.setattr(environment, "reproducible_cpu_env", dict)  # all set already, or another CPU
    environment.run_on_avx2_code_paths()
    assert len(started) == 1


def test_a_missing_module_gets_the_command_that_installs_it(monkeypatch, capsys):
    """Before (review): "pip install sklearn" (a placeholder package that fails) and a bare "pip install torch"
    (the CUDA build on Linux)."""
    import importlib

    from collapse_edu import environment

    real = importlib.import_module
    only_numpy = lambda name: real(name if name == "numpy" else "no_such_module_x")  # noqa: E731
    monkeypatch.setattr(importlib, "import_module", only_numpy)
    environment.check_environment(("numpy", "sklearn", "torch", "tqdm"))
    out = capsys.readouterr().out
    assert "sklearn     MISSING - pip install scikit-learn" in out
    assert "download.pytorch.org/whl/cpu" in out and "tqdm        MISSING - pip install tqdm" in out
    assert out.rstrip().endswith("Fix the lines above, then restart the kernel.")
