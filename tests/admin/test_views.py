"""The admin's time-travel page and the read-only index admin, over HTTP."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from eventsourcing_django.models import StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.apps import get_application
from cargotime.cargo_states import STATE_COLUMNS
from cargotime.domain import Location
from cargotime.models import EventTimestamp
from tests.cargos import DEADLINE, book_long_history, book_voyage, make_user, ship
from tests.helpers import BOOKED_FIELDS, JSON_KEYS, START, UNLOAD, ManualClock

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse

MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)


class AdminTestCase(TestCase):
    """A superuser logged in, and a clock that moves an hour per event."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.url = reverse("admin:cargotime_time_travel")
        self.superuser = User.objects.create_superuser("boss", password="secret")
        self.client.force_login(self.superuser)

    def get(self, **params: Any) -> HttpResponse:
        return self.client.get(self.url, {k: str(v) for k, v in params.items()})

    def get_json(self, **params: Any) -> tuple[HttpResponse, Any]:
        response = self.get(format="json", **params)
        assert response["Content-Type"] == "application/json", response.content
        return response, response.json()

    def voyage(self) -> UUID:
        """Eight events, from 08:00 UTC on 2024-03-01, an hour apart."""
        return book_voyage(self.app, self.clock)

    def versions(self, response: HttpResponse) -> list[int]:
        return [row.entry.version for row in response.context["rows"]]

    def current(self, response: HttpResponse) -> int:
        return int(response.context["visit"].cargo.version)


class TestPermissions(AdminTestCase):
    def test_anonymous_users_go_to_the_admin_login(self) -> None:
        self.client.logout()
        variants: list[dict[str, Any]] = [
            {},
            {"tracking_id": uuid4()},
            {"format": "json"},
        ]
        for params in variants:
            response = self.get(**params)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login") + "?next=")

    def test_users_who_are_not_staff_go_to_the_admin_login(self) -> None:
        self.client.force_login(make_user("outsider", staff=False, history=True))
        response = self.get()
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_staff_without_the_permission_are_forbidden(self) -> None:
        tracking_id = self.voyage()
        self.client.force_login(make_user("clerk"))
        assert self.get().status_code == 403
        assert self.get(tracking_id=tracking_id).status_code == 403
        response, data = self.get_json(tracking_id=tracking_id)
        assert response.status_code == 403
        assert "view_cargo_history" in data["error"]

    def test_staff_with_the_permission_see_the_page(self) -> None:
        tracking_id = self.voyage()
        self.client.force_login(make_user("clerk", history=True))
        assert self.get().status_code == 200
        assert self.get(tracking_id=tracking_id).status_code == 200
        response, data = self.get_json(tracking_id=tracking_id)
        assert response.status_code == 200
        assert data["version"] == 8

    def test_the_page_answers_get_only(self) -> None:
        tracking_id = self.voyage()
        for method in ["post", "put", "patch", "delete"]:
            response = getattr(self.client, method)(
                f"{self.url}?tracking_id={tracking_id}"
            )
            assert response.status_code == 405, method
            assert response["Allow"] == "GET, HEAD"
        assert self.client.head(self.url).status_code == 200

    def test_a_post_without_a_csrf_token_is_refused_by_csrf_protection(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.superuser)
        response = client.post(self.url)
        assert response.status_code == 403
        assert b"CSRF" in response.content

    def test_the_admin_index_links_the_page_in_cargotimes_section(self) -> None:
        response = self.client.get(reverse("admin:index"))
        self.assertContains(
            response, f'<a href="{self.url}">Time travel</a>', html=True
        )
        self.assertContains(response, 'class="app-cargotime module')
        app_index = self.client.get(reverse("admin:app_list", args=["cargotime"]))
        self.assertContains(app_index, f'href="{self.url}"')

    def test_staff_without_the_permission_see_no_link(self) -> None:
        self.client.force_login(make_user("clerk", staff=True))
        response = self.client.get(reverse("admin:index"))
        self.assertNotContains(response, self.url)


class TestCargoList(AdminTestCase):
    def book(self, origin: Location, destination: Location) -> UUID:
        self.clock.advance()
        return self.app.book_new_cargo(origin, destination, DEADLINE)

    def listed(self, **params: Any) -> list[UUID]:
        response = self.get(**params)
        assert response.status_code == 200
        return [row.tracking_id for row, _ in response.context["cargos"]]

    def test_lists_the_cargos_newest_first_as_lowercase_links(self) -> None:
        first = self.book(Location.HONGKONG, Location.STOCKHOLM)
        second = self.book(Location.TOKYO, Location.STOCKHOLM)
        response = self.get()
        assert self.listed() == [second, first]
        for tracking_id in (first, second):
            text = str(tracking_id)
            assert text == text.lower()
            self.assertContains(response, f'href="{self.url}?tracking_id={text}"')
            self.assertContains(response, f">{text}</a>")
        self.assertContains(response, 'name="tracking_id"')
        self.assertContains(response, 'name="at"')

    def test_each_row_shows_when_the_cargo_was_booked_its_route_and_events(
        self,
    ) -> None:
        tracking_id = self.voyage()
        self.clock.advance()
        self.app.change_destination(tracking_id, Location.NEWYORK)
        response = self.get()
        [(row, _)] = response.context["cargos"]
        assert row.booked_at == START
        assert (row.origin, row.destination, row.events) == (
            "Hong Kong (HONGKONG)",
            "New York (NEWYORK)",
            9,
        )
        self.assertContains(response, "2024-03-01 08:00:00 +00:00")
        self.assertContains(response, "Hong Kong (HONGKONG) → New York (NEWYORK)")
        self.assertContains(response, "(booked for Stockholm (STOCKHOLM))")
        self.assertContains(
            response, '<td data-label="Status now" class="ct-status">Claimed</td>'
        )
        self.assertContains(
            response, '<td class="ct-number" data-label="Events">9</td>'
        )

    def test_searches_by_tracking_id_prefix(self) -> None:
        first = self.book(Location.HONGKONG, Location.STOCKHOLM)
        second = self.book(Location.HONGKONG, Location.STOCKHOLM)
        prefix = str(first)[:9]
        assert self.listed(q=prefix) == [first]
        assert self.listed(q=prefix.upper()) == [first]
        assert self.listed(q=str(second)) == [second]

    def test_searches_by_origin_or_destination(self) -> None:
        hongkong = self.book(Location.HONGKONG, Location.STOCKHOLM)
        tokyo = self.book(Location.TOKYO, Location.HAMBURG)
        rerouted = self.book(Location.NLRTM, Location.USDAL)
        self.app.change_destination(rerouted, Location.AUMEL)
        assert self.listed(q="hong") == [hongkong]
        assert self.listed(q="TOKYO") == [tokyo]
        assert self.listed(q="stockholm") == [hongkong]
        assert self.listed(q="hamburg") == [tokyo]
        assert self.listed(q="aumel") == [rerouted]
        assert self.listed(q="usdal") == []
        # By name too: "Rotterdam" is NLRTM, "Hong Kong" HONGKONG.
        assert self.listed(q="Rotterdam") == [rerouted]
        assert self.listed(q="melbourne") == [rerouted]
        assert self.listed(q="hong kong") == [hongkong]
        assert self.listed(q="dallas") == []
        assert set(self.listed(q="o")) == {hongkong, tokyo, rerouted}

    def test_says_when_nothing_matches(self) -> None:
        self.book(Location.HONGKONG, Location.STOCKHOLM)
        response = self.get(q="zürich")
        assert response.context["cargos"] == []
        self.assertContains(response, "No cargo matches “zürich”.")

    def test_says_when_there_is_no_cargo(self) -> None:
        self.assertContains(self.get(), "No cargo has been booked yet.")

    def test_pages_through_the_cargos(self) -> None:
        booked = [self.book(Location.TOKYO, Location.STOCKHOLM) for _ in range(27)]
        first_page = self.get()
        assert len(first_page.context["cargos"]) == 25
        # Paged without counting every cargo: the page says where it is, not of what.
        self.assertContains(first_page, "Page 1")
        self.assertContains(first_page, f'href="{self.url}?page=2"')
        assert self.listed(page=2) == booked[1::-1]
        assert "?page=3" not in self.get(page=2).content.decode()
        past_the_end = self.get(page=99)
        assert past_the_end.context["cargos"] == []
        self.assertContains(past_the_end, "No cargo on page 99.")
        self.assertContains(past_the_end, f'href="{self.url}?page=98"')
        assert len(self.listed(page="nonsense")) == 25

    def test_links_keep_the_datetime_already_entered(self) -> None:
        tracking_id = self.book(Location.HONGKONG, Location.STOCKHOLM)
        response = self.get(at="2024-03-01 09:00")
        self.assertContains(
            response, f"?tracking_id={tracking_id}&amp;at=2024-03-01+09%3A00"
        )


