"""The managers' dashboard page and the charting library it draws with (served locally)."""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _

from crm import crud
from crm.dashboard import cache, queries
from crm.dashboard import network as net
from crm.dashboard.figures.filters import DEFAULT_CURRENCY, parse_filters
from crm.dashboard.milestones import milestone_page
from crm.security import requires
from crm.vocab import (
    AGREEMENT_STAGES,
    PARTNER_KINDS,
    PROJECT_STATUSES,
    choices,
    countries,
    country_name,
    label,
)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


def drill_url(figure) -> str | None:
    """The list a figure leads to, or None when no list can show exactly its records."""
    if figure is None or figure.drill is None:
        return None
    return url_for(figure.drill.endpoint, **figure.drill.args)


def _bar(chart_id, title, figures, label=str) -> dict:
    """A one-series bar chart: labels, counts and each bar's drill-down URL."""
    return {
        "id": chart_id,
        "title": title,
        "counts": True,
        "traces": [
            {
                "name": title,
                "x": [label(fig) for fig in figures],
                "y": [fig.value for fig in figures],
                "customdata": [drill_url(fig) for fig in figures],
            }
        ],
    }


def charts(data) -> list[dict]:
    """What dashboard.js draws: plain numbers, labels and URLs, no HTML."""
    per_quarter = data["per_quarter"]
    quarterly = {
        "id": "chart-signed-per-quarter",
        "title": _("Agreements signed per quarter, by type"),
        "stacked": True,
        "counts": True,
        "traces": [
            {
                "name": str(series["label"]),
                "x": per_quarter["quarters"],
                "y": [p.value for p in series["points"]],
                "customdata": [drill_url(p) for p in series["points"]],
            }
            for series in per_quarter["series"]
        ],
    }
    return [
        quarterly,
        _bar(
            "chart-agreements-by-stage",
            _("Agreements by stage"),
            data["by_stage"],
            lambda fig: str(fig.label),
        ),
        _bar(
            "chart-partners-by-kind",
            _("Partners by kind"),
            data["partner_kinds"],
            lambda fig: str(fig.label),
        ),
        _bar(
            "chart-partners-by-country",
            _("Partners by country"),
            data["partner_countries"],
            lambda fig: country_name(fig.code) or _("Unknown"),
        ),
        _bar(
            "chart-projects-by-status",
            _("Projects by status"),
            data["project_statuses"],
            lambda fig: str(fig.label),
        ),
    ]


def indicator_charts(data, locale: str) -> list[dict]:
    """Per indicator (and currency for money): actuals per year as bars (each leading to
    the projects that reported that year), the running total, and the target."""
    found = []
    for ind in data["indicators"]["rows"]:
        years = ind.timeline()
        if not years:
            continue
        labels = [str(y.year) for y in years]
        running, total = [], ind.actual_to_date - sum((y.value for y in years), 0)
        for y in years:
            total += y.value
            running.append(float(total))
        title = ind.kind.label(locale)
        if ind.kind.is_money:
            title = f"{title} ({ind.currency or _('no currency given')})"
        traces = [
            {
                "name": _("Actual in the year"),
                "x": labels,
                "y": [float(y.value) for y in years],
                "customdata": [drill_url(y.projects) for y in years],
            },
            {"name": _("Actual to date"), "type": "line", "x": labels, "y": running},
        ]
        if ind.target and labels:
            traces.append(
                {
                    "name": _("Target"),
                    "type": "line",
                    "dash": "dash",
                    "x": labels,
                    "y": [float(ind.target)] * len(labels),
                }
            )
        found.append({"id": f"chart-indicator-{ind.key}", "title": title, "traces": traces})
    return found


@bp.route("/")
@requires("manager")
def index():
    from flask_babel import get_locale

    filters = parse_filters(
        request.args,
        default_currency=current_app.config.get("REPORTING_CURRENCY", DEFAULT_CURRENCY),
    )
    data = queries.dashboard_data(filters, cache=cache.cached)
    base, ind_charts = charts(data), indicator_charts(data, str(get_locale()))
    return render_template(
        "dashboard/index.html",
        **data,
        charts=base,
        indicator_charts=ind_charts,
        all_charts=base + ind_charts,
        drill_url=drill_url,
        label_of=lambda fig: fig.label,
        country_of=lambda fig: country_name(fig.code) or _("Unknown"),
        kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
        owners=crud.owner_choices()[1:],
        plotly_version=plotly.__version__,
    )


