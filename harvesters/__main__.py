"""The `harvest` command (and `python -m harvesters`): its modules loaded with the garbage collector off, then
frozen out of its reach.

What loading them makes lives as long as the process, and the collector went through all of it again and again:
while the modules loaded, at each full collection of the run, and at exit (some 40% of `harvest --version`'s CPU
time). Frozen (gc.freeze) before the command runs, it is no collection's work any more, nor written to by one in
the helpers forked from the command (their copy of it stays shared).
"""

import gc


def main() -> None:
    gc.disable()
    from harvesters.cli import main as command

    gc.freeze()
    gc.enable()
    command()


if __name__ == "__main__":
    main()
