"""The managers' dashboard figures, one module per family, every one an aggregate
computed in SQL.

- filters: the period and the page's filters, `Figure` and its `Drill`, shared helpers
- agreements: signed, per quarter and type, by stage, values per currency
- deadlines: expiring agreements, notice deadlines and expiries
- partners: by status, kind and country, new and active, going cold
- projects: by status, started, active and completed
- indicators: outcomes, actuals against targets, money converted
- work: activities per staff member, milestones and follow-ups due

crm.dashboard.queries assembles them into the page; the partner network is apart
(crm.dashboard.network).

Each figure carries its drill-down: the list endpoint and the URL filters that list
understands, chosen so the list shows exactly the records counted. The page's filters
apply to everything: owner (of the record; assignee for follow-ups), and partner kind and
country: the partners themselves, or the records linked to such a partner (an agreement
party, a project partner, a partner an activity is linked to, the record a follow-up is
about). Where a figure shares a clause with its list it uses it; where the dashboard
needs another form of the same condition to stay fast at 100k partners (matching
partners first, a covering index, several figures folded into one statement), it selects
the same records, and the tests check every drill-down count against its figure.

Speed: each statement reads a covering index over the period or window it concerns
(see the indexes named in the docstrings); the number of statements is fixed.
"""
