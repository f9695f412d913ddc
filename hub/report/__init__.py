"""The coordinator's follow-up, pure: outcome reports, yearly statistics, small-number
suppression, CSV and SVG. No I/O, no clock, no storage: the hub's pages, the PDF and the CLI
load cases and settings and call these modules (the hub loads a year's figures and keeps their
reports in hub/server/report_source.py).

    outcome      the outcome report the sending municipality files when a case ends
    statistics   one pass over a year's cases: the network's figures, raw
    suppression  counts of 1-2 shown as "<3", and the cells that would give them away hidden too
    export       the figures as suppressed tables, and those tables as CSV
    charts       suppressed tables as accessible SVG bar charts
"""
