"""Where the HTML representation of an estimator links to: its page in our docs.

scikit-learn's HTML representation (what a notebook shows for an estimator)
draws a "?" that opens the estimator's documentation, and links each parameter
to its entry there with a text fragment. It builds the address from the
estimator's ``_doc_link_module`` and ``_doc_link_template``; by default those
point to scikit-learn's site, where our estimators have no page. The template
here points to the page Sphinx builds for each estimator
(``docs/generated/sklearn_gd.<Name>.rst``), one page per estimator as
scikit-learn's are, so that the parameters' text fragments find the right one.
"""

from __future__ import annotations

import re

#: The documentation site; ``[project.urls] Documentation`` in pyproject.toml
#: names the same address (a test keeps the two in step).
DOCS_URL = "https://sklearn-gd.readthedocs.io"

_RELEASE = re.compile(r"\d+(\.\d+)*")


def docs_version(version: str) -> str:
    """The documentation version that describes the package's ``version``.

    A release links to the pages of that release, so a user on an older
    version does not read about parameters their version lacks; anything else
    (a development or local build) links to the pages built from main.
    """
    return version if _RELEASE.fullmatch(version) else "latest"


def doc_link_template(version: str) -> str:
    """The ``_doc_link_template`` of our estimators for package ``version``."""
    return (f"{DOCS_URL}/en/{docs_version(version)}/generated/"
            "{estimator_module}.{estimator_name}.html")
