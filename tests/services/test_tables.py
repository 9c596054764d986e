"""The agents' dossier tables: tabs, filters, sort, keyset pages, counters and scoping."""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, follow, group, label, procedure_with_form

import factories as make
from app.extensions import db
from app.models import Dossier, DossierTally, SavedView, User, utcnow
from app.security import Roles
from app.services import instruction, search, tables
from app.services.tables import PAGE_SIZE, Filter, Sort, TableQuery, TableQueryError


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, colleague, outsider = agent(), agent(), agent()
        applicant = make.user()
        procedure = procedure_with_form(me, colleague)
        group_b = group(procedure, "Groupe B")
        group_b.members.append(outsider)
        other_procedure = procedure_with_form(me)
        d = SimpleNamespace()
        d.new = dossier(procedure, applicant, S.submitted)
        d.mine = dossier(procedure, applicant, S.in_review)
        follow(d.mine, me)
        d.theirs = dossier(procedure, applicant, S.in_review)
        follow(d.theirs, colleague)
        d.accepted = dossier(procedure, applicant, S.accepted)
        d.archived = dossier(procedure, applicant, S.refused, archived=True)
        d.expiring = dossier(
            procedure, applicant, S.accepted, expires_at=utcnow() + timedelta(days=5)
        )
        d.later = dossier(
            procedure, applicant, S.closed_without_action, expires_at=utcnow() + timedelta(days=40)
        )
        d.deleted = dossier(procedure, applicant, S.submitted, hidden_by_administration_at=utcnow())
        d.draft = dossier(procedure, applicant, S.draft)
        d.group_b = dossier(procedure, applicant, S.submitted, group_=group_b)
        d.elsewhere = dossier(other_procedure, applicant, S.submitted)
        yield SimpleNamespace(
            me=me,
            colleague=colleague,
            outsider=outsider,
            applicant=applicant,
            procedure=procedure,
            other_procedure=other_procedure,
            group_b=group_b,
            d=d,
        )


def ids(*dossiers):
    return {item.id for item in dossiers}


def run(world, user=None, **changes):
    """Every row of a query, page after page, with the catalogue of the person."""
    user = user or world.me
    columns = tables.catalogue(world.procedure, user)
    query = tables.validate(TableQuery(world.procedure.id, **changes), columns)
    rows = []
    while True:
        page = tables.fetch_page(query, user, columns)
        rows.extend(page.rows)
        if not page.next_cursor:
            return rows
        query = query.replace(cursor=page.next_cursor)


def found(world, user=None, **changes):
    return {row.id for row in run(world, user, **changes)}


def test_each_tab_holds_the_dossiers_its_definition_says(world):
    d = world.d
    live = ids(d.new, d.mine, d.theirs, d.accepted, d.expiring, d.later)
    expected = {
        "to_follow": ids(d.new),
        "followed": ids(d.mine),
        "decided": ids(d.accepted, d.expiring, d.later),
        "all": live,
        "archived": ids(d.archived),
        "expiring": ids(d.expiring),
        "deleted": ids(d.deleted),
    }
    for tab, wanted in expected.items():
        assert found(world, tab=tab) == wanted, tab


def test_the_database_keeps_each_dossiers_follower_count(world):
    """Following, unfollowing and the cascade of a deleted account all move the count the
    "to follow" tab reads, whoever writes the follow."""
    d, me, colleague = world.d, world.me, world.colleague

    def count():
        return db.session.scalar(sa.select(Dossier.follower_count).where(Dossier.id == d.new.id))

    assert count() == 0 and d.new.id in found(world, tab="to_follow")
    assert instruction.follow(d.new, me) and not instruction.follow(d.new, me)
    follow(d.new, colleague)
    assert count() == 2
    assert d.new.id not in found(world, tab="to_follow")
    assert d.new.id in found(world, tab="followed")
    assert instruction.unfollow(d.new, me) and not instruction.unfollow(d.new, me)
    db.session.commit()
    assert count() == 1 and d.new.id not in found(world, tab="followed")
    assert found(world, tab="all", filters=[Filter("followers", "empty")]) == ids(
        d.accepted, d.expiring, d.later
    )
    if db.engine.dialect.name != "postgresql":
        return  # SQLite enforces no foreign key here, so deletes cascade nothing
    user_role = User.__table__.metadata.tables["ab_user_role"]
    db.session.execute(sa.delete(user_role).where(user_role.c.user_id == colleague.id))
    db.session.execute(sa.delete(User).where(User.id == colleague.id))
    db.session.commit()
    assert count() == 0 and d.new.id in found(world, tab="to_follow")
    assert found(world, tab="all", filters=[Filter("followers", "not_empty")]) == ids(d.mine)


