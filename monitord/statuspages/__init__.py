"""Public status pages (issue 16): a fleet's health for people without an account.

    settings.py   what an admin stores per page (the admin API shape)
    public.py     the allow-list type that is all the public ever gets, and how it is built
    uptime.py     90 days of daily uptime bars from the hourly rollups
    access.py     public / password / share-link access, and short-lived page tokens
    feeds.py      one hub per page and the push task, at its own minimum interval

Public data is built only through `public.py`: its types hold alias, section, status, rounded
figures and uptime, and nothing else can reach a public response.
"""
