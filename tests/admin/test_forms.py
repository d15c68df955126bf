"""The time-travel page's forms."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from django.forms.renderers import get_default_renderer
from django.http import QueryDict
from django.test import SimpleTestCase, override_settings
from django.utils import translation

from cargotime.admin.forms import CargoSearchForm, TimeTravelForm, clean_query
from cargotime.application import tracking_id_prefix

TRACKING_ID = "3f2a9c1e-4b7d-4e8a-9c1f-2d3e4f5a6b7c"


class TestTimeTravelForm(SimpleTestCase):
    def test_reads_a_tracking_id_in_any_spelling_of_a_uuid(self) -> None:
        for text in [TRACKING_ID, TRACKING_ID.upper(), TRACKING_ID.replace("-", "")]:
            form = TimeTravelForm({"tracking_id": text})
            assert form.is_valid(), form.errors
            assert form.tracking_id_value == UUID(TRACKING_ID)

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_reads_instants_in_the_current_time_zone(self) -> None:
        form = TimeTravelForm(
            {
                "tracking_id": TRACKING_ID,
                "at": "2024-03-01 17:00",
                "compare_at": "2024-03-01T08:00Z",
            }
        )
        assert form.is_valid(), form.errors
        expected = datetime(2024, 3, 1, 8, tzinfo=UTC)
        assert form.cleaned_data["at"] == form.cleaned_data["compare_at"] == expected

    def test_empty_means_the_list_of_cargos(self) -> None:
        form = TimeTravelForm({})
        assert form.is_valid()
        assert form.tracking_id_value is None
        assert form.cleaned_data["at"] is None

    def test_a_version_or_json_needs_a_tracking_id(self) -> None:
        for data in [{"version": "2"}, {"format": "json"}]:
            form = TimeTravelForm(data)
            assert not form.is_valid()
            assert form.errors["tracking_id"] == ["Enter the tracking ID of a cargo."]

    def test_refuses_contradictions(self) -> None:
        form = TimeTravelForm({"tracking_id": TRACKING_ID, "at": "now", "version": "1"})
        assert not form.is_valid()
        assert "not both" in form.non_field_errors()[0]
        form = TimeTravelForm(
            {"tracking_id": TRACKING_ID, "events_after": "1", "events_before": "9"}
        )
        assert not form.is_valid()

    def test_versions_fit_the_64_bit_column(self) -> None:
        for field in ["version", "events_after", "events_before"]:
            assert TimeTravelForm(
                {"tracking_id": TRACKING_ID, field: 2**63 - 1}
            ).is_valid()
            form = TimeTravelForm({"tracking_id": TRACKING_ID, field: 2**63})
            assert not form.is_valid()
            assert "less than or equal to" in form.errors[field][0]

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_explains_an_instant_outside_the_range(self) -> None:
        # Year 1 in Tokyo is year 0 in UTC, and no page could show 9999.
        form = TimeTravelForm(
            {
                "tracking_id": TRACKING_ID,
                "at": "0001-01-01 00:00",
                "compare_at": "9999-12-31T23:59:59Z",
            }
        )
        assert not form.is_valid()
        for field in ["at", "compare_at"]:
            message = str(form.errors[field][0])
            assert message.startswith("The date and time "), message
            assert "is outside the range of dates and times cargotime accepts: " in (
                message
            )
            assert "from 0002-01-01T00:00:00+00:00 up to, but not including, " in (
                message
            )
        form = TimeTravelForm({"tracking_id": TRACKING_ID, "at": "0002-01-01T00:00Z"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["at"] == datetime(2, 1, 1, tzinfo=UTC)

    def test_explains_a_bad_tracking_id(self) -> None:
        form = TimeTravelForm({"tracking_id": "3f2a9c1e"})
        assert not form.is_valid()
        assert str(form.errors["tracking_id"][0]).startswith(
            "Enter a valid tracking ID"
        )


class TestCleanQuery(SimpleTestCase):
    QUERIES = [
        "",
        f"tracking_id={TRACKING_ID}&format=json",
        f"tracking_id={TRACKING_ID}&at=2024-03-01+17:00&format=json",
        f"tracking_id={TRACKING_ID}&at=2024-03-01T08:00%2B09:00&format=json",
        f"tracking_id={TRACKING_ID}&at=now&format=json",
        f"tracking_id={TRACKING_ID}&version=3&format=json",
        f"tracking_id={TRACKING_ID}&version=3&events_after=2&format=json",
        f"tracking_id={TRACKING_ID}&events_before=9&at=&format=json",
        f"tracking_id=%20{TRACKING_ID.upper()}%20&format=json&extra=1",
        # The last of repeated values counts, as for the form.
        f"tracking_id=nope&tracking_id={TRACKING_ID}&format=json",
        f"tracking_id={TRACKING_ID}&tracking_id=nope&format=json",
        f"tracking_id={TRACKING_ID}&at=2024-03-01&version=3&format=json",
        f"tracking_id={TRACKING_ID}&events_after=1&events_before=9&format=json",
        f"tracking_id={TRACKING_ID}&events_after=0&events_before=0&format=json",
        f"tracking_id={TRACKING_ID}&version=0&format=json",
        f"tracking_id={TRACKING_ID}&version={2**63}&format=json",
        f"tracking_id={TRACKING_ID}&at=10000-01-01&format=json",
        f"tracking_id={TRACKING_ID}&at=yesterday&format=json",
        f"tracking_id={TRACKING_ID}&format=xml",
        f"tracking_id={TRACKING_ID[:8]}&format=json",
        f"tracking_id={TRACKING_ID}&compare_at=bad&format=json",
        "format=json",
        "version=2",
        "at=2024-03-01",
    ]

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_cleans_as_the_form_does_or_leaves_it_to_the_form(self) -> None:
        for query in self.QUERIES:
            with self.subTest(query=query):
                data = QueryDict(query)
                form = TimeTravelForm(data)
                valid = form.is_valid()
                cleaned = clean_query(data)
                if valid:
                    assert cleaned is not None
                    if "at=now" in query:
                        # Each read "now" when it cleaned it: the query later.
                        assert cleaned.pop("at") >= form.cleaned_data.pop("at")
                    assert cleaned == form.cleaned_data
                else:
                    assert cleaned is None


class TestCargoSearchForm(SimpleTestCase):
    def test_limits_the_search(self) -> None:
        form = CargoSearchForm({"q": " hong "})
        assert form.is_valid()
        assert form.cleaned_data["q"] == "hong"
        form = CargoSearchForm({"q": "x" * 101})
        assert not form.is_valid()
        assert "at most 100 characters" in form.errors["q"][0]


class TestInstantInput(SimpleTestCase):
    def test_renders_a_text_box_beside_the_admins_date_and_time_boxes(self) -> None:
        form = TimeTravelForm(
            {"tracking_id": TRACKING_ID, "at": "2024-03-01T17:00+09:00"}
        )
        html = str(form["at"])
        assert 'name="at" value="2024-03-01T17:00+09:00"' in html
        assert 'class="vDateField"' in html
        assert 'class="vTimeField"' in html
        # Only the text box has a name: the pair is for the calendar and clock.
        assert html.count("name=") == 1
        assert 'data-ct-instant-for="id_at" hidden' in html

    def test_brings_the_admins_calendar_and_clock(self) -> None:
        # In the order the admin loads them: core.js first, the shortcuts last.
        media = str(TimeTravelForm().media)
        scripts = [
            "admin/js/core.js",
            "admin/js/calendar.js",
            "admin/js/admin/DateTimeShortcuts.js",
            "cargotime/admin/instant_input.js",
        ]
        positions = [media.index(f'src="/static/{script}"') for script in scripts]
        assert positions == sorted(positions)

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_starts_the_calendar_and_clock_at_the_instant_shown(self) -> None:
        form = TimeTravelForm({"tracking_id": TRACKING_ID})
        form.is_valid()
        instant = datetime(2024, 3, 1, 8, 0, 5, tzinfo=UTC)
        form.show_instant("at", instant, fill=True)
        form.show_instant("compare_at", instant, fill=False)
        html = str(form["at"])
        assert 'value="2024-03-01"' in html
        assert 'value="17:00:05"' in html
        assert 'name="at" value="2024-03-01T17:00:05"' in html
        compare = str(form["compare_at"])
        assert 'value="17:00:05"' in compare
        assert 'name="compare_at" autocomplete' in compare

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_writes_what_its_template_writes(self) -> None:
        # The widget writes its HTML in Python; its template says the same.
        bound = TimeTravelForm(
            {"tracking_id": TRACKING_ID, "at": '2024-03-01 <"17:00">', "compare_at": ""}
        )
        bound.is_valid()
        bound.show_instant("at", datetime(2024, 3, 1, 8, tzinfo=UTC), fill=True)
        for language in ["en", "de"]:
            for form in [TimeTravelForm({}), bound]:
                for name in ["at", "compare_at"]:
                    with (
                        self.subTest(language=language, name=name),
                        translation.override(language),
                    ):
                        field = form[name]
                        widget = field.field.widget
                        attrs = field.build_widget_attrs({"id": field.auto_id})
                        if field.errors:
                            attrs["aria-invalid"] = "true"
                        context = widget.get_context(
                            field.html_name, field.value(), attrs
                        )
                        expected = widget._render(
                            widget.template_name, context, get_default_renderer()
                        )
                        html = widget.render(field.html_name, field.value(), attrs)
                        assert html == expected

    def test_each_form_has_its_own_widgets(self) -> None:
        first = TimeTravelForm({})
        first.show_instant("at", datetime(2024, 3, 1, tzinfo=UTC), fill=True)
        assert 'name="at" autocomplete' in str(TimeTravelForm({})["at"])


class TestCompareErrors(SimpleTestCase):
    def test_knows_when_the_compare_instant_is_the_one_mistake(self) -> None:
        form = TimeTravelForm({"tracking_id": TRACKING_ID, "compare_at": "soon"})
        assert not form.is_valid()
        assert form.only_compare_is_wrong()
        assert form.tracking_id_value == UUID(TRACKING_ID)
        form = TimeTravelForm({"tracking_id": "nope", "compare_at": "soon"})
        assert not form.is_valid()
        assert not form.only_compare_is_wrong()


class TestTrackingIdPrefix(SimpleTestCase):
    def test_reads_the_start_of_a_tracking_id(self) -> None:
        assert tracking_id_prefix(" 5F0B ") == "5f0b"
        assert tracking_id_prefix(TRACKING_ID[:20]) == TRACKING_ID[:20]
        for text in ["", "-", "-5f0b", "hong", "5f0b?", "' OR 1=1 --", "9" * 36]:
            assert tracking_id_prefix(text) is None, text
