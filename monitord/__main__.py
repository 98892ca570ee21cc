"""`python -m monitord`: the daemon and its admin commands."""

from monitord.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
