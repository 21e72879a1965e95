#!/usr/bin/env python3
"""Wall time of Python lesson runs (issue 11), and how much of it is starting python3.

    cargo build --release && python3 benches/python_runs.py [-n 30]

Prints, for each lesson with a Python file: the median wall time of
`sockstep run LESSON --lang python` and of the same run in Rust; then the median
time python3 takes to start and import what the shim imports (four start per run,
two at a time on two cores). Speed is measured here, never asserted in tests.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOCKSTEP = os.path.join(ROOT, "target", "release", "sockstep")
LESSONS = ["welcome", "length-prefix"]


def median_ms(command, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30, help="runs per figure")
    n = parser.parse_args().n
    python = os.environ.get("SOCKSTEP_PYTHON", "python3")
    print(f"load average {os.getloadavg()[0]:.1f}, {n} runs per figure (median, min, max ms)")
    start = [python, "-I", "-S", "-c", "import io, json, os, socket, struct, sys"]
    print("python3 start + the shim's imports  %.1f  %.1f  %.1f" % median_ms(start, n))
    print("sockstep --version                   %.1f  %.1f  %.1f" % median_ms([SOCKSTEP, "--version"], n))
    for lesson in LESSONS:
        for lang in ["rust", "python"]:
            for mode in ["lockstep", "direct"]:
                command = [SOCKSTEP, "run", lesson, "--lang", lang, "--mode", mode]
                figures = median_ms(command, n)
                print(f"run {lesson:<14} {lang:<6} {mode:<8}  %.1f  %.1f  %.1f" % figures)
    # In one process, as `check` runs them: no sockstep start, one version check.
    for lesson in LESSONS:
        for mode in ["lockstep", "free-run", "direct"]:
            command = [SOCKSTEP, "check", lesson, "--lang", "python", "--mode", mode, "--seeds", "20"]
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            each = (time.perf_counter() - start) * 1000 / 20
            print(f"check {lesson:<14} python {mode:<8} --seeds 20: {each:.1f} ms a run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
