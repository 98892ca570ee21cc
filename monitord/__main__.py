"""`python -m monitord`: the daemon and its admin commands."""

try:
    from monitord.cli import main
except ModuleNotFoundError as exc:  # the agent-only install (`pip install monitord`) lacks the daemon's packages
    raise SystemExit(
        f"monitord: the daemon needs its own packages: pip install 'monitord[server]' ({exc.name} is missing)"
    ) from None

if __name__ == "__main__":
    raise SystemExit(main())
