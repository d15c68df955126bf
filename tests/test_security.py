"""Security: who may see what, CSRF, SQL only with parameters, a deployable project."""

from __future__ import annotations

import ast
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cargotime.application import SearchableTimestampsApplication
from cargotime.models import EventTimestamp
from tests.cargos import book_voyage, stored
from tests.helpers import ROOT, START, ManualClock, manage

APP_DIR = ROOT / "cargotime"
LOGIN = reverse("admin:login")
TIME_TRAVEL = reverse("admin:cargotime_time_travel")
SQL_INJECTIONS = [
    "'; DROP TABLE cargotime_eventtimestamp; --",
    "' OR '1'='1",
    '") OR 1=1 --',
    "1; SELECT pg_sleep(10)",
    "x' UNION SELECT state FROM eventsourcing_django_storedeventrecord --",
    "%s%s%(id)s",
]


def cargotime_routes() -> Iterator[tuple[str, URLPattern]]:
    """Yield every URL pattern that serves cargotime, with its full route."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif "cargotime" in route:
                yield route, pattern

    yield from walk(get_resolver().url_patterns, "")


def cargotime_urls(object_id: int) -> list[str]:
    """Return a URL for each cargotime pattern, with *object_id* where one goes."""
    urls = []
    for route, pattern in cargotime_routes():
        if pattern.name == "app_list":
            urls.append(reverse("admin:app_list", kwargs={"app_label": "cargotime"}))
        else:
            urls.append("/" + re.sub(r"<[^>]+>", str(object_id), route))
    return sorted(set(urls))


def staff(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password="secret", is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


class SecurityTestCase(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        self.tracking_id = book_voyage(self.app, self.clock)
        self.row = EventTimestamp.objects.order_by("pk")[0]
        self.urls = cargotime_urls(self.row.pk)

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


class PermissionTests(SecurityTestCase):
    def test_the_enumeration_finds_every_cargotime_page(self) -> None:
        row = f"/admin/cargotime/eventtimestamp/{self.row.pk}/"
        assert self.urls == [
            reverse("admin:app_list", kwargs={"app_label": "cargotime"}),
            reverse("admin:cargotime_eventtimestamp_changelist"),
            row,
            f"{row}change/",
            f"{row}delete/",
            f"{row}history/",
            reverse("admin:cargotime_eventtimestamp_add"),
            reverse("admin:cargotime_fleet"),
            TIME_TRAVEL,
        ]

    def test_anonymous_users_are_sent_to_the_login_page(self) -> None:
        for url in self.urls:
            for query in ["", f"?tracking_id={self.tracking_id}&format=json"]:
                with self.subTest(url=url + query):
                    response = self.client.get(url + query)
                    assert response.status_code == 302
                    assert response["Location"].startswith(f"{LOGIN}?next=")

    def test_staff_without_the_permission_are_refused(self) -> None:
        client = self.client_for(staff("clerk"))
        app_index = reverse("admin:app_list", kwargs={"app_label": "cargotime"})
        for url in self.urls:
            with self.subTest(url=url):
                response = client.get(url, follow=True)
                # The admin does not even admit that an app it hides exists.
                assert response.status_code == (404 if url == app_index else 403)
        response = client.get(
            TIME_TRAVEL, {"tracking_id": str(self.tracking_id), "format": "json"}
        )
        assert response.status_code == 403
        assert "view_cargo_history" in response.json()["error"]

    def test_cargotime_offers_only_the_permission_that_opens_something(self) -> None:
        # Index rows tell a cargo's history as surely as the page does, and are
        # read-only: their own add, change, delete and view permissions would grant
        # nothing, so there are none to hand out by mistake.
        codenames = Permission.objects.filter(
            content_type__app_label="cargotime"
        ).values_list("codename", flat=True)
        assert list(codenames) == ["view_cargo_history"]
        assert str(Permission.objects.get(codename="view_cargo_history")) == (
            "Cargo time travel | event timestamp | "
            "Can view a cargo as it was at any time"
        )

    def test_the_migration_drops_the_permissions_that_opened_nothing(self) -> None:
        # Databases migrated before had them, perhaps given to groups: they go.
        migration = import_module(
            "cargotime.migrations.0005_event_timestamp_permissions"
        )
        content_type = ContentType.objects.get_for_model(EventTimestamp)
        group = Group.objects.create(name="clerks")
        kept = Permission.objects.get(codename="view_cargo_history")
        group.permissions.add(kept)
        for codename in migration.UNUSED:
            group.permissions.add(
                Permission.objects.create(
                    codename=codename, name=codename, content_type=content_type
                )
            )
        editor = SimpleNamespace(connection=connection)
        migration.drop_unused_permissions(django_apps, editor)
        assert list(group.permissions.all()) == [kept]
        assert not Permission.objects.filter(codename__in=migration.UNUSED).exists()

    def test_staff_with_the_permission_see_the_page(self) -> None:
        client = self.client_for(staff("historian", "cargotime.view_cargo_history"))
        response = client.get(TIME_TRAVEL, {"tracking_id": str(self.tracking_id)})
        assert response.status_code == 200
        response = client.get(
            TIME_TRAVEL, {"tracking_id": str(self.tracking_id), "format": "json"}
        )
        assert response.status_code == 200
        assert response.json()["tracking_id"] == str(self.tracking_id)

    def test_a_user_who_is_not_staff_is_sent_to_the_login_page(self) -> None:
        user = staff("outsider", "cargotime.view_cargo_history")
        user.is_staff = False
        user.save()
        response = self.client_for(user).get(TIME_TRAVEL)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")


class CsrfTests(SecurityTestCase):
    def test_the_csrf_middleware_is_on(self) -> None:
        assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE

    def test_the_admin_login_needs_a_csrf_token(self) -> None:
        User.objects.create_superuser("boss", password="secret")
        client = Client(enforce_csrf_checks=True)
        credentials = {"username": "boss", "password": "secret", "next": TIME_TRAVEL}
        response = client.post(LOGIN, credentials)
        assert response.status_code == 403
        assert "_auth_user_id" not in client.session

        client.get(LOGIN)
        token = client.cookies["csrftoken"].value
        response = client.post(LOGIN, {**credentials, "csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert response["Location"] == TIME_TRAVEL
        assert client.session["_auth_user_id"]

    def test_every_cargotime_url_refuses_a_post_without_a_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(User.objects.create_superuser("boss", password="secret"))
        before = stored()
        for route, pattern in cargotime_routes():
            url = "/" + re.sub(r"<[^>]+>", str(self.row.pk), route)
            if pattern.name == "app_list":
                url = reverse("admin:app_list", kwargs={"app_label": "cargotime"})
            with self.subTest(url=url):
                assert not getattr(pattern.callback, "csrf_exempt", False)
                response = client.post(url, {"tracking_id": str(self.tracking_id)})
                assert response.status_code == 403
                assert b"CSRF" in response.content
        assert stored() == before


class QueryLog:
    """Every statement the connection runs, before parameters are bound."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.statements.append((sql, params))
        return execute(sql, params, many, context)

    def sql(self) -> str:
        return "\n".join(sql for sql, _ in self.statements)

    def params(self) -> list[Any]:
        return list(flatten([params for _, params in self.statements]))


def flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from flatten(item)
    elif isinstance(value, dict):
        yield from flatten(list(value.values()))
    else:
        yield value


def mentions(values: list[Any], tracking_id: UUID) -> bool:
    return any(
        value == tracking_id or str(value) in {str(tracking_id), tracking_id.hex}
        for value in values
    )


class ParameterisedSqlTests(SecurityTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client.force_login(User.objects.create_superuser("boss", password="x"))

    def logged(self, requests: Callable[[], None]) -> QueryLog:
        log = QueryLog()
        with connection.execute_wrapper(log):
            requests()
        assert log.statements, "nothing reached the database"
        return log

    def test_sql_ish_input_to_the_admin_never_becomes_sql(self) -> None:
        changelist = reverse("admin:cargotime_eventtimestamp_changelist")
        tracking_id = str(self.tracking_id)

        def requests() -> None:
            for text in SQL_INJECTIONS:
                for name in ["tracking_id", "at", "version", "compare_at", "q"]:
                    self.client.get(TIME_TRAVEL, {name: text})
                    self.client.get(
                        TIME_TRAVEL, {"tracking_id": tracking_id, name: text}
                    )
                self.client.get(changelist, {"q": text})
                self.client.get(changelist, {"q": text, "timestamp__year": text})
            # Input that passes the forms, so that it does reach the database.
            self.client.get(TIME_TRAVEL, {"tracking_id": tracking_id, "format": "json"})
            self.client.get(changelist, {"q": tracking_id[:8]})

        log = self.logged(requests)
        sql = log.sql()
        for text in SQL_INJECTIONS:
            assert text not in sql
        # What did reach the database went as parameters, never as SQL text.
        assert tracking_id not in sql and self.tracking_id.hex not in sql
        assert tracking_id[:8] not in sql
        assert mentions(log.params(), self.tracking_id)
        assert any(tracking_id[:8] in str(value) for value in log.params())

    def test_the_application_passes_ids_and_instants_as_parameters(self) -> None:
        instant = START + timedelta(hours=3, microseconds=123457)

        def calls() -> None:
            self.app.get_cargo_at_timestamp(self.tracking_id, instant)
            self.app.get_cargo(self.tracking_id)
            self.app.change_destination(self.tracking_id, "AUMEL")  # type: ignore[arg-type]

        log = self.logged(calls)
        sql = log.sql()
        assert str(self.tracking_id) not in sql and self.tracking_id.hex not in sql
        assert "123457" not in sql
        assert mentions(log.params(), self.tracking_id)


# Expressions that may be spliced into SQL text: quoted identifiers, fixed fragments
# built from them, and placeholders. Anything else in an f-string of SQL needs review.
IDENTIFIER_CALLS = re.compile(
    r"^(sql\.)?(table|quote|names|column|_table|quote_name|connection\.ops\.quote_name"
    r"|_from_arrays|_where|fleet_states|fleet_late|fleet_condition"
    r"|_of_aggregate|_version_at_instant|_latest_snapshot)\("
)
FRAGMENTS = {
    "after",
    "application",
    # The fleet's fragments in cargotime/sql.py, each built from quote() and names().
    "before",
    "bound",
    "booked_at",
    "bookings",
    "changed",
    "differs",
    "grouped",
    "head",
    "inner",
    "latest",
    "misdirected",
    "selected",
    "voyage",
    "columns",
    "mode",
    # The one-statement visit of the admin, in cargotime/sql.py.
    "joined",
    "moment",
    # Its field sources: c0… aliases and positions from range(), placeholders.
    "alias",
    "named",
    "position",
    "topic",
    "topics",
    "window",
    "of_aggregate",
    "originator_id",
    "placeholders",
    "returning",
    "rows",
    "table",
    "timestamp",
    "version",
}
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|LOCK TABLE|WHERE|VALUES|CREATE|DROP)\b"
)


