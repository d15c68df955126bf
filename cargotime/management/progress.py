"""How far a long command has come: a bar on a terminal, a line a tenth in a log."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import OutputWrapper

BAR_WIDTH = 30

# Given what is done and the total, the words after the bar or in the log's line.
Describe = Callable[[int, int], str]


class Progress:
    """Draw a bar on a terminal; in a log, print a line every tenth of the way."""

    def __init__(
        self, stdout: OutputWrapper, total: int, *, bar: Describe, line: Describe
    ) -> None:
        self.stdout = stdout
        self.total = total
        self.bar = bar
        self.line = line
        self.tty = stdout.isatty()
        self.tenths = 0

    def show(self, done: int, *, finished: bool = False) -> None:
        """Show that *done* of the total is done; *finished* when it is all."""
        total = self.total
        done = min(done, total)
        share = done / total if total else 1.0
        if self.tty:
            filled = int(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stdout.write(
                f"\r[{bar}] {share:4.0%}  {self.bar(done, total)}", ending=""
            )
            self.stdout.flush()
        elif int(share * 10) > self.tenths or (finished and self.tenths < 10):
            # Plain lines for logs: one per tenth of the way, and one at the end.
            self.tenths = 10 if finished else int(share * 10)
            self.stdout.write(f"  {self.line(done, total)} ({share:.0%})")

    def close(self) -> None:
        """End the bar's line, so that what follows starts on a line of its own."""
        if self.tty:
            self.stdout.write("")
