"""`ixchange participants` and `ixchange agreements`: who may trade, with which
credentials, under which bilateral agreements."""

from __future__ import annotations

import argparse
from typing import Any

from ixchange.v1 import participants_pb2

from controller.cli.common import (
    ROLES,
    Client,
    CliError,
    Table,
    as_dict,
    capacity,
    console,
    emit,
    enum_name,
    fmt_kbps,
    fmt_time,
    interconnect,
    save_token,
    say,
    when,
)

PARTICIPANT_ACTIONS = ("list", "add", "token", "tokens", "revoke", "bind")


def add_parsers(sub: Any) -> None:
    participants = sub.add_parser(
        "participants",
        help="participants and their credentials (operator; a participant may list and revoke its own tokens)",
        description="list | add NAME --role R | token NAME [--expires +90d] [--label L] | tokens [NAME] | "
        "revoke TOKEN_ID | bind NAME --cert-subject SUBJECT",
    )
    participants.add_argument("action", nargs="?", choices=PARTICIPANT_ACTIONS, default="list")
    participants.add_argument("name", nargs="?", help="a participant; for revoke, the token id")
    participants.add_argument("--role", choices=ROLES, action="append", default=[])
    participants.add_argument("--carrier", action="store_true", help="a licensed telecommunications carrier")
    participants.add_argument("--display-name")
    participants.add_argument("--expires", type=when, help="token: +90d or an ISO time; default never")
    participants.add_argument("--label", default="", help="token: what it is for")
    participants.add_argument(
        "--cert-subject", help="add/bind: its calls need a client certificate of this subject (mutual TLS)"
    )
    participants.set_defaults(run=cmd_participants)

    agreements = sub.add_parser("agreements", help="list or register bilateral agreements")
    agreements.add_argument("action", nargs="?", choices=("list", "add"), default="list")
    agreements.add_argument("--reference")
    agreements.add_argument("--buyer")
    agreements.add_argument("--seller")
    agreements.add_argument(
        "--buyer-port",
        type=interconnect(participants_pb2.PARTY_BUYER),
        action="append",
        default=[],
        help="NODE:PORT:VLAN_MIN-VLAN_MAX",
    )
    agreements.add_argument(
        "--seller-port",
        type=interconnect(participants_pb2.PARTY_SELLER),
        action="append",
        default=[],
        help="NODE:PORT:VLAN_MIN-VLAN_MAX",
    )
    agreements.add_argument("--max-rate", type=capacity, default=0)
    agreements.add_argument("--terms")
    agreements.set_defaults(run=cmd_agreements)


def check_args(args: argparse.Namespace) -> None:
    """Usage errors found before any call."""
    if args.command == "participants":
        if args.action in ("add", "token", "bind", "revoke") and not args.name:
            what = "a TOKEN_ID (see `participants tokens`)" if args.action == "revoke" else "a NAME"
            raise CliError(f"participants {args.action}: give {what}")
        if args.action == "add" and not args.role:
            raise CliError("participants add: give at least one --role (seller, buyer, operator)")
        if args.action == "bind" and args.cert_subject is None:
            raise CliError("participants bind: give --cert-subject (empty '' removes the binding)")
    if args.command == "agreements" and args.action == "add":
        missing = [f"--{n}" for n in ("reference", "buyer", "seller") if not getattr(args, n)]
        if missing:
            raise CliError(f"agreements add: missing {', '.join(missing)}")


