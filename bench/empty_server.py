"""The floor for the end-to-end benchmark: a grpc.aio server whose SubmitOffer does
nothing but answer. Same protocol, same messages, no exchange behind it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc
from ixchange.v1 import exchange_pb2, exchange_pb2_grpc


class EmptyExchange(exchange_pb2_grpc.ExchangeServiceServicer):
    async def SubmitOffer(self, request: Any, context: Any) -> exchange_pb2.SubmitOfferResponse:
        return exchange_pb2.SubmitOfferResponse()


async def main(port: int) -> None:
    server = grpc.aio.server()
    exchange_pb2_grpc.add_ExchangeServiceServicer_to_server(EmptyExchange(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
