"""`python -m monitord.agent --config FILE`."""

from monitord.agent.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
