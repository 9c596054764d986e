"""Statistics and support through HTTP: the public /stats page in French (and English),
who reaches a procedure's statistics and their CSV, the platform admin's dashboard, the
contact form with CSRF and rate limits on, and answering a support request."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
import stats_data

import factories as make
from app.extensions import db
from app.models import (
    AdministrationMember,
    OutboxEvent,
    StatsSnapshot,
    SupportRequest,
    utcnow,
)
from app.security import Roles, sync_permissions
from app.services import stats
from app.views.stats import ProcedureStatisticsView, register_stats, register_stats_views

PASSWORD = "a-long-test-password"


def build(make_app, **config):
    """An app with the statistics registered (``create_app`` may not call them yet)."""
    app = make_app(**config)
    with app.app_context():
        if "stats" not in app.blueprints:
            register_stats(app)
        if not any(isinstance(view, ProcedureStatisticsView) for view in app.appbuilder.baseviews):
            register_stats_views(app.appbuilder)
        sync_permissions(app.appbuilder)
    return app


@pytest.fixture
def app(make_app):
    return build(make_app)


@pytest.fixture
def known(app):
    """The known platform, and snapshots computed at its "now" (2025-04-15) that stay
    fresh however late the test runs."""
    with app.app_context():
        ids = stats_data.build()
        far = timedelta(days=365_000)
        stats.read(stats.PUBLIC_KEY, stats.public_figures, far, stats_data.NOW)
        stats.read(stats.PLATFORM_KEY, stats.platform_figures, far, stats_data.NOW)
        app.config["STATS_STALE_AFTER_SECONDS"] = far.total_seconds()
        app.config["STATS_PROCEDURE_STALE_AFTER_SECONDS"] = far.total_seconds()
        for key in ("P1", "P3"):
            stats.read(
                stats.procedure_key(ids[key]),
                lambda now, key=key: stats.procedure_figures(ids[key], now),
                far,
                stats_data.NOW,
            )
        return ids


@pytest.fixture
def people(app, known):
    """An administrator of P1's administration, one of P2's, P1's agent, an agent of P3
    only, an applicant and the platform admin (usernames)."""
    with app.app_context():
        sm = app.appbuilder.sm
        users = {
            "admin": make.user(Roles.ADMINISTRATOR),
            "other_admin": make.user(Roles.ADMINISTRATOR),
            "agent": db.session.get(sm.user_model, known["u1"]),
            "other_agent": db.session.get(sm.user_model, known["u3"]),
            "applicant": make.user(Roles.APPLICANT),
            "operator": make.user(Roles.ADMIN),
        }
        db.session.add(
            AdministrationMember(administration_id=known["A1"], user_id=users["admin"].id)
        )
        db.session.add(
            AdministrationMember(administration_id=known["A2"], user_id=users["other_admin"].id)
        )
        db.session.commit()
        for user in users.values():
            sm.reset_password(user.id, PASSWORD)
        return {name: user.username for name, user in users.items()}


def login(client, username):
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def cells(html: str, table_id: str) -> list[list[str]]:
    """The rows of the table ``table_id``, each a list of its cells' text."""
    table = html.split(f'id="{table_id}"', 1)[1]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


# ---------------------------------------------------------------------------------------
# The public page


def test_the_public_page_speaks_french_with_french_numbers_and_months(client, known):
    response = client.get("/stats")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="fr">' in html
    assert "usa-header" in html  # the portal's look
    # Key figures: 4 active procedures, 5 administrations, 3 agents, 12 filed, 9 decided;
    # median 518,400 s = 6.0 days; 4 satisfied of 6 answers; support 91,800 s = 1.1 days.
    figures = dict(re.findall(r"<div><dt>(.*?)</dt><dd>(.*?)</dd></div>", html))
    values = list(figures.values())
    assert values[:5] == ["4", "5", "3", "12", "9"]
    assert values[5].startswith("6,0 ")
    assert values[6].startswith("23,7 ")  # 2,047,680 s
    assert values[7] == "66,7\xa0%"
    assert values[8].startswith("1,1 ")
    assert "janvier 2025" in html and "avril 2025" in html


