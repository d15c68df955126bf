"""Hostile input: the API raises only its documented errors, and every cargo replays.

Property-based (hypothesis), with a fixed seed and no example database, so that CI sees
the same examples every run. Each failure hypothesis found has a plain example test
under "Regressions".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone as django_timezone
from eventsourcing.application import AggregateNotFoundError
from eventsourcing_django.models import (
    NotificationTrackingRecord,
    SnapshotRecord,
    StoredEventRecord,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from cargotime.application import (
    CargoNotFoundAtTimestamp,
    SearchableTimestampsApplication,
)
from cargotime.domain import (
    END_OF_INSTANTS,
    REGISTERED_ROUTES,
    HandlingActivity,
    HandlingError,
    Itinerary,
    Leg,
    Location,
)
from tests.helpers import JSON_KEYS, START, ManualClock, cargo_state

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Requests are cheap, and the page has many parameters to combine.
MORE_EXAMPLES = settings(EXAMPLES, max_examples=150)
DOCUMENTED = (ValueError, AggregateNotFoundError)  # HandlingError is a ValueError.
ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
DEADLINE = START + timedelta(weeks=3)

# Offsets up to a microsecond short of a day either way, the most timezone() takes.
offsets = st.timedeltas(
    min_value=-timedelta(hours=24) + timedelta(microseconds=1),
    max_value=timedelta(hours=24) - timedelta(microseconds=1),
).map(timezone)
zones = st.one_of(st.just(UTC), offsets, st.timezones())
aware_datetimes = st.datetimes(timezones=zones)
naive_datetimes = st.datetimes()
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8"), max_size=40
) | st.sampled_from(["", "\x00", "' OR 1=1 --", "%s", "🚢", "a" * 300])
anything = st.one_of(
    st.none(), st.integers(), st.floats(), hostile_text, st.binary(max_size=20)
)
tracking_ids = st.one_of(
    st.uuids(),
    st.uuids().map(str),
    st.uuids().map(lambda value: value.hex.upper()),
    st.uuids().map(lambda value: f"{{{value}}}"),
    anything,
)
locations = st.one_of(
    st.sampled_from(Location),
    st.sampled_from([location.value for location in Location]),
    anything,
)
activities = st.one_of(
    st.sampled_from(HandlingActivity),
    st.sampled_from([activity.value for activity in HandlingActivity]),
    anything,
)
voyage_numbers = st.one_of(st.sampled_from([None, "V1", "V2", "V3", "V4"]), anything)
location_codes = st.one_of(
    st.sampled_from([location.value for location in Location]), hostile_text
)
legs = st.builds(
    Leg, origin=location_codes, destination=location_codes, voyage_number=voyage_numbers
)
itineraries = st.one_of(
    st.sampled_from(
        [route for routes in REGISTERED_ROUTES.values() for route in routes]
    ),
    st.builds(
        Itinerary,
        origin=location_codes,
        destination=location_codes,
        legs=st.lists(legs, max_size=4).map(tuple),
    ),
    anything,
)
pauses = st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(hours=1)])
commands = st.one_of(
    st.tuples(st.just("change_destination"), locations),
    st.tuples(st.just("assign_route"), itineraries),
    st.tuples(
        st.just("register_handling_event"), voyage_numbers, locations, activities
    ),
)


def book(app: SearchableTimestampsApplication) -> UUID:
    return app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, DEADLINE)


def event_moments(app: SearchableTimestampsApplication, tracking_id: UUID) -> list[Any]:
    """Return (version, timestamp) of each stored event of the cargo."""
    events: list[Any] = [
        app.mapper.to_domain_event(stored)
        for stored in app.recorder.select_events(tracking_id)
    ]
    return [(event.originator_version, event.timestamp) for event in events]


def version_at(moments: list[Any], instant: datetime) -> int | None:
    """Return the version the rule gives at *instant*: highest (timestamp, version)."""
    before = [(at, version) for version, at in moments if at <= instant]
    return max(before)[1] if before else None


class ApplicationPropertyTests(HypothesisTestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        # A snapshot every three events, so that replay starts from snapshots too.
        self.app = SearchableTimestampsApplication(
            clock=self.clock, snapshot_interval=3
        )

    def tearDown(self) -> None:
        self.app.close()

    @EXAMPLES
    @given(st.lists(st.tuples(commands, pauses), max_size=12))
    def test_commands_in_any_order_store_whole_events_or_none(
        self, steps: list[tuple[tuple[Any, ...], timedelta]]
    ) -> None:
        tracking_id = book(self.app)
        saved = 1
        for (name, *arguments), pause in steps:
            self.clock.advance(pause)
            command: Any = getattr(self.app, name)
            try:
                command(tracking_id, *arguments)
            except DOCUMENTED:
                pass
            else:
                saved += 1
            cargo = self.app.get_cargo(tracking_id)
            assert cargo.version == saved
        self.assert_replays(tracking_id)

    def assert_replays(self, tracking_id: UUID) -> None:
        now = cargo_state(self.app.get_cargo(tracking_id))
        # A second application reads only what is stored: the same cargo comes back.
        other = SearchableTimestampsApplication(snapshot_interval=None)
        try:
            self.assert_same_in(other, tracking_id, now)
        finally:
            other.close()

    def assert_same_in(
        self,
        other: SearchableTimestampsApplication,
        tracking_id: UUID,
        now: dict[str, Any],
    ) -> None:
        assert cargo_state(other.get_cargo(tracking_id)) == now
        assert isinstance(now["origin"], Location)
        assert isinstance(now["destination"], Location)
        assert now["last_known_location"] is None or isinstance(
            now["last_known_location"], Location
        )
        moments = event_moments(self.app, tracking_id)
        assert [version for version, _ in moments] == list(range(1, now["version"] + 1))
        for _, at in moments:
            cargo = self.app.get_cargo_at_timestamp(tracking_id, at)
            assert cargo.version == version_at(moments, at)
            assert cargo_state(cargo) == cargo_state(
                other.get_cargo_at_timestamp(tracking_id, at)
            )

    @EXAMPLES
    @given(tracking_id=tracking_ids, command=commands)
    def test_any_tracking_id_is_a_cargo_or_a_documented_error(
        self, tracking_id: Any, command: tuple[Any, ...]
    ) -> None:
        name, *arguments = command
        calls: list[Callable[[], object]] = [
            lambda: self.app.get_cargo(tracking_id),
            lambda: self.app.get_cargo_at_timestamp(tracking_id, START),
            lambda: self.app.request_possible_routes_for_cargo(tracking_id),
            lambda: getattr(self.app, name)(tracking_id, *arguments),
        ]
        for call in calls:
            with self.assertRaises(DOCUMENTED):
                call()
        assert self.app.recorder.max_notification_id() is None

    @EXAMPLES
    @given(instant=aware_datetimes | naive_datetimes)
    def test_time_travel_to_any_instant_follows_the_rule(
        self, instant: datetime
    ) -> None:
        tracking_id = book(self.app)
        self.clock.advance(timedelta(days=400))
        self.app.assign_route(tracking_id, ROUTE)
        self.app.change_destination(tracking_id, Location.AUMEL)
        moments = event_moments(self.app, tracking_id)
        if instant.utcoffset() is None:
            with self.assertRaises(ValueError):
                self.app.get_cargo_at_timestamp(tracking_id, instant)
            return
        try:
            in_utc = instant.astimezone(UTC)
        except OverflowError:
            # Past either end of the range once in UTC: before or after everything.
            in_utc = datetime.min if instant.year == 1 else datetime.max
            in_utc = in_utc.replace(tzinfo=UTC)
        expected = version_at(moments, in_utc)
        if expected is None:
            with self.assertRaises(CargoNotFoundAtTimestamp):
                self.app.get_cargo_at_timestamp(tracking_id, instant)
        else:
            cargo = self.app.get_cargo_at_timestamp(tracking_id, instant)
            assert cargo.version == expected

    @EXAMPLES
    @given(
        origin=locations,
        destination=locations,
        deadline=aware_datetimes | naive_datetimes | anything,
    )
    def test_any_booking_is_stored_whole_or_refused(
        self, origin: Any, destination: Any, deadline: Any
    ) -> None:
        try:
            tracking_id = self.app.book_new_cargo(origin, destination, deadline)
        except ValueError:
            assert self.app.recorder.max_notification_id() is None
            return
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.origin is Location(getattr(origin, "value", origin))
        assert cargo.destination is Location(getattr(destination, "value", destination))
        assert cargo.arrival_deadline == deadline
        self.assert_replays(tracking_id)


class ApplicationRegressionTests(TestCase):
    """One example for each failure the properties found, with what it was."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        # The same application, typed loosely: these tests pass what the types forbid.
        self.loose: Any = self.app
        self.tracking_id = book(self.app)

    def test_text_that_is_no_uuid_is_a_value_error(self) -> None:
        # Was django.core.exceptions.ValidationError from the recorder's query.
        for text in ["garbage", "\x00", ""]:
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo(text)
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo_at_timestamp(text, START)

    def test_values_that_are_no_uuid_are_a_value_error(self) -> None:
        # Were AggregateNotFoundError for None and 5: not a cargo, but no ID either.
        for value in [None, 5, b"\x00"]:
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo(value)

    def test_the_text_of_a_uuid_names_the_cargo(self) -> None:
        for text in [str(self.tracking_id), self.tracking_id.hex.upper()]:
            assert self.loose.get_cargo(text).id == self.tracking_id

    def test_an_instant_past_the_last_datetime_in_utc_is_after_every_event(
        self,
    ) -> None:
        # Was OverflowError, converting 9999-12-31T23:59:59.999999-01:00 to UTC.
        instant = datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))
        assert self.loose.get_cargo_at_timestamp(self.tracking_id, instant).version == 1

    def test_an_instant_before_the_first_datetime_in_utc_is_before_every_event(
        self,
    ) -> None:
        # Was OverflowError, converting 0001-01-01T00:00:00+01:00 to UTC.
        instant = datetime.min.replace(tzinfo=timezone(timedelta(hours=1)))
        with self.assertRaises(CargoNotFoundAtTimestamp):
            self.loose.get_cargo_at_timestamp(self.tracking_id, instant)

    def test_a_timestamp_that_is_no_datetime_is_a_value_error(self) -> None:
        # Was AttributeError: 'str' object has no attribute 'tzinfo'.
        with self.assertRaisesMessage(ValueError, "timezone-aware"):
            self.loose.get_cargo_at_timestamp(self.tracking_id, "2024-01-01")

    def test_a_location_is_a_location_or_its_code(self) -> None:
        # Were stored as they came: "XX" as an origin, "AUMEL" as a str destination,
        # which later broke request_possible_routes_for_cargo with AttributeError.
        with self.assertRaisesMessage(ValueError, "'XX' is not a location"):
            self.loose.book_new_cargo("XX", Location.STOCKHOLM, DEADLINE)
        with self.assertRaisesMessage(ValueError, "None is not a location"):
            self.loose.change_destination(self.tracking_id, None)
        self.loose.change_destination(self.tracking_id, "AUMEL")
        assert self.loose.get_cargo(self.tracking_id).destination is Location.AUMEL
        assert self.loose.get_cargo(self.tracking_id).version == 2

    def test_a_deadline_is_an_aware_datetime_in_range(self) -> None:
        # Were stored: a naive deadline, and one that has no instant in UTC.
        for deadline in [
            datetime(2030, 1, 1),
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
            "2030-01-01",
        ]:
            with self.assertRaises(ValueError):
                self.loose.book_new_cargo(
                    Location.HONGKONG,
                    Location.STOCKHOLM,
                    deadline,
                )

    def test_a_route_without_legs_is_refused(self) -> None:
        # Was stored; receiving the cargo then raised IndexError.
        with self.assertRaisesMessage(ValueError, "at least one leg"):
            self.loose.assign_route(
                self.tracking_id, Itinerary("HONGKONG", "STOCKHOLM", ())
            )
        with self.assertRaisesMessage(HandlingError, "no route yet"):
            self.loose.register_handling_event(
                self.tracking_id, None, Location.HONGKONG, HandlingActivity.RECEIVE
            )

    def test_a_route_through_unknown_places_is_refused(self) -> None:
        # Was stored; loading the cargo on its leg then raised ValueError in replay's
        # code, and the cargo could never be loaded.
        route = Itinerary("HONGKONG", "XX", (Leg("HONGKONG", "\x00", "V1"),))
        with self.assertRaisesMessage(ValueError, "'\\x00' is not a location"):
            self.loose.assign_route(self.tracking_id, route)
        assert self.loose.get_cargo(self.tracking_id).version == 1

    def test_a_route_that_is_no_itinerary_is_a_value_error(self) -> None:
        # Was AttributeError: 'dict' object has no attribute 'legs'.
        for route in [{"origin": "HONGKONG"}, None, (ROUTE.legs[0],)]:
            with self.assertRaisesMessage(ValueError, "is an Itinerary"):
                self.loose.assign_route(self.tracking_id, route)

    def test_a_voyage_number_is_text_or_none(self) -> None:
        # Was stored as an int, shown later as if it were a voyage.
        self.loose.assign_route(self.tracking_id, ROUTE)
        with self.assertRaisesMessage(ValueError, "voyage number is text or None"):
            self.loose.register_handling_event(
                self.tracking_id,
                5,
                Location.HONGKONG,
                HandlingActivity.RECEIVE,
            )
        # PostgreSQL stores no NUL, and UTF-8 no lone surrogate: refused up front.
        for unstorable in ("\x00 🚢", "\ud800"):
            with self.assertRaisesMessage(ValueError, "which no database stores"):
                self.loose.register_handling_event(
                    self.tracking_id, unstorable, Location.HONGKONG, "RECEIVE"
                )
        self.loose.register_handling_event(
            self.tracking_id,
            "🚢 V1",
            Location.HONGKONG,
            "RECEIVE",
        )
        cargo = self.loose.get_cargo(self.tracking_id)
        assert cargo.transport_status == "IN_PORT"
        assert cargo.version == 3

    def test_an_unknown_handling_activity_is_refused(self) -> None:
        # Was stored as text, and replay then treated it as a claim.
        self.loose.assign_route(self.tracking_id, ROUTE)
        with self.assertRaisesMessage(ValueError, "is not a handling activity"):
            self.loose.register_handling_event(
                self.tracking_id,
                None,
                Location.HONGKONG,
                "STEAL",
            )
        assert self.loose.get_cargo(self.tracking_id).version == 2


