"""The order-entry commands (offer, request, cancel, replace), shared by the unary calls
and TradeStream so that both give the same reply or the same refusal.

A command is split in three: the engine step (run in order by the sequencer, durable when
it returns), the reply built from its outcome, and the refusal it explains further when
the engine did not find the order it named."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ixchange.v1 import exchange_pb2

from marketplace.api import convert
from marketplace.changes import Outcome
from marketplace.engine import ExchangeEngine
from marketplace.errors import DomainError, FailedPrecondition, NotFound, PermissionDenied
from marketplace.orders import OrderInput, Side
from marketplace.participants import Participant, Role

KINDS = ("submit_offer", "submit_request", "cancel_order", "replace_order")


@dataclass(slots=True)
class Command:
    run: Callable[[ExchangeEngine, int], Outcome]
    reply: Callable[[Outcome], Awaitable[Any]]
    explain: Callable[[NotFound], Awaitable[DomainError]]


def check_role(who: Participant, role: Role) -> None:
    """As Authenticator.require: operators may act in every role."""
    if not who.has(role) and not who.is_operator:
        raise PermissionDenied("authorization", f"{who.name} lacks the {role.name} role")


def subject(outcome: Outcome) -> Any:
    """The order a command was about (every order command has one)."""
    order = outcome.order
    if order is None:
        raise FailedPrecondition("order_id", "the command answered no order")
    return order


class OrderCommands:
    """Mixin of ExchangeServicer: needs `api`, `_order_reply`."""

    api: Any

    async def _order_reply(self, outcome: Outcome, reply_type: Any, who: Participant, entry: OrderInput) -> Any: ...

    def command(self, who: Participant, kind: str, request: Any) -> Command:
        """The command `kind` (one of KINDS) of `who`. Raises what the unary call would
        refuse before reaching the engine (the role)."""
        if kind in ("submit_offer", "submit_request"):
            return self._submit_command(who, request, Side.OFFER if kind == "submit_offer" else Side.REQUEST)
        if kind == "cancel_order":
            return self._cancel_command(who, request)
        return self._replace_command(who, request)

    async def execute(self, who: Participant, command: Command, time_left: float | None = None) -> Any:
        """One command, alone: what a unary call does (`time_left`: until its deadline)."""
        try:
            with self.api.backlog.holding(who.name, 1, time_left):
                outcome = await self.api.seq.run(command.run)
        except NotFound as err:
            raise await command.explain(err) from None
        return await command.reply(outcome)

    def _submit_command(self, who: Participant, request: Any, side: Side) -> Command:
        """Offers and requests differ in role, the name of their values and price, and
        the pre-trade options only requests have."""
        check_role(who, Role.SELLER if side is Side.OFFER else Role.BUYER)
        buyer_options = {}
        if side is Side.REQUEST:
            buyer_options = {
                "routing_policy": request.routing_policy,
                "propose_class": request.propose_class,
                "quote_id": request.quote_id,
                "rebid_of": request.rebid_of,
                "service_end": convert.micros(request, "service_end"),
            }
        order = OrderInput(
            who.name,
            request.client_order_id,
            side,
            request.service_type,
            request.route.a_end,
            request.route.z_end,
            request.capacity_kbps,
            request.circuits,
            dict(request.values if side is Side.OFFER else request.requirements),
            request.price if side is Side.OFFER else request.limit_price,
            request.grade,
            request.class_scheme,
            convert.micros(request, "valid_from"),
            convert.micros(request, "valid_until"),
            request.time_in_force,
            **buyer_options,
        )
        recommend = side is Side.REQUEST
        reply_type = exchange_pb2.SubmitOfferResponse if side is Side.OFFER else exchange_pb2.SubmitRequestResponse

        async def explain(err: NotFound) -> DomainError:
            if err.field != "rebid_of":
                return err
            why: DomainError = await self.api.why_not_open(order.rebid_of, who, "rebid_of")
            return why

        async def reply(outcome: Outcome) -> Any:
            return await self._order_reply(outcome, reply_type, who, order)

        return Command(lambda engine, now: engine.submit(order, now, recommend), reply, explain)

    def _why_not_open(self, who: Participant, order_id: int) -> Callable[[NotFound], Awaitable[DomainError]]:
        async def explain(err: NotFound) -> DomainError:
            why: DomainError = await self.api.why_not_open(order_id, who)
            return why

        return explain

    def _cancel_command(self, who: Participant, request: exchange_pb2.CancelOrderRequest) -> Command:
        order_id = request.order_id

        async def reply(outcome: Outcome) -> Any:
            return exchange_pb2.CancelOrderResponse(order=convert.order_msg(subject(outcome)))

        return Command(
            lambda engine, now: engine.cancel(who.name, order_id, now, operator=who.is_operator),
            reply,
            self._why_not_open(who, order_id),
        )

    def _replace_command(self, who: Participant, request: exchange_pb2.ReplaceOrderRequest) -> Command:
        order_id = request.order_id
        price = request.price if request.HasField("price") else None
        remaining = request.remaining_circuits if request.HasField("remaining_circuits") else None

        async def reply(outcome: Outcome) -> Any:
            return exchange_pb2.ReplaceOrderResponse(
                order=convert.order_msg(subject(outcome)), deals=[convert.deal_msg(d) for d in outcome.deals]
            )

        return Command(
            lambda engine, now: engine.replace(who.name, order_id, price, remaining, now, who.is_operator),
            reply,
            self._why_not_open(who, order_id),
        )
