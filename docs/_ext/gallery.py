"""A small gallery for the sklearn-gd docs: run ``examples/plot_*.py``, one page each.

When the builder starts, every ``examples/plot_*.py`` whose figure in
``docs/gallery/figures/`` is missing, or older than the script or than any
file of the ``sklearn_gd`` package, is run (in parallel, one process per
core) with ``--output-dir docs/gallery/figures``. Set
``SKLEARN_GD_DOCS_EXAMPLES=always`` to rerun them all, or ``never`` to use
whatever figures exist. Then the extension writes, from each script's module
docstring (reStructuredText), a page ``docs/gallery/<script>.rst`` -- title,
explanation, figure, source -- and the gallery page ``docs/gallery/index.rst``
with every figure. A failing example fails the build.

Everything under ``docs/gallery/`` is generated (and ignored by git).
"""

import ast
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

GALLERY_INTRO = """\
Each figure below is made by a script in the repository's ``examples/``
directory, run when the documentation is built. Run one yourself with
``python examples/<name>.py`` (figures go to ``examples/figures/``, or to
``--output-dir DIR``); they need matplotlib (``pip install "sklearn-gd[plot]"``).
"""


def _newest_mtime(paths):
    return max((p.stat().st_mtime for p in paths), default=0.0)


def _package_files():
    import sklearn_gd

    return list(Path(sklearn_gd.__file__).resolve().parent.rglob("*.py"))


def _run_example(script, figures):
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("SKLEARN_GD_FIGURES", None)
    result = subprocess.run(
        [sys.executable, str(script), "--output-dir", str(figures)],
        capture_output=True, text=True, env=env, timeout=1200,
    )
    return script, result


def _stale(scripts, figures):
    mode = os.environ.get("SKLEARN_GD_DOCS_EXAMPLES", "auto")
    if mode not in {"auto", "always", "never"}:
        raise ExtensionError(
            f"SKLEARN_GD_DOCS_EXAMPLES must be auto, always or never, not {mode!r}."
        )
    if mode == "always":
        return list(scripts)
    missing = [s for s in scripts if not (figures / f"{s.stem}.png").is_file()]
    if mode == "never":
        if missing:
            raise ExtensionError(
                "SKLEARN_GD_DOCS_EXAMPLES=never, but these figures are missing: "
                + ", ".join(f"{s.stem}.png" for s in missing)
            )
        return []
    library = _newest_mtime(_package_files())
    return [
        s for s in scripts
        if s in missing
        or (figures / f"{s.stem}.png").stat().st_mtime < max(s.stat().st_mtime, library)
    ]


def run_examples(scripts, figures):
    todo = _stale(scripts, figures)
    if not todo:
        return
    figures.mkdir(parents=True, exist_ok=True)
    logger.info(f"[gallery] running {len(todo)} example(s): "
                + ", ".join(s.name for s in todo))
    failures = []
    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1))) as pool:
        for script, result in pool.map(lambda s: _run_example(s, figures), todo):
            if result.returncode != 0:
                failures.append(f"{script.name} exited with {result.returncode}:\n"
                                f"{result.stdout}\n{result.stderr}")
            elif not (figures / f"{script.stem}.png").is_file():
                failures.append(f"{script.name} wrote no {script.stem}.png")
    if failures:
        raise ExtensionError("gallery examples failed:\n\n" + "\n\n".join(failures))


def parse_docstring(script):
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    if not docstring:
        raise ExtensionError(f"{script.name} has no module docstring.")
    title, _, body = docstring.partition("\n")
    return title.strip().rstrip("."), textwrap.dedent(body).strip()


def _write_if_changed(path, text):
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_pages(scripts, gallery):
    entries = []
    for script in scripts:
        title, body = parse_docstring(script)
        first_paragraph = body.split("\n\n")[0]
        page = "\n".join([
            f".. _gallery-{script.stem}:",
            "",
            title,
            "=" * len(title),
            "",
            body,
            "",
            f".. figure:: figures/{script.stem}.png",
            "   :width: 100%",
            f"   :alt: {title}",
            "",
            "Source",
            "------",
            "",
            f"``examples/{script.name}``:",
            "",
            f".. literalinclude:: ../../examples/{script.name}",
            "   :language: python",
            "",
        ])
        _write_if_changed(gallery / f"{script.stem}.rst", page)
        entries.append((script, title, first_paragraph))

    lines = ["Gallery", "=======", "", GALLERY_INTRO, ".. toctree::", "   :hidden:", ""]
    lines += [f"   {script.stem}" for script, _, _ in entries]
    lines.append("")
    for script, title, first_paragraph in entries:
        lines += [
            title,
            "-" * len(title),
            "",
            first_paragraph,
            "",
            f".. figure:: figures/{script.stem}.png",
            "   :width: 100%",
            f"   :alt: {title}",
            f"   :target: {script.stem}.html",
            "",
            f"   Details and source: :doc:`{script.stem}`.",
            "",
        ]
    _write_if_changed(gallery / "index.rst", "\n".join(lines))


# Gallery order: from training mechanics to modelling choices. Scripts not
# listed here follow, alphabetically.
ORDER = [
    "plot_optimizers",
    "plot_solvers",
    "plot_learning_rate",
    "plot_regularization_paths",
    "plot_classification_losses",
    "plot_imbalanced_focal",
    "plot_online_learning",
]


def _order(script):
    return (ORDER.index(script.stem) if script.stem in ORDER else len(ORDER), script.stem)


def on_builder_inited(app):
    docs = Path(app.srcdir)
    examples = docs.parent / "examples"
    scripts = sorted(examples.glob("plot_*.py"), key=_order)
    if not scripts:
        raise ExtensionError(f"no examples/plot_*.py found in {examples}")
    gallery = docs / "gallery"
    gallery.mkdir(exist_ok=True)
    run_examples(scripts, gallery / "figures")
    write_pages(scripts, gallery)


def setup(app):
    app.connect("builder-inited", on_builder_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
