"""Every examples/plot_*.py runs and writes a real PNG.

The scripts run once per session (the ``example_runs`` fixture of
``conftest.py``, shared with the docs build); each test checks its own
script's result.
"""

import os
import struct

import pytest
from conftest import EXAMPLE_SCRIPTS as SCRIPTS

# Under pytest-xdist (`--dist loadgroup`) these tests and the docs build run in one
# worker, so the examples (the session fixture `example_runs`) run once.
pytestmark = pytest.mark.xdist_group("examples")

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_examples_group_holds_under_xdist(request):
    """With -n the examples run once only if this file and the docs build share a worker."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not a pytest-xdist worker with --dist loadgroup")
    assert request.node.nodeid.endswith("@examples"), request.node.nodeid


def test_there_are_examples():
    assert len(SCRIPTS) >= 7, [s.name for s in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_writes_png(script, example_runs):
    future, out_dir = example_runs[script.name]
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
