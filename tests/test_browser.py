"""A staff member travels in time in a real browser: headless Debian Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import override_settings
from django.urls import reverse

from cargotime.application import SearchableTimestampsApplication
from tests.cargos import book_long_history, book_voyage, make_user
from tests.helpers import ManualClock

# End to end: Chromium. `pytest -m "not e2e"` leaves it out.
pytestmark = pytest.mark.e2e

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1400, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# axe-core 4.14.1 from the npm registry, vendored with its licence: see tests/vendor/.
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
# What a clerk must never read: status codes, activity codes and event class names.
RAW_CODES = re.compile(
    r"\b(NOT_RECEIVED|IN_PORT|ONBOARD_CARRIER|CLAIMED|UNKNOWN|NOT_ROUTED|ROUTED"
    r"|MISROUTED|RECEIVE|LOAD|UNLOAD|CLAIM|BookingStarted|DestinationChanged"
    r"|RouteAssigned|HandlingEventRegistered)\b"
)
# Each instant input's date and time box, with the admin's shortcuts right beside it.
SHORTCUTS = """() => [...document.querySelectorAll(".vDateField, .vTimeField")].map(
    (box) => ({
        id: box.id,
        visible: box.offsetParent !== null,
        links: box.nextElementSibling &&
            box.nextElementSibling.classList.contains("datetimeshortcuts")
            ? box.nextElementSibling.querySelectorAll("a").length : 0,
    }))"""
# What sticks out past the right edge, to name the culprit when a page overflows.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
    .slice(0, 8)
    .map((e) => `${e.tagName}.${e.className} ${e.outerHTML.slice(0, 80)}`)"""
AXE_RUN = """async () => {
    const results = await axe.run(document, {resultTypes: ["violations"]});
    return results.violations
        .filter((v) => ["serious", "critical"].includes(v.impact))
        .map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
        }));
}"""