class TestState(AdminTestCase):
    def test_shows_every_field_at_the_instant(self) -> None:
        tracking_id = self.voyage()
        # Between the unloading in New York (12:00) and the loading onto V2 (13:00).
        response = self.get(tracking_id=tracking_id, at="2024-03-01T12:30:00Z")
        assert response.status_code == 200
        fields = {field.key: field.value for field in response.context["fields"]}
        assert fields == {
            "origin": "Hong Kong (HONGKONG)",
            "destination": "Stockholm (STOCKHOLM)",
            "arrival_deadline": DEADLINE,
            "routing_status": "Routed",
            "transport_status": "In port",
            "is_misdirected": False,
            "estimated_time_of_arrival": START + HOUR + timedelta(weeks=1),
            "next_expected_activity": "Load at New York (NEWYORK) onto voyage V2",
            "last_known_location": "New York (NEWYORK)",
            "current_voyage_number": None,
            "itinerary": "Hong Kong (HONGKONG) → New York (NEWYORK) on V1, "
            "New York (NEWYORK) → Stockholm (STOCKHOLM) on V2",
        }
        link = f"{self.url}?tracking_id={tracking_id}&amp;version="
        booked = f'<a href="{link}1">v1</a>, 2024-03-01 08:00:00 +00:00, Booked'
        routed = f'<a href="{link}2">v2</a>, 2024-03-01 09:00:00 +00:00, Route assigned'
        unloaded = (
            f'<a href="{link}5">v5</a>, 2024-03-01 12:00:00 +00:00, Handling: unloaded'
        )
        for label, value, since in [
            ("Origin", "Hong Kong (HONGKONG)", booked),
            ("Destination", "Stockholm (STOCKHOLM)", booked),
            ("Arrival deadline", "2024-03-22 08:00:00 +00:00", booked),
            ("Routing status", "Routed", routed),
            ("Transport status", "In port", unloaded),
            ("Misdirected", "No", booked),
            ("Estimated time of arrival", "2024-03-08 09:00:00 +00:00", routed),
            (
                "Next expected activity",
                "Load at New York (NEWYORK) onto voyage V2",
                unloaded,
            ),
            ("Last known location", "New York (NEWYORK)", unloaded),
            ("Current voyage", "—", unloaded),
        ]:
            html = response.content.decode()
            cell = f'<th scope="row">{label}</th><td>{value}<span class="ct-since">'
            assert cell in html, label
            start = html.index(cell) + len(cell)
            shown = re.sub(
                r"<time[^>]*>|</time>", "", html[start : html.index("</span>", start)]
            )
            assert shown == f" — since {since}", (label, shown)
        for code in ["ROUTED", "IN_PORT", "LOAD at", ">NEWYORK<", "HandlingEvent"]:
            self.assertNotContains(response, code)

    def test_shows_the_itinerary_legs(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id)
        for row in [
            "<tr><td>1</td><td>Hong Kong (HONGKONG)</td><td>New York (NEWYORK)</td>"
            "<td>V1</td></tr>",
            "<tr><td>2</td><td>New York (NEWYORK)</td><td>Stockholm (STOCKHOLM)</td>"
            "<td>V2</td></tr>",
        ]:
            self.assertContains(response, row, html=True)
        booked = self.get(tracking_id=tracking_id, version=1)
        self.assertContains(booked, "No route assigned yet.")

    def test_shows_the_version_timestamp_and_name_of_the_last_applied_event(
        self,
    ) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T12:30:00Z")
        event = response.context["visit"].event
        assert (event.version, event.timestamp) == (5, START + 4 * HOUR)
        assert event.name == "HandlingEventRegistered"
        self.assertContains(response, "Version <strong>5</strong> of 8")
        self.assertContains(
            response, '<strong class="ct-event-title">Handling: unloaded</strong>'
        )
        self.assertContains(response, "at 2024-03-01 12:00:00 +00:00")
        self.assertContains(response, "Unloaded at New York (NEWYORK) from voyage V1")

    def test_echoes_the_instant_in_local_time_and_utc(self) -> None:
        tracking_id = self.voyage()
        with override_settings(TIME_ZONE="Asia/Tokyo"):
            response = self.get(tracking_id=tracking_id, at="2024-03-01T12:30:05Z")
        assert response.context["visit"].instant == datetime(
            2024, 3, 1, 12, 30, 5, tzinfo=UTC
        )
        self.assertContains(response, "Asia/Tokyo (UTC+09:00)")
        self.assertContains(response, "2024-03-01 21:30:05 +09:00")
        self.assertContains(
            response, '<dd class="ct-utc">2024-03-01 12:30:05 +00:00</dd>'
        )
        self.assertContains(response, "(2024-03-01 12:00:00 +00:00 UTC)")

    def test_shows_a_time_once_where_local_time_is_utc(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T21:30:05+09:00")
        self.assertContains(response, "UTC (UTC+00:00)")
        self.assertNotContains(response, 'class="ct-utc"')
        self.assertNotContains(response, "+00:00 UTC)")
        self.assertContains(response, "2024-03-01 12:30:05 +00:00")
        booked_early = self.get(tracking_id=tracking_id, at="2024-03-01T07:00Z")
        self.assertContains(
            booked_early,
            "did not exist yet at 2024-03-01 07:00:00 +00:00. It was booked at "
            "2024-03-01 08:00:00 +00:00.",
            status_code=404,
        )

    def test_the_boundary_is_inclusive_to_the_microsecond(self) -> None:
        tracking_id = self.voyage()
        at_four = START + 3 * HOUR
        assert self.current(self.get(tracking_id=tracking_id, at=at_four)) == 4
        before = (at_four - MICROSECOND).isoformat()
        response = self.get(tracking_id=tracking_id, at=before)
        assert self.current(response) == 3
        self.assertContains(response, "2024-03-01 10:59:59.999999 +00:00")

    def test_accepts_seconds_and_microseconds_with_or_without_an_offset(
        self,
    ) -> None:
        tracking_id = self.voyage()
        for text, version in [
            ("2024-03-01 11:00", 4),
            ("2024-03-01T10:59:59", 3),
            ("2024-03-01T10:59:59.999999", 3),
            ("2024-03-01T11:00:00.000000", 4),
            ("2024-03-01T10:59:59.9999999Z", 3),
            ("2024-03-01T20:00:00+09:00", 4),
            # An unescaped "+" in a query string arrives as a space.
            ("2024-03-01T20:00:00 09:00", 4),
            ("2024-03-01T05:59:59.999999-05:00", 3),
            ("  2024-03-01T11:00Z  ", 4),
        ]:
            response = self.get(tracking_id=tracking_id, at=text)
            assert response.status_code == 200, (text, response.content)
            assert self.current(response) == version, text

    def test_now_is_the_default_and_a_shortcut(self) -> None:
        tracking_id = self.voyage()
        for params in [{}, {"at": "now"}, {"at": " NOW "}, {"at": ""}]:
            response = self.get(tracking_id=tracking_id, **params)
            assert self.current(response) == 8, params
            self.assertContains(response, "(now)")
        # The Now button submits a form of its own: ?tracking_id=…&at=now, once.
        response = self.get(tracking_id=tracking_id, at="2024-03-01 09:00")
        self.assertContains(
            response,
            f'<form id="ct-now-form" method="get" action="{self.url}" hidden>'
            f'<input type="hidden" name="tracking_id" value="{tracking_id}">'
            '<input type="hidden" name="at" value="now"></form>',
            html=True,
        )
        self.assertContains(response, 'form="ct-now-form"')
        assert response.content.count(b'name="at"') == 3  # Typed, Now, compare.

    def test_a_version_shows_the_cargo_after_that_event(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=3)
        assert self.current(response) == 3
        assert response.context["visit"].instant == START + 2 * HOUR
        self.assertContains(response, 'value="2024-03-01T10:00:00"')
        fields = {field.key: field.value for field in response.context["fields"]}
        assert fields["transport_status"] == "In port"
        assert fields["last_known_location"] == "Hong Kong (HONGKONG)"

    def test_the_page_extends_the_admins_base_site(self) -> None:
        response = self.get(tracking_id=self.voyage())
        names = [template.name for template in response.templates]
        assert names[0] == "cargotime/admin/time_travel.html"
        assert "admin/base_site.html" in names
        self.assertContains(response, '<div class="breadcrumbs">')
        self.assertContains(response, "<h1>Time travel</h1>")


class TestTimeline(AdminTestCase):
    def test_lists_every_event_with_a_phrase_and_a_permalink(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=4)
        assert self.versions(response) == list(range(1, 9))
        phrases = [row.entry.phrase for row in response.context["rows"]]
        assert phrases == [
            "Booked from Hong Kong (HONGKONG) to Stockholm (STOCKHOLM)",
            "Route assigned: Hong Kong (HONGKONG) → New York (NEWYORK) on V1, "
            "New York (NEWYORK) → Stockholm (STOCKHOLM) on V2",
            "Received at Hong Kong (HONGKONG)",
            "Loaded at Hong Kong (HONGKONG) onto voyage V1",
            "Unloaded at New York (NEWYORK) from voyage V1",
            "Loaded at New York (NEWYORK) onto voyage V2",
            "Unloaded at Stockholm (STOCKHOLM) from voyage V2",
            "Claimed at Stockholm (STOCKHOLM)",
        ]
        for version in range(1, 9):
            self.assertContains(
                response,
                f'href="{self.url}?tracking_id={tracking_id}&amp;version={version}"',
            )
        self.assertContains(
            response, '<td data-label="Event" class="ct-event-title">Booked</td>'
        )
        self.assertContains(response, "<title>Version 3 · Handling: received · ")
        self.assertNotContains(response, "<code>")
        self.assertContains(response, "2024-03-01 15:00:00 +00:00")

    def test_highlights_the_current_event(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T11:30Z")
        current = [row.entry.version for row in response.context["rows"] if row.current]
        assert current == [4]
        self.assertContains(response, 'aria-current="true"', count=1)
        self.assertContains(response, '<span class="ct-badge">shown</span>', count=1)

    def test_previous_and_next_step_one_event(self) -> None:
        tracking_id = self.voyage()
        link = f"{self.url}?tracking_id={tracking_id}&amp;version="
        response = self.get(tracking_id=tracking_id, at="2024-03-01T11:30Z")
        self.assertContains(response, f'rel="prev" href="{link}3"')
        self.assertContains(response, f'rel="next" href="{link}5"')
        first = self.get(tracking_id=tracking_id, version=1)
        self.assertNotContains(first, 'rel="prev"')
        self.assertContains(first, f'rel="next" href="{link}2"')
        last = self.get(tracking_id=tracking_id, version=8)
        self.assertContains(last, f'rel="prev" href="{link}7"')
        self.assertNotContains(last, 'rel="next"')

    def test_draws_the_events_on_a_strip_with_the_instant_marked(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T11:30Z")
        strip = response.context["strip"]
        assert [mark.entry.version for mark in strip.marks] == [1, 2, 3, 5, 6, 7, 8, 4]
        assert [mark.current for mark in strip.marks].count(True) == 1
        # From 08:00 to 15:00, 11:30 is half way along the strip's 2%..98%.
        assert strip.instant_x == "50.00%"
        assert strip.marks[0].x == "2.00%" and strip.marks[-2].x == "98.00%"
        self.assertContains(response, '<figure class="ct-strip">', count=1)
        self.assertContains(response, 'class="ct-mark ct-mark-current"', count=1)
        self.assertContains(response, 'class="ct-mark"', count=7)

    def test_pages_a_long_history_by_version(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 120)
        response = self.get(tracking_id=tracking_id, version=60)
        assert self.versions(response) == list(range(35, 85))
        assert [row.current for row in response.context["rows"]].count(True) == 1
        base = f"{self.url}?tracking_id={tracking_id}&amp;version=60"
        self.assertContains(response, f'href="{base}&amp;events_before=35#timeline"')
        self.assertContains(response, f'href="{base}&amp;events_after=84#timeline"')

        later = self.get(tracking_id=tracking_id, version=60, events_after=84)
        assert self.versions(later) == list(range(85, 121))
        assert not any(row.current for row in later.context["rows"])
        assert later.context["later_href"] == ""
        # The strip still shows where the cargo is.
        assert [mark.entry.version for mark in later.context["strip"].marks][-1] == 60

        earlier = self.get(tracking_id=tracking_id, version=60, events_before=35)
        assert self.versions(earlier) == list(range(1, 35))
        assert earlier.context["earlier_href"] == ""
        self.assertContains(earlier, "events_after=34#timeline")

    def test_the_first_page_near_the_end_is_full(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 120)
        response = self.get(tracking_id=tracking_id)
        assert self.versions(response) == list(range(71, 121))
        assert self.versions(self.get(tracking_id=tracking_id, version=2)) == list(
            range(1, 51)
        )


class TestWhatChanged(AdminTestCase):
    def test_shows_the_fields_the_last_event_changed(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=5)
        changes = {
            change.key: (change.before, change.after)
            for change in response.context["visit"].changes
        }
        assert changes == {
            "transport_status": ("On board carrier", "In port"),
            "next_expected_activity": (
                "Unload at New York (NEWYORK) from voyage V1",
                "Load at New York (NEWYORK) onto voyage V2",
            ),
            "last_known_location": ("Hong Kong (HONGKONG)", "New York (NEWYORK)"),
            "current_voyage_number": ("V1", None),
        }
        self.assertContains(response, "What version 5 changed")
        self.assertContains(
            response,
            '<td class="ct-before">On board carrier</td>'
            '<td class="ct-after">In port</td>',
        )

    def test_the_booking_makes_every_field_new(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=1)
        keys = [change.key for change in response.context["visit"].changes]
        assert keys == BOOKED_FIELDS
        self.assertContains(response, "The booking: every field is new.")


class TestCompare(AdminTestCase):
    def test_shows_the_fields_and_events_between_two_instants(self) -> None:
        tracking_id = self.voyage()
        response = self.get(
            tracking_id=tracking_id,
            at="2024-03-01T15:00Z",
            compare_at="2024-03-01T09:30Z",
        )
        comparison = response.context["comparison"]
        assert (comparison.earlier_version, comparison.later_version) == (2, 8)
        changes = {
            change.key: (change.before, change.after) for change in comparison.changes
        }
        assert changes["transport_status"] == ("Not received", "Claimed")
        assert changes["last_known_location"] == (None, "Stockholm (STOCKHOLM)")
        self.assertContains(
            response,
            '<td class="ct-before">Not received</td><td class="ct-after">Claimed</td>',
        )
        self.assertContains(
            response, '<td class="ct-event-title">Handling: claimed</td>'
        )
        assert "origin" not in changes
        assert [row.entry.version for row in response.context["comparison_rows"]] == [
            3,
            4,
            5,
            6,
            7,
            8,
        ]
        self.assertContains(response, "Events between them")
        self.assertContains(response, 'value="2024-03-01T09:30Z"')

    def test_takes_the_instants_either_way_round(self) -> None:
        tracking_id = self.voyage()
        response = self.get(
            tracking_id=tracking_id, version=2, compare_at="2024-03-01T15:00Z"
        )
        comparison = response.context["comparison"]
        assert (comparison.earlier_version, comparison.later_version) == (2, 8)
        assert comparison.earlier == START + HOUR

    def test_before_the_booking_everything_is_new(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=2, compare_at="2020-01-01")
        comparison = response.context["comparison"]
        assert comparison.earlier_version is None
        assert [row.entry.version for row in response.context["comparison_rows"]] == [
            1,
            2,
        ]
        self.assertContains(response, "not booked yet")

    def test_no_difference_says_so(self) -> None:
        tracking_id = self.voyage()
        response = self.get(
            tracking_id=tracking_id,
            at="2024-03-01T15:00Z",
            compare_at="2024-03-01T16:00Z",
        )
        self.assertContains(response, "No field differs between these instants.")
        self.assertContains(response, "No event happened between these instants.")

    def test_a_long_run_of_events_links_to_the_rest(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 120)
        response = self.get(
            tracking_id=tracking_id, version=120, compare_at="2020-01-01"
        )
        assert len(response.context["comparison_rows"]) == 50
        assert "events_after=50" in response.context["comparison_more_href"]


class TestErrors(AdminTestCase):
    def assert_form_error(self, params: dict[str, Any], field: str, text: str) -> None:
        response = self.get(**params)
        assert response.status_code == 400, (params, response.status_code)
        errors = response.context["form"].errors
        assert field in errors, (params, errors)
        assert text in " ".join(errors[field]), errors
        self.assertContains(response, "Please correct the", status_code=400)
        # Shown on the page, beside the form.
        self.assertContains(response, escape(errors[field][0]), status_code=400)

    def test_a_malformed_tracking_id(self) -> None:
        for value in ["nope", "-1234", "1234x", "' OR 1=1 --", "9" * 37]:
            self.assert_form_error(
                {"tracking_id": value}, "tracking_id", "Enter a valid tracking ID"
            )

    def test_a_malformed_datetime(self) -> None:
        tracking_id = self.voyage()
        for value in [
            "yesterday",
            "2024-13-01",
            "2024-03-01T25:00",
            "2024-03-01T10:00+25:00",
            "1",
        ]:
            self.assert_form_error(
                {"tracking_id": tracking_id, "at": value},
                "at",
                "is not a date and time",
            )

    def test_an_instant_beyond_the_calendar(self) -> None:
        tracking_id = self.voyage()
        for value in ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"]:
            self.assert_form_error(
                {"tracking_id": tracking_id, "at": value}, "at", "outside the range"
            )

    def test_a_malformed_version_or_page(self) -> None:
        tracking_id = self.voyage()
        self.assert_form_error(
            {"tracking_id": tracking_id, "version": "0"},
            "version",
            "greater than or equal to 1",
        )
        self.assert_form_error(
            {"tracking_id": tracking_id, "version": "two"}, "version", "whole number"
        )
        self.assert_form_error(
            {"tracking_id": tracking_id, "events_after": "-1"},
            "events_after",
            "greater than or equal to 0",
        )
        self.assert_form_error(
            {"compare_at": "soon"}, "compare_at", "is not a date and time"
        )
        self.assert_form_error(
            {"tracking_id": tracking_id, "format": "xml"},
            "format",
            "Select a valid choice",
        )
        self.assert_form_error(
            {"version": "2"}, "tracking_id", "Enter the tracking ID of a cargo"
        )

    def test_both_a_datetime_and_a_version(self) -> None:
        tracking_id = self.voyage()
        self.assert_form_error(
            {"tracking_id": tracking_id, "version": 2, "at": "2024-03-01T10:00Z"},
            "__all__",
            "either a date and time or a version",
        )
        self.assert_form_error(
            {"tracking_id": tracking_id, "events_after": 2, "events_before": 5},
            "__all__",
            "either after or before",
        )

    def test_an_unknown_tracking_id(self) -> None:
        self.voyage()
        unknown = uuid4()
        response = self.get(tracking_id=unknown)
        self.assertContains(
            response, f"No cargo has the tracking ID {unknown}.", status_code=404
        )

    def test_an_unknown_version(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, version=9)
        self.assertContains(
            response,
            "has no version 9: its history runs from version 1 to 8.",
            status_code=404,
        )

    def test_an_instant_before_the_cargo_existed(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T07:59:59.999999Z")
        self.assertContains(
            response,
            "did not exist yet at 2024-03-01 07:59:59.999999 +00:00",
            status_code=404,
        )
        self.assertContains(
            response, "It was booked at 2024-03-01 08:00:00 +00:00", status_code=404
        )
        self.assertContains(
            response,
            f'<a href="{self.url}?tracking_id={tracking_id}&amp;version=1">'
            "See its first event</a>",
            status_code=404,
        )

    def test_no_input_is_a_server_error(self) -> None:
        tracking_id = self.voyage()
        nasty = [
            "",
            " ",
            "\x00",
            "9" * 400,
            "-1",
            "1e9",
            "%",
            "<script>",
            "NaN",
            "now now",
            "T",
            "Z",
        ]
        for field in [
            "tracking_id",
            "at",
            "version",
            "compare_at",
            "events_after",
            "events_before",
            "format",
            "q",
            "page",
        ]:
            for value in nasty:
                params = {"tracking_id": str(tracking_id), field: value}
                response = self.client.get(self.url, params)
                assert response.status_code < 500, (field, value)
                json_response = self.client.get(self.url, {**params, "format": "json"})
                assert json_response.status_code < 500, (field, value)
        self.assertNotContains(self.get(q="<script>"), "<script>")


class TestJson(AdminTestCase):
    def test_returns_the_keys_of_the_design(self) -> None:
        tracking_id = self.voyage()
        response, data = self.get_json(tracking_id=tracking_id, at="2024-03-01T12:30Z")
        assert response.status_code == 200
        assert set(data) == JSON_KEYS
        assert data == {
            "tracking_id": str(tracking_id),
            "version": 5,
            "origin": "HONGKONG",
            "destination": "STOCKHOLM",
            "arrival_deadline": "2024-03-22T08:00:00+00:00",
            "transport_status": "IN_PORT",
            "routing_status": "ROUTED",
            "is_misdirected": False,
            "estimated_time_of_arrival": "2024-03-08T09:00:00+00:00",
            "next_expected_activity": ["LOAD", "NEWYORK", "V2"],
            "last_known_location": "NEWYORK",
            "current_voyage_number": None,
            "itinerary": {
                "origin": "HONGKONG",
                "destination": "STOCKHOLM",
                "legs": [
                    {
                        "origin": "HONGKONG",
                        "destination": "NEWYORK",
                        "voyage_number": "V1",
                    },
                    {
                        "origin": "NEWYORK",
                        "destination": "STOCKHOLM",
                        "voyage_number": "V2",
                    },
                ],
            },
            "events": [
                {
                    "version": version,
                    "timestamp": (START + (version - 1) * HOUR).isoformat(),
                    "type": name,
                }
                for version, name in enumerate(
                    ["BookingStarted", "RouteAssigned"]
                    + ["HandlingEventRegistered"] * 6,
                    start=1,
                )
            ],
        }

    def test_before_routing_the_itinerary_is_null(self) -> None:
        tracking_id = self.voyage()
        _, data = self.get_json(tracking_id=tracking_id, version=1)
        assert data["itinerary"] is None
        assert data["estimated_time_of_arrival"] is None
        assert data["next_expected_activity"] is None
        assert data["version"] == 1

    def test_datetimes_carry_their_offset(self) -> None:
        tracking_id = self.voyage()
        _, data = self.get_json(tracking_id=tracking_id)
        values = [data["arrival_deadline"], data["estimated_time_of_arrival"]]
        values += [event["timestamp"] for event in data["events"]]
        for value in values:
            assert datetime.fromisoformat(value).utcoffset() is not None, value

    def test_errors_come_back_as_json(self) -> None:
        tracking_id = self.voyage()
        response, data = self.get_json(tracking_id="nope")
        assert response.status_code == 400
        assert list(data) == ["errors"]
        assert "tracking_id" in data["errors"]
        response, data = self.get_json(tracking_id=tracking_id, at="soon")
        assert response.status_code == 400
        assert "is not a date and time" in data["errors"]["at"][0]
        response, data = self.get_json()
        assert response.status_code == 400
        assert data["errors"]["tracking_id"] == ["Enter the tracking ID of a cargo."]
        response, data = self.get_json(tracking_id=uuid4())
        assert response.status_code == 404
        assert list(data) == ["error"]
        assert data["error"].startswith("No cargo has the tracking ID")
        response, data = self.get_json(tracking_id=tracking_id, at="2024-03-01T07:00Z")
        assert response.status_code == 404
        assert "It was booked at 2024-03-01 08:00:00 +00:00" in data["error"]
        response, data = self.get_json(tracking_id=tracking_id, version=99)
        assert response.status_code == 404
        assert "has no version 99" in data["error"]

    def test_a_long_timeline_is_paged_with_link_headers(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 120)
        response, data = self.get_json(tracking_id=tracking_id, version=60)
        assert [event["version"] for event in data["events"]] == list(range(35, 85))
        assert 'events_before=35>; rel="prev"' in response["Link"]
        assert 'events_after=84>; rel="next"' in response["Link"]
        response, data = self.get_json(
            tracking_id=tracking_id, version=60, events_after=84
        )
        assert [event["version"] for event in data["events"]] == list(range(85, 121))
        assert 'rel="next"' not in response["Link"]
        short, _ = self.get_json(tracking_id=self.voyage())
        assert not short.has_header("Link")


@override_settings(TIME_ZONE="Asia/Tokyo")
class TestTimeZones(AdminTestCase):
    def test_a_naive_datetime_is_read_in_the_current_time_zone(self) -> None:
        tracking_id = self.voyage()
        # 08:00 UTC is 17:00 in Tokyo.
        response = self.get(tracking_id=tracking_id, at="2024-03-01 17:00")
        assert self.current(response) == 1
        assert response.context["visit"].instant == START
        self.assertContains(response, "Asia/Tokyo (UTC+09:00)")
        self.assertContains(response, "2024-03-01 17:00:00 +09:00")
        self.assertContains(
            response, '<dd class="ct-utc">2024-03-01 08:00:00 +00:00</dd>'
        )
        response = self.get(tracking_id=tracking_id, at="2024-03-01T16:59:59.999999")
        self.assertContains(
            response,
            "did not exist yet at 2024-03-01 16:59:59.999999 +09:00",
            status_code=404,
        )
        self.assertContains(
            response, "It was booked at 2024-03-01 17:00:00 +09:00", status_code=404
        )

    def test_an_offset_wins_over_the_time_zone(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T11:00:00Z")
        assert self.current(response) == 4
        self.assertContains(response, "2024-03-01 20:00:00 +09:00")

    def test_json_reads_naive_datetimes_in_the_time_zone_too(self) -> None:
        tracking_id = self.voyage()
        _, data = self.get_json(
            tracking_id=tracking_id, at="2024-03-01 20:00:00.000000"
        )
        assert data["version"] == 4
        response, data = self.get_json(tracking_id=tracking_id, at="2024-03-01 16:59")
        assert response.status_code == 404

    def test_the_staff_members_active_time_zone_wins(self) -> None:
        tracking_id = self.voyage()
        with timezone.override("America/New_York"):
            # 08:00 UTC is 03:00 in New York (EST, UTC-05:00).
            response = self.get(tracking_id=tracking_id, at="2024-03-01 03:00")
        assert self.current(response) == 1
        self.assertContains(response, "America/New_York (UTC-05:00)")

    def test_the_cargo_list_shows_local_booking_times(self) -> None:
        self.voyage()
        response = self.get()
        self.assertContains(response, "2024-03-01 17:00:00 +09:00")
        self.assertContains(response, "Booked (Asia/Tokyo)")


class TestQueries(AdminTestCase):
    """Queries per page stay flat as the history grows, and none of them writes."""

    VARIANTS: list[dict[str, Any]] = [
        {},
        {"version": 2},
        {"at": "now"},
        {"at": "2024-03-01T08:00:00.000001Z"},
        {"format": "json"},
        {"format": "json", "version": 3},
        {"version": 3, "compare_at": "2020-01-01"},
        {"compare_at": "2024-03-01T09:00Z"},
        {"version": 2, "events_after": 1},
        {"version": 3, "events_before": 3},
    ]

    def count(self, params: dict[str, Any]) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = self.get(**params)
        assert response.status_code == 200, (params, response.content[:500])
        return len(queries)

    def test_a_cargo_with_100_events_costs_what_one_with_3_costs(self) -> None:
        # Both start at START, so that each variant's instant finds both booked.
        short = book_long_history(self.app, ManualClock(), 3)
        long = book_long_history(self.app, ManualClock(), 100)
        for params in self.VARIANTS:
            expected = self.count({"tracking_id": short, **params})
            with self.assertNumQueries(expected):
                response = self.get(tracking_id=long, **params)
            assert response.status_code == 200

    def test_staff_with_the_permission_pay_the_same_per_page(self) -> None:
        # Both start at START, so that each variant's instant finds both booked.
        short = book_long_history(self.app, ManualClock(), 3)
        long = book_long_history(self.app, ManualClock(), 100)
        self.client.force_login(make_user("clerk", history=True))
        expected = self.count({"tracking_id": short})
        with self.assertNumQueries(expected):
            self.get(tracking_id=long)

    def test_the_cargo_list_costs_the_same_for_3_or_30_cargos(self) -> None:
        for _ in range(3):
            book_long_history(self.app, self.clock, 2)
        few = self.count({})
        few_search = self.count({"q": "tokyo"})
        for _ in range(27):
            book_long_history(self.app, self.clock, 5)
        with self.assertNumQueries(few):
            self.get()
        with self.assertNumQueries(few_search):
            self.get(q="tokyo")

    def test_viewing_never_writes(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 100)
        voyage = self.voyage()
        events = StoredEventRecord.objects.count()
        index = EventTimestamp.objects.count()
        with CaptureQueriesContext(connection) as queries:
            for params in self.VARIANTS:
                self.get(tracking_id=tracking_id, **params)
                self.get(tracking_id=voyage, **params)
            self.get(q="hong")
            self.get(tracking_id=voyage, at="2020-01-01")
            self.get(tracking_id=uuid4())
            self.get(tracking_id="nope")
        writes = [
            query["sql"]
            for query in queries
            if query["sql"].lstrip().split()[0].upper()
            in {"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"}
        ]
        assert writes == []
        assert len(queries) > 0
        assert StoredEventRecord.objects.count() == events
        assert EventTimestamp.objects.count() == index


class TestEventTimestampAdmin(AdminTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.tracking_id = self.voyage()
        self.changelist = reverse("admin:cargotime_eventtimestamp_changelist")

    def test_lists_the_index_rows_linking_to_the_time_travel_page(self) -> None:
        response = self.client.get(self.changelist)
        assert response.status_code == 200
        for version in range(1, 9):
            self.assertContains(
                response,
                f'<a href="{self.url}?tracking_id={self.tracking_id}'
                f'&amp;version={version}">'
                f"See the cargo at version {version}</a>",
                html=True,
            )
        # To the microsecond, and each tracking ID narrows the list to its cargo.
        self.assertContains(
            response,
            '<td class="field-instant">2024-03-01 15:00:00 +00:00</td>',
            html=True,
        )
        self.assertContains(
            response,
            f'<a href="?q={self.tracking_id}" title="Only this cargo">'
            f"{self.tracking_id}</a>",
            count=8,
            html=True,
        )

    def test_is_read_only(self) -> None:
        row = EventTimestamp.objects.get(originator_version=1)
        response = self.client.get(self.changelist)
        self.assertNotContains(response, reverse("admin:cargotime_eventtimestamp_add"))
        self.assertNotContains(response, 'name="action"')
        assert (
            self.client.get(reverse("admin:cargotime_eventtimestamp_add")).status_code
            == 403
        )
        change = reverse("admin:cargotime_eventtimestamp_change", args=[row.pk])
        assert self.client.post(change, {"originator_version": 9}).status_code == 403
        delete = reverse("admin:cargotime_eventtimestamp_delete", args=[row.pk])
        assert self.client.post(delete, {"post": "yes"}).status_code == 403
        row.refresh_from_db()
        assert row.originator_version == 1
        assert EventTimestamp.objects.count() == 8

    def test_filters_by_date(self) -> None:
        self.clock.advance(timedelta(days=3))
        later = self.app.book_new_cargo(Location.TOKYO, Location.STOCKHOLM, DEADLINE)
        response = self.client.get(self.changelist)
        self.assertContains(response, "By timestamp")
        day = self.client.get(
            self.changelist,
            # As the filter's own links send them: local midnights, with the offset.
            {
                "timestamp__gte": "2024-03-01 00:00:00+09:00",
                "timestamp__lt": "2024-03-02 00:00:00+09:00",
            },
        )
        assert {row.originator_id for row in day.context["cl"].result_list} == {
            self.tracking_id
        }
        drill = self.client.get(
            self.changelist,
            {"timestamp__year": "2024", "timestamp__month": "3", "timestamp__day": "4"},
        )
        assert [row.originator_id for row in drill.context["cl"].result_list] == [later]

    def test_searches_by_tracking_id(self) -> None:
        other = self.app.book_new_cargo(Location.TOKYO, Location.STOCKHOLM, DEADLINE)
        for term, expected in [
            (str(other), {other}),
            (str(other)[:8].upper(), {other}),
            ("STOCKHOLM", set()),
            ("", {other, self.tracking_id}),
        ]:
            response = self.client.get(self.changelist, {"q": term})
            assert response.status_code == 200
            found = {row.originator_id for row in response.context["cl"].result_list}
            assert found == expected, term

    def test_staff_with_the_history_permission_may_view_it(self) -> None:
        self.client.force_login(make_user("clerk", history=True))
        assert self.client.get(self.changelist).status_code == 200
        self.client.force_login(make_user("stranger"))
        assert self.client.get(self.changelist).status_code == 403


@override_settings(CARGOTIME={"DATABASE_ALIAS": "secondary"})
class TestAnotherDatabase(TestCase):
    databases = {"default", "secondary"}

    def test_reads_the_cargos_where_the_application_keeps_them(self) -> None:
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        tracking_id = get_application().book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        url = reverse("admin:cargotime_time_travel")
        listed = self.client.get(url)
        assert [row.tracking_id for row, _ in listed.context["cargos"]] == [tracking_id]
        response = self.client.get(
            url, {"tracking_id": str(tracking_id), "format": "json"}
        )
        assert response.status_code == 200
        assert response.json()["version"] == 1
        assert not EventTimestamp.objects.using("default").exists()
        assert EventTimestamp.objects.using("secondary").count() == 1


class TestJsonQueries(AdminTestCase):
    def test_json_reads_only_what_it_returns(self) -> None:
        tracking_id = book_long_history(self.app, ManualClock(), 30)
        with CaptureQueriesContext(connection) as queries:
            response = self.get(tracking_id=tracking_id, at="now", format="json")
        assert response.status_code == 200
        assert response.json()["version"] == 30
        # Session, user, and one statement: the history's ends, the cargo, its event
        # and the timeline page; no state before, which only the page shows.
        assert len(queries) == 3, [query["sql"] for query in queries]


class TestInstantInputs(AdminTestCase):
    """The date and time boxes: the admin's calendar and clock, typed text as typed."""

    def test_each_instant_input_has_the_admins_calendar_and_clock(self) -> None:
        tracking_id = self.voyage()
        for response in [self.get(), self.get(tracking_id=tracking_id)]:
            # As an admin change form includes a DateTimeField's media.
            self.assertContains(response, f'<script src="{reverse("admin:jsi18n")}">')
            for script in [
                "admin/js/core.js",
                "admin/js/calendar.js",
                "admin/js/admin/DateTimeShortcuts.js",
                "cargotime/admin/instant_input.js",
            ]:
                self.assertContains(response, f'<script src="/static/{script}">')
            self.assertContains(response, 'id="id_at_date" class="vDateField"')
            self.assertContains(response, 'id="id_at_time" class="vTimeField"')
        # The compare box too.
        self.assertContains(response, 'id="id_compare_at_date" class="vDateField"')
        self.assertContains(response, 'id="id_compare_at_time" class="vTimeField"')

    def test_the_calendar_and_clock_start_at_the_instant_shown(self) -> None:
        tracking_id = self.voyage()
        with override_settings(TIME_ZONE="Asia/Tokyo"):
            response = self.get(tracking_id=tracking_id, version=3)
        # 10:00 UTC is 19:00 in Tokyo; the text box shows the event's time too.
        self.assertContains(response, 'id="id_at_date" class="vDateField" size="10"')
        self.assertContains(response, 'value="2024-03-01"')
        self.assertContains(response, 'value="19:00:00"')
        self.assertContains(response, 'name="at" value="2024-03-01T19:00:00"')

    def test_the_picked_boxes_submit_nothing_themselves(self) -> None:
        # Without JavaScript, only the text box "at" is sent: the pair has no name.
        response = self.get(tracking_id=self.voyage())
        content = response.content.decode()
        for box in ["id_at_date", "id_at_time"]:
            tag = content[content.index(f'id="{box}"') - 30 :].split(">", 1)[0]
            assert "name=" not in tag, tag
        self.assertContains(response, 'data-ct-instant-for="id_at" hidden')

    def test_echoes_the_typed_text_with_its_offset(self) -> None:
        tracking_id = self.voyage()
        for text in [
            "2024-03-01T21:30:05+09:00",
            "2024-03-01T12:30Z",
            "2024-03-01 12:30",
            "2024-03-01T12:30:00.250000",
        ]:
            response = self.get(tracking_id=tracking_id, at=text)
            assert self.current(response) == 5, text
            self.assertContains(response, f'name="at" value="{text}"')
        # The compare box carries the typed instant on, as typed.
        self.assertContains(
            response,
            '<input type="hidden" name="at" value="2024-03-01T12:30:00.250000">',
        )

    def test_reads_the_projects_datetime_input_formats(self) -> None:
        tracking_id = self.voyage()
        with override_settings(DATETIME_INPUT_FORMATS=["%d/%m/%Y %H:%M"]):
            response = self.get(tracking_id=tracking_id, at="01/03/2024 11:00")
        assert response.status_code == 200, response.context["form"].errors
        assert self.current(response) == 4
        self.assertContains(response, 'name="at" value="01/03/2024 11:00"')
        # Django's own formats for the language still read: English is month first.
        response = self.get(tracking_id=tracking_id, at="03/01/2024 10:59")
        assert self.current(response) == 3

    def test_times_are_shown_in_seconds_unless_they_have_more(self) -> None:
        tracking_id = self.voyage()
        response = self.get(tracking_id=tracking_id, at="2024-03-01T12:30:05Z")
        self.assertContains(response, "As of 2024-03-01 12:30:05 +00:00")
        self.assertNotContains(response, "12:30:05.000000")
        response = self.get(tracking_id=tracking_id, at="2024-03-01T12:30:05.000250Z")
        self.assertContains(response, "As of 2024-03-01 12:30:05.000250 +00:00")

    def test_now_is_shown_without_microseconds(self) -> None:
        tracking_id = self.voyage()
        for params in [{}, {"at": "now"}]:
            response = self.get(tracking_id=tracking_id, **params)
            heading = response.content.decode().split('id="ct-instant-heading">')[1]
            heading = heading.split("</h2>")[0]
            assert re.fullmatch(
                r"As of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00 \(now\)", heading
            ), heading
            # What is shown is the present, to the microsecond.
            assert response.context["visit"].instant.microsecond == (
                response.context["visit"].instant.microsecond
            )

    def test_the_help_speaks_to_a_clerk_with_an_example_in_their_zone(self) -> None:
        with override_settings(TIME_ZONE="Asia/Tokyo"):
            response = self.get()
        help_text = response.content.decode().split('id="id_at_helptext">')[1]
        help_text = help_text.split("</p>")[0]
        assert "ISO 8601" not in help_text
        assert "calendar" in help_text
        assert "Asia/Tokyo (UTC+09:00)" in help_text
        today = timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date()
        assert f"for example {today.isoformat()} 14:00." in help_text


class TestErrorsKeepTheWork(AdminTestCase):
    def test_a_bad_compare_instant_keeps_the_cargo_and_its_timeline(self) -> None:
        tracking_id = self.voyage()
        response = self.get(
            tracking_id=tracking_id, at="2024-03-01T12:30Z", compare_at="soon"
        )
        # The page answers what it was asked; the mistake is a remark beside a box.
        assert response.status_code == 200
        assert self.current(response) == 5
        assert self.versions(response) == list(range(1, 9))
        assert response.context["comparison"] is None
        content = response.content.decode()
        compare_box = content.split('<div class="module ct-compare" id="compare">')[1]
        compare_box = compare_box.split('<div class="module ct-timeline"')[0]
        assert "is not a date and time" in compare_box
        assert 'name="compare_at" value="soon"' in compare_box
        assert 'aria-invalid="true"' in compare_box
        assert 'id="id_compare_at_error"' in compare_box
        self.assertNotContains(response, "Please correct the")
        assert "module ct-state" in content
        assert 'id="timeline"' in content
        # The JSON link leaves the compare instant out: JSON reads none.
        assert "compare_at" not in response.context["json_href"]

    def test_json_still_refuses_a_bad_compare_instant(self) -> None:
        response, data = self.get_json(tracking_id=self.voyage(), compare_at="soon")
        assert response.status_code == 400
        assert "is not a date and time" in data["errors"]["compare_at"][0]

    def test_a_future_instant_says_so_and_shows_the_latest_state(self) -> None:
        tracking_id = self.voyage()
        future = (timezone.now() + timedelta(days=30)).isoformat()
        response = self.get(tracking_id=tracking_id, at=future)
        assert response.status_code == 200
        assert self.current(response) == 8
        self.assertContains(
            response, "This is in the future: showing the latest known state."
        )
        others: list[dict[str, Any]] = [
            {"at": "2024-03-01T16:00Z"},
            {"at": "now"},
            {"version": 8},
        ]
        for params in others:
            self.assertNotContains(
                self.get(tracking_id=tracking_id, **params), "in the future"
            )

    def test_a_tracking_id_prefix_goes_to_the_matching_cargos(self) -> None:
        first = self.voyage()
        self.clock.advance()
        second = book_voyage(self.app, self.clock)
        shared = os.path.commonprefix([str(first), str(second)])
        # Both start so (perhaps with nothing at all): the list, filtered.
        prefix = shared or "0123"
        response = self.get(tracking_id=prefix.upper(), at="2024-03-01 12:30")
        assert response.status_code == 302
        assert response["Location"] == (
            f"{self.url}?q={quote(prefix)}&at=2024-03-01+12%3A30"
        )
        # One cargo starts so: straight to it, with the instant typed.
        unique = str(first)[: len(shared) + 4]
        response = self.get(tracking_id=f" {unique} ", at="2024-03-01 12:30")
        assert response.status_code == 302
        assert response["Location"] == (
            f"{self.url}?tracking_id={first}&at=2024-03-01+12%3A30"
        )
        followed = self.client.get(response["Location"])
        assert self.current(followed) == 5

    def test_the_picker_lists_the_cargos_a_prefix_matches(self) -> None:
        tracking_id = self.voyage()
        prefix = str(tracking_id)[:4]
        response = self.client.get(self.url, {"tracking_id": prefix}, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0].endswith(f"tracking_id={tracking_id}")
        other = "f" if prefix[0] != "f" else "0"
        response = self.client.get(self.url, {"tracking_id": other * 4}, follow=True)
        assert response.status_code == 200
        assert response.context["query"] == other * 4
        self.assertContains(response, f"No cargo matches “{other * 4}”.")

    def test_json_refuses_a_prefix(self) -> None:
        self.voyage()
        response, data = self.get_json(tracking_id="5f0b")
        assert response.status_code == 400
        assert "Enter a valid tracking ID" in data["errors"]["tracking_id"][0]

    def test_a_one_event_cargos_strip_is_labelled_once(self) -> None:
        self.clock.advance()
        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        response = self.get(tracking_id=tracking_id)
        assert response.content.count(b'class="ct-end"') == 1
        response = self.get(tracking_id=self.voyage())
        assert response.content.count(b'class="ct-end"') == 2


class TestForbidden(AdminTestCase):
    def test_staff_without_the_permission_see_an_admin_page_naming_it(self) -> None:
        tracking_id = self.voyage()
        self.client.force_login(make_user("clerk"))
        for params in [{}, {"tracking_id": tracking_id}]:
            response = self.get(**params)
            assert response.status_code == 403
            names = [template.name for template in response.templates]
            assert names[0] == "cargotime/admin/forbidden.html"
            assert "admin/base_site.html" in names
            self.assertContains(response, '<div class="breadcrumbs">', status_code=403)
            self.assertContains(
                response,
                "Cargo time travel | event timestamp | "
                "Can view a cargo as it was at any time",
                status_code=403,
            )
            self.assertContains(
                response, "<code>cargotime.view_cargo_history</code>", status_code=403
            )

    def test_the_event_timestamps_refuse_in_the_same_words(self) -> None:
        self.voyage()
        self.client.force_login(make_user("clerk"))
        response = self.client.get(reverse("admin:cargotime_eventtimestamp_changelist"))
        self.assertContains(
            response, "<code>cargotime.view_cargo_history</code>", status_code=403
        )

    def test_json_is_refused_in_json(self) -> None:
        tracking_id = self.voyage()
        self.client.force_login(make_user("clerk"))
        response, data = self.get_json(tracking_id=tracking_id)
        assert response.status_code == 403
        assert data == {
            "error": "You may not view cargo history: ask for "
            "cargotime.view_cargo_history."
        }


class TestWordsAndMarkers(AdminTestCase):
    """Places, statuses and events read as words; what needs a look stands out."""

    def misdirected(self, deadline: datetime = DEADLINE) -> UUID:
        # Loaded onto V1 in Hong Kong, then unloaded in Tokyo, off its route.
        tracking_id = ship(self.app, 2, clock=self.clock, deadline=deadline)
        self.clock.advance()
        self.app.register_handling_event(tracking_id, "V1", Location.TOKYO, UNLOAD)
        return tracking_id

    def test_a_misdirected_late_cargo_is_marked_with_words_not_colour_alone(
        self,
    ) -> None:
        tracking_id = self.misdirected(deadline=START + HOUR)
        response = self.get(tracking_id=tracking_id)
        self.assertContains(response, '<tr class="ct-field-is_misdirected ct-alert">')
        self.assertContains(
            response,
            '<span class="ct-alert-mark" aria-hidden="true">⚠</span> '
            '<strong class="ct-alert-value">Yes</strong> '
            '<span class="ct-flag">unloaded where its route does not go</span>',
        )
        self.assertContains(
            response, '<tr class="ct-field-estimated_time_of_arrival ct-alert">'
        )
        self.assertContains(
            response, '<span class="ct-flag">late: after the arrival deadline</span>'
        )
        # Before it went astray, and with time to spare, nothing is marked.
        calm = self.get(tracking_id=self.voyage(), version=4)
        self.assertNotContains(calm, "ct-alert")

    def test_the_cargo_list_shows_each_cargos_status_now(self) -> None:
        astray = self.misdirected(deadline=START + HOUR)
        self.clock.advance()
        on_time = self.voyage()
        response = self.get()
        self.assertContains(response, '<th scope="col">Status now</th>')
        self.assertContains(response, '<tr class="ct-alert">', count=1)
        html = response.content.decode()
        row = html[html.index(f">{astray}</a>") :]
        row = row[: row.index("</tr>")]
        assert '<td data-label="Status now" class="ct-status">In port ' in row
        assert '<span aria-hidden="true">⚠</span> Misdirected</span>' in row
        assert '<span aria-hidden="true">⏰</span> Late</span>' in row
        assert "Hong Kong (HONGKONG) → Stockholm (STOCKHOLM)" in row
        self.assertContains(
            response, '<td data-label="Status now" class="ct-status">Claimed</td>'
        )
        assert on_time in [row.tracking_id for row, _ in response.context["cargos"]]

    def test_compare_shows_words(self) -> None:
        tracking_id = self.misdirected()
        response = self.get(tracking_id=tracking_id, version=1, compare_at="now")
        changes = {
            change.key: (change.before, change.after)
            for change in response.context["comparison"].changes
        }
        assert changes["routing_status"] == ("Not routed", "Routed")
        assert changes["last_known_location"] == (None, "Tokyo (TOKYO)")
        self.assertContains(
            response,
            '<td class="ct-before">No</td><td class="ct-after">Yes</td>',
        )

    def test_a_history_indexed_before_states_shows_no_provenance(self) -> None:
        tracking_id = self.voyage()
        EventTimestamp.objects.update(**dict.fromkeys(STATE_COLUMNS))
        response = self.get(tracking_id=tracking_id, version=5)
        assert response.status_code == 200
        assert response.context["visit"].sources == {}
        self.assertNotContains(response, "ct-since")
        self.assertContains(
            response,
            '<th scope="row">Origin</th><td>Hong Kong (HONGKONG)</td>',
            html=True,
        )

    def test_the_index_list_reads_places_and_statuses_as_words(self) -> None:
        self.misdirected()
        response = self.client.get(reverse("admin:cargotime_eventtimestamp_changelist"))
        self.assertContains(
            response,
            '<td class="field-places">'
            "Hong Kong (HONGKONG) → Stockholm (STOCKHOLM)</td>",
            html=True,
        )
        self.assertContains(
            response, '<td class="field-status">In port, misdirected</td>', html=True
        )
        self.assertContains(
            response, '<td class="field-status">Not received</td>', html=True
        )
        self.assertNotContains(response, "NOT_RECEIVED")
