"""scikit-learn conventions: pandas output in pipelines, params round trip, repr, hints."""

import inspect
import re
import typing

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

pd = pytest.importorskip("pandas")


@pytest.mark.parametrize("Est, loader", [(GDClassifier, load_breast_cancer),
                                          (GDRegressor, load_diabetes)])
def test_pandas_output_of_a_pipeline_reaches_the_estimator_with_names(Est, loader):
    X, y = loader(return_X_y=True, as_frame=True)
    pipe = make_pipeline(StandardScaler(), Est(max_iter=50)).set_output(transform="pandas")
    pipe.fit(X, y)
    # The scaler hands a DataFrame on, so the estimator records its column names...
    np.testing.assert_array_equal(pipe[-1].feature_names_in_, X.columns.to_numpy())
    # ...and predicts the same as on the plain array the scaler would give.
    plain = make_pipeline(StandardScaler(), Est(max_iter=50)).fit(X.to_numpy(), y.to_numpy())
    np.testing.assert_allclose(pipe.predict(X), plain.predict(X.to_numpy()), rtol=1e-10)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_get_params_set_params_round_trip(Est):
    est = Est(optimizer="adam", eta0=0.01, milestones=[3, 7], clip_norm=1.5)
    params = est.get_params()
    other = Est().set_params(**params)
    assert other.get_params() == params
    assert clone(est).get_params() == params
    # Every constructor argument is a parameter, and only those are.
    assert set(params) == set(inspect.signature(Est.__init__).parameters) - {"self"}


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_repr_shows_only_non_default_parameters(Est):
    assert repr(Est()) == f"{Est.__name__}()"
    text = repr(Est(optimizer="adam", alpha=0.01))
    assert "optimizer='adam'" in text and "alpha=0.01" in text
    assert "max_iter" not in text and "penalty" not in text


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_html_repr_links_the_estimator_and_each_parameter_to_our_docs(Est):
    from sklearn.utils import estimator_html_repr

    from sklearn_gd._doc_link import DOCS_URL

    page = f"{DOCS_URL}/en/0.1.0/generated/sklearn_gd.{Est.__name__}.html"
    # Inside a pipeline, as a notebook shows it: the scaler keeps its own links.
    html = estimator_html_repr(make_pipeline(StandardScaler(), Est(alpha=1e-3)))
    links = set(re.findall(r'href="([^"]+)"', html))
    assert page in links
    assert any(link.startswith("https://scikit-learn.org/") and "StandardScaler" in link
               for link in links)
    # Every parameter's row opens its entry on that page (a text fragment of
    # the name and its type line, which the page shows as the docstring does).
    for name in Est().get_params():
        assert any(link.startswith(f"{page}#:~:text={name},-") for link in links), name


@pytest.mark.parametrize("version, docs", [("0.1.0", "0.1.0"), ("1.2", "1.2"),
                                           ("0.2.0.dev0", "latest"),
                                           ("0.1.0+local", "latest")])
def test_doc_links_of_a_release_open_that_release_s_pages(version, docs):
    from sklearn_gd._doc_link import DOCS_URL, doc_link_template

    assert doc_link_template(version).startswith(f"{DOCS_URL}/en/{docs}/generated/")


def test_the_docs_address_is_the_one_pyproject_declares():
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    from sklearn_gd._doc_link import DOCS_URL

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Documentation"].rstrip("/") == DOCS_URL


@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_public_methods_have_type_hints(Est, method):
    hints = typing.get_type_hints(getattr(Est, method))
    assert "X" in hints and "return" in hints


def test_the_package_is_typed():
    """PEP 561: the py.typed marker ships with the package, so type checkers read it."""
    from pathlib import Path

    import sklearn_gd

    assert (Path(sklearn_gd.__file__).parent / "py.typed").is_file()


def test_ci_runs_the_readme_test_command():
    """CI runs what the README tells a new contributor to run: the same pytest line."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    readme_lines = [line.split("&&")[-1].strip() for line in readme.splitlines()
                    if "pip install -e \".[test" in line and "pytest" in line]
    ci_lines = [line.strip() for line in ci.splitlines() if line.startswith("python -m pytest")]
    assert len(readme_lines) == 1 and len(ci_lines) == 1, (readme_lines, ci_lines)
    assert readme_lines == ci_lines
    # ... after installing the same extras.
    extras = re.findall(r'pip install[^"]*"(\.\[[^\]]*\])"', ci)
    assert len(extras) == 1 and f'pip install -e "{extras[0]}"' in readme, extras