def test_each_chart_is_an_accessible_svg_followed_by_its_data_table(client, known):
    html = text(client.get("/stats"))
    charts = re.findall(
        r'<svg class="guichet-chart" id="([^"]+)" role="img" aria-labelledby="([^"]+)"', html
    )
    assert [chart_id for chart_id, _ in charts] == [
        "chart-filed-decided",
        "chart-decisions",
        "chart-processing",
        "chart-satisfaction",
        "chart-kinds",
    ]
    for chart_id, labelled_by in charts:
        assert labelled_by == f"{chart_id}-title {chart_id}-desc"
        assert f'<title id="{chart_id}-title">' in html
        # The chart's own data table comes right after it, before any other chart.
        after = html.split(f'id="{chart_id}"')[1].split("</svg>", 1)[1]
        assert after.lstrip().startswith("</div>")
        next_chart = after.find("<svg")
        table = after.index(f'id="{chart_id}-table"')
        assert next_chart == -1 or table < next_chart
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert all("<script" not in svg and "href=" not in svg for svg in svgs)  # self-contained
    filed = cells(html, "chart-filed-decided-table")
    assert filed[-4:] == [
        ["janvier 2025", "4", "1"],
        ["février 2025", "3", "3"],
        ["mars 2025", "3", "2"],
        ["avril 2025", "1", "2"],
    ]
    assert len(filed) == 12 and filed[0] == ["mai 2024", "0", "0"]
    satisfaction = cells(html, "chart-satisfaction-table")
    assert satisfaction[-2] == ["mars 2025", "3", "2", "66,7\xa0%"]
    assert satisfaction[-1] == ["avril 2025", "0", "0", "–"]
    decisions = cells(html, "chart-decisions-table")
    assert [row[1:] for row in decisions] == [
        ["6", "66,7\xa0%"],
        ["2", "22,2\xa0%"],
        ["1", "11,1\xa0%"],
        ["9", "100,0\xa0%"],
    ]
    processing = cells(html, "chart-processing-table")
    assert processing[-3][0] == "février 2025" and processing[-3][1] == "3"
    assert processing[-3][2].startswith("10,0 ") and processing[-3][3].startswith("13,2 ")


def test_the_portal_pages_keep_to_the_strict_content_security_policy(client, known):
    """No inline style or script in what these pages add to the portal's frame: the
    portal's policy allows styles and scripts from Guichet's own files only."""
    for url in ("/stats", "/contact"):
        html = client.get(url).get_data(as_text=True)
        main = html.split("<main", 1)[1].split("</main>", 1)[0]
        head = html.split("</head>", 1)[0]
        for part in (main, head):
            assert "<script" not in part and "<style" not in part, url
            assert not re.search(r"\s(style|on[a-z]+)=", part), url
        assert "/static/guichet/stats.css" in head or url == "/contact"


def test_the_public_page_in_english_formats_the_english_way(client, known):
    client.get("/langue/en")
    html = text(client.get("/stats"))
    assert '<html lang="en">' in html
    assert "January 2025" in html
    assert "66.7%" in html


def test_the_public_page_computes_its_snapshot_when_there_is_none(app, client):
    with app.app_context():
        stats_data.build()
    assert client.get("/stats").status_code == 200
    with app.app_context():
        snapshot = db.session.get(StatsSnapshot, stats.PUBLIC_KEY)
        assert snapshot is not None
        assert snapshot.payload["filed"] == 12
        assert utcnow() - snapshot.computed_at < timedelta(minutes=1)


# ---------------------------------------------------------------------------------------
# A procedure's statistics


def procedure_url(known, key="P1", suffix=""):
    return f"/procedures/{known[key]}/statistiques{suffix}"


@pytest.mark.parametrize("who", ["admin", "agent", "operator"])
def test_the_procedures_administrators_agents_and_the_platform_admin_read_its_statistics(
    client, known, people, who
):
    login(client, people[who])
    response = client.get(procedure_url(known))
    assert response.status_code == 200
    html = text(response)
    funnel = cells(html, "chart-funnel-table")
    assert [row[1:] for row in funnel] == [
        ["7", "100,0\xa0%"],
        ["6", "85,7\xa0%"],
        ["5", "71,4\xa0%"],
    ]
    weeks = cells(html, "chart-weeks-table")
    assert len(weeks) == 26 and weeks[11] == ["6 janv. 2025", "1"]
    assert 'role="img"' in html