CHANGELIST_PARAMS = [
    "q",
    "p",
    "o",
    "e",
    "all",
    "timestamp__year",
    "timestamp__month",
    "timestamp__day",
    "timestamp__gte",
    "timestamp__lt",
    "originator_id",
    "originator_id__exact",
    "_changelist_filters",
]
ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Pacific/Kiritimati",
]
# Names a handler might take as keyword arguments, and others no page expects.
PARAMETER_NAMES = [
    "self",
    "params",
    "request",
    "kwargs",
    "cls",
    "__class__",
    "model_admin",
    "form",
    "status",
    "context",
    "current",
    "e",
    "_to_field",
    "_popup",
    "_changelist_filters",
]
TIME_TRAVEL_PARAMS = [
    "tracking_id",
    "at",
    "version",
    "format",
    "compare_at",
    "events_after",
    "events_before",
    "q",
    "page",
]
# Values that reach past the form fields: real IDs, instants at the ends of the range.
likely_values = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["now", "json", "html", "0", "1", "2", "8", "-1", "1e9", "NaN"]),
    aware_datetimes.map(datetime.isoformat),
    naive_datetimes.map(datetime.isoformat),
    st.sampled_from(
        [
            "9999-12-31T23:59:59.999999",
            "9999-12-31T23:59:59.999999-12:00",
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00+14:00",
            "2024-03-01 08:00 09:00",
        ]
    ),
)


