"""The documentation site builds in strict mode (``bash .ci/docs``).

Skipped unless the docs tooling (the ``docs`` extra) is installed. The
gallery's figures come from the session's runs of the examples (the
``example_runs`` fixture, shared with ``test_examples``), copied into
``docs/gallery/figures/`` (ignored by git); the build itself runs none.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("sphinx", "numpydoc", "myst_parser", "furo", "matplotlib"):
    pytest.importorskip(_module)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to run .ci/docs")
@pytest.mark.xdist_group("examples")  # with test_examples: the examples run once
def test_docs_build_strict(tmp_path, example_runs):
    # The gallery's figures are those of the session's example runs (which
    # test_examples checks): the build reuses them instead of running every
    # example a second time.
    figures = ROOT / "docs" / "gallery" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for name, (future, out_dir) in example_runs.items():
        result = future.result()
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        png = Path(name).stem + ".png"
        shutil.copyfile(out_dir / png, figures / png)
    out = tmp_path / "html"
    env = dict(os.environ, SKLEARN_GD_DOCS_EXAMPLES="never")
    # .ci/docs runs `python`: make it this interpreter, whatever PATH says.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "docs"), str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800,
    )
    assert result.returncode == 0, (
        f"docs build failed:\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    for page in ["index", "user_guide", "api", "scaling", "benchmarks", "gallery/index"]:
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in ["GDRegressor", "GDClassifier", "DivergenceError", "plot_loss_curves"]:
        assert name in api, name
    # Each estimator's page is where its HTML representation links to (the
    # path after the version in the template), with an entry per parameter
    # for the parameters' text fragments to find.
    from sklearn_gd import GDClassifier, GDRegressor
    from sklearn_gd._doc_link import doc_link_template

    for est in (GDClassifier(), GDRegressor()):
        name = type(est).__name__
        relative = doc_link_template("0.1.0").split("/en/0.1.0/")[1].format(
            estimator_module="sklearn_gd", estimator_name=name)
        page = (out / relative).read_text(encoding="utf-8")
        assert f'id="sklearn_gd.{name}"' in page, name
        assert f'id="sklearn_gd.{name}.partial_fit"' in page, name
        for entry in ["loss_curve_", *est.get_params()]:
            assert f"<strong>{entry}</strong>" in page, (name, entry)
    gallery = (out / "gallery" / "index.html").read_text(encoding="utf-8")
    examples = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))
    for stem in examples:
        assert f"{stem}.png" in gallery, stem
        assert (out / "gallery" / f"{stem}.html").is_file(), stem
    assert len(list((out / "_images").glob("plot_*.png"))) >= len(examples)
