"""Import cargo histories from JSON lines, keeping their original timestamps."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from eventsourcing.persistence import IntegrityError

from cargotime.apps import get_application
from cargotime.importer import HistoryError, import_history, read_json_lines


class Command(BaseCommand):
    help = (
        "Import cargo events from FILE (or - for standard input), one JSON object per "
        "line with tracking_id, timestamp, type and the fields of that type. The whole "
        "file is checked first and stored in one transaction: all of it, or nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        path: str = options["file"]
        try:
            if path == "-":
                events = read_json_lines(sys.stdin)
            else:
                with open(path, encoding="utf-8") as lines:
                    events = read_json_lines(lines)
            summary = import_history(get_application(), events)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(
                f"{path} is not UTF-8 text. Nothing was imported."
            ) from None
        except HistoryError as error:
            sentence = str(error).rstrip(".")
            raise CommandError(f"{path}, {sentence}. Nothing was imported.") from None
        except IntegrityError as error:
            # Most likely another writer saved one of these cargos meanwhile.
            raise CommandError(
                f"{path}: the database refused the events ({error}). Nothing was "
                "imported; if a cargo changed meanwhile, run the command again."
            ) from None
        booked, continued = len(summary.booked), len(summary.continued)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {_count(summary.events, 'event')}: booked "
                f"{_count(booked, 'new cargo')} and continued {continued}."
            )
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
