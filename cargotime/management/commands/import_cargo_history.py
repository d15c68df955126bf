"""Import cargo histories from JSON lines, keeping their original timestamps."""

from __future__ import annotations

import io
import os
import stat
import sys
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from eventsourcing.persistence import IntegrityError

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
        try:
            with _opened(path) as (lines, source):
                progress = None
                if verbosity and source is not None and source.total:
                    progress = Progress(
                        self.stdout, source.total, bar=_megabytes, line=_read
                    )

                def saved(summary: ImportSummary) -> None:
                    if progress is not None and source is not None:
                        progress.show(source.count)

                summary = import_history(
                    get_application(), iter_json_lines(lines), saved=saved
                )
                if progress is not None:
                    progress.show(progress.total, finished=True)
                    progress.close()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s.")
                % {"path": path, "reason": error.strerror}
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
        self._summarize(summary, time.monotonic() - started)

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
            _("%(cargos)s, %(events)s events in %(seconds)s s: %(rate)s events/s.")
            % {
                "cargos": cargos,
                "events": _number(summary.events),
                "seconds": number_format(seconds, decimal_pos=1, force_grouping=True),
                "rate": _number(round(rate)),
            }
        )


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
        size = self.raw.readinto(buffer) or 0
        self.count += size
        return size


@contextmanager
def _opened(path: str) -> Iterator[tuple[Iterator[str], _Counted | None]]:
    # Read as text, as open() would, through a counter of the bytes read.
    if path == "-":
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
    with open(path, "rb", buffering=0) as raw:
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
