"""Walking app.url_map so that every route, present and future, is covered."""

from __future__ import annotations

from collections import Counter

# Filled by the sweeps, printed by pytest_terminal_summary in conftest.
CASE_COUNTS: Counter = Counter()

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_ARGS = {
    "static": {"filename": "app.css"},
    "bootstrap.static": {"filename": "css/bootstrap.min.css"},
    "duplicates.merge": {"kind": "partner"},
    "duplicates.merge_pick": {"kind": "contact"},
    "dataio.export": {"list_key": "partners", "fmt": "csv"},
    "documents.upload": {"owner": "partner"},
}


def routes(app):
    """(rule, url, methods) for every rule, with placeholder values for its arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        values = dict(SAMPLE_ARGS.get(rule.endpoint, {}))
        for arg in rule.arguments:
            if arg in values:
                continue
            converter = type(rule._converters[arg]).__name__
            values[arg] = 999_999 if converter == "IntegerConverter" else "x"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        found.append((rule, url, methods))
    return found
