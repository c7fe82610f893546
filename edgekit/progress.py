"""The one progress channel: library code reports through a Reporter, the CLI decides how to show it."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """What long-running library functions call to report progress and notices."""

    def start(self, description: str, total: int | None) -> None:
        """Begin a task of ``total`` steps (None when unknown)."""

    def advance(self, steps: int = 1, info: str = "") -> None:
        """Mark steps of the current task done; ``info`` is a short status such as a loss."""

    def finish(self) -> None:
        """End the current task."""

    def notice(self, message: str) -> None:
        """A one-line message the user should read (a fallback data source, a device choice)."""


class SilentReporter:
    """Reporter that drops everything; the default for library calls."""

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, steps: int = 1, info: str = "") -> None:
        pass

    def finish(self) -> None:
        pass

    def notice(self, message: str) -> None:
        pass


class RecordingReporter(SilentReporter):
    """Reporter that keeps notices; handy for tests and for manifests."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)
