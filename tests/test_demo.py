from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.test import TestCase
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing_django.models import StoredEventRecord

from cargotime.apps import get_application
from cargotime.demo import DEMO_CARGOS
from cargotime.domain import Cargo, HandlingActivity, Location
from cargotime.models import EventTimestamp


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo_cargo", stdout=out)
    return out.getvalue()


class LoadDemoCargoTests(TestCase):
    def test_books_every_path_of_the_domain(self) -> None:
        before = datetime_now_with_tzinfo()
        output = load_demo()
        app = get_application()
        cargos = {demo.name: app.get_cargo(demo.tracking_id) for demo in DEMO_CARGOS}

        assert 10 <= len(cargos) <= 15
        assert f"Booked {len(cargos)} demo cargos; 0 were already there." in output
        assert cargos["unrouted"].routing_status == "NOT_ROUTED"
        assert cargos["destination changed"].destination is Location.AUMEL
        assert cargos["routed"].routing_status == "ROUTED"
        assert cargos["routed"].transport_status == "NOT_RECEIVED"
        assert cargos["on voyage V1"].transport_status == "ONBOARD_CARRIER"
        assert cargos["on voyage V1"].current_voyage_number == "V1"
        assert cargos["in New York"].last_known_location is Location.NEWYORK
        assert cargos["arrived"].next_expected_activity == (
            HandlingActivity.CLAIM,
            Location.STOCKHOLM,
            "",
        )
        assert cargos["claimed"].transport_status == "CLAIMED"
        assert cargos["misdirected"].is_misdirected
        rerouted = cargos["rerouted, in Hamburg"]
        assert not rerouted.is_misdirected
        assert rerouted.route is not None
        assert rerouted.route.origin == "TOKYO"
        assert rerouted.last_known_location is Location.HAMBURG
        assert cargos["rerouted and claimed"].transport_status == "CLAIMED"

        # Histories are spread over the past weeks and all end before the command does.
        first = min(cargo.created_on for cargo in cargos.values())
        assert first < before - timedelta(weeks=4)
        assert all(cargo.modified_on < before for cargo in cargos.values())

    def test_indexes_every_event_at_its_own_time(self) -> None:
        load_demo()
        app = get_application()
        assert EventTimestamp.objects.count() == StoredEventRecord.objects.count()
        for demo in DEMO_CARGOS:
            cargo = app.get_cargo(demo.tracking_id)
            for version in range(1, cargo.version + 1):
                then: Cargo = app.repository.get(demo.tracking_id, version=version)
                at = app.get_cargo_at_timestamp(demo.tracking_id, then.modified_on)
                assert at.version == version

    def test_running_again_books_nothing_twice(self) -> None:
        load_demo()
        events = StoredEventRecord.objects.count()
        output = load_demo()
        assert StoredEventRecord.objects.count() == events
        assert EventTimestamp.objects.count() == events
        assert f"Booked 0 demo cargos; {len(DEMO_CARGOS)} were already there." in output

    def test_stamps_events_on_the_minute(self) -> None:
        load_demo()
        stamps = EventTimestamp.objects.values_list("timestamp", flat=True)
        assert stamps
        assert all(at.second == 0 and at.microsecond == 0 for at in stamps)
