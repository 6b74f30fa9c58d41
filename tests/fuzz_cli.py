"""The fuzz driver of ``test_fuzz_cli.py``: runs many ``origan`` command lines in one process, each under a time
limit, with the address space capped, and reports what each did as JSON.

``python fuzz_cli.py CASES.json RESULTS.json``: CASES is a list of ``{"argv": [...], "guarded": [folders]}``.
For each case it records the exit code (a ``SystemExit`` from argparse counts as its code), stderr, whether an
exception other than SystemExit escaped ``main`` (with its traceback), whether it ran past the time limit, the
seconds it took, and whether every file under the guarded folders kept its bytes. The process's peak resident
memory is reported at the end. Runaway allocations hit the address-space cap and surface as exceptions, so a
bad case fails the test instead of the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

CASE_SECONDS = int(os.environ.get("ORIGAN_FUZZ_CASE_SECONDS", "60"))
ADDRESS_SPACE = int(os.environ.get("ORIGAN_FUZZ_ADDRESS_SPACE", str(16 << 30)))


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer within {CASE_SECONDS} s")


def _digest(folders: list[str]) -> dict[str, str]:
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file() and not p.is_symlink():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    import torch

    torch.set_num_threads(1)
    from origan.cli import main as origan_main

    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for case in cases:
        before = _digest(case["guarded"])
        err, out = io.StringIO(), io.StringIO()
        code, crash, hang = None, None, False
        t0 = time.perf_counter()
        signal.alarm(CASE_SECONDS)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    code = origan_main(case["argv"])
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else 2
        except Hang:
            hang = True
        except BaseException:  # what the test is looking for
            crash = traceback.format_exc()
        finally:
            signal.alarm(0)
        seconds = time.perf_counter() - t0
        results.append(
            {
                "argv": case["argv"],
                "code": code,
                "stderr": err.getvalue(),
                "crash": crash,
                "hang": hang,
                "seconds": round(seconds, 3),
                "guarded_same": _digest(case["guarded"]) == before,
            }
        )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = json.dumps({"results": results, "peak_rss_kb": peak_kb})
    Path(sys.argv[2]).write_text(report)
    if os.environ.get("ORIGAN_FUZZ_REPORT"):  # a copy to study, outside pytest's rotating folders
        Path(os.environ["ORIGAN_FUZZ_REPORT"]).write_text(report)


if __name__ == "__main__":
    main()