@bp.route("/plotly.min.js")
@requires("public")
def plotly_js():
    """plotly's own bundle from the installed package: no CDN, cached for a year.

    Public like the app's other static files (it is a published library). Signed-in
    responses get `no-store` from crm.security.set_security_headers, which overrides this.
    """
    response = send_file(PLOTLY_JS, mimetype="text/javascript", max_age=YEAR, conditional=True)
    response.cache_control.immutable = True
    return response


@bp.route("/milestones")
@requires("staff")
def milestones():
    """Milestones by due day: what the dashboard's milestone figures drill down to."""
    from datetime import date

    return render_template(
        "dashboard/milestones.html",
        page=milestone_page(),
        owners=crud.owner_choices()[1:],
        partner_kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
        today=date.today(),
    )


@bp.route("/network")
@requires("staff")
def network():
    """The partner network: who shares agreements and projects with whom."""
    from urllib.parse import urlencode

    filters = net.parse_filters(request.args)
    data = cache.cached(
        ("network", *sorted(filters.url_args().items())), lambda: net.network_data(filters)
    )
    names = {node["id"]: node["name"] for node in data["nodes"]}
    graph = {
        "nodes": [
            {
                **node,
                "url": url_for("partners.detail", partner_id=node["id"]),
                "kind_label": label(PARTNER_KINDS, node["kind"]),
                "country_name": country_name(node["country"]),
            }
            for node in data["nodes"]
        ],
        "links": data["links"],
        "link_url": url_for("dashboard.network_link"),
        "filters": urlencode(filters.url_args()),
        "own_label": _("Our organisation"),
        "text": {
            "agreements": _("agreements"),
            "projects": _("projects"),
            "all_agreements": _("All %(n)s agreements in the list"),
            "all_projects": _("All %(n)s projects in the list"),
            "none": _("None"),
            "failed": _("The link could not be loaded."),
        },
    }
    top = [
        {
            **link,
            "a_name": names.get(link["a"], ""),
            "b_name": names.get(link["b"], ""),
            "agreements_url": url_for(
                "agreements.index",
                partner=[link["a"], link["b"]],
                **filters.agreement_list_args(),
            ),
            "projects_url": url_for(
                "projects.index", partner=[link["a"], link["b"]], **filters.project_list_args()
            ),
        }
        for link in data["links"][:50]
    ]
    return render_template(
        "dashboard/network.html",
        filters=filters,
        data=data,
        graph=graph,
        top=top,
        max_links=net.MAX_LINKS,
        max_partners=net.MAX_PARTNERS,
        kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
        plotly_version=plotly.__version__,
    )


@bp.route("/network/link")
@requires("staff")
def network_link():
    """What two partners share (JSON for the network page's panel): their agreements and
    projects in the network's period, with links to the lists showing all of them."""
    from flask import jsonify

    filters = net.parse_filters(request.args)
    detail = net.link_detail(filters, request.args.get("a"), request.args.get("b"))
    if detail is None:
        return jsonify({"error": _("These two partners are not in the network.")}), 404
    a, b = detail["partners"]
    more = net.LINK_DETAIL
    return jsonify(
        {
            "partners": [
                {
                    "id": p.id,
                    "name": p.display_name,
                    "url": url_for("partners.detail", partner_id=p.id),
                }
                for p in (a, b)
            ],
            "agreements": [
                {
                    "title": agreement.display_name,
                    "url": url_for("agreements.detail", agreement_id=agreement.id),
                    "detail": " · ".join(
                        filter(
                            None,
                            [
                                label(AGREEMENT_STAGES, agreement.stage),
                                str(agreement.signed_on or ""),
                            ],
                        )
                    ),
                }
                for agreement in detail["agreements"][:more]
            ],
            "agreements_more": len(detail["agreements"]) > more,
            "agreements_list": url_for(
                "agreements.index", partner=[a.id, b.id], **filters.agreement_list_args()
            ),
            "projects": [
                {
                    "title": project.display_name,
                    "url": url_for("projects.detail", project_id=project.id),
                    "detail": label(PROJECT_STATUSES, project.status),
                }
                for project in detail["projects"][:more]
            ],
            "projects_more": len(detail["projects"]) > more,
            "projects_list": url_for(
                "projects.index", partner=[a.id, b.id], **filters.project_list_args()
            ),
        }
    )
