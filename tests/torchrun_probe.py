"""``python -m origan`` for the torchrun tests, then a check that the run left no gloo thread behind.

A gloo worker thread still alive at interpreter shutdown aborts its process at random ("terminate called
without an active exception", SIGABRT) when it next needs the GIL; ``teardown`` in
``origan.training.distributed`` joins them. Whether one is alive when the run returns is deterministic, unlike
the abort, which takes a loaded machine to show. Linux names threads in /proc; elsewhere nothing is checked.
"""

import os
import sys

from origan.cli import main


def gloo_threads() -> list[str]:
    """The names of this process's gloo threads (``pt_gloo_runloop``, ``gloo_tcp_loop``), sorted."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return []
    names = []
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:  # a thread that ended meanwhile
            pass
    return sorted(name for name in names if "gloo" in name)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    left = gloo_threads()
    if left:
        print(f"rank {os.environ.get('RANK')}: gloo threads alive after the run: {left}", file=sys.stderr)
        code = code or 70
    raise SystemExit(code)
