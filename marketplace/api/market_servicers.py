"""gRPC servicers of ClassesService, MarketService and FabricService."""

from __future__ import annotations

from typing import Any

from ixchange.v1 import classes_pb2, classes_pb2_grpc, fabric_pb2, fabric_pb2_grpc, market_pb2, market_pb2_grpc

from marketplace.api import convert
from marketplace.api.quotas import REPORT_DEAL_COST
from marketplace.api.servicers import Api
from marketplace.errors import InvalidArgument, NotFound
from marketplace.orders import ServiceType
from marketplace.participants import Role
from marketplace.report import check_window, publishable, whole_hours


class ClassesServicer(classes_pb2_grpc.ClassesServiceServicer):
    """ixchange.v1.ClassesService."""

    def __init__(self, api: Api) -> None:
        self.seq = api.seq
        self.auth = api.auth

    async def DefineParameter(self, request: classes_pb2.DefineParameterRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        param = convert.parameter_from(request.parameter)
        stored = await self.seq.run(lambda engine, now: engine.define_parameter(param))
        return classes_pb2.DefineParameterResponse(parameter=convert.parameter_msg(stored))

    async def ListParameters(self, request: classes_pb2.ListParametersRequest, context: Any) -> Any:
        await self.auth.participant(context)
        params = sorted(self.seq.engine.parameters.values(), key=lambda p: p.name)
        return classes_pb2.ListParametersResponse(parameters=[convert.parameter_msg(p) for p in params])

    async def DefineClassScheme(self, request: classes_pb2.DefineClassSchemeRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        scheme = convert.scheme_from(request.scheme)
        stored = await self.seq.run(lambda engine, now: engine.define_scheme(scheme, now))
        return classes_pb2.DefineClassSchemeResponse(
            scheme=convert.scheme_msg(stored, self.seq.engine.effective_bounds(stored))
        )

    async def ListClassSchemes(self, request: classes_pb2.ListClassSchemesRequest, context: Any) -> Any:
        await self.auth.participant(context)
        engine = self.seq.engine
        chosen = sorted(
            engine.scheme_versions.values() if request.all_versions else engine.schemes.values(),
            key=lambda s: (s.name, s.version),
        )
        return classes_pb2.ListClassSchemesResponse(
            schemes=[convert.scheme_msg(s, engine.effective_bounds(s)) for s in chosen]
        )

    async def Classify(self, request: classes_pb2.ClassifyRequest, context: Any) -> Any:
        await self.auth.participant(context)
        engine = self.seq.engine
        try:
            service = ServiceType(request.service_type)
        except ValueError:
            raise InvalidArgument("service_type", "must be ETHERNET_ELINE, IP_TRANSIT or VOICE_TERMINATION") from None
        scheme = engine.scheme_for(service, request.class_scheme)
        values = dict(request.values)
        engine.check_values(values, "values")
        return convert.classification_msg(engine.classify(scheme, values))


class FabricServicer(fabric_pb2_grpc.FabricServiceServicer):
    """The network as the provisioning layer sees it (operator only)."""

    def __init__(self, api: Api) -> None:
        self.seq = api.seq
        self.auth = api.auth

    async def GetFabric(self, request: fabric_pb2.GetFabricRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        status = self.seq.provisioner.fabric_status()
        if status is None:
            return fabric_pb2.GetFabricResponse(enabled=False)
        return fabric_pb2.GetFabricResponse(
            enabled=True,
            nodes=[
                fabric_pb2.FabricNode(
                    name=n.name, kind=n.kind, connected=n.connected, address=n.address, since=convert.ts(n.since_us)
                )
                for n in status.nodes
            ],
            links=[
                fabric_pb2.FabricLink(
                    name=link.name,
                    capacity_kbps=link.capacity_kbps,
                    load_kbps=link.load_kbps,
                    deals=link.deals,
                    seen=link.seen,
                    untagged=link.untagged,
                    since=convert.ts(link.since_us),
                )
                for link in status.links
            ],
            link_problems=list(status.link_problems),
            provisioned_deals=status.provisioned_deals,
            as_of=convert.ts(status.as_of_us),
        )


class MarketServicer(market_pb2_grpc.MarketServiceServicer):
    """ixchange.v1.MarketService."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seq = api.seq
        self.auth = api.auth

    async def GetQuote(self, request: market_pb2.GetQuoteRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        spec = convert.spec_from(request.request, who.name)
        quote = await self.seq.run(lambda engine, now: engine.quote(spec, now))
        return market_pb2.GetQuoteResponse(quote=convert.quote_msg(quote))

    async def Recommend(self, request: market_pb2.RecommendRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.BUYER)
        target = request.WhichOneof("target")
        if target is None:
            raise InvalidArgument("target", "give order_id or request")
        order_id = request.order_id if target == "order_id" else 0
        if target == "order_id" and not order_id:
            raise InvalidArgument("order_id", "must name one of your live requests (ids start at 1)")
        spec = convert.spec_from(request.request, who.name) if target == "request" else None
        try:
            rec = await self.seq.run(
                lambda engine, now: engine.recommend(who.name, order_id, spec, now, operator=who.is_operator)
            )
        except NotFound:
            raise await self.api.why_not_open(order_id, who) from None
        return market_pb2.RecommendResponse(recommendation=convert.recommendation_msg(rec))

    async def GetMarketReport(self, request: market_pb2.GetMarketReportRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        for name in ("start", "end"):
            if not request.HasField(name):
                raise InvalidArgument(name, "required")
        start, end = convert.micros(request, "start"), convert.micros(request, "end")
        check_window(start, end)
        if not who.is_operator:
            start, end = whole_hours(start, end)
        rows = await self.api.reads.run(who.name, self.api.store.report_rows, start, end)
        self.auth.charge(who, sum(r.deals for r in rows) * REPORT_DEAL_COST)
        if not who.is_operator:
            rows = publishable(rows, self.api.report_min_deals)
        return market_pb2.GetMarketReportResponse(
            start=convert.stamp(start),
            end=convert.stamp(end),
            rows=[convert.report_row_msg(r) for r in rows],
        )

    async def SetNeighbours(self, request: market_pb2.SetNeighboursRequest, context: Any) -> Any:
        await self.auth.require(context, Role.OPERATOR)
        neighbours = list(request.neighbours)
        result = await self.seq.run(lambda engine, now: engine.set_neighbours(request.pop, neighbours))
        return market_pb2.SetNeighboursResponse(pop=request.pop.strip().upper(), neighbours=sorted(result))

    async def ListNeighbours(self, request: market_pb2.ListNeighboursRequest, context: Any) -> Any:
        await self.auth.participant(context)
        adjacency = self.seq.engine.neighbours
        return market_pb2.ListNeighboursResponse(
            pops=[market_pb2.PopNeighbours(pop=p, neighbours=sorted(adjacency[p])) for p in sorted(adjacency)]
        )