def test_counters_of_every_tab_equal_the_rows_each_tab_lists(world):
    counts = tables.tab_counts(world.me, [world.procedure.id, world.other_procedure.id])
    for tab in tables.TABS:
        assert counts[world.procedure.id][tab] == len(found(world, tab=tab)), tab
    assert counts[world.other_procedure.id]["to_follow"] == 1
    assert counts[world.other_procedure.id]["all"] == 1


def test_counters_stay_right_through_every_change_and_the_tallies_compaction(world):
    """Submissions, decisions, follows, archiving, deletion by the administration, a move
    to another group: the tallies the triggers write follow, before and after they are
    compacted into one row per key."""
    d = world.d

    def check():
        db.session.commit()
        for user in (world.me, world.outsider):
            counts = tables.tab_counts(user, [world.procedure.id])[world.procedure.id]
            for tab in tables.TABS:
                assert counts[tab] == len(found(world, user, tab=tab)), (user, tab)

    check()
    d.draft.state = S.submitted
    d.new.state = S.in_review
    d.accepted.archived = True
    d.later.hidden_by_administration_at = utcnow()
    d.theirs.group = world.group_b
    check()
    instruction.unfollow(d.mine, world.me)
    follow(d.new, world.me)
    db.session.delete(d.expiring)
    check()
    read = tables.compact_tallies()
    assert read > 0
    assert 0 < db.session.scalar(sa.select(sa.func.count()).select_from(DossierTally)) <= read
    check()
    assert tables.compact_tallies() < read  # one row per key now


def test_counters_come_from_one_query_without_count_distinct(world):
    procedure_ids = [world.procedure.id, world.other_procedure.id]
    list(world.me.roles)  # loaded, as for the signed-in person of a request
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        tables.tab_counts(world.me, procedure_ids)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    # The agent's groups (looked up once per request), then one query for every tab.
    assert len(statements) == 2 and "FROM dossier" not in statements[0]
    counting = statements[1]
    assert "DISTINCT" not in counting.upper()
    assert "FROM dossier_tally" in counting  # most tabs are sums of tallies
    statements.clear()
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        tables.tab_counts(world.me, procedure_ids)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 1  # the groups are known for the rest of the request


def test_an_agent_never_sees_counts_or_finds_a_dossier_outside_their_groups(world):
    d = world.d
    hidden = ids(d.group_b, d.elsewhere, d.draft)
    for tab in tables.TABS:
        assert not found(world, tab=tab) & hidden, tab
    assert tables.find_number(world.me, str(d.group_b.id)) is None
    assert tables.find_number(world.me, f"n° {d.new.id}") == d.new.id
    assert tables.find_number(world.me, str(d.draft.id)) is None
    # The outsider of group B sees only that one.
    assert found(world, world.outsider, tab="all") == ids(d.group_b)
    assert tables.tab_counts(world.outsider, [world.procedure.id])[world.procedure.id]["all"] == 1
    # A search matching everything still stops at the groups.
    assert found(world, tab="all", search="Anne") == ids(
        d.new, d.mine, d.theirs, d.accepted, d.expiring, d.later
    )


def test_an_applicant_or_an_expert_sees_no_table(world):
    expert = make.user(Roles.EXPERT)
    for person in (world.applicant, expert):
        assert tables.workspace_procedure(person, world.procedure.id) is None
        assert tables.tab_counts(person, [world.procedure.id])[world.procedure.id]["all"] == 0
        assert tables.find_number(person, str(world.d.new.id)) is None