@pytest.mark.parametrize("who", ["other_admin", "other_agent"])
def test_anyone_else_with_the_permission_gets_a_404(client, known, people, who):
    login(client, people[who])
    assert client.get(procedure_url(known)).status_code == 404
    assert client.get(procedure_url(known, suffix=".csv")).status_code == 404
    assert client.get(f"/procedures/{10**6}/statistiques").status_code == 404


def test_an_applicant_is_refused_and_a_visitor_sent_to_the_login_page(client, known, people):
    anonymous = client.get(procedure_url(known))
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    login(client, people["applicant"])
    assert client.get(procedure_url(known)).status_code == 403


def test_the_list_offers_the_procedures_one_may_read(client, known, people):
    login(client, people["other_agent"])
    html = text(client.get("/procedures/statistiques"))
    assert f'href="/procedures/{known["P3"]}/statistiques"' in html
    assert f'href="/procedures/{known["P1"]}/statistiques"' not in html


def test_the_csv_gives_every_figure_of_the_procedure(client, known, people):
    login(client, people["agent"])
    response = client.get(procedure_url(known, suffix=".csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["indicator", "item", "label", "value", "unit"]
    values = {(row[0], row[1]): (row[3], row[4]) for row in rows[1:]}
    assert values[("funnel", "started")] == ("7", "dossiers")
    assert values[("funnel", "submitted")] == ("6", "dossiers")
    assert values[("funnel", "decided")] == ("5", "dossiers")
    assert values[("decisions", "accepted")] == ("3", "dossiers")
    assert values[("decisions", "refused")] == ("1", "dossiers")
    assert values[("decisions", "closed_without_action")] == ("1", "dossiers")
    assert values[("processing_time", "median")] == ("10.0000", "days")
    assert values[("processing_time", "p90")] == ("12.4000", "days")  # 1,071,360 s
    assert values[("processing_time_distribution", "7-14")] == ("2", "dossiers")
    assert values[("decided_per_week", "2025-02-10")] == ("1", "dossiers")
    assert values[("satisfaction", "dissatisfied")] == ("1", "answers")
    assert values[("satisfaction", "rate")] == ("0.7500", "ratio")
    assert sum(1 for row in rows if row[0] == "decided_per_week") == 26


# ---------------------------------------------------------------------------------------
# The platform admin's dashboard


def test_the_platform_admin_sees_the_figures_per_administration(client, known, people):
    login(client, people["operator"])
    response = client.get("/admin/statistiques/")
    assert response.status_code == 200
    html = text(response)
    rows = cells(html, "administrations-table")
    assert [row[0] for row in rows] == [
        "Administration ministry",
        "Administration prefecture",
        "Administration town",
        "Administration university",
        "Administration disabled",
    ]
    assert rows[0][2:] == ["1", "1", "2", "6", "5", "3", "1", "1"] + rows[0][10:]
    assert rows[0][10].startswith("6,0 ") and rows[0][11].startswith("12,8 ")
    assert rows[0][12] == "66,7\xa0%"
    top = cells(html, "chart-top-procedures-table")
    assert [row[0] for row in top] == [
        "Procédure p3",
        "Procédure p4",
        "Procédure p1",
        "Procédure p2",
    ]
    growth = cells(html, "chart-growth-table")
    assert growth[-1] == ["avril 2025", "1", "6", "0", "6", "1", "12"]


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_the_dashboard_is_for_the_platform_admin_only(client, known, people, who):
    login(client, people[who])
    assert client.get("/admin/statistiques/").status_code == 403


# ---------------------------------------------------------------------------------------
# Contact form and support


def csrf_token_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_contact_form_needs_its_csrf_token_and_records_the_request(make_app):
    app = build(make_app, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    form = {
        "name": "Marie Curie",
        "email": "Marie.Curie@Example.org",
        "subject": "Accès à mon compte",
        "body": "Je n'arrive pas à me connecter.",
    }
    refused = client.post("/contact", data=form)
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportRequest)) == 0
    token = csrf_token_in(client.get("/contact").get_data(as_text=True))
    sent = client.post("/contact", data={**form, "csrf_token": token})
    assert sent.status_code == 302 and sent.location.endswith("/contact/envoye")
    with app.app_context():
        request = db.session.scalars(sa.select(SupportRequest)).one()
        assert (request.name, request.email, request.subject) == (
            "Marie Curie",
            "marie.curie@example.org",
            "Accès à mon compte",
        )
        assert request.author_id is None and request.locale == "fr"
        assert request.first_answered_at is None and request.closed_at is None
    confirmation = text(client.get(sent.location))
    assert f"{request.id}" in confirmation
    assert client.get("/contact/envoye").status_code == 302  # shown once


def test_the_contact_form_is_prefilled_for_a_signed_in_person(app, client, people):
    login(client, people["applicant"])
    html = text(client.get("/contact"))
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=people["applicant"])
        assert f'value="{user.email}"' in html
        assert f'value="{user.first_name} {user.last_name}"' in html
    client.post(
        "/contact",
        data={"name": "X", "email": user.email, "subject": "Sujet", "body": "Texte"},
    )
    with app.app_context():
        sent = db.session.scalars(
            sa.select(SupportRequest).where(SupportRequest.email == user.email)
        ).one()
        assert sent.author_id == user.id