def mostly(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Draw from *good* three times in four, else hostile text or values."""
    return st.integers(0, 3).flatmap(
        lambda n: good if n else hostile_text | likely_values
    )


def query_params(tracking_id: str) -> st.SearchStrategy[dict[str, str]]:
    """Return the time-travel page's parameters, each left out or good or hostile."""
    numbers = st.integers(min_value=0, max_value=6).map(str)
    instants = st.sampled_from(["now", "2024-03-01T10:30", "2024-03-01T08:00Z"])
    return st.fixed_dictionaries(
        {},
        optional={
            "tracking_id": mostly(st.just(tracking_id)),
            "at": mostly(instants | likely_values),
            "version": mostly(numbers),
            "format": mostly(st.just("json")),
            "compare_at": mostly(instants | likely_values),
            "events_after": mostly(numbers),
            "events_before": mostly(numbers),
            "q": mostly(st.just(tracking_id[:8])),
            "page": mostly(numbers),
        },
    )


def changelist_params(tracking_id: str) -> st.SearchStrategy[dict[str, str]]:
    values = hostile_text | likely_values | st.just(tracking_id)
    return st.dictionaries(
        st.sampled_from(CHANGELIST_PARAMS) | hostile_text, values, max_size=6
    )


class AdminPropertyTests(HypothesisTestCase):
    tracking_id: UUID
    user: User

    @classmethod
    def setUpTestData(cls) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock)
        # A cargo with text at the edges: NUL and emoji voyage numbers, a deadline
        # near the end of the calendar (in Tokyo it is already 9998).
        cls.tracking_id = app.book_new_cargo(
            Location.HONGKONG,
            Location.STOCKHOLM,
            datetime(9997, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        )
        for voyage, location, activity in [
            (None, Location.HONGKONG, HandlingActivity.RECEIVE),
            ("V1", Location.HONGKONG, HandlingActivity.LOAD),
            ("🚢 V9", Location.TOKYO, HandlingActivity.UNLOAD),
        ]:
            clock.advance()
            if activity is HandlingActivity.RECEIVE:
                app.assign_route(cls.tracking_id, ROUTE)
            app.register_handling_event(cls.tracking_id, voyage, location, activity)
        app.close()
        cls.user = User.objects.create_superuser("boss", password="secret")

    def setUp(self) -> None:
        self.staff = Client()
        self.staff.force_login(self.user)

    @MORE_EXAMPLES
    @given(data=st.data(), zone=st.sampled_from(ZONES))
    def test_the_time_travel_page_never_fails_on_its_parameters(
        self, data: st.DataObject, zone: str
    ) -> None:
        params = data.draw(query_params(str(self.tracking_id)))
        with django_timezone.override(zone):
            response = self.staff.get(reverse("admin:cargotime_time_travel"), params)
        assert response.status_code in {200, 400, 404}, (params, response.status_code)
        if params.get("format") != "json":
            return
        body = response.json()
        if response.status_code == 200:
            assert set(body) == JSON_KEYS
        elif response.status_code == 400:
            assert set(body) == {"errors"}
        else:
            assert set(body) == {"error"}

    @EXAMPLES
    @given(data=st.data())
    def test_the_index_list_never_fails_on_its_parameters(
        self, data: st.DataObject
    ) -> None:
        params = data.draw(changelist_params(str(self.tracking_id)))
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        response = self.staff.get(url, params)
        # Django's changelist sends parameters it cannot use back with ?e=1.
        assert response.status_code in {200, 302, 400}, (params, response.status_code)

    def admin_urls(self) -> list[str]:
        """Return every admin URL of cargotime, and of the event store it keeps."""
        event = StoredEventRecord.objects.order_by("pk")[0]
        urls = [
            reverse("admin:cargotime_time_travel"),
            reverse("admin:cargotime_eventtimestamp_changelist"),
            reverse("admin:app_list", kwargs={"app_label": "cargotime"}),
            reverse("admin:app_list", kwargs={"app_label": "eventsourcing_django"}),
        ]
        for model in [StoredEventRecord, SnapshotRecord, NotificationTrackingRecord]:
            prefix = f"admin:eventsourcing_django_{model._meta.model_name}"
            urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        prefix = "admin:eventsourcing_django_storedeventrecord"
        urls += [
            reverse(f"{prefix}_{view}", args=[event.pk])
            for view in ["change", "history", "delete"]
        ]
        return urls

    @MORE_EXAMPLES
    @given(data=st.data(), zone=st.sampled_from(ZONES))
    def test_no_admin_url_fails_on_any_parameter_names(
        self, data: st.DataObject, zone: str
    ) -> None:
        url = data.draw(st.sampled_from(self.admin_urls()), label="url")
        names = st.sampled_from(
            PARAMETER_NAMES + TIME_TRAVEL_PARAMS + CHANGELIST_PARAMS
        ) | st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
        values = st.lists(
            hostile_text | likely_values | st.just(str(self.tracking_id)), max_size=2
        )
        params = data.draw(st.dictionaries(names, values, max_size=6), label="params")
        if data.draw(st.booleans(), label="json"):
            params["format"] = ["json"]
        with override_settings(TIME_ZONE=zone):
            # Was TypeError (a 500) for ?self=1: request data became keywords.
            response = self.staff.get(url, params)
        assert response.status_code in {200, 302, 400, 403, 404}, (
            url,
            params,
            response.status_code,
        )


class AdminRegressionTests(TestCase):
    """One example for each failure the admin properties found, with what it was."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        # The last instant cargotime accepts: in Tokyo, already 9998.
        self.end_of_time = END_OF_INSTANTS - timedelta(microseconds=1)
        self.tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.end_of_time
        )
        user = User.objects.create_superuser("boss", password="secret")
        self.client.force_login(user)
        self.url = reverse("admin:cargotime_time_travel")

    def test_a_deadline_at_the_end_of_the_range_is_shown_in_the_local_zone(
        self,
    ) -> None:
        # Was OverflowError (a 500) for 9999-12-31 23:59 UTC, which has no date in
        # Tokyo; such deadlines are now refused where they enter.
        with django_timezone.override("Asia/Tokyo"):
            response = self.client.get(self.url, {"tracking_id": str(self.tracking_id)})
        assert response.status_code == 200
        self.assertContains(response, "9998-01-01 08:59:59.999999 +09:00")

    def test_an_instant_at_the_end_of_the_range_in_the_local_zone_is_shown(
        self,
    ) -> None:
        # Was OverflowError (a 500) for 9999-12-31T23:59:59.999999+00:00 in Tokyo,
        # which the form now refuses as outside the range.
        params = {"tracking_id": str(self.tracking_id)}
        with django_timezone.override("Asia/Tokyo"):
            response = self.client.get(
                self.url, {**params, "at": "9997-12-31T23:59:59.999999+00:00"}
            )
            assert response.status_code == 200
            assert response.context["visit"].cargo.version == 1
            # Echoed as typed, offset included.
            assert response.context["at_value"] == "9997-12-31T23:59:59.999999+00:00"
            response = self.client.get(
                self.url, {**params, "at": "9999-12-31T23:59:59.999999+00:00"}
            )
            assert response.status_code == 400

    def test_a_year_past_the_range_in_the_index_list_is_refused(self) -> None:
        # Were OverflowError (a 500) in Django's date hierarchy.
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        years: list[dict[str, str]] = [
            {"timestamp__year": "2147483648"},
            {"timestamp__year": str(10**30)},
            {
                "timestamp__year": "9999",
                "timestamp__month": "12",
                "timestamp__day": "31",
            },
        ]
        for params in years:
            response = self.client.get(url, params)
            self.assertRedirects(response, f"{url}?e=1", fetch_redirect_response=False)


class RequestDataRegressionTests(TestCase):
    """Query parameters are data: whatever their names, no page fails on them."""

    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(clock=ManualClock())
        self.addCleanup(self.app.close)
        self.tracking_id = book(self.app)
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        self.url = reverse("admin:cargotime_time_travel")

    def test_request_data_never_becomes_keyword_arguments(self) -> None:
        # Was TypeError: TimeTravelView.link() got multiple values for argument
        # 'self' (a 500), from link(**request.GET.dict()).
        for name in ["self", "params", "request", "kwargs", "status", "form"]:
            for extra in [{}, {"format": "json"}]:
                params = {"tracking_id": str(self.tracking_id), name: "1", **extra}
                with self.subTest(params=params):
                    response = self.client.get(self.url, params)
                    assert response.status_code == 200
            response = self.client.get(self.url, {name: "1"})
            assert response.status_code == 200

    def test_links_carry_only_the_parameters_the_page_reads(self) -> None:
        response = self.client.get(
            self.url,
            {"tracking_id": str(self.tracking_id), "at": "now", "self": "1", "x": "2"},
        )
        assert response.status_code == 200
        assert response.context["json_href"] == (
            f"{self.url}?tracking_id={self.tracking_id}&at=now&format=json"
        )
        assert "self=" not in response.content.decode()

    def test_a_date_hierarchy_past_the_calendar_is_refused(self) -> None:
        # Was ValueError: year 10000 is out of range (a 500): Django's date hierarchy
        # checks the first day of the year, month or day it filters on, not the
        # day after it.
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        bad: list[dict[str, str]] = [
            {"timestamp__year": "9999"},
            {"timestamp__year": "9999", "timestamp__month": "12"},
            {"timestamp__year": "0"},
            {"timestamp__year": "-1"},
            {"timestamp__year": "2024", "timestamp__month": "13"},
            {
                "timestamp__year": "2024",
                "timestamp__month": "2",
                "timestamp__day": "30",
            },
            {"timestamp__year": "x"},
            {"timestamp__gte": "junk"},
            {"timestamp__lt": "2024-13-01"},
        ]
        for params in bad:
            with self.subTest(params=params):
                response = self.client.get(url, params)
                self.assertRedirects(
                    response, f"{url}?e=1", fetch_redirect_response=False
                )
        for zone in ZONES:
            with self.subTest(zone=zone), override_settings(TIME_ZONE=zone):
                # At the ends of the calendar: SQLite cannot put them in UTC and
                # answers ?e=1; PostgreSQL can, and lists nothing. Never a 500.
                for params in [
                    {"timestamp__year": "1"},
                    {"timestamp__year": "9998"},
                    {
                        "timestamp__year": "9999",
                        "timestamp__month": "12",
                        "timestamp__day": "30",
                    },
                    {"timestamp__gte": "9999-12-31 23:59:59.999999-14:00"},
                    {"timestamp__lt": "0001-01-01 00:00:00+14:00"},
                ]:
                    response = self.client.get(url, params)
                    assert response.status_code in {200, 302}, (zone, params)
