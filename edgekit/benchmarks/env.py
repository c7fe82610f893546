"""The environment recorded beside every benchmark number."""

from __future__ import annotations

import os
import platform
import resource
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Environment:
    """Where the numbers were measured."""

    cpu_model: str
    cpu_cores: int | None
    threads: int | None  # per interpreter
    os: str
    arch: str
    python: str
    hostname: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> tuple[Any, ...]:
        """What must match for latencies from two reports to be comparable."""
        return self.cpu_model, self.cpu_cores, self.arch, self.threads

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_model": self.cpu_model,
            "cpu_cores": self.cpu_cores,
            "threads": self.threads,
            "os": self.os,
            "arch": self.arch,
            "hostname": self.hostname,
            "python": self.python,
            "versions": dict(self.versions),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Environment:
        cores, threads = data["cpu_cores"], data["threads"]
        return Environment(
            cpu_model=str(data["cpu_model"]),
            cpu_cores=None if cores is None else int(cores),
            threads=None if threads is None else int(threads),
            os=str(data["os"]),
            arch=str(data["arch"]),
            python=str(data["python"]),
            hostname=str(data.get("hostname", "")),
            versions={str(k): str(v) for k, v in data["versions"].items()},
        )


def environment(threads: int | None) -> Environment:
    """CPU, cores, threads, OS/arch, Python and library versions."""
    return Environment(
        cpu_model=cpu_model(),
        cpu_cores=os.cpu_count(),
        threads=threads,
        os=f"{platform.system()} {platform.release()}",
        arch=platform.machine(),
        hostname=socket.gethostname(),
        python=platform.python_version(),
        versions=library_versions(),
    )