def test_the_contact_form_says_what_is_missing(client):
    response = client.post("/contact", data={"name": "", "email": "pas-une-adresse"})
    assert response.status_code == 422
    html = text(response)
    assert 'href="#name"' in html and 'href="#email"' in html and 'href="#subject"' in html
    assert 'href="#body"' in html and 'aria-invalid="true"' in html


def test_the_contact_form_is_rate_limited(make_app):
    app = build(make_app, RATELIMIT_ENABLED=True)
    client = app.test_client()
    form = {"name": "A", "email": "a@example.org", "subject": "S", "body": "B"}
    for _ in range(5):
        assert client.post("/contact", data=form).status_code == 302
    blocked = client.post("/contact", data=form)
    assert blocked.status_code == 429
    assert "usa-header" in blocked.get_data(as_text=True)
    assert client.get("/contact").status_code == 200


def test_the_platform_admin_answers_a_request_by_mail_and_closes_it(app, client, people):
    client.post(
        "/contact",
        data={"name": "Léa", "email": "lea@example.org", "subject": "Question", "body": "Aide"},
    )
    with app.app_context():
        request_id = db.session.scalar(
            sa.select(SupportRequest.id).where(SupportRequest.email == "lea@example.org")
        )
    other = app.test_client()
    login(other, people["admin"])
    assert other.get("/admin/support/").status_code == 403
    login(client, people["operator"])
    listing = text(client.get("/admin/support/?tab=unanswered"))
    assert f'href="/admin/support/{request_id}"' in listing
    assert client.post(f"/admin/support/{request_id}/answer", data={"body": " "}).status_code == 422
    answered = client.post(
        f"/admin/support/{request_id}/answer", data={"body": "Voici la réponse."}
    )
    assert answered.status_code == 302
    with app.app_context():
        item = db.session.get(SupportRequest, request_id)
        first = item.first_answered_at
        assert first is not None and len(item.answers) == 1
        mails = [
            event.payload
            for event in db.session.scalars(
                sa.select(OutboxEvent).where(OutboxEvent.topic == "mail.send")
            )
        ]
        assert len(mails) == 1 and mails[0]["to"] == ["lea@example.org"]
        assert "Voici la réponse." in mails[0]["body"] and "Question" in mails[0]["subject"]
        assert "Léa" in mails[0]["body"] and f" {request_id} " in mails[0]["body"]
        assert app.config["PUBLIC_URL"].rstrip("/") + "/contact" in mails[0]["body"]
    client.post(f"/admin/support/{request_id}/answer", data={"body": "Et un complément."})
    assert client.post(f"/admin/support/{request_id}/close").status_code == 302
    with app.app_context():
        item = db.session.get(SupportRequest, request_id)
        assert item.first_answered_at == first and len(item.answers) == 2
        assert item.closed_at is not None
    assert f'href="/admin/support/{request_id}"' not in text(client.get("/admin/support/"))
    assert f'href="/admin/support/{request_id}"' in text(client.get("/admin/support/?tab=closed"))
    client.post(f"/admin/support/{request_id}/reopen")
    with app.app_context():
        assert db.session.get(SupportRequest, request_id).closed_at is None
