"""The agents' tables show each row's unread messages and pending correction request,
read for the whole page in one query, and filter on them."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, follow, procedure_with_form

import factories as make
from app.extensions import db
from app.models import AuthorKind, CorrectionReason, Follow, Message, utcnow
from app.services import search, tables
from app.services.tables import Filter, Sort, TableQuery

COLUMNS = ("number", "messages", "correction")


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, colleague = agent(), agent()
        applicant = make.user()
        procedure = procedure_with_form(me, colleague)
        chatty = dossier(procedure, applicant, S.submitted)
        quiet = dossier(procedure, applicant, S.submitted)
        waiting = dossier(procedure, applicant, S.submitted)
        follow(chatty, me)
        follow(quiet, me)
        seen = utcnow() - timedelta(hours=1)
        db.session.execute(
            sa.update(Follow).where(Follow.user_id == me.id).values(messages_seen_at=seen)
        )

        def message(item, author, minutes_ago, **extra):
            db.session.add(
                Message(
                    dossier_id=item.id,
                    author_id=author.id,
                    author_kind=AuthorKind.applicant if author is applicant else AuthorKind.agent,
                    body="…",
                    created_at=utcnow() - timedelta(minutes=minutes_ago),
                    **extra,
                )
            )

        message(chatty, applicant, 10)
        message(chatty, applicant, 5)
        message(chatty, applicant, 120)  # read already
        message(chatty, me, 1)  # my own
        message(chatty, applicant, 2, deleted_at=utcnow())
        message(quiet, applicant, 90)  # read already
        message(waiting, colleague, 30, correction_reason=CorrectionReason.incomplete)
        message(
            quiet,
            colleague,
            300,
            correction_reason=CorrectionReason.incomplete,
            correction_resolved_at=utcnow(),
        )
        db.session.commit()
        yield SimpleNamespace(
            me=me, procedure=procedure, chatty=chatty, quiet=quiet, waiting=waiting
        )


def page(world, **changes):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(world.procedure.id, tab="all", columns=COLUMNS, **changes), columns
    )
    return {row.id: row for row in tables.fetch_page(query, world.me, columns).rows}


def test_rows_carry_the_agents_unread_count_and_the_pending_correction(world):
    rows = page(world)
    assert rows[world.chatty.id].unread == 2  # not mine, not read, not deleted
    assert rows[world.quiet.id].unread == 0
    assert rows[world.waiting.id].unread == 0  # not followed: no counter, as in the thread
    assert rows[world.waiting.id].pending_correction
    assert not rows[world.quiet.id].pending_correction  # answered by a re-submission
    assert not rows[world.chatty.id].pending_correction


def test_the_threads_of_a_page_cost_one_query(world):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(TableQuery(world.procedure.id, tab="all", columns=COLUMNS), columns)
    list(world.me.roles)
    tables.group_hint(world.me)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        tables.fetch_page(query, world.me, columns)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 2  # the rows, then the page's threads
    assert "FROM message" in statements[1] and "GROUP BY message.dossier_id" in statements[1]


def test_filters_keep_the_dossiers_waiting_for_corrections_or_with_unread_messages(world):
    waiting = page(world, filters=(Filter("correction", "eq", "true"),))
    assert set(waiting) == {world.waiting.id}
    not_waiting = page(world, filters=(Filter("correction", "eq", "no"),))
    assert set(not_waiting) == {world.chatty.id, world.quiet.id}
    unread = page(world, filters=(Filter("messages", "not_empty"),))
    assert set(unread) == {world.chatty.id}
    assert set(page(world, filters=(Filter("messages", "empty"),))) == {
        world.quiet.id,
        world.waiting.id,
    }


def test_the_table_sorts_by_unread_messages_and_by_correction(world):
    ordered = list(page(world, sort=Sort("messages", "desc")))
    assert ordered[0] == world.chatty.id
    ordered = list(page(world, sort=Sort("correction", "desc")))
    assert ordered[0] == world.waiting.id


def test_a_correction_filter_needs_yes_or_no(world):
    columns = tables.catalogue(world.procedure, world.me)
    with pytest.raises(tables.TableQueryError):
        tables.validate(
            TableQuery(world.procedure.id, filters=(Filter("correction", "eq", "maybe"),)),
            columns,
        )


def test_the_table_page_shows_the_count_and_the_marker(client, world):
    make.login(client, world.me.username)
    html = client.get(
        f"/instruction/procedures/{world.procedure.id}/", query_string={"tab": "all"}
    ).get_data(as_text=True)
    assert html.count('class="label label-warning"') == 1
    row = html.split(f'id="select-{world.chatty.id}"')[1].split("</tr>")[0]
    assert '<span class="badge"' in row and ">2<" in row
