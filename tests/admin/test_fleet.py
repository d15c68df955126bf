"""The Fleet page: every cargo at an instant, in HTML, JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Cargo, HandlingActivity, Itinerary, Leg, Location
from cargotime.fleet import fleet_counts, iter_fleet
from tests.cargos import make_user, ship
from tests.helpers import START, ManualClock

# The keys of each cargo in the fleet's JSON, as DESIGN.md lists them.
CARGO_KEYS = {
    "tracking_id",
    "version",
    "origin",
    "destination",
    "arrival_deadline",
    "transport_status",
    "routing_status",
    "is_misdirected",
    "estimated_time_of_arrival",
    "last_known_location",
    "current_voyage_number",
    "last_event_at",
}


class FleetPageTestCase(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.url = reverse("admin:cargotime_fleet")
        self.client.force_login(User.objects.create_superuser("boss", password="x"))

    def get(self, **params: Any) -> Any:
        return self.client.get(self.url, {k: str(v) for k, v in params.items()})

    def fleet(self) -> list[Any]:
        # Four cargos: not received, in port at Hong Kong, on board V1, in New York.
        return [ship(self.app, n, clock=self.clock) for n in range(4)]


class FleetJsonTests(FleetPageTestCase):
    def test_the_json_is_the_fleet_at_the_instant(self) -> None:
        self.fleet()
        response = self.get(at=self.clock.now.isoformat(), format="json")
        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"at", "count", "counts", "cargos", "next"}
        assert data["at"] == self.clock.now.isoformat()
        assert data["count"] == 4
        assert sum(data["counts"]["transport_status"].values()) == 4
        assert sum(data["counts"]["routing_status"].values()) == 4
        assert data["counts"]["transport_status"] == {
            "IN_PORT": 2,
            "NOT_RECEIVED": 1,
            "ONBOARD_CARRIER": 1,
        }
        assert data["counts"]["misdirected"] == 0
        assert data["next"] is None
        expected = {
            str(cargo.tracking_id): cargo for cargo in iter_fleet(self.clock.now)
        }
        for row in data["cargos"]:
            assert set(row) == CARGO_KEYS
            cargo = expected[row["tracking_id"]]
            assert row["version"] == cargo.version
            assert row["transport_status"] == cargo.transport_status
            assert row["last_known_location"] == cargo.last_known_location
            assert row["last_event_at"] == cargo.last_event_at.isoformat()

    def test_next_pages_through_every_cargo(self) -> None:
        for _ in range(55):
            self.clock.advance()
            self.app.book_new_cargo(
                "HONGKONG",  # type: ignore[arg-type]
                "STOCKHOLM",  # type: ignore[arg-type]
                START + timedelta(weeks=3),
            )
        at = self.clock.now.isoformat()
        seen: list[str] = []
        url: str | None = f"{self.url}?at={at.replace('+', '%2B')}&format=json"
        while url:
            data = self.client.get(url).json()
            assert data["count"] == 55
            seen += [row["tracking_id"] for row in data["cargos"]]
            url = data["next"]
        assert len(seen) == len(set(seen)) == 55

    def test_an_instant_before_every_booking_is_an_empty_fleet(self) -> None:
        self.fleet()
        data = self.get(at=(START - timedelta(days=1)).isoformat(), format="json")
        assert data.json()["count"] == 0
        assert data.json()["cargos"] == []

    def test_malformed_input_is_a_400_with_errors(self) -> None:
        for params in (
            {"at": "yesterday-ish"},
            {"compare_at": "no"},
            {"transport_status": "FLYING"},
            {"misdirected": "maybe"},
            {"after": "nonsense"},
            {"location": "ATLANTIS"},
        ):
            response = self.get(format="json", **params)
            assert response.status_code == 400, params
            assert set(response.json()["errors"]) == set(params), params

    def test_filters_narrow_the_json(self) -> None:
        tracking_ids = self.fleet()
        data = self.get(format="json", transport_status="IN_PORT", location="NEWYORK")
        assert [row["tracking_id"] for row in data.json()["cargos"]] == [
            str(tracking_ids[3])
        ]
        assert data.json()["count"] == 1


class FleetCsvTests(FleetPageTestCase):
    def test_the_csv_streams_the_whole_filtered_fleet(self) -> None:
        self.fleet()
        response = self.get(format="csv", transport_status="IN_PORT")
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"].startswith("text/csv")
        text = b"".join(response.streaming_content).decode()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert set(rows[0]) == CARGO_KEYS
        assert len(rows) == 2
        assert {row["transport_status"] for row in rows} == {"IN_PORT"}


class FleetHtmlTests(FleetPageTestCase):
    def test_every_cargo_links_to_time_travel_at_the_same_instant(self) -> None:
        tracking_ids = self.fleet()
        at = self.clock.now.isoformat()
        response = self.get(at=at)
        assert response.status_code == 200
        links = {
            row["cargo"].tracking_id: row["href"] for row in response.context["rows"]
        }
        assert set(links) == set(tracking_ids)
        for tracking_id, href in links.items():
            query = parse_qs(urlsplit(href).query)
            assert urlsplit(href).path == reverse("admin:cargotime_time_travel")
            assert query == {"tracking_id": [str(tracking_id)], "at": [at]}
            self.assertContains(response, f'href="{href.replace("&", "&amp;")}"')

    def test_each_filter_option_shows_its_count(self) -> None:
        self.fleet()
        response = self.get()
        facets = {facet.title: facet for facet in response.context["facets"]}
        transport = facets["By transport status"]
        counts = {option.label: option.count for option in transport.options}
        assert counts == {
            "All": 4,
            "In port": 2,
            "Not received": 1,
            "On board carrier": 1,
        }
        chosen = [option for option in transport.options if option.chosen]
        assert [option.label for option in chosen] == ["All"]
        in_port = next(o for o in transport.options if o.label == "In port")
        narrowed = self.client.get(in_port.href)
        assert [row["cargo"].transport_status for row in narrowed.context["rows"]] == [
            "IN_PORT",
            "IN_PORT",
        ]
        # Within in-port cargos, each location says how many are there.
        facets = {facet.title: facet for facet in narrowed.context["facets"]}
        locations = {o.label: o.count for o in facets["By last known location"].options}
        assert locations["All"] == 2
        assert locations["New York (NEWYORK)"] == 1

    def test_the_summary_counts_each_status(self) -> None:
        self.fleet()
        response = self.get()
        assert response.context["summary"] == [
            ("Not received", 1),
            ("In port", 2),
            ("On board carrier", 1),
        ]
        self.assertContains(response, "4 cargos at")

    def test_a_comparison_shows_the_transitions_and_the_cargos(self) -> None:
        tracking_ids = self.fleet()
        before = self.clock.now
        # The cargo in port at Hong Kong is loaded onto V1.
        self.clock.advance()
        self.app.register_handling_event(
            tracking_ids[1],
            "V1",
            "HONGKONG",  # type: ignore[arg-type]
            "LOAD",  # type: ignore[arg-type]
        )
        response = self.get(
            at=self.clock.now.isoformat(), compare_at=before.isoformat()
        )
        assert response.context["transitions"] == [("In port → On board carrier", 1)]
        assert [row["tracking_id"] for row in response.context["changes"]] == [
            tracking_ids[1]
        ]
        self.assertContains(response, "In port → On board carrier: 1")
        # At "now", the heading names the instant to the second.
        now = self.get(compare_at=before.isoformat())
        earlier_text, later_text = now.context["compared"]
        assert "." not in later_text.split(" ")[1], later_text

    def test_paging_keeps_the_filters_and_goes_on(self) -> None:
        for _ in range(51):
            self.clock.advance()
            ship(self.app, 0, clock=self.clock)
        response = self.get(routing_status="ROUTED")
        assert len(response.context["rows"]) == 50
        following = self.client.get(response.context["next_href"])
        assert len(following.context["rows"]) == 1
        assert "routing_status=ROUTED" in response.context["next_href"]

    def test_queries_stay_flat_with_the_fleet(self) -> None:
        self.fleet()
        compare = (START + timedelta(hours=2)).isoformat()
        few = self.count_queries(compare_at=compare)
        for _ in range(30):
            ship(self.app, 4, clock=self.clock)
        assert self.count_queries(compare_at=compare) == few

    def count_queries(self, **params: Any) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = self.get(**params)
        assert response.status_code == 200
        return len(queries)

    def test_linked_from_the_admin_index_and_the_time_travel_page(self) -> None:
        self.assertContains(self.client.get(reverse("admin:index")), self.url)
        self.assertContains(
            self.client.get(reverse("admin:cargotime_time_travel")), self.url
        )

    def test_counts_match_the_python_api(self) -> None:
        self.fleet()
        response = self.get()
        counts = fleet_counts(response.context["at"])
        assert response.context["counts"] == counts


class FleetHostileInputTests(FleetPageTestCase):
    def test_a_forged_page_link_is_a_clear_400(self) -> None:
        tracking_id = self.fleet()[0]
        # An offset Python takes is read in UTC, wherever the database stops.
        wide = f"2026-01-01T00:00:00+23:59|{tracking_id}"
        assert self.get(format="json", after=wide).status_code == 200
        for moment in (
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "2026-01-01T00:00:00",
        ):
            after = f"{moment}|{tracking_id}"
            response = self.get(format="json", after=after)
            assert response.status_code == 400, moment
            assert "broken" in response.json()["errors"]["after"][0]
            assert self.get(after=after).status_code == 400

    def test_the_next_page_is_read_at_the_same_instant(self) -> None:
        for _ in range(51):
            self.clock.advance()
            ship(self.app, 0, clock=self.clock)
        data = self.get(format="json").json()
        query = parse_qs(urlsplit(data["next"]).query)
        assert query["at"] == [data["at"]]
        html = self.get()
        assert "at=" in html.context["next_href"]

    def test_a_comparison_is_the_same_either_way_round(self) -> None:
        tracking_ids = self.fleet()
        later = self.clock.now.isoformat()
        earlier = START.isoformat()
        one = self.get(at=later, compare_at=earlier).context["changes"]
        other = self.get(at=earlier, compare_at=later).context["changes"]
        assert [row["tracking_id"] for row in one] == [
            row["tracking_id"] for row in other
        ]
        # All four were booked after the earlier instant.
        assert {row["tracking_id"] for row in one} == set(tracking_ids)

    def test_a_bad_filter_is_named_and_not_sent_again(self) -> None:
        self.fleet()
        response = self.get(transport_status="BOGUS", voyage="V1")
        assert response.status_code == 400
        self.assertContains(response, "BOGUS", status_code=400)
        assert ("transport_status", "BOGUS") not in response.context["hidden_filters"]
        assert ("voyage", "V1") in response.context["hidden_filters"]

    def test_a_long_voyage_is_a_valid_filter(self) -> None:
        self.fleet()
        assert self.get(voyage="V" * 300).status_code == 200

    def test_places_are_found_by_their_name_in_the_pages_language(self) -> None:
        self.fleet()
        response = self.client.get(
            self.url, {"q": "hongkong", "format": "json"}, HTTP_ACCEPT_LANGUAGE="de"
        )
        assert response.json()["count"] == 4

    def test_the_csv_names_its_instant_in_full_and_writes_no_formula(self) -> None:
        response = self.get(format="csv", at="0002-01-01T00:00Z")
        disposition = response["Content-Disposition"]
        assert 'filename="fleet-00020101T000000Z.csv"' in disposition
        # An imported voyage number that a spreadsheet would run as a formula.
        cargo = Cargo.new_booking(
            Location.HONGKONG, Location.STOCKHOLM, START + timedelta(weeks=3)
        )
        leg = Leg("HONGKONG", "STOCKHOLM", '=HYPERLINK("x")')
        cargo.assign_route(Itinerary("HONGKONG", "STOCKHOLM", (leg,)))
        cargo.register_handling_event(None, Location.HONGKONG, HandlingActivity.RECEIVE)
        cargo.register_handling_event(
            '=HYPERLINK("x")', Location.HONGKONG, HandlingActivity.LOAD
        )
        self.app.save(cargo)
        text = b"".join(self.get(format="csv").streaming_content).decode()
        [row] = csv.DictReader(io.StringIO(text))
        assert row["current_voyage_number"] == '\'=HYPERLINK("x")'


class FleetPermissionTests(TestCase):
    def setUp(self) -> None:
        self.url = reverse("admin:cargotime_fleet")

    def test_anonymous_users_go_to_the_login(self) -> None:
        response = self.client.get(self.url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]

    def test_staff_without_the_permission_are_told_which_to_ask_for(self) -> None:
        self.client.force_login(make_user("clerk"))
        response = self.client.get(self.url)
        assert response.status_code == 403
        self.assertContains(response, "view_cargo_history", status_code=403)
        as_json = self.client.get(self.url, {"format": "json"})
        assert as_json.status_code == 403
        assert "view_cargo_history" in as_json.json()["error"]

    def test_staff_with_the_permission_see_it(self) -> None:
        self.client.force_login(make_user("clerk", history=True))
        assert self.client.get(self.url).status_code == 200

    def test_it_is_get_only(self) -> None:
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        assert self.client.post(self.url).status_code in {403, 405}
