#!/usr/bin/env python3
"""CPU use of each thread of a running process over an interval, from /proc.

    bench/thread_cpu.py PID [SECONDS]

Prints one row per thread that used CPU (name, user %, system %; 100 % = one
core) and the total. solod names its threads (solod-io-N, solod-hash-N,
solod-db-N; CAF's workers call themselves caf.multiplexer), so a run of
solod-bench beside it shows where the server's CPU goes: bench/RESULTS.md.
"""
import os
import sys
import time


def snapshot(pid):
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        threads[tid] = (name, int(fields[11]), int(fields[12]))  # utime, stime in ticks
    return threads


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    pid, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    before = snapshot(pid)
    time.sleep(seconds)
    after = snapshot(pid)
    ticks = os.sysconf("SC_CLK_TCK") * seconds
    rows = []
    for tid, (name, user, system) in after.items():
        if tid in before:
            u = (user - before[tid][1]) / ticks
            s = (system - before[tid][2]) / ticks
            if u + s > 0.005:
                rows.append((u + s, tid, name, u, s))
    rows.sort(reverse=True)
    for total, tid, name, u, s in rows:
        print(f"{name:16s} tid {tid:>7s}  cpu {total * 100:5.1f} %  user {u * 100:5.1f} %  sys {s * 100:5.1f} %")
    print(f"total {sum(r[0] for r in rows) * 100:.1f} % over {seconds:g} s")


if __name__ == "__main__":
    main()