def test_an_administrator_sees_the_whole_procedure(world):
    administrator = make.user(Roles.ADMINISTRATOR)
    make.administration(administrator)
    world.procedure.administration.members  # noqa: B018 (loaded for the membership below)
    from app.models import AdministrationMember

    db.session.add(
        AdministrationMember(
            administration_id=world.procedure.administration_id, user_id=administrator.id
        )
    )
    db.session.commit()
    assert ids(world.d.group_b) <= found(world, administrator, tab="all")


# -- filters ---------------------------------------------------------------------------


@pytest.fixture
def answered(world):
    p = world.procedure
    rows = SimpleNamespace(
        a=dossier(
            p,
            world.applicant,
            S.submitted,
            answers={
                "title": "Médiathèque du quartier",
                "amount": 1500.5,
                "people": 40,
                "start": "2024-03-10",
                "meeting": "2024-03-10T09:30",
                "kind": "Renouvellement",
                "days": ["Lundi", "Mercredi"],
                "aid": True,
                "aid_detail": "Subvention 2023",
                "dept": "69",
                "place": {"primary": "Rhône", "secondary": "Lyon"},
                "address": {
                    "street": "1 rue de la République",
                    "postcode": "69002",
                    "city": "Lyon",
                    "insee_code": "69382",
                    "country": "FR",
                },
            },
            annotations={"score": 8, "priority": "Haute"},
        ),
        b=dossier(
            p,
            world.applicant,
            S.in_review,
            answers={
                "title": "Fête des voisins",
                "amount": 200,
                "people": 150,
                "start": "2024-03-11",
                "meeting": "2024-03-11T00:00",
                "kind": "Première demande",
                "days": ["Mardi"],
                "aid": False,
                "dept": "01",
                "place": {"primary": "Ain", "secondary": "Bourg"},
            },
            annotations={"score": 3},
        ),
        c=dossier(p, world.applicant, S.accepted, answers={"title": "Atelier numérique"}),
    )
    return rows


def where(world, *filters, tab="all"):
    return found(world, tab=tab, filters=tuple(Filter(*item) for item in filters))


OPERATOR_CASES = [
    # numbers
    (("field:amount", "eq", "1500,5"), "a"),
    (("field:amount", "lt", "1500.5"), "b"),
    (("field:amount", "le", "1500.5"), "ab"),
    (("field:amount", "gt", "200"), "a"),
    (("field:amount", "ge", "200"), "ab"),
    (("field:amount", "between", ["100", "300"]), "b"),
    (("field:people", "empty", None), "c"),
    (("field:people", "not_empty", None), "ab"),
    (("annotation:score", "gt", "5"), "a"),
    # dates, and a date-time compared by its day
    (("field:start", "eq", "10/03/2024"), "a"),
    (("field:start", "lt", "2024-03-11"), "a"),
    (("field:start", "le", "2024-03-11"), "ab"),
    (("field:start", "gt", "2024-03-10"), "b"),
    (("field:start", "ge", "2024-03-10"), "ab"),
    (("field:start", "between", ["2024-03-11", "2024-12-31"]), "b"),
    (("field:meeting", "eq", "2024-03-10"), "a"),
    (("field:meeting", "le", "2024-03-10"), "a"),
    (("field:meeting", "gt", "2024-03-10"), "b"),
    # texts
    (("field:title", "contains", "QUARTIER"), "a"),
    (("field:title", "eq", "Fête des voisins"), "b"),
    (("field:aid_detail", "empty", None), "bc"),
    (("field:address", "contains", "république"), "a"),
    # choices
    (("field:kind", "in", ["Renouvellement", "Modification"]), "a"),
    (("field:kind", "not_in", ["Renouvellement"]), "bc"),
    (("field:days", "in", ["Mercredi", "Mardi"]), "ab"),
    (("field:days", "not_in", ["Lundi"]), "bc"),
    (("field:dept", "in", ["01"]), "b"),
    (("field:place", "in", ["Rhône"]), "a"),
    (("annotation:priority", "in", ["Haute"]), "a"),
    # yes / no
    (("field:aid", "eq", "oui"), "a"),
    (("field:aid", "eq", "false"), "b"),
    # system columns
    (("state", "in", ["in_review", "accepted"]), "bc"),
    (("state", "not_in", ["submitted"]), "bc"),
    (("applicant", "contains", "anne"), "abc"),
]


