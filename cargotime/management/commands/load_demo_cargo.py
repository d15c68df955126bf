"""Book the demo cargos, each with a history spread over the past weeks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.persistence import IntegrityError

from cargotime.apps import get_application
from cargotime.demo import demo_cargos


class Command(BaseCommand):
    help = "Book about a dozen demo cargos with past histories (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        app = get_application()
        booked = existing = 0
        for demo, cargo in demo_cargos(datetime_now_with_tzinfo()):
            if cargo.id in app.repository:
                existing += 1
                self.stdout.write(f"  exists  {cargo.id}  {demo.name}")
                continue
            # One save: the whole history lands in one transaction, or none of it.
            try:
                app.save(cargo)
            except IntegrityError:
                # Another run booked it between the check and the save.
                existing += 1
                self.stdout.write(f"  exists  {cargo.id}  {demo.name}")
                continue
            booked += 1
            self.stdout.write(
                f"  booked  {cargo.id}  {demo.name}: "
                f"{cargo.origin.value} to {cargo.destination.value}, "
                f"{cargo.version} event{'s' if cargo.version != 1 else ''}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Booked {booked} demo cargos; {existing} were already there."
            )
        )
