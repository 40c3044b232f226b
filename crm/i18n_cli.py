"""`flask --app crm translate update|compile`: pybabel with this project's options.

`update` extracts every string from `crm/` and `templates/` into `messages.pot` and merges
it into each catalog; `compile` writes the `.mo` files the app reads. Both keep the width
the catalogs are written in (100), so an update changes only what changed.
"""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crm" / "translations"
POT = TRANSLATIONS / "messages.pot"
WIDTH = "100"
EXTRACT_OPTIONS = [
    "-F",
    str(ROOT / "babel.cfg"),
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "--no-location",
    "--sort-output",
    "--ignore-dirs",
    ".* __pycache__ .venv node_modules",
    "-w",
    WIDTH,
]

translate_cli = AppGroup("translate", help="Keep the translation catalogs current.")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output=None) -> None:
    """Write every translatable string of the code and templates into `output` (the
    committed template by default)."""
    pybabel("extract", *EXTRACT_OPTIONS, "-o", str(output or POT), str(ROOT))


@translate_cli.command("update")
def update() -> None:
    """Extract the strings into messages.pot and merge them into every catalog."""
    extract()
    pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "-w", WIDTH)
    click.echo("Catalogs updated: translate the new entries, then run `translate compile`.")


@translate_cli.command("compile")
def compile_catalogs() -> None:
    """Compile every catalog into the .mo file the app reads."""
    pybabel("compile", "-d", str(TRANSLATIONS))
    click.echo("Catalogs compiled.")
