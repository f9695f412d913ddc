"""The coordinator's and the county administrator's follow-up: `hub uppfoljning`, a local agent
like the contact person's inbox. It signs in to the hub with the person's own key, fetches only
suppressed aggregates (and, for the administrator, the contact list's metadata), and serves the
pages, the CSV and the annual PDF report to the person's own browser on 127.0.0.1.

    agent     the agent: the hub connection (FollowupCore), the web app, `serve`
    views     the pages
    document  the annual report as PDF/A, rendered on this machine
"""