@pytest.mark.parametrize(("condition", "letters"), OPERATOR_CASES)
def test_each_operator_keeps_the_matching_dossiers(world, answered, condition, letters):
    wanted = {getattr(answered, letter).id for letter in letters}
    scope = ids(answered.a, answered.b, answered.c)
    assert where(world, condition) & scope == wanted


def test_filters_on_system_columns(world, answered):
    d = world.d
    late = label(world.procedure, "Incomplet", answered.a, d.new)
    assert where(world, ("labels", "in", [str(late.id)])) == ids(answered.a, d.new)
    assert answered.a.id not in where(world, ("labels", "not_in", [str(late.id)]))
    assert where(world, ("labels", "not_empty", None)) == ids(answered.a, d.new)
    assert where(world, ("followers", "not_empty", None)) == ids(d.mine, d.theirs)
    assert d.mine.id not in where(world, ("followers", "empty", None))
    assert where(world, ("number", "in", [str(d.new.id), str(d.group_b.id)])) == ids(d.new)
    assert where(world, ("number", "eq", str(d.accepted.id))) == ids(d.accepted)
    group_a = world.procedure.groups[0]
    assert where(world, ("group", "not_in", [str(group_a.id)])) == set()
    today = utcnow().date().isoformat()
    yesterday = (utcnow() - timedelta(days=2)).date().isoformat()
    assert where(world, ("decided_at", "empty", None)) >= ids(d.new, d.mine)
    assert d.new.id in where(world, ("submitted_at", "between", [yesterday, today]))


def test_filters_combine_with_and(world, answered):
    assert where(
        world, ("field:amount", "ge", "100"), ("field:kind", "in", ["Renouvellement"])
    ) == (ids(answered.a))


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (("nothing", "eq", "1"), "Colonne inconnue"),
        (("field:amount", "resembles", "1"), "Opérateur de filtre inconnu"),
        (("field:amount", "contains", "1"), "ne peut pas être filtrée"),
        (("field:amount", "eq", "beaucoup"), "saisissez un nombre"),
        (("field:start", "eq", "31/02/2024"), "saisissez une date"),
        (("field:kind", "in", ["Autre chose"]), "ne fait pas partie des valeurs"),
        (("field:amount", "between", ["300", "100"]), "ne doit pas dépasser"),
        (("field:amount", "between", "100"), "deux bornes"),
        (("field:kind", "in", []), "au moins une valeur"),
        (("field:aid", "eq", "peut-être"), "oui ou non"),
        (("field:title", "eq", "   "), "saisissez une valeur"),
        (("labels", "in", ["999999"]), "ne fait pas partie des valeurs"),
        (("group", "in", ["999999"]), "ne fait pas partie des valeurs"),
    ],
)
def test_unknown_columns_operators_and_values_are_refused_with_a_message(world, item, reason):
    """The messages are in the platform's language (French) by default."""
    columns = tables.catalogue(world.procedure, world.me)
    with pytest.raises(TableQueryError) as refusal:
        tables.validate(TableQuery(world.procedure.id, filters=(Filter(*item),)), columns)
    assert reason in str(refusal.value.message)


def test_an_agent_is_not_offered_other_groups_as_filter_values(world):
    columns = tables.catalogue(world.procedure, world.me)
    offered = {name for _value, name in columns.get("group").choices}
    assert offered == {"Groupe par défaut"}


