"""The open-files limit a server process needs: every agent and every dashboard is a socket."""

from __future__ import annotations

import resource

# When the hard limit is unlimited, the kernel still caps descriptors (fs.nr_open, 1048576 by
# default); asking for more than that fails.
_UNLIMITED_CAP = 1_048_576


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns (before, after).

    Shells and systemd start services with a soft limit of 1024 (systemd's hard limit is
    524288 and it expects servers to raise the soft one themselves), which a daemon serving a
    thousand agents would hit: accept() then fails with EMFILE.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _UNLIMITED_CAP if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            return soft, soft  # not allowed here (e.g. above fs.nr_open): keep what we have
        return soft, wanted
    return soft, soft
