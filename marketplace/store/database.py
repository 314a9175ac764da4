"""The store: migrations, the atomic write of one engine batch, reads for the API, and
the state the engine is rebuilt from on start."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError

from marketplace import limits
from marketplace.changes import Changes, Counters
from marketplace.deals import FINAL, Deal, DealStatus
from marketplace.engine import QUOTE_MEMORY, ExchangeEngine
from marketplace.errors import AlreadyExists
from marketplace.orders import (
    LIVE_STATUSES,
    Order,
    OrderStatus,
    Route,
    ServiceType,
    Side,
)
from marketplace.participants import Participant, TokenInfo, token_id
from marketplace.report import MarketRow, sorted_rows
from marketplace.store import mapping
from marketplace.store import tables as t
from marketplace.store.journal_feed import CHANNEL
from marketplace.store.leadership import Fenced
from marketplace.store.quality_rows import QualityRows

if TYPE_CHECKING:
    from marketplace.store.warm import WarmRows

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_HALF = 2**32


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine; SQLite gets WAL, full fsync and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # durable at commit, also in WAL mode
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)


def _keep_private(database: Path) -> None:
    """Orders, agreements and token hashes are nobody else's business: the database and
    its journal files are readable by their owner only (SQLite creates the -wal and -shm
    files with the database file's mode, so creating that one 0600 carries over)."""
    if not database.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store(QualityRows):
    """All database access of the exchange. Methods are synchronous; the server calls them
    from worker threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        database_file = _sqlite_file(self.engine)
        if database_file is not None:
            _keep_private(database_file)
        migrate(self.engine)
        if database_file is not None:
            _keep_private(database_file)  # SQLite made its -wal and -shm files by now
        self._sql = mapping.bulk_statements("?" if self.engine.dialect.paramstyle == "qmark" else "%s")
        # High availability: the leader's generation (store/leadership.py); when set, every
        # write checks it in its own transaction and refuses to commit once it is stale.
        self.generation: int | None = None
        # Counts this process's commits on from the highest in the store (read again when a
        # standby takes over): it stamps the order and deal rows each commit writes.
        with self.engine.connect() as conn:
            self.revision = self._top_revision(conn)

    @staticmethod
    def _top_revision(conn: Connection) -> int:
        return max(
            conn.scalar(select(func.coalesce(func.max(t.orders.c.revision), 0))) or 0,
            conn.scalar(select(func.coalesce(func.max(t.deals.c.revision), 0))) or 0,
        )

    def close(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL without a password, for logs."""
        return self.engine.url.render_as_string(hide_password=True)

    # ----- the write path -------------------------------------------------------------

    def write(self, changes: Changes, event_payloads: Sequence[bytes]) -> None:
        """Persist one engine batch in one transaction: all of it or none of it.

        The bulk rows go straight to the driver's executemany as tuples: SQLAlchemy's
        per-row parameter processing was most of the cost of an acknowledged order."""
        rev = self.revision + 1
        with self.engine.begin() as conn:
            if self.generation is not None:
                current = conn.execute(text("SELECT generation FROM leadership WHERE id = 1 FOR SHARE")).scalar()
                if current != self.generation:
                    raise Fenced(self.generation, current)
            if changes.parameters:
                conn.execute(t.parameters.insert(), [mapping.parameter_row(p) for p in changes.parameters])
            for s in changes.schemes:
                conn.execute(t.class_schemes.insert().values(**mapping.scheme_row(s)))
            if changes.agreements:
                conn.execute(t.agreements.insert(), [mapping.agreement_row(a) for a in changes.agreements])
            if changes.neighbour_links is not None:
                conn.execute(t.pop_links.delete())
                if changes.neighbour_links:
                    conn.execute(t.pop_links.insert(), [{"a": a, "b": b} for a, b in sorted(changes.neighbour_links)])
            if changes.quotes:
                conn.execute(t.quotes.insert(), [mapping.quote_row(q) for q in changes.quotes])
            if changes.new_orders:
                conn.exec_driver_sql(
                    self._sql["order_insert"], [mapping.order_tuple(o, rev) for o in changes.new_orders.values()]
                )
            if changes.updated_orders:
                conn.exec_driver_sql(
                    self._sql["order_update"],
                    [mapping.order_update_tuple(o, rev) for o in changes.updated_orders.values()],
                )
            if changes.new_deals:
                conn.exec_driver_sql(
                    self._sql["deal_insert"], [mapping.deal_tuple(d, rev) for d in changes.new_deals.values()]
                )
            if changes.updated_deals:
                conn.exec_driver_sql(
                    self._sql["deal_update"],
                    [mapping.deal_update_tuple(d, rev) for d in changes.updated_deals.values()],
                )
            if changes.events:
                rows = []
                for ev, payload in zip(changes.events, event_payloads, strict=True):
                    parties = ev.parties()
                    rows.append((ev.sequence, ev.time, int(ev.kind), parties[0], parties[-1], payload))
                conn.exec_driver_sql(self._sql["event_insert"], rows)
                if self.generation is not None:  # standbys follow (store/journal_feed.py); sent on commit
                    conn.execute(text(f"SELECT pg_notify('{CHANNEL}', :last)"), {"last": str(rows[-1][0])})
            self._write_quality(conn, changes)
        self.revision = rev

    # ----- rebuild --------------------------------------------------------------------

    def restore(self, engine: ExchangeEngine, now: int, warm: WarmRows | None = None) -> None:
        """Load everything the engine needs to continue exactly where it stopped; the live
        orders, open deals and client ids from `warm` when a standby kept them."""
        with self.engine.connect() as conn:
            params = [mapping.parameter(r) for r in conn.execute(select(t.parameters))]
            schemes = [mapping.scheme(r) for r in conn.execute(select(t.class_schemes).order_by(t.class_schemes.c.id))]
            agreements = [mapping.agreement(r) for r in conn.execute(select(t.agreements).order_by(t.agreements.c.id))]
            median_schemes = [s.name for s in schemes if any(b.follows_median for g in s.grades for b in g.bands)]
            history: list[tuple[str, str, dict[str, int]]] = []
            if median_schemes:
                q = (
                    select(t.orders.c.class_scheme, t.orders.c.grade, t.orders.c.param_values, t.orders.c.capacity_kbps)
                    .where(t.orders.c.side == int(Side.OFFER), t.orders.c.class_scheme.in_(median_schemes))
                    .order_by(t.orders.c.id)
                )
                for r in conn.execute(q):
                    values = json.loads(r.param_values)
                    values.setdefault("capacity_kbps", r.capacity_kbps)
                    history.append((r.class_scheme, r.grade, values))
            if warm is not None:  # a standby's followed rows (store/warm.py)
                live, deals, client_ids = warm.take(conn)
            else:
                live, deals, client_ids = self._live_rows(conn)
            remembered = [
                mapping.quote(r)
                for r in conn.execute(
                    select(t.quotes).where(t.quotes.c.expires_at > now - QUOTE_MEMORY).order_by(t.quotes.c.id)
                )
            ]
            used_by = {}
            if remembered:
                q = select(t.orders.c.quote_id, t.orders.c.id).where(
                    t.orders.c.quote_id.in_([x.quote_id for x in remembered])
                )
                used_by = {r.quote_id: r.id for r in conn.execute(q)}
            quotes = [(x, used_by.get(x.quote_id, 0)) for x in remembered]
            links = [(r.a, r.b) for r in conn.execute(select(t.pop_links))]
            counters = Counters(
                order_id=conn.scalar(select(func.coalesce(func.max(t.orders.c.id), 0))) or 0,
                deal_id=conn.scalar(select(func.coalesce(func.max(t.deals.c.id), 0))) or 0,
                priority=conn.scalar(select(func.coalesce(func.max(t.orders.c.priority), 0))) or 0,
                sequence=conn.scalar(select(func.coalesce(func.max(t.events.c.sequence), 0))) or 0,
                agreement_id=conn.scalar(select(func.coalesce(func.max(t.agreements.c.id), 0))) or 0,
                quote_id=conn.scalar(select(func.coalesce(func.max(t.quotes.c.id), 0))) or 0,
            )
            held = [o for o in live if o.status is OrderStatus.UNVERIFIED]  # off the book: verification's
            live = [o for o in live if o.status is not OrderStatus.UNVERIFIED]
            engine.restore(params, schemes, agreements, history, live, deals, client_ids, counters, now, quotes, links)
            self._restore_quality(conn, engine, now, held)
            self.revision = self._top_revision(conn)  # a standby taking over: the old leader wrote on

    @staticmethod
    def _live_rows(conn: Connection) -> tuple[list[Order], list[Deal], Iterable[tuple[str, str, int]]]:
        """Live orders in priority order, open deals, and every order's client id — streamed
        from the cursor rather than held as a list (a restart of 10^6 orders peaked at twice
        the memory it then runs at)."""
        live = [
            mapping.order(r)
            for r in conn.execute(
                select(*mapping.ORDER_ROW)
                .where(t.orders.c.status.in_([int(s) for s in LIVE_STATUSES]))
                .order_by(t.orders.c.priority)
            )
        ]
        deals = [
            mapping.deal(r)
            for r in conn.execute(
                select(t.deals).where(t.deals.c.status.not_in([int(s) for s in FINAL])).order_by(t.deals.c.id)
            )
        ]
        client_ids = conn.execute(select(t.orders.c.participant, t.orders.c.client_order_id, t.orders.c.id))
        return live, deals, client_ids

    # ----- reads ----------------------------------------------------------------------

    def get_order(self, order_id: int) -> Order | None:
        if not limits.fits_id(order_id):  # the wire allows ids no BIGINT column holds
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(*mapping.ORDER_ROW).where(t.orders.c.id == order_id)).first()
        return mapping.order(row) if row else None

    def list_orders(self, participant: str | None, open_only: bool, after_id: int, limit: int) -> list[Order]:
        if after_id >= limits.MAX_ID:
            return []
        q = select(*mapping.ORDER_ROW).where(t.orders.c.id > after_id).order_by(t.orders.c.id).limit(limit)
        if participant is not None:
            q = q.where(t.orders.c.participant == participant)
        if open_only:
            q = q.where(t.orders.c.status.in_([int(s) for s in LIVE_STATUSES]))
        with self.engine.connect() as conn:
            return [mapping.order(r) for r in conn.execute(q)]

    def get_deal(self, deal_id: int) -> Deal | None:
        if not limits.fits_id(deal_id):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.deals).where(t.deals.c.id == deal_id)).first()
        return mapping.deal(row) if row else None

    def list_deals(self, participant: str | None, status: int, after_id: int, limit: int) -> list[Deal]:
        if after_id >= limits.MAX_ID:
            return []
        q = select(t.deals).where(t.deals.c.id > after_id).order_by(t.deals.c.id).limit(limit)
        if participant is not None:
            q = q.where(or_(t.deals.c.seller == participant, t.deals.c.buyer == participant))
        if status:
            q = q.where(t.deals.c.status == status)
        with self.engine.connect() as conn:
            return [mapping.deal(r) for r in conn.execute(q)]

    def report_rows(self, start: int, end: int) -> list[MarketRow]:
        """The market report of [start, end), aggregated by the database: one pass over
        the deals of the window, nothing per deal in Python. Value totals are summed in
        two 32-bit halves, exact on every database (SQLite's sum() stops at 2^63)."""
        d = t.deals.c
        value = d.price * d.circuits
        q = (
            select(
                d.class_scheme,
                d.grade,
                d.service_type,
                d.a_end,
                d.z_end,
                d.capacity_kbps,
                func.count().label("deals"),
                func.sum(d.circuits).label("circuits"),
                func.sum(value // _HALF).label("value_high"),
                func.sum(value % _HALF).label("value_low"),
                func.min(d.price).label("min_price"),
                func.max(d.price).label("max_price"),
                func.count(d.seller.distinct()).label("sellers"),
                func.count(d.buyer.distinct()).label("buyers"),
            )
            .where(d.created_at >= start, d.created_at < end, d.status != int(DealStatus.PROVISIONING_FAILED))
            .group_by(d.class_scheme, d.grade, d.service_type, d.a_end, d.z_end, d.capacity_kbps)
        )
        with self.engine.connect() as conn:
            rows = [
                MarketRow(
                    r.class_scheme,
                    r.grade,
                    ServiceType(r.service_type),
                    Route(r.a_end, r.z_end),
                    r.capacity_kbps,
                    deals=int(r.deals),
                    circuits=int(r.circuits),
                    total_value=int(r.value_high) * _HALF + int(r.value_low),
                    min_price=r.min_price,
                    max_price=r.max_price,
                    sellers=int(r.sellers),
                    buyers=int(r.buyers),
                )
                for r in conn.execute(q)
            ]
            scores = self.delivered_scores(conn, start, end)
        for row in rows:
            found = scores.get((row.class_scheme, row.grade, row.service_type, row.route, row.capacity_kbps))
            row.median_quality = sorted(found)[len(found) // 2] if found else None
        return sorted_rows(rows)

    def events_after(self, sequence: int, participant: str | None, limit: int) -> list[tuple[int, bytes]]:
        """Stored events after `sequence`, oldest first, as (sequence, payload)."""
        if sequence >= limits.MAX_ID:
            return []
        e = t.events.c
        if participant is None:
            q = select(e.sequence, e.payload).where(e.sequence > sequence).order_by(e.sequence).limit(limit)
        else:
            # One index walk per party column, each stopping after `limit` rows, merged:
            # an OR over both columns made the database sort every event of the
            # participant after `sequence` for each page of a replay.
            mine = (e.party_a == participant, e.party_b == participant)
            first, second = (
                select(e.sequence, e.payload)
                .where(e.sequence > sequence, *where)
                .order_by(e.sequence)
                .limit(limit)
                .subquery()
                for where in ((mine[0],), (mine[1], e.party_a != participant))
            )
            both = union_all(select(first.c.sequence, first.c.payload), select(second.c.sequence, second.c.payload))
            merged = both.subquery()
            q = select(merged.c.sequence, merged.c.payload).order_by(merged.c.sequence).limit(limit)
        with self.engine.connect() as conn:
            return [(r.sequence, bytes(r.payload)) for r in conn.execute(q)]

    # ----- participants and credentials -----------------------------------------------

    # ----- provisioning -----------------------------------------------------------------

    def save_topology(self, document: str, now: int) -> bool:
        """Keep a topology document; False when it equals the one in use already."""
        with self.engine.begin() as conn:
            row = conn.execute(select(t.topologies).order_by(t.topologies.c.id.desc()).limit(1)).first()
            if row is not None and row.document == document:
                return False
            next_id = (row.id if row is not None else 0) + 1
            conn.execute(t.topologies.insert().values(id=next_id, document=document, loaded_at=now))
        return True

    def topology(self) -> str | None:
        """The topology document in use, if one was ever loaded."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.topologies.c.document).order_by(t.topologies.c.id.desc()).limit(1)).first()
        return str(row.document) if row is not None else None

    def save_intent(self, deal_id: int, intent: str, now: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.deal_intents.delete().where(t.deal_intents.c.deal_id == deal_id))
            conn.execute(t.deal_intents.insert().values(deal_id=deal_id, intent=intent, created_at=now))

    def delete_intent(self, deal_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.deal_intents.delete().where(t.deal_intents.c.deal_id == deal_id))

    def intents(self) -> dict[int, str]:
        with self.engine.connect() as conn:
            return {r.deal_id: r.intent for r in conn.execute(select(t.deal_intents))}

    def add_participant(self, p: Participant) -> Participant:
        """Insert a participant; an identical retry returns the stored one."""
        with self.engine.begin() as conn:
            row = conn.execute(select(t.participants).where(t.participants.c.name == p.name)).first()
            if row is not None:
                existing = mapping.participant(row)
                if (existing.roles, existing.carrier, existing.display_name, existing.cert_subject) == (
                    p.roles,
                    p.carrier,
                    p.display_name,
                    p.cert_subject,
                ):
                    return existing
                raise AlreadyExists("participant.name", f"participant {p.name} exists with other roles or details")
            conn.execute(t.participants.insert().values(**mapping.participant_row(p)))
        return p

    def participants(self) -> list[Participant]:
        with self.engine.connect() as conn:
            return [
                mapping.participant(r) for r in conn.execute(select(t.participants).order_by(t.participants.c.name))
            ]

    def participant(self, name: str) -> Participant | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.participants).where(t.participants.c.name == name)).first()
        return mapping.participant(row) if row else None

    def add_token(self, token_hash: str, participant: str, now: int, expires_at: int = 0, label: str = "") -> TokenInfo:
        with self.engine.begin() as conn:
            conn.execute(
                t.tokens.insert().values(
                    token_hash=token_hash, participant=participant, created_at=now, expires_at=expires_at, label=label
                )
            )
        return TokenInfo(token_id(token_hash), participant, label, now, expires_at, 0)

    def tokens_in_force(self) -> dict[str, tuple[Participant, int]]:
        """Every token not revoked, by hash: its participant and its expiry (0: never).
        Expiry is the caller's to judge, against its own clock."""
        with self.engine.connect() as conn:
            people = {r.name: mapping.participant(r) for r in conn.execute(select(t.participants))}
            rows = conn.execute(
                select(t.tokens.c.token_hash, t.tokens.c.participant, t.tokens.c.expires_at).where(
                    t.tokens.c.revoked_at == 0
                )
            )
            return {r.token_hash: (people[r.participant], r.expires_at) for r in rows if r.participant in people}

    def list_tokens(self, participant: str | None) -> list[TokenInfo]:
        q = select(t.tokens).order_by(t.tokens.c.participant, t.tokens.c.created_at)
        if participant is not None:
            q = q.where(t.tokens.c.participant == participant)
        with self.engine.connect() as conn:
            return [mapping.token_info(r) for r in conn.execute(q)]

    def revoke_tokens(self, owner: str | None, id_prefix: str, now: int) -> list[TokenInfo]:
        """Revoke the tokens whose hash starts with `id_prefix` (`owner`'s only, unless
        None). Returns every token matched; those revoked by this call have revoked_at
        `now`, those revoked before keep their time."""
        q = select(t.tokens).where(t.tokens.c.token_hash.startswith(id_prefix, autoescape=True))
        if owner is not None:
            q = q.where(t.tokens.c.participant == owner)
        with self.engine.begin() as conn:
            rows = list(conn.execute(q))
            fresh = [r.token_hash for r in rows if r.revoked_at == 0]
            if fresh:
                conn.execute(t.tokens.update().where(t.tokens.c.token_hash.in_(fresh)).values(revoked_at=now))
        return [dataclasses.replace(mapping.token_info(r), revoked_at=r.revoked_at or now) for r in rows]

    def set_cert_subject(self, name: str, subject: str) -> Participant | None:
        with self.engine.begin() as conn:
            done = conn.execute(
                t.participants.update().where(t.participants.c.name == name).values(cert_subject=subject)
            )
            if not done.rowcount:
                return None
            row = conn.execute(select(t.participants).where(t.participants.c.name == name)).first()
        return mapping.participant(row) if row else None

    def bootstrap_operator(self, operator: Participant, token_hash: str, now: int) -> bool:
        """Create the first operator and its token in one transaction, only on an empty
        participants table. Returns False when participants exist already."""
        try:
            with self.engine.begin() as conn:
                if conn.scalar(select(func.count()).select_from(t.participants)):
                    return False
                conn.execute(t.participants.insert().values(**mapping.participant_row(operator)))
                conn.execute(t.tokens.insert().values(token_hash=token_hash, participant=operator.name, created_at=now))
        except IntegrityError:
            return False
        return True