def test_unknown_tab_sort_or_column_is_refused_but_a_stored_view_is_mended(world):
    columns = tables.catalogue(world.procedure, world.me)
    for query in (
        TableQuery(world.procedure.id, tab="secret"),
        TableQuery(world.procedure.id, sort=Sort("nothing", "asc")),
        TableQuery(world.procedure.id, sort=Sort("number", "sideways")),
        TableQuery(world.procedure.id, columns=("number", "field:gone")),
        TableQuery(world.other_procedure.id),
    ):
        with pytest.raises(TableQueryError):
            tables.validate(query, columns)
    mended = tables.validate(
        TableQuery(
            world.procedure.id,
            tab="secret",
            columns=("number", "field:gone"),
            filters=(Filter("field:gone", "eq", "x"),),
            sort=Sort("nothing", "asc"),
        ),
        columns,
        lenient=True,
    )
    assert (mended.tab, mended.columns, mended.filters) == ("to_follow", ("number",), ())
    assert mended.sort == Sort()


# -- sort and pages --------------------------------------------------------------------


def test_every_column_sorts_both_ways_with_the_number_breaking_ties(world, answered):
    columns = tables.catalogue(world.procedure, world.me)
    for key in columns.columns:
        ascending = [row.id for row in run(world, tab="all", sort=Sort(key, "asc"))]
        descending = [row.id for row in run(world, tab="all", sort=Sort(key, "desc"))]
        assert descending == list(reversed(ascending)), key
        assert len(ascending) == len(set(ascending)) == 9, key


def test_numbers_sort_as_numbers_and_unanswered_come_last_ascending(world, answered):
    order = [row.id for row in run(world, tab="all", sort=Sort("field:amount", "asc"))]
    assert order[:2] == [answered.b.id, answered.a.id]  # 200 before 1500.5
    assert order.index(answered.c.id) > 1
    order = [row.id for row in run(world, tab="all", sort=Sort("field:title", "asc"))]
    assert order[:3] == [answered.c.id, answered.b.id, answered.a.id]  # Atelier, Fête, Média


@pytest.fixture
def many(world):
    """250 dossiers in one group, a third with each type of request, a few unanswered."""
    kinds = ["Première demande", "Renouvellement", "Modification", None]
    for n in range(250):
        kind = kinds[n % 4]
        dossier(
            world.procedure,
            world.applicant,
            S.submitted,
            answers={"kind": kind, "amount": n % 7} if kind else {},
            minutes_ago=n % 13,  # many equal update times: the number must break ties
            commit=False,
        )
    db.session.commit()


@pytest.mark.parametrize(
    "sort", [Sort("updated_at", "desc"), Sort("field:kind", "asc"), Sort("field:amount", "desc")]
)
def test_keyset_pages_cover_every_row_once_forwards_and_backwards(world, many, sort):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(TableQuery(world.procedure.id, tab="to_follow", sort=sort), columns)
    every = [
        row.id for row in db.session.execute(tables.rows_statement(query, world.me, columns)).all()
    ]
    assert len(every) == 251  # and the world's own "to follow" dossier
    pages, cursors = [], []
    page = tables.fetch_page(query, world.me, columns)
    assert page.previous_cursor is None
    while True:
        pages.append([row.id for row in page.rows])
        if not page.next_cursor:
            break
        cursors.append(page.next_cursor)
        page = tables.fetch_page(query.replace(cursor=page.next_cursor), world.me, columns)
    assert [len(rows) for rows in pages] == [PAGE_SIZE, PAGE_SIZE, 51]
    assert sum(pages, []) == every
    # Back from the last page, one page at a time.
    back = tables.fetch_page(query.replace(cursor=page.previous_cursor), world.me, columns)
    assert [row.id for row in back.rows] == pages[1]
    first = tables.fetch_page(query.replace(cursor=back.previous_cursor), world.me, columns)
    assert [row.id for row in first.rows] == pages[0]
    assert first.previous_cursor is None and first.next_cursor


