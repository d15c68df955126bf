"""Import cargo histories from JSON lines, keeping their original timestamps."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import time
from argparse import ArgumentParser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from eventsourcing.persistence import IntegrityError, PersistenceError

from cargotime.apps import get_application
from cargotime.importer import (
    EVENTS_PER_SAVE,
    HELD_CARGOS,
    HistoryError,
    ImportSummary,
    import_history,
    iter_json_lines,
)
from cargotime.management.progress import Progress

MEGABYTE = 1_000_000


class Command(BaseCommand):
    def create_parser(
        self, prog_name: str, subcommand: str, **kwargs: Any
    ) -> CommandParser:
        # Translated here, in the language active when the help is asked for.
        self.help = _(
            "Import cargo events from FILE (or - for standard input), one JSON "
            "object per line with tracking_id, timestamp, type and the fields of "
            "that type. Lines are checked and saved as they are read, a batch of "
            "cargos at a time, all in one transaction: the whole file is stored, or "
            "nothing if a line is bad. Memory holds the %(held)s cargos seen last and "
            "at most %(batch)s unsaved events, whatever the size of the file. A "
            "cargo's lines may be spread over the file; one that left memory is read "
            "back from the database when its next line comes, so a file grouped by "
            "cargo or ordered by time imports fastest."
        ) % {"held": _number(HELD_CARGOS), "batch": _number(EVENTS_PER_SAVE)}
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["file"]
        verbosity: int = options["verbosity"]
        started = time.monotonic()
        progress: Progress | None = None
        try:
            with _opened(path) as (lines, source):
                if verbosity and source is not None and source.total:
                    progress = Progress(
                        self.stdout, source.total, bar=_megabytes, line=_read
                    )

                def saved(summary: ImportSummary) -> None:
                    nonlocal progress
                    if (
                        progress is not None
                        and source is not None
                        and not self._shown(progress.show, source.count)
                    ):
                        progress = None

                summary = import_history(
                    get_application(), iter_json_lines(lines), saved=saved
                )
                if progress is not None:
                    self._shown(progress.show, progress.total, finished=True)
                    self._shown(progress.close)
        except _Unreadable as error:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s.")
                % {"path": path, "reason": error.reason}
            ) from None
        except _StdinClosed:
            raise CommandError(
                _(
                    "Standard input is closed: give a FILE, or send the lines to "
                    "standard input. Nothing was imported."
                )
            ) from None
        except UnicodeDecodeError:
            raise CommandError(
                _("%(path)s is not UTF-8 text. Nothing was imported.") % {"path": path}
            ) from None
        except HistoryError as error:
            raise CommandError(
                _("%(path)s, %(error)s. Nothing was imported.")
                % {"path": path, "error": str(error).rstrip(".")}
            ) from None
        except IntegrityError as error:
            # Most likely another writer saved one of these cargos meanwhile.
            raise CommandError(
                _(
                    "%(path)s: the database refused the events (%(error)s). Nothing "
                    "was imported; if a cargo changed meanwhile, run the command again."
                )
                % {"path": path, "error": error}
            ) from None
        except (DatabaseError, PersistenceError) as error:
            # Such as SQLite's "database is locked", when another writer held it for
            # longer than the timeout.
            raise CommandError(
                _("%(path)s: the database failed (%(error)s). Nothing was imported.")
                % {"path": path, "error": str(error).strip()}
            ) from None
        except KeyboardInterrupt:
            if progress is not None:
                self._shown(progress.close)
            raise CommandError(
                _("Interrupted. Nothing was imported."), returncode=130
            ) from None
        self._shown(self._summarize, summary, time.monotonic() - started)

    def _shown(self, show: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
        """Call *show*; return False if nobody reads the output any more."""
        # Output that cannot be written, such as a pipe into `head` that has closed,
        # neither stops the import nor rolls it back.
        try:
            show(*args, **kwargs)
        except OSError:
            if getattr(self.stdout, "_out", None) is sys.stdout:
                # As Python's documentation advises: what is left goes to /dev/null,
                # so that the flush when Python exits does not fail too.
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return False
        return True

    def _summarize(self, summary: ImportSummary, seconds: float) -> None:
        events = ngettext(
            "Imported %(count)s event", "Imported %(count)s events", summary.events
        ) % {"count": _number(summary.events)}
        booked = ngettext(
            "booked %(count)s new cargo", "booked %(count)s new cargos", summary.booked
        ) % {"count": _number(summary.booked)}
        self.stdout.write(
            self.style.SUCCESS(
                _("%(events)s: %(booked)s and continued %(continued)s.")
                % {
                    "events": events,
                    "booked": booked,
                    "continued": _number(summary.continued),
                }
            )
        )
        cargos = ngettext("%(count)s cargo", "%(count)s cargos", summary.cargos) % {
            "count": _number(summary.cargos)
        }
        rate = summary.events / seconds if seconds > 0 else 0.0
        self.stdout.write(
            ngettext(
                "%(cargos)s, %(events)s event in %(seconds)s s: %(rate)s events/s.",
                "%(cargos)s, %(events)s events in %(seconds)s s: %(rate)s events/s.",
                summary.events,
            )
            % {
                "cargos": cargos,
                "events": _number(summary.events),
                "seconds": number_format(seconds, decimal_pos=1, force_grouping=True),
                "rate": _number(round(rate)),
            }
        )


class _Unreadable(Exception):
    """The file cannot be opened or read; *reason* says why."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.reason = error.strerror or str(error)


class _StdinClosed(Exception):
    """The command was started with standard input closed."""


class _Binary(Protocol):
    def readinto(self, buffer: Any, /) -> int | None: ...

    def fileno(self) -> int: ...


class _Counted(io.RawIOBase):
    """A binary stream that counts the bytes read through it."""

    def __init__(self, raw: _Binary, total: int | None) -> None:
        self.raw = raw
        self.total = total
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            size = self.raw.readinto(buffer) or 0
        except OSError as error:
            # Apart from an error writing the output, which is no fault of the file.
            raise _Unreadable(error) from error
        self.count += size
        return size


@contextmanager
def _opened(path: str) -> Iterator[tuple[Iterator[str], _Counted | None]]:
    # Read as text, as open() would, through a counter of the bytes read.
    if path == "-":
        if sys.stdin is None:
            raise _StdinClosed
        binary: _Binary | None = getattr(sys.stdin, "buffer", None)
        if binary is None:
            # Standard input replaced by text (as in tests): nothing to count.
            yield iter(sys.stdin), None
            return
        source = _Counted(binary, _size(binary))
        yield (
            iter(io.TextIOWrapper(io.BufferedReader(source), encoding="utf-8")),
            source,
        )
        return
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed just below)
    except OSError as error:
        raise _Unreadable(error) from None
    with raw:
        source = _Counted(raw, _size(raw))
        with io.TextIOWrapper(io.BufferedReader(source), encoding="utf-8") as text:
            yield iter(text), source


def _size(stream: _Binary) -> int | None:
    # A pipe's length is known only at its end.
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


def _megabytes(done: int, total: int) -> str:
    return _("%(done)s/%(total)s MB") % {
        "done": number_format(done / MEGABYTE, decimal_pos=1, force_grouping=True),
        "total": number_format(total / MEGABYTE, decimal_pos=1, force_grouping=True),
    }


def _read(done: int, total: int) -> str:
    return _("%(done)s of %(total)s MB read") % {
        "done": number_format(done / MEGABYTE, decimal_pos=1, force_grouping=True),
        "total": number_format(total / MEGABYTE, decimal_pos=1, force_grouping=True),
    }
