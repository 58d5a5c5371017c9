"""`medallion new NAME`: a product folder that validates and runs as it is.

The templates beside this module are a small but complete product (two sources in two
formats, PII, a version column, a reference, a row rule, a gold SQL file and a sample data
generator built on medallion's helpers), meant to be edited into the user's own.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from medallion.spec import IDENTIFIER

TEMPLATES = Path(__file__).parent
FILES = {
    "product.yaml": "product.yaml.tmpl",
    "daily_sales.sql": "daily_sales.sql.tmpl",
    "generator.py": "generator.py.tmpl",
}


class ScaffoldError(ValueError):
    """A product that cannot be scaffolded: a bad name, or a folder already there."""


def scaffold_product(name: str, products_dir: Path) -> list[Path]:
    """Write `<products_dir>/<name>/` from the templates; returns the files written.

    Raises:
        ScaffoldError: the name is not a valid product name, or the folder exists.
    """
    if not IDENTIFIER.match(name):
        raise ScaffoldError(
            f"product name {name!r} must be lower case letters, digits and underscores, "
            "starting with a letter"
        )
    folder = Path(products_dir) / name
    if folder.exists():
        raise ScaffoldError(f"{folder} exists already; choose another name or folder")
    folder.mkdir(parents=True)
    values = {"product": name, "folder": str(folder)}
    written = []
    for target, template in FILES.items():
        text = Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
        path = folder / target
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