@override_settings(TIME_ZONE="Asia/Tokyo")
class TestTimeTravelInChromium(StaticLiveServerTestCase):
    def setUp(self) -> None:
        if not CHROMIUM.exists():
            self.fail(
                f"The browser test needs Debian's Chromium at {CHROMIUM}: "
                "run `apt-get install -y chromium` (.ci/run does this)."
            )
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            self.fail(
                "The browser test needs Playwright: pip install -r requirements.txt"
            )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # Every database write happens here, before Playwright runs its event loop
        # in this thread (Django refuses ORM calls while a loop runs).
        self.clock = ManualClock()
        app = SearchableTimestampsApplication(clock=self.clock)
        self.voyage = book_voyage(app, self.clock)
        self.clock.advance()
        self.long = book_long_history(app, self.clock, 70)
        make_user("clerk", history=True)
        make_user("visitor")

    def test_pick_a_cargo_enter_an_instant_and_step_through_its_timeline(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                self.travel(browser)
                self.fleet(browser)
                self.phone(browser)
                self.walk(browser)
            finally:
                browser.close()

    def fleet(self, browser: Browser) -> None:
        # From the admin index to the Fleet: filter by a facet, compare with an earlier
        # instant, then follow a cargo to its time travel at the same instant.
        page = browser.new_page(viewport=DESKTOP)
        self.log_in(page)
        section = page.locator("#content-main .app-cargotime")
        section.get_by_role("link", name="Fleet", exact=True).click()
        fleet = reverse("admin:cargotime_fleet")
        page.goto(f"{self.live_server_url}{fleet}?at=2024-03-01T12:30Z")
        rows = page.locator("#result_list tbody tr")
        # At 12:30 UTC the voyage is in port at New York; the long history is booked
        # at 16:00, and not there yet.
        assert rows.count() == 1
        facet = page.locator("#changelist-filter a", has_text="In port (1)")
        facet.click()
        page.wait_for_url(re.compile(r"transport_status=IN_PORT"))
        assert page.locator("#result_list a.ct-tracking-id").all_inner_texts() == [
            str(self.voyage)
        ]
        page.fill("#id_compare_at", "2024-03-01T09:30Z")
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_url(re.compile(r"compare_at="))
        assert "transport_status=IN_PORT" in page.url
        transitions = page.locator(".ct-transitions li").all_inner_texts()
        assert transitions == ["Not received → In port: 1"], transitions
        self.shoot(page, "fleet-filtered-compared")
        page.locator("#result_list a.ct-tracking-id").first.click()
        page.wait_for_url(re.compile(r"tracking_id="))
        assert "at=2024-03-01T12%3A30%3A00%2B00%3A00" in page.url, page.url
        assert self.current_version(page) == "v5"
        page.close()

    def travel(self, browser: Browser) -> None:
        page = browser.new_page(viewport=DESKTOP)
        self.log_in(page)

        # The admin index links the page from cargotime's section.
        section = page.locator("#content-main .app-cargotime")
        assert section.get_by_role("link", name="Time travel", exact=True).count() == 1
        self.shoot(page, "01-admin-index")
        section.get_by_role("link", name="Time travel", exact=True).click()

        # The list of cargos: newest first, searchable.
        page.wait_for_selector("table.ct-cargo-list")
        ids = page.locator("a.ct-tracking-id").all_inner_texts()
        assert ids == [str(self.long), str(self.voyage)]
        self.shoot(page, "02-cargo-list")
        page.fill("#id_q", "hong")
        page.press("#id_q", "Enter")
        page.wait_for_url(re.compile(r"q=hong"))
        assert page.locator("a.ct-tracking-id").all_inner_texts() == [str(self.voyage)]
        page.click(f"text={self.voyage}")

        # Enter a datetime, read in Asia/Tokyo: 20:30:00.5 there is 11:30:00.5 UTC,
        # after the fourth event (11:00 UTC), before the fifth (12:00 UTC).
        page.wait_for_selector(".ct-summary")
        page.fill("#id_at", "2024-03-01 20:30:00.500000")
        page.press("#id_at", "Enter")
        page.wait_for_url(re.compile(r"at=2024-03-01"))
        echo = page.locator(".ct-echo").inner_text()
        assert "2024-03-01 20:30:00.500000 +09:00" in echo
        assert "2024-03-01 11:30:00.500000 +00:00" in echo
        assert "Asia/Tokyo" in echo
        assert "Loaded at Hong Kong (HONGKONG) onto voyage V1" in echo
        assert self.state(page, "Transport status") == "On board carrier"
        assert self.state(page, "Current voyage") == "V1"
        assert self.current_version(page) == "v4"
        self.shoot(page, "03-cargo-at-instant", full_page=True)

        # Step through the timeline.
        page.get_by_role("link", name="Next ›").click()
        page.wait_for_url(re.compile(r"version=5"))
        assert self.current_version(page) == "v5"
        assert self.state(page, "Last known location") == "New York (NEWYORK)"
        assert "Unloaded at New York (NEWYORK) from voyage V1" in page.inner_text(
            ".ct-echo"
        )
        page.get_by_role("link", name="‹ Previous").click()
        page.wait_for_url(re.compile(r"version=4"))
        page.get_by_role("link", name="‹ Previous").click()
        page.wait_for_url(re.compile(r"version=3"))
        assert self.state(page, "Transport status") == "In port"
        # The arrow keys step too.
        page.keyboard.press("ArrowRight")
        page.wait_for_url(re.compile(r"version=4"))
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(re.compile(r"version=3"))
        changed = page.locator(".ct-changes tbody th").all_inner_texts()
        assert "Transport status" in changed
        # A dot on the strip is a link to its event.
        page.locator(".ct-strip a.ct-mark").first.click()
        page.wait_for_url(re.compile(r"version=1"))
        assert self.state(page, "Routing status") == "Not routed"
        assert page.locator(".ct-stepper .ct-disabled").count() == 2

        # Now, then compare with the first hour.
        page.get_by_role("button", name="Now", exact=True).click()
        page.wait_for_url(re.compile(r"at=now"))
        # One clean ?tracking_id=…&at=now, never a second "at" beside the typed one.
        assert page.url.endswith(f"?tracking_id={self.voyage}&at=now"), page.url
        assert self.current_version(page) == "v8"
        assert self.state(page, "Transport status") == "Claimed"
        page.fill("#id_compare_at", "2024-03-01 17:30")
        page.press("#id_compare_at", "Enter")
        page.wait_for_url(re.compile(r"compare_at="))
        compared = page.locator(".ct-compare-fields tbody th").all_inner_texts()
        assert "Transport status" in compared
        assert page.locator(".ct-compare-events tbody tr").count() == 7
        self.shoot(page, "04-compare", full_page=True)

        # The admin's calendar and clock: "Today" and "Now" write into the text box.
        self.pick_today_and_now(page)

        # Dark mode: the admin's variables switch, and so does the page.
        page.emulate_media(color_scheme="dark")
        page.reload()
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(255, 255, 255)", background
        self.shoot(page, "05-dark-mode", full_page=True)
        page.emulate_media(color_scheme="light")

        # A long history: a page of its timeline, and the next one.
        page.goto(self.url(tracking_id=self.long, version=10))
        assert self.current_version(page) == "v10"
        versions = page.locator(".ct-events tbody tr td:first-child a")
        assert versions.count() == 50
        page.get_by_role("link", name="Later events ›").click()
        page.wait_for_url(re.compile(r"events_after=50"))
        assert versions.first.inner_text() == "v51"
        assert versions.last.inner_text() == "v70"
        self.shoot(page, "06-long-history-later-events", full_page=True)

        # A mistake gets a message, not an error page.
        page.goto(self.url())
        page.fill("#id_tracking_id", str(self.voyage))
        page.fill("#id_at", "yesterday at noon")
        page.press("#id_at", "Enter")
        page.wait_for_selector(".errorlist")
        assert "is not a date and time" in page.inner_text(".errorlist")
        self.shoot(page, "07-malformed-datetime")
        page.fill("#id_at", "2024-03-01 16:59:59.999999")
        page.press("#id_at", "Enter")
        page.wait_for_selector(".ct-error")
        assert "was booked at 2024-03-01 17:00:00 +09:00" in page.inner_text(
            ".ct-error"
        )
        self.shoot(page, "08-before-booking")
        page.get_by_role("link", name="See its first event").click()
        page.wait_for_url(re.compile(r"version=1"))

        # The index admin: read-only rows, each a way into the page.
        page.goto(
            f"{self.live_server_url}{reverse('admin:cargotime_eventtimestamp_changelist')}"
        )
        assert (
            page.locator("#changelist-filter").get_by_text("By timestamp").count() == 1
        )
        assert page.get_by_role("link", name="Add event timestamp").count() == 0
        page.fill("#searchbar", str(self.voyage))
        page.press("#searchbar", "Enter")
        page.wait_for_url(re.compile(r"q="))
        self.shoot(page, "13-event-timestamps")
        page.get_by_role("link", name="See the cargo at version 8").click()
        page.wait_for_url(re.compile(r"version=8"))
        assert self.current_version(page) == "v8"
        page.close()

    def phone(self, browser: Browser) -> None:
        context = browser.new_context(viewport=PHONE, is_mobile=True)
        page = context.new_page()
        self.log_in(page)
        page.goto(self.url(tracking_id=self.voyage, version=5))
        # Nothing but the tables that scroll on their own may be wider than the phone.
        self.assert_fits(page)
        self.shoot(page, "09-phone-top")
        page.locator(".ct-state").scroll_into_view_if_needed()
        self.shoot(page, "10-phone-state")
        page.locator("#timeline").scroll_into_view_if_needed()
        self.shoot(page, "11-phone-timeline")
        page.goto(self.url())
        self.assert_fits(page)
        self.shoot(page, "12-phone-cargo-list")
        page.goto(
            self.url(
                tracking_id=self.voyage,
                at="2024-03-01T15:00Z",
                compare_at="2024-03-01T09:30Z",
            )
            + "#compare"
        )
        self.assert_fits(page)
        # The heading of the events between them reads on one line.
        caption = page.locator(".ct-compare-events caption")
        lines = caption.evaluate(
            """element => {
                const range = document.createRange();
                range.selectNodeContents(element);
                const tops = [...range.getClientRects()].map((r) => Math.round(r.top));
                return new Set(tops).size;
            }"""
        )
        assert lines == 1, lines
        self.shoot(page, "16-phone-compare", full_page=True)
        page.locator(".ct-compare").screenshot(
            path=str(SCREENSHOTS / "16-phone-compare-box.png")
        )
        page.goto(self.url(tracking_id=self.voyage, compare_at="soon"))
        self.assert_fits(page)
        self.shoot(page, "17-phone-compare-error", full_page=True)
        page.locator(".ct-compare").screenshot(
            path=str(SCREENSHOTS / "17-phone-compare-error-box.png")
        )
        page.goto(self.url(tracking_id=self.voyage, at="nonsense"))
        self.assert_fits(page)
        self.shoot(page, "18-phone-malformed", full_page=True)
        page.emulate_media(color_scheme="dark")
        page.goto(self.url(tracking_id=self.voyage, version=5))
        self.shoot(page, "14-phone-dark")
        context.close()

    def walk(self, browser: Browser) -> None:
        # Every screen, in English and German, on a desktop and a phone: axe-core
        # finds nothing serious, nothing overflows, no code shows, and each instant
        # input has the admin's calendar and clock beside it.
        for language in ("en", "de"):
            context = browser.new_context(viewport=DESKTOP, locale=language)
            page = context.new_page()
            self.log_in(page)
            self.keyboard_on_the_strip(page, language)
            for viewport in (DESKTOP, PHONE):
                page.set_viewport_size(viewport)
                for name, url, inputs in self.screens():
                    page.goto(url)
                    self.check_screen(page, language, viewport, name, inputs)
            context.close()
            # The 403, for staff without the permission.
            context = browser.new_context(viewport=DESKTOP, locale=language)
            page = context.new_page()
            self.log_in(page, "visitor")
            for viewport in (DESKTOP, PHONE):
                page.set_viewport_size(viewport)
                response = page.goto(self.url(tracking_id=self.voyage))
                assert response is not None and response.status == 403
                self.check_screen(page, language, viewport, "forbidden", 0)
            context.close()

    def screens(self) -> list[tuple[str, str, int]]:
        # (name, address, how many instant inputs it shows).
        fleet = f"{self.live_server_url}{reverse('admin:cargotime_fleet')}"
        timestamps = reverse("admin:cargotime_eventtimestamp_changelist")
        return [
            ("picker", self.url(), 1),
            ("cargo-at-instant", self.url(tracking_id=self.voyage, version=5), 2),
            (
                "compare",
                self.url(
                    tracking_id=self.voyage,
                    at="2024-03-01T15:00Z",
                    compare_at="2024-03-01T09:30Z",
                ),
                2,
            ),
            ("error-malformed", self.url(tracking_id=self.voyage, at="nonsense"), 1),
            (
                "error-before-booking",
                self.url(tracking_id=self.voyage, at="2024-03-01T07:59:59Z"),
                1,
            ),
            (
                "error-compare",
                self.url(tracking_id=self.voyage, version=3, compare_at="soon"),
                2,
            ),
            ("fleet", f"{fleet}?at=2024-03-01T11:30Z", 2),
            (
                "fleet-filtered-compared",
                f"{fleet}?at=2024-03-01T15:00Z&compare_at=2024-03-01T09:30Z"
                "&transport_status=IN_PORT",
                2,
            ),
            (
                "event-timestamps",
                f"{self.live_server_url}{timestamps}?q={self.voyage}",
                0,
            ),
        ]

    def check_screen(
        self, page: Page, language: str, viewport: ViewportSize, name: str, inputs: int
    ) -> None:
        where = f"{name}, {language}, {viewport['width']} px"
        assert page.evaluate("document.documentElement.lang") == language, where
        text = page.evaluate("document.body.innerText")
        raw = sorted(set(RAW_CODES.findall(text)))
        assert not raw, (where, raw)
        shortcuts = page.evaluate(SHORTCUTS)
        # Each instant input has a date box and a time box.
        assert len(shortcuts) == 2 * inputs, (where, shortcuts)
        for box in shortcuts:
            assert box["visible"], (where, box)
            assert box["links"] >= 1, (where, box)
        self.shoot(page, f"walk-{language}-{viewport['width']}-{name}", full_page=True)
        self.assert_fits(page)
        if page.evaluate("typeof window.axe") == "undefined":
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        violations = page.evaluate(AXE_RUN)
        assert not violations, f"{where}: {json.dumps(violations, indent=1)}"

    def keyboard_on_the_strip(self, page: Page, language: str) -> None:
        # Tab from the last link of the stepper reaches the strip's first dot; it
        # shows a focus ring, names its version, time and event, and Enter follows it.
        page.goto(self.url(tracking_id=self.voyage, version=5))
        page.locator(".ct-stepper .ct-links a").last.focus()
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const element = document.activeElement;
                const circle = element.querySelector("circle");
                return {
                    mark: element.classList.contains("ct-mark"),
                    label: element.getAttribute("aria-label"),
                    ring: circle && getComputedStyle(circle).strokeWidth,
                    visible: element.matches(":focus-visible"),
                };
            }"""
        )
        assert focused["mark"], focused
        assert focused["visible"], focused
        assert focused["ring"] == "3px", focused
        booked = "Gebucht" if language == "de" else "Booked"
        assert focused["label"].startswith(
            f"Version 1 · {booked} · 2024-03-01 17:00:00 +09:00: {booked}"
        ), focused
        self.shoot(page, f"walk-{language}-1400-strip-keyboard-focus")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"version=1"))
        assert self.current_version(page) == "v1"

    def pick_today_and_now(self, page: Page) -> None:
        page.goto(self.url(tracking_id=self.voyage, version=2))
        shortcuts = page.locator(".ct-field-at .datetimeshortcuts")
        shortcuts.first.wait_for()
        assert page.locator("#id_at_date.vDateField").is_visible()
        assert page.locator("#id_at_time.vTimeField").is_visible()
        self.shoot(page, "15-calendar-and-clock")
        picked = page.locator("[data-ct-instant-for=id_at]")
        picked.get_by_role("link", name="Today", exact=True).click()
        picked.get_by_role("link", name="Now", exact=True).click()
        # Server time, Asia/Tokyo: today's date and the time now, in the text box.
        typed = page.input_value("#id_at")
        date = page.input_value("#id_at_date")
        time = page.input_value("#id_at_time")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", date), date
        assert re.fullmatch(r"\d\d:\d\d:\d\d", time), time
        assert typed == f"{date} {time}", typed
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_url(re.compile(r"at=\d{4}-\d\d-\d\d\+\d\d%3A"))
        assert self.current_version(page) == "v8"
        assert page.input_value("#id_at") == typed
        assert "in the future" not in page.inner_text("#content-main")

    def assert_fits(self, page: Page) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        inner = page.evaluate("window.innerWidth")
        assert width <= inner, (page.url, width, inner, page.evaluate(OVERFLOWING))

    def log_in(self, page: Page, username: str = "clerk") -> None:
        page.goto(f"{self.live_server_url}{reverse('admin:index')}")
        page.fill("#id_username", username)
        page.fill("#id_password", "secret")
        page.press("#id_password", "Enter")
        page.wait_for_selector("#content-main")

    def url(self, **params: Any) -> str:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"{self.live_server_url}{reverse('admin:cargotime_time_travel')}?{query}"

    def state(self, page: Page, label: str) -> str:
        row = page.locator(".ct-state tr", has=page.locator(f"th:text-is('{label}')"))
        # The value, without the line below it that says since when it holds.
        return row.locator("td").inner_text().splitlines()[0].strip()

    def current_version(self, page: Page) -> str:
        return page.locator(".ct-events tr.ct-current td:first-child a").inner_text()

    def shoot(self, page: Page, name: str, *, full_page: bool = False) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
