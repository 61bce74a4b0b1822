"""`python -m harvesters`: the `harvest` command."""

from harvesters.cli import main

if __name__ == "__main__":
    main()
