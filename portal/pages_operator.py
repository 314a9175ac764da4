"""The operator's pages: participants and their portal users, agreements, class schemes,
and the fabric as a picture. Every call still goes through the API with the operator's
own token, so the API's operator-only rules hold here too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from google.protobuf import json_format
from ixchange.v1 import classes_pb2, fabric_pb2, participants_pb2

from controller.cli.common import ROLES, capacity
from portal import accounts
from portal.charts import fabric_picture
from portal.exchange import ApiError
from portal.users import UserError
from portal.web import Portal, Refused

router = APIRouter(prefix="/operator")


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    portal.require_operator(request)
    return portal


async def _participants_page(
    portal: Portal, request: Request, status: int = 200, errors: dict[str, str] | None = None, notice: str = ""
) -> Response:
    reply = await portal.call(
        request, portal.exchange.participants.ListParticipants, participants_pb2.ListParticipantsRequest(page_size=500)
    )
    return portal.render(
        request,
        "operator_participants.html",
        status=status,
        participants=list(reply.participants),
        users=portal.users.all(),
        errors=errors or {},
        notice=notice,
        roles=list(ROLES),
    )


@router.get("")
async def participants(request: Request) -> Response:
    return await _participants_page(_portal(request), request)


@router.post("/participants")
async def register(request: Request) -> Response:
    portal = _portal(request)
    form = await portal.posted(request)
    roles = [ROLES[r] for r in ROLES if form.get(f"role_{r}") == "on"]
    try:
        await portal.call(
            request,
            portal.exchange.participants.RegisterParticipant,
            participants_pb2.RegisterParticipantRequest(
                participant=participants_pb2.Participant(
                    name=form.get("name", "").strip(),
                    roles=roles,
                    carrier=form.get("carrier") == "on",
                    display_name=form.get("display_name", "").strip(),
                )
            ),
        )
    except ApiError as err:
        if err.status >= 500:
            raise
        return await _participants_page(portal, request, err.status, errors={err.field or "name": err.message})
    return await _participants_page(portal, request, notice=f"Participant {form.get('name', '').strip()} registered.")


@router.post("/users")
async def add_user(request: Request) -> Response:
    portal = _portal(request)
    form = await portal.posted(request)
    try:
        user = await accounts.create_user(
            portal.exchange,
            portal.token(request),
            portal.users,
            form.get("username", "").strip(),
            form.get("participant", "").strip(),
            form.get("password", ""),
            form.get("totp") == "on",
        )
    except UserError as err:
        field = str(err).split(":", 1)[0]
        return await _participants_page(portal, request, 400, errors={field: str(err)})
    except ApiError as err:
        if err.status >= 500:
            raise
        return await _participants_page(portal, request, err.status, errors={"participant": err.message})
    notice = f"User {user.username} can now log in for {user.participant}."
    if user.has_totp:
        notice += f" Their authenticator secret (shown once): {user.totp_secret}"
    return await _participants_page(portal, request, notice=notice)


@router.post("/users/{username}/remove")
async def remove_user(request: Request, username: str) -> Response:
    portal = _portal(request)
    await portal.posted(request)
    if await accounts.remove_user(portal.exchange, portal.token(request), portal.users, username) is None:
        raise Refused(404, f"username: no user {username[:40]}")
    portal.sessions.end_user(username)
    return RedirectResponse("/operator", status_code=303)


@router.get("/agreements")
async def agreements(request: Request, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    portal = _portal(request)
    reply = await portal.call(
        request, portal.exchange.participants.ListAgreements, participants_pb2.ListAgreementsRequest(page_size=500)
    )
    return portal.render(
        request, "operator_agreements.html", status=status, agreements=list(reply.agreements), errors=errors or {}
    )


@router.post("/agreements")
async def add_agreement(request: Request) -> Response:
    portal = _portal(request)
    form = await portal.posted(request)
    errors: dict[str, str] = {}
    interconnects = []
    for party, name in ((participants_pb2.PARTY_BUYER, "buyer_port"), (participants_pb2.PARTY_SELLER, "seller_port")):
        text = form.get(name, "").strip()
        if not text:
            continue
        node, _, rest = text.partition(":")
        port, _, vlans = rest.partition(":")
        lo, _, hi = vlans.partition("-")
        if not (node and port and lo.isdigit() and (not hi or hi.isdigit())):
            errors[name] = f"{name}: use NODE:PORT:VLAN or NODE:PORT:VLAN_MIN-VLAN_MAX"
            continue
        interconnects.append(
            participants_pb2.Interconnect(party=party, node=node, port=port, vlan_min=int(lo), vlan_max=int(hi or lo))
        )
    rate = 0
    try:
        rate = capacity(form.get("max_rate", ""))
    except Exception:
        errors["max_rate"] = "max_rate: use e.g. 100G, 10G, 500M"
    if not errors:
        try:
            await portal.call(
                request,
                portal.exchange.participants.RegisterAgreement,
                participants_pb2.RegisterAgreementRequest(
                    agreement=participants_pb2.Agreement(
                        reference=form.get("reference", "").strip(),
                        buyer=form.get("buyer", "").strip(),
                        seller=form.get("seller", "").strip(),
                        interconnects=interconnects,
                        max_rate_kbps=rate,
                        terms=form.get("terms", ""),
                    )
                ),
            )
        except ApiError as err:
            if err.status >= 500:
                raise
            errors[err.field or "reference"] = err.message
    if errors:
        return await agreements(request, errors=errors, status=400)
    return RedirectResponse("/operator/agreements", status_code=303)


@router.get("/classes")
async def classes(request: Request) -> Response:
    portal = _portal(request)
    schemes = await portal.call(
        request, portal.exchange.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest()
    )
    params = await portal.call(request, portal.exchange.classes.ListParameters, classes_pb2.ListParametersRequest())
    return portal.render(
        request,
        "operator_classes.html",
        schemes=list(schemes.schemes),
        parameters=list(params.parameters),
        errors={},
        scheme_json="",
    )


@router.post("/classes")
async def define_scheme(request: Request) -> Response:
    """A class scheme in the proto3 JSON mapping (as `ixchange -o json classes` prints it)."""
    portal = _portal(request)
    form = await portal.posted(request)
    text = form.get("scheme", "")
    error = ""
    try:
        scheme = json_format.Parse(text, classes_pb2.ClassScheme())
        await portal.call(
            request,
            portal.exchange.classes.DefineClassScheme,
            classes_pb2.DefineClassSchemeRequest(scheme=scheme),
        )
    except json_format.ParseError as err:
        error = f"scheme: not a class scheme in JSON ({str(err)[:200]})"
    except ApiError as err:
        if err.status >= 500:
            raise
        error = err.message
    if not error:
        return RedirectResponse("/operator/classes", status_code=303)
    schemes = await portal.call(
        request, portal.exchange.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest()
    )
    params = await portal.call(request, portal.exchange.classes.ListParameters, classes_pb2.ListParametersRequest())
    return portal.render(
        request,
        "operator_classes.html",
        status=400,
        schemes=list(schemes.schemes),
        parameters=list(params.parameters),
        errors={"scheme": error},
        scheme_json=text,
    )


@router.get("/fabric")
async def fabric(request: Request) -> Response:
    portal = _portal(request)
    reply = await portal.call(request, portal.exchange.fabric.GetFabric, fabric_pb2.GetFabricRequest())
    nodes = [(n.name, n.kind, n.connected) for n in reply.nodes]
    links = []
    for link in reply.links:
        a, z = link_ends(link.name)
        load = link.load_kbps / link.capacity_kbps if link.capacity_kbps else 0.0
        links.append((link.name, a, z, min(1.0, load), link.seen))
    picture = fabric_picture(nodes, links) if reply.enabled else None
    return portal.render(request, "operator_fabric.html", fabric=reply, picture=picture)


def link_ends(name: str) -> tuple[str, str]:
    """'s1:p3-s3:p2' -> ('s1', 's3')."""
    left, _, right = name.partition("-")
    return left.split(":", 1)[0], right.split(":", 1)[0]
