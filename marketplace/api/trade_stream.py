"""ExchangeService.TradeStream: batched order entry on one long-lived stream.

The stream's caller is authenticated when it opens (and its token checked again, in
memory, with each batch, so a revoked token stops a stream too). Each batch's commands
go to the sequencer in the batch's order, in one go, so they share commits with each
other and with everyone else's commands; the batch is answered once every command in it
is durable, with the reply or the refusal the unary call gives. Batches are answered in
the order sent; at most MAX_IN_FLIGHT are worked on per stream, and the stream is not
read further until the oldest is answered (HTTP/2 flow control then holds the client).

Admission: a batch costs one unit of the participant's rate per command, as that many
unary calls would. A batch the rate cannot admit within the limiter's wait is answered
RESOURCE_EXHAUSTED (with RetryInfo) for every command, and nothing of it is applied:
never a silent drop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from ixchange.v1 import exchange_pb2

from marketplace.api.order_commands import KINDS, Command
from marketplace.errors import DomainError, InvalidArgument, NotFound, ResourceExhausted
from marketplace.participants import Participant

MAX_COMMANDS = 1024  # per batch
MAX_IN_FLIGHT = 8  # batches per stream worked on before the stream is read further
METHOD = "/ixchange.v1.ExchangeService/TradeStream"


class TradeStreaming:
    """Mixin of ExchangeServicer: needs `api`, `auth`, `seq`, `command`."""

    api: Any
    auth: Any
    seq: Any

    command: Callable[[Participant, str, Any], Command]

    async def TradeStream(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        await self.auth.participant(context, cost=0)  # refuses a stream without a valid token at once
        answers: asyncio.Queue[asyncio.Task[Any] | None] = asyncio.Queue(MAX_IN_FLIGHT)

        async def read() -> None:
            try:
                async for batch in requests:
                    await answers.put(asyncio.create_task(self._batch(context, batch)))
            finally:
                await answers.put(None)

        reader = asyncio.create_task(read())
        try:
            while (answer := await answers.get()) is not None:
                yield await answer
            await reader  # a refusal while reading (an undecodable batch) ends the stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            while not answers.empty():
                task = answers.get_nowait()
                if task is not None:
                    task.cancel()

    async def _batch(self, context: Any, batch: exchange_pb2.TradeStreamRequest) -> Any:
        reply = exchange_pb2.TradeStreamResponse(batch_id=batch.batch_id)
        count = len(batch.commands)
        if not 1 <= count <= MAX_COMMANDS:
            error = InvalidArgument("commands", f"a batch holds 1 to {MAX_COMMANDS} commands, not {count}")
            reply.results.add().error.CopyFrom(self._status(error))
            return reply
        try:
            who = await self._admit(context, count)
            self.api.backlog.admit(who.name, count)
        except ResourceExhausted as err:
            status = self._status(err)
            for _ in range(count):
                reply.results.add().error.CopyFrom(status)
            return reply
        try:
            return await self._run_batch(who, batch, reply)
        finally:
            self.api.backlog.done(who.name, count)

    async def _run_batch(self, who: Participant, batch: exchange_pb2.TradeStreamRequest, reply: Any) -> Any:
        # Every command is put in the sequencer's queue before any of them is awaited:
        # they are applied in the batch's order.
        started: list[tuple[str, Command | None, asyncio.Task[Any] | BaseException]] = []
        for item in batch.commands:
            kind = item.WhichOneof("command")
            if kind not in KINDS:
                started.append(
                    ("", None, InvalidArgument("command", "each command must set one of " + ", ".join(KINDS)))
                )
                continue
            try:
                command = self.command(who, kind, getattr(item, kind))
            except DomainError as err:
                started.append((kind, None, err))
                continue
            started.append((kind, command, asyncio.ensure_future(self.seq.run(command.run))))
        for kind, prepared, running in started:
            result = reply.results.add()
            try:
                if isinstance(running, BaseException):
                    raise running
                assert prepared is not None
                try:
                    outcome = await running
                except NotFound as err:
                    raise await prepared.explain(err) from None
                getattr(result, kind).CopyFrom(await prepared.reply(outcome))
            except Exception as err:
                result.error.CopyFrom(self._status(err))
        return reply

    async def _admit(self, context: Any, commands: int) -> Participant:
        """The caller (its token still good), admitted for `commands` units: a burst's
        worth waits its turn as a unary call would; the rest of a big batch is billed."""
        admitted = min(commands, self.auth.calls.burst)
        who: Participant = await self.auth.participant(context, cost=admitted)
        self.auth.charge(who, commands - admitted)
        return who

    def _status(self, err: BaseException) -> exchange_pb2.CommandStatus:
        status = self.api.guard.status_of(METHOD, err)
        return exchange_pb2.CommandStatus(code=status.code, message=status.message, details=list(status.details))
