"""Portfolio APIs: each broker's figures, per-strategy P&L, positions and the P&L curve."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alphapanda.apis import (
    BROKER_PATH,
    BrokerFilterSerializer,
    LimitOffset,
    broker_choice,
    broker_page,
    errors,
    paginated_response,
    query_filters,
)
from alphapanda.permissions import broker_visible
from portfolio import selectors


def _money(**kwargs) -> serializers.DecimalField:
    """Rupees as a decimal string with paise, e.g. "-1396.15"."""
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


# -- portfolios ------------------------------------------------------------------------------------
class PortfolioDetailApi(APIView):
    @extend_schema_serializer(component_name="Portfolio")
    class OutputSerializer(serializers.Serializer):
        broker = broker_choice()
        equity = _money(help_text="Cash plus positions at their last price (at cost when unmarked)")
        cash = _money()
        realized = _money(help_text="Before charges")
        unrealized = _money()
        charges = _money()
        pnl = _money(help_text="Equity minus starting cash: after charges")
        open_positions = serializers.IntegerField()
        signals = serializers.IntegerField()
        orders = serializers.IntegerField()
        fills = serializers.IntegerField()
        rejections = serializers.IntegerField()

    @extend_schema(
        tags=["portfolios"], parameters=[BROKER_PATH], responses={200: OutputSerializer, **errors(401, 404)}
    )
    def get(self, request: Request, broker: str) -> Response:
        broker_visible(user=request.user, broker=broker)
        return Response(self.OutputSerializer(selectors.portfolio_summary(broker=broker)).data)


class PortfolioListApi(APIView):
    pagination_class = LimitOffset
    FilterSerializer = BrokerFilterSerializer
    OutputSerializer = PortfolioDetailApi.OutputSerializer

    @extend_schema(
        tags=["portfolios"],
        summary="One portfolio per broker you may see",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(
            self, request, lambda brokers, filters: selectors.portfolio_summary_list(brokers=brokers)
        )


class PortfolioStrategyListApi(APIView):
    pagination_class = LimitOffset

    @extend_schema_serializer(component_name="StrategyPnl")
    class OutputSerializer(serializers.Serializer):
        strategy = serializers.CharField()
        realized = _money()
        unrealized = _money()
        charges = _money()
        pnl = _money(help_text="Realized plus unrealized minus charges")
        open_positions = serializers.IntegerField()

    @extend_schema(
        tags=["portfolios"],
        summary="Each strategy's marked-to-market P&L on the broker",
        parameters=[BROKER_PATH],
        responses={200: OutputSerializer(many=True), **errors(401, 404)},
    )
    def get(self, request: Request, broker: str) -> Response:
        broker_visible(user=request.user, broker=broker)
        items = selectors.strategy_pnl_list(broker=broker)
        return paginated_response(
            items=items, serializer_class=self.OutputSerializer, request=request, view=self
        )


# -- positions -------------------------------------------------------------------------------------
class PositionListApi(APIView):
    pagination_class = LimitOffset

    class FilterSerializer(BrokerFilterSerializer):
        strategy = serializers.CharField(required=False, max_length=64)
        symbol = serializers.CharField(required=False, max_length=64, help_text="Case-insensitive")
        open = serializers.BooleanField(required=False, help_text="true: quantity is not 0; false: closed")

    @extend_schema_serializer(component_name="Position")
    class OutputSerializer(serializers.Serializer):
        broker = broker_choice()
        strategy = serializers.CharField()
        instrument_token = serializers.IntegerField()
        symbol = serializers.CharField()
        quantity = serializers.IntegerField(help_text="Signed: negative is short")
        average_price = serializers.DecimalField(max_digits=20, decimal_places=4)
        realized = _money(help_text="From the ledger, before charges")
        charges = _money()
        last_price = _money(allow_null=True, help_text="From the read model; null when not marked yet")
        unrealized = _money(allow_null=True, help_text="At the last price; null when not marked yet")

    @extend_schema(
        tags=["positions"],
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(self, request, selectors.position_list)


# -- the P&L curve ---------------------------------------------------------------------------------
class PnlSeriesApi(APIView):
    class FilterSerializer(serializers.Serializer):
        broker = broker_choice()
        strategy = serializers.CharField(
            required=False, max_length=64, help_text="Omitted: the broker's total"
        )
        since = serializers.DateTimeField(required=False, help_text="ISO 8601; omitted: from the start")

    @extend_schema_serializer(component_name="PnlPoint")
    class OutputSerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        equity = _money()
        realized = _money()
        unrealized = _money()
        charges = _money()

    @extend_schema(
        tags=["portfolios"],
        summary=f"The P&L curve, oldest first; at most {selectors.PNL_MAX_POINTS} points (thinned evenly)",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.FilterSerializer)
        broker = broker_visible(user=request.user, broker=filters["broker"])
        points = selectors.pnl_series(
            broker=broker, strategy=filters.get("strategy", ""), since=filters.get("since")
        )
        return Response(self.OutputSerializer(points, many=True).data)