def test_a_page_costs_four_queries_whatever_it_holds(world, many):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(world.procedure.id, tab="to_follow", columns=tables.DEFAULT_COLUMNS), columns
    )
    list(world.me.roles)
    tables.group_hint(world.me)  # looked up once per request, as the counters did
    statements = []

    def record(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = tables.fetch_page(query, world.me, columns)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(page.rows) == PAGE_SIZE
    # rows, followers, labels, threads (unread, corrections); the agent's groups are known
    assert len(statements) == 4
    rows_sql, parameters = statements[0]
    if "OFFSET" in rows_sql:  # SQLite's dialect always writes "LIMIT ? OFFSET ?"
        assert list(parameters)[-1] == 0


def test_a_mangled_cursor_is_refused_and_a_cursor_of_another_sort_restarts(world, many):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(TableQuery(world.procedure.id, tab="to_follow"), columns)
    with pytest.raises(TableQueryError):
        tables.fetch_page(query.replace(cursor="not-a-cursor!"), world.me, columns)
    cursor = tables.fetch_page(query, world.me, columns).next_cursor
    resorted = query.replace(sort=Sort("number", "asc"), cursor=cursor)
    page = tables.fetch_page(resorted, world.me, columns)
    assert page.previous_cursor is None  # the first page of the new sort


def test_neighbours_follow_the_table_order(world, answered):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(world.procedure.id, tab="all", sort=Sort("field:amount", "asc")), columns
    )
    order = [row.id for row in run(world, tab="all", sort=Sort("field:amount", "asc"))]
    middle = order[1]
    assert tables.neighbours(query, world.me, columns, middle) == (order[0], order[2])
    assert tables.neighbours(query, world.me, columns, order[0]) == (None, order[1])
    assert tables.neighbours(query, world.me, columns, order[-1]) == (order[-2], None)
    assert tables.neighbours(query, world.me, columns, world.d.group_b.id) == (None, None)


# -- search ----------------------------------------------------------------------------


def test_full_text_search_ignores_accents_and_case_and_keeps_the_scope(world, answered):
    assert found(world, tab="all", search="mediatheque") == ids(answered.a)
    assert found(world, tab="all", search="FÊTE voisins") == ids(answered.b)
    assert found(world, tab="all", search="médiathèque voisins") == set()


# -- the description -------------------------------------------------------------------


def test_a_query_survives_json_and_the_saved_view(world):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(
            world.procedure.id,
            tab="decided",
            columns=("number", "field:amount", "annotation:score"),
            filters=(Filter("field:amount", "between", ["1", "2 000"]),),
            sort=Sort("field:amount", "asc"),
            search="lyon",
        ),
        columns,
    )
    assert query.filters[0].value == ["1", "2000"]
    assert TableQuery.from_dict(json.loads(json.dumps(query.to_dict()))) == query
    tables.remember(world.me, query)
    db.session.commit()
    restored = tables.restore(world.me, world.procedure.id, columns)
    assert restored == query.replace(search="")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 1
    with pytest.raises(TableQueryError):
        TableQuery.from_dict({"tab": "all"})


def test_rows_statement_lists_what_the_pages_list(world, answered):
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(world.procedure.id, tab="all", columns=("number", "field:amount")), columns
    )
    rows = db.session.execute(tables.rows_statement(query, world.me, columns)).all()
    assert [row.id for row in rows] == [row.id for row in run(world, tab="all")]
    amounts = {
        row.id: columns.get("field:amount").text(row._mapping["field:amount"]) for row in rows
    }
    assert amounts[answered.a.id] in ("1 500,5", "1\u202f500,5", "1\xa0500,5")
    assert db.session.get(Dossier, answered.a.id) is not None


@pytest.mark.parametrize("language", ["fr", "en"])
def test_dates_in_cells_read_as_babel_writes_them(app, language):
    from flask_babel import format_datetime, refresh

    moments = [
        datetime(2026, 1, 5, 7, 3, tzinfo=UTC),
        datetime(2026, 7, 14, 22, 59, 59, tzinfo=UTC),  # the next day in Paris
        datetime(2026, 3, 29, 1, 30),  # naive: UTC
    ]
    with app.test_request_context(headers={"Accept-Language": language}):
        refresh()
        for moment in moments:
            assert tables.short_moment(moment) == format_datetime(moment, "short")
