"""What the local agents share: `hub inbox` (hub/inbox) and `hub uppfoljning` (hub/followup)
each serve pages on 127.0.0.1 to the person's own browser, and both start, guard, render and
print the same way. Nothing here knows a case or a report.

    security   the guard: loopback Host, one-time launch token, CSRF, CSP, refusal pages
    launch     the guarded app, bound to 127.0.0.1, opened with the one-time link
    lock       locked until unlocked in the page; "Lås nu", the idle time, the slowdown
    places     the per-user folders (platformdirs) for keys and the control channel
    templates  the jinja2 environment over hub/templates/
    pdf        HTML to PDF/A on this machine, with a fetcher that fetches nothing from outside
"""