def sql_interpolations(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Yield (line, source) of each value spliced into an f-string of SQL."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        text = "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
        if not SQL_WORDS.search(text):
            continue
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield node.lineno, ast.unparse(part.value)


def is_fixed_fragment(source: str) -> bool:
    if source in FRAGMENTS or IDENTIFIER_CALLS.match(source):
        return True
    # ", ".join of placeholders, rows of them, or of fragments built above.
    joined = re.fullmatch(r"'[ ,A-Z]*'\.join\((.*)\)", source)
    return bool(joined) and bool(
        re.search(
            r"'%s'|\brow\b|\barrays\b|\bparts\b|\bctes\b|\bselects\b|\bconditions\b",
            source,
        )
    )


class SqlSourceTests(TestCase):
    def modules(self) -> Iterator[tuple[Path, ast.AST]]:
        for path in sorted(APP_DIR.rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))

    def test_no_sql_text_takes_anything_but_identifiers_and_placeholders(self) -> None:
        spliced = [
            f"{path.relative_to(ROOT)}:{line}: {source}"
            for path, tree in self.modules()
            for line, source in sql_interpolations(tree)
            if not is_fixed_fragment(source)
        ]
        assert spliced == [], "\n".join(spliced)

    def test_the_check_finds_a_value_spliced_into_sql(self) -> None:
        bad = ast.parse('cursor.execute(f"SELECT * FROM t WHERE id = {tracking_id}")')
        assert [source for _, source in sql_interpolations(bad)] == ["tracking_id"]
        assert not is_fixed_fragment("tracking_id")
        assert is_fixed_fragment("sql.table(self.model)")

    def test_no_sql_is_formatted_with_percent_or_format(self) -> None:
        found = []
        for path, tree in self.modules():
            for node in ast.walk(tree):
                literal = None
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                    literal = node.left
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format"
                ):
                    literal = node.func.value
                if (
                    isinstance(literal, ast.Constant)
                    and isinstance(literal.value, str)
                    and SQL_WORDS.search(literal.value)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{literal.lineno}")
        assert found == []

    def test_orm_escape_hatches_take_values_only_as_params(self) -> None:
        found = []
        for path, tree in self.modules():
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if not (name.endswith((".raw", ".extra")) or name == "RawSQL"):
                    continue
                keywords = {keyword.arg for keyword in node.keywords}
                # raw(sql, params) and RawSQL(sql, params); extra(where=, params=).
                if "params" not in keywords and len(node.args) < 2:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
        assert found == []


@pytest.mark.e2e
class DeployCheckTests(TestCase):
    production = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "cargo.example.com",
    }

    def test_production_settings_pass_check_deploy(self) -> None:
        result = manage(
            "check", "--deploy", "--fail-level", "WARNING", environ=self.production
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_check_deploy_fails_a_development_setup(self) -> None:
        # The check above means something: debug mode and a weak key fail it.
        result = manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            environ={**self.production, "DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "k"},
        )
        assert result.returncode != 0
        assert "security.W018" in result.stderr
        assert "security.W009" in result.stderr
