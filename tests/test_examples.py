"""Every examples/plot_*.py runs and writes a real PNG.

Each script runs in its own Python process (as a user would run it) with
``--output-dir`` pointing into a temporary directory. The selected scripts are
started together, as many at a time as there are cores, when the first test
needs them; each test then checks its own script's result.
"""

import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES_DIR.glob("plot_*.py"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Generous: a cold Numba cache compiles the kernels first.
TIMEOUT = 600


def _run(script, out_dir):
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("SKLEARN_GD_FIGURES", None)
    return subprocess.run(
        [sys.executable, str(script), "--output-dir", str(out_dir)],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=out_dir,
    )


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """Futures of the selected example runs, keyed by script name."""
    wanted = {
        item.callspec.params["script"].name
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    } or {script.name for script in SCRIPTS}
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(wanted), os.cpu_count() or 1)))
    futures = {}
    for script in SCRIPTS:
        if script.name in wanted:
            out_dir = tmp_path_factory.mktemp(script.stem)
            futures[script.name] = (pool.submit(_run, script, out_dir), out_dir)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def test_there_are_examples():
    assert len(SCRIPTS) >= 7, [s.name for s in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_writes_png(script, runs):
    future, out_dir = runs[script.name]
    result = future.result()
    assert result.returncode == 0, (
        f"{script.name} failed:\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    png = out_dir / f"{script.stem}.png"
    assert png.is_file(), f"{script.name} wrote {sorted(os.listdir(out_dir))}"
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 300, (width, height)
    assert len(data) > 20_000, f"{png.name} is only {len(data)} bytes"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_has_a_docstring(script):
    source = script.read_text(encoding="utf-8")
    assert source.startswith('"""'), f"{script.name} needs a module docstring"
    docstring = source.split('"""')[1]
    assert len(docstring.split()) > 40, f"{script.name}: explain what the figure shows"
