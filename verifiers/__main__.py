"""``python -m verifiers``: see `verifiers.cli`."""

from verifiers.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
