"""Where the example scripts save their figure (shared by examples/plot_*.py).

Each script takes ``--output-dir DIR``; without it the PNG goes to
``$SKLEARN_GD_FIGURES``, else to ``examples/figures/``. The file is named after
the script.
"""

import argparse
import os
from pathlib import Path


def output_file(script, description):
    """Parse the command line of ``script`` and return the path of its PNG."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument(
        "--output-dir", type=Path,
        default=Path(os.environ.get("SKLEARN_GD_FIGURES",
                                    Path(__file__).resolve().parent / "figures")),
        help="directory for the PNG (default: $SKLEARN_GD_FIGURES or examples/figures)",
    )
    out = parser.parse_args().output_dir
    out.mkdir(parents=True, exist_ok=True)
    return out / (Path(script).stem + ".png")
