#!/usr/bin/env python3
"""Writes the Markdown summary of a `make bench` run (bench/results.md):
the machine, the date and each figure with its baseline ratio or target.

usage: summarise.py RESULTS_FILE OUT_MD

Every unindented line of the results that starts with a backend name or
`ratio` is a figure; `key=value` tokens are its measurements, a trailing
`(target …)` its target. Indented lines are details and are left out.
"""
import datetime
import os
import platform
import re
import subprocess
import sys


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "host": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": f"{cpu} × {os.cpu_count()}",
        "memory": mem,
        "postgresql": run("psql", "--version"),
        "rustc": run("rustc", "--version"),
        "commit": run("git", "rev-parse", "--short", "HEAD"),
    }


FIGURE = re.compile(r"^(sqlite|postgresql|ratio)\b")
PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_/]*)=([^\s;,]+)")


def rows(lines):
    for line in lines:
        if line.startswith((" ", "\t")) or not FIGURE.match(line):
            continue
        line = line.rstrip()
        target = ""
        m = re.search(r"\((target[^)]*)\)\s*$", line)
        if m:
            target = m.group(1)
            line = line[: m.start()].rstrip()
        first = PAIR.search(line)
        if line.startswith("ratio"):
            what, figures = line.split("=", 1)[0].strip(), line.split("=", 1)[1].strip()
        elif first:
            what = line[: first.start()].strip(" ;:")
            figures = ", ".join(f"{k} {v}" for k, v in PAIR.findall(line[first.start():]))
        else:
            what, figures = line, ""
        yield what, figures, target


def main():
    results, out = sys.argv[1], sys.argv[2]
    with open(results) as f:
        lines = f.readlines()
    table = list(rows(lines))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(out, "w") as f:
        f.write("# Benchmark results\n\n")
        f.write(f"Written by `make bench` on {now}. Figures from one run; repeated runs vary by about ±15 %.\n\n")
        for k, v in machine().items():
            if v:
                f.write(f"- {k}: {v}\n")
        f.write("\n| benchmark | figures | target / ratio |\n|---|---|---|\n")
        for what, figures, target in table:
            cell = lambda s: s.replace("|", "\\|")
            f.write(f"| {cell(what)} | {cell(figures)} | {cell(target)} |\n")
    print(f"summary: {len(table)} figures in {out}")


if __name__ == "__main__":
    main()
