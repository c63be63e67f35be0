"""A task module that is slow to import, like a reward that loads sympy or math-verify on first use."""

import time

time.sleep(1.0)


def quick(x: int) -> int:
    return x + 1
