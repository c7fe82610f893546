"""The environment recorded beside every benchmark number."""

from __future__ import annotations

import os
import platform
import resource
import socket
import sys
from pathlib import Path
from typing import Any

from edgekit.versions import library_versions


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rss_mb() -> float | None:
    """Current resident set size of this process in MiB (Linux), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def environment(threads: int | None) -> dict[str, Any]:
    """CPU, cores, threads, OS/arch, Python and library versions."""
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "threads": threads,
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "versions": library_versions(),
    }


def machine_fingerprint(env: dict[str, Any]) -> tuple[Any, ...]:
    """What must match for latencies from two reports to be comparable."""
    return env.get("cpu_model"), env.get("cpu_cores"), env.get("arch"), env.get("threads")
