"""Order entry through templates (claims 52-54): the form per service type, the grade the
exchange would give shown as you type, quote-then-buy, saved templates to reorder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from ixchange.v1 import classes_pb2, market_pb2

from controller.cli.common import SERVICES
from portal.exchange import ApiError
from portal.forms import KEPT, Parsed, classify_values, new_client_order_id, parse_order, template_fields
from portal.users import UserError
from portal.web import Portal, Refused

router = APIRouter()
DEFAULT_FORM = {"side": "request", "service": "eline", "circuits": "1", "tif": "gtc", "routing": "cheapest"}


def _portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


async def _catalogue(portal: Portal, request: Request, service: str) -> dict[str, Any]:
    """The parameters and the grades of the scheme(s) for this service type."""
    params = await portal.call(request, portal.exchange.classes.ListParameters, classes_pb2.ListParametersRequest())
    schemes = await portal.call(
        request, portal.exchange.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest()
    )
    wanted = SERVICES.get(service)
    mine = [s for s in schemes.schemes if wanted in s.service_types]
    grades = [g.name for s in mine for g in s.grades]
    # Only the parameters this service's schemes grade by (or weigh): a voice parameter
    # has no place on a circuit's form.
    used = {b.parameter for s in mine for g in s.grades for b in g.bands} | {k for s in mine for k in s.weights}
    return {"parameters": [p for p in params.parameters if p.name in used], "grades": grades}


async def _trade_page(
    portal: Portal,
    request: Request,
    form: dict[str, str],
    status: int = 200,
    errors: dict[str, str] | None = None,
    result: Any = None,
    notice: str = "",
) -> Response:
    session = portal.session(request)
    form = {**DEFAULT_FORM, **form}
    form["client_order_id"] = new_client_order_id()
    form.pop("quote_id", None)
    context = await _catalogue(portal, request, form.get("service", "eline"))
    errors = _placed(errors or {}, {f"value.{p.name}" for p in context["parameters"]})
    return portal.render(
        request,
        "trade.html",
        status=status,
        form=form,
        errors=errors,
        result=result,
        notice=notice,
        services=list(SERVICES),
        templates=portal.users.templates(session.participant),
        **context,
    )


# The order form's fields; an error about anything else is shown above the form.
SHOWN = (set(KEPT) - {"side", "service", "propose"}) | {"valid_until", "service_end", "save_as"}


def _placed(errors: dict[str, str], value_fields: set[str]) -> dict[str, str]:
    placed: dict[str, str] = {}
    for field, message in errors.items():
        key = field if field in SHOWN or field in value_fields else "form"
        placed[key] = f"{placed[key]} {message}" if key in placed else message
    return placed


@router.get("/trade")
async def trade_page(request: Request, side: str = "", service: str = "", template: int = 0) -> Response:
    portal = _portal(request)
    form: dict[str, str] = {}
    if template:
        saved = portal.users.template(portal.session(request).participant, template)
        if saved is None:
            raise Refused(404, f"template {template}: not found")
        form = dict(saved.form)
    if side in ("offer", "request"):
        form["side"] = side
    if service in SERVICES:
        form["service"] = service
    return await _trade_page(portal, request, form)


@router.post("/trade")
async def trade(request: Request) -> Response:
    portal = _portal(request)
    form = await portal.posted(request)
    action = form.get("action", "submit")
    session = portal.session(request)
    if action == "save":
        try:
            portal.users.save_template(session.participant, form.get("save_as", ""), template_fields(form))
        except UserError as err:
            return await _trade_page(portal, request, form, 400, errors={"save_as": str(err)})
        return await _trade_page(portal, request, form, notice=f"Template {form.get('save_as', '').strip()} saved.")
    parsed = parse_order(form)
    if parsed.errors:
        return await _trade_page(portal, request, form, 400, errors=parsed.errors)
    if action == "quote":
        if parsed.spec is None:
            return await _trade_page(portal, request, form, 400, errors={"side": "side: only a request can be quoted"})
        return await _quote(portal, request, form, parsed)
    return await _submit(portal, request, form, parsed)


async def _quote(portal: Portal, request: Request, form: dict[str, str], parsed: Parsed) -> Response:
    try:
        reply = await portal.call(
            request, portal.exchange.market.GetQuote, market_pb2.GetQuoteRequest(request=parsed.spec)
        )
    except ApiError as err:
        return await _api_refusal(portal, request, form, err)
    kept = {k: v for k, v in form.items() if k not in ("csrf", "action", "quote_id")}
    return portal.render(request, "quote.html", quote=reply.quote, form=kept)


async def _submit(portal: Portal, request: Request, form: dict[str, str], parsed: Parsed) -> Response:
    try:
        if parsed.offer is not None:
            reply = await portal.call(request, portal.exchange.exchange.SubmitOffer, parsed.offer)
        else:
            reply = await portal.call(request, portal.exchange.exchange.SubmitRequest, parsed.request)
    except ApiError as err:
        return await _api_refusal(portal, request, form, err)
    name = form.get("save_as", "").strip()
    notice = ""
    if name:
        try:
            portal.users.save_template(portal.session(request).participant, name, template_fields(form))
            notice = f"Template {name} saved."
        except UserError as err:
            notice = str(err)
    return await _trade_page(portal, request, template_fields(form), result=reply, notice=notice)


async def _api_refusal(portal: Portal, request: Request, form: dict[str, str], err: ApiError) -> Response:
    if err.status >= 500:
        raise err
    field = err.field or "form"
    return await _trade_page(portal, request, form, err.status, errors={field: err.message})


@router.post("/templates/{template_id}/order")
async def reorder(request: Request, template_id: int) -> Response:
    """One click: the saved terms as a new order (a new client order id each time)."""
    portal = _portal(request)
    await portal.posted(request)
    saved = portal.users.template(portal.session(request).participant, template_id)
    if saved is None:
        raise Refused(404, f"template {template_id}: not found")
    form = {**DEFAULT_FORM, **saved.form, "client_order_id": new_client_order_id()}
    parsed = parse_order(form)
    if parsed.errors:
        return await _trade_page(portal, request, form, 400, errors=parsed.errors)
    return await _submit(portal, request, form, parsed)


@router.post("/templates/{template_id}/delete")
async def delete_template(request: Request, template_id: int) -> Response:
    portal = _portal(request)
    await portal.posted(request)
    if not portal.users.delete_template(portal.session(request).participant, template_id):
        raise Refused(404, f"template {template_id}: not found")
    return RedirectResponse("/trade", status_code=303)


@router.get("/api/classify")
async def classify(request: Request) -> Response:
    """The grade the exchange gives these values now (a dry run: Classify)."""
    portal = _portal(request)
    service, values = classify_values(dict(request.query_params))
    if not values:
        return JSONResponse({"grade": "", "explanation": "enter parameter values to see the grade"})
    try:
        reply = await portal.call(
            request, portal.exchange.classes.Classify, classes_pb2.ClassifyRequest(service_type=service, values=values)
        )
    except ApiError as err:
        return JSONResponse({"grade": "", "explanation": err.message, "field": err.field}, status_code=200)
    return JSONResponse(
        {"grade": reply.grade, "scheme": reply.class_scheme, "score": reply.score, "explanation": reply.explanation}
    )