def cmd_participants(args: argparse.Namespace, client: Client) -> int:
    if args.action == "add":
        roles = [ROLES[r] for r in args.role]
        participant = participants_pb2.Participant(
            name=args.name,
            roles=roles,
            carrier=args.carrier,
            display_name=args.display_name or args.name,
            cert_subject=args.cert_subject or "",
        )
        client.call(
            client.participants.RegisterParticipant,
            participants_pb2.RegisterParticipantRequest(participant=participant),
        )
    if args.action in ("add", "token"):
        request = participants_pb2.IssueTokenRequest(participant=args.name, label=args.label)
        if args.expires is not None:
            request.expires_at.CopyFrom(args.expires)
        reply = client.call(client.participants.IssueToken, request)
        path = save_token(client.settings, args.name, reply.token)
        expiry = f", expires {fmt_time(reply.expires_at)} UTC" if reply.HasField("expires_at") else ""
        saved = {k: v for k, v in as_dict(reply).items() if k != "token"}  # the secret stays in its file
        emit(
            {**saved, "participant": args.name, "saved_to": str(path)},
            lambda: say(
                f"{args.name}: credential {reply.token_id}{expiry} saved to [bold]{path}[/] "
                f"(use [bold]--as {args.name}[/])"
            ),
        )
        return 0
    if args.action == "tokens":
        listed = client.call(
            client.participants.ListTokens, participants_pb2.ListTokensRequest(participant=args.name or "")
        )
        emit(listed, lambda: console.print(_tokens_table(listed.tokens, "Tokens")))
        return 0
    if args.action == "revoke":
        revoked = client.call(client.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token_id=args.name))
        if not revoked.revoked:
            emit(revoked, lambda: console.print(f"token {args.name} was revoked already"))
            return 0
        emit(revoked, lambda: console.print(_tokens_table(revoked.revoked, "Revoked (refused within a second)")))
        return 0
    if args.action == "bind":
        reply = client.call(
            client.participants.SetCertificateSubject,
            participants_pb2.SetCertificateSubjectRequest(participant=args.name, cert_subject=args.cert_subject),
        )
        bound = reply.participant
        subject = bound.cert_subject or "any certificate the exchange's CA signed"
        emit(reply, lambda: say(f"{bound.name}: calls need a client certificate of subject [bold]{subject}[/]"))
        return 0
    reply = client.call(client.participants.ListParticipants, participants_pb2.ListParticipantsRequest())

    def show() -> None:
        table = Table(title="Participants")
        for col in ("name", "roles", "carrier", "display name", "certificate", "since"):
            table.add_column(col)
        for p in reply.participants:
            roles = [enum_name(participants_pb2.Role, r, "ROLE_").lower() for r in p.roles]
            table.add_row(
                p.name,
                ", ".join(roles),
                "yes" if p.carrier else "no",
                p.display_name,
                p.cert_subject or "-",
                fmt_time(p.created_at),
            )
        console.print(table)

    emit(reply, show)
    return 0


def _tokens_table(tokens: Any, title: str) -> Table:
    table = Table(title=title)
    for col in ("token_id", "participant", "label", "created", "expires", "revoked"):
        table.add_column(col)
    for t in tokens:
        table.add_row(
            t.token_id,
            t.participant,
            t.label or "-",
            fmt_time(t.created_at),
            fmt_time(t.expires_at) if t.HasField("expires_at") else "never",
            fmt_time(t.revoked_at) if t.HasField("revoked_at") else "-",
        )
    return table


def cmd_agreements(args: argparse.Namespace, client: Client) -> int:
    if args.action == "add":
        agreement = participants_pb2.Agreement(
            reference=args.reference,
            buyer=args.buyer,
            seller=args.seller,
            interconnects=[*args.buyer_port, *args.seller_port],
            max_rate_kbps=args.max_rate,
            terms=args.terms or "",
        )
        reply = client.call(
            client.participants.RegisterAgreement, participants_pb2.RegisterAgreementRequest(agreement=agreement)
        )
        added = reply

        def show_added() -> None:
            say(f"agreement {added.agreement.agreement_id} registered")
            if added.released_deal_ids:
                say(f"deals released from PENDING_AGREEMENT: {', '.join(map(str, added.released_deal_ids))}")

        emit(added, show_added)
        return 0
    listed = client.call(client.participants.ListAgreements, participants_pb2.ListAgreementsRequest())

    def show() -> None:
        table = Table(title="Agreements")
        for col in ("id", "reference", "buyer", "seller", "interconnects", "max rate", "terms"):
            table.add_column(col)
        for a in listed.agreements:
            ports = "; ".join(
                f"{enum_name(participants_pb2.Party, i.party, 'PARTY_').lower()} {i.node}:{i.port} "
                f"vlan {i.vlan_min}-{i.vlan_max}"
                for i in a.interconnects
            )
            table.add_row(
                str(a.agreement_id), a.reference, a.buyer, a.seller, ports, fmt_kbps(a.max_rate_kbps), a.terms
            )
        console.print(table)

    emit(listed, show)
    return 0
