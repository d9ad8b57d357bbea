"""Trading APIs: orders, fills, strategies (pause and resume per broker), and flattening a broker."""

from __future__ import annotations

from confluent_kafka import KafkaException
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alphapanda.access import visible_brokers
from alphapanda.apis import (
    BROKER_PATH,
    BrokerFilterSerializer,
    LimitOffset,
    broker_choice,
    broker_page,
    choice,
    errors,
    filtered_brokers,
    paginated_response,
    query_filters,
)
from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.events import OrderStatus, Side
from alphapanda.permissions import broker_trader, broker_visible
from trading import selectors
from trading.controls import positions_flatten, strategy_pause, strategy_resume
from trading.models import Fill, Order

SIDES = [s.value for s in Side]
STRATEGY_PATH = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$", description="Strategy name"
)


class KafkaUnavailable(APIException):
    status_code = 503
    default_detail = "Kafka did not acknowledge the closing orders; try again."
    default_code = "kafka_unavailable"


# -- orders ----------------------------------------------------------------------------------------
class OrderDetailApi(APIView):
    @extend_schema_serializer(component_name="Order")
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Order
            fields = (
                "broker",
                "order_id",
                "broker_order_id",
                "tag",
                "signal_id",
                "correlation_id",
                "strategy",
                "instrument_token",
                "symbol",
                "exchange",
                "side",
                "quantity",
                "filled_quantity",
                "product",
                "order_type",
                "price",
                "trigger_price",
                "average_price",
                "brokerage_paid",
                "status",
                "reason",
                "created_at",
                "updated_at",
            )

    @extend_schema(
        tags=["orders"],
        parameters=[BROKER_PATH, OpenApiParameter("order_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: OutputSerializer, **errors(401, 404)},
    )
    def get(self, request: Request, broker: str, order_id: str) -> Response:
        broker_visible(user=request.user, broker=broker)
        order = selectors.order_get(broker=broker, order_id=order_id)
        if order is None:
            raise NotFound()
        return Response(self.OutputSerializer(order).data)


class OrderListApi(APIView):
    pagination_class = LimitOffset
    OutputSerializer = OrderDetailApi.OutputSerializer

    class FilterSerializer(BrokerFilterSerializer):
        strategy = serializers.CharField(required=False, max_length=64)
        status = serializers.ChoiceField(choices=[s.value for s in OrderStatus], required=False)
        symbol = serializers.CharField(required=False, max_length=64, help_text="Case-insensitive")
        side = serializers.ChoiceField(choices=SIDES, required=False)

    @extend_schema(
        tags=["orders"],
        summary="Orders, newest first",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(self, request, selectors.order_list)


# -- fills -----------------------------------------------------------------------------------------
class FillListApi(APIView):
    pagination_class = LimitOffset

    class FilterSerializer(BrokerFilterSerializer):
        strategy = serializers.CharField(required=False, max_length=64)
        symbol = serializers.CharField(required=False, max_length=64, help_text="Case-insensitive")
        side = serializers.ChoiceField(choices=SIDES, required=False)

    @extend_schema_serializer(component_name="Fill")
    class OutputSerializer(serializers.ModelSerializer):
        @extend_schema_serializer(component_name="FillCharges")
        class ChargesSerializer(serializers.Serializer):
            brokerage = serializers.DecimalField(max_digits=16, decimal_places=2)
            stt = serializers.DecimalField(max_digits=16, decimal_places=2)
            exchange = serializers.DecimalField(max_digits=16, decimal_places=2, source="exchange_charges")
            sebi = serializers.DecimalField(max_digits=16, decimal_places=2)
            stamp = serializers.DecimalField(max_digits=16, decimal_places=2)
            gst = serializers.DecimalField(max_digits=16, decimal_places=2)
            total = serializers.DecimalField(max_digits=16, decimal_places=2, source="charges")

        order_id = serializers.CharField(source="order.order_id")
        charges = ChargesSerializer(source="*")

        class Meta:
            model = Fill
            fields = (
                "broker",
                "fill_id",
                "order_id",
                "correlation_id",
                "strategy",
                "instrument_token",
                "symbol",
                "exchange",
                "side",
                "quantity",
                "product",
                "price",
                "charges",
                "filled_at",
            )

    @extend_schema(
        tags=["fills"],
        summary="Fills with their charges, newest first",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(self, request, selectors.fill_list)


# -- strategies ------------------------------------------------------------------------------------
class StrategyDetailApi(APIView):
    @extend_schema_serializer(component_name="Strategy")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        kind = serializers.CharField()
        params = serializers.DictField()
        instruments = serializers.ListField(child=serializers.CharField(), help_text="Symbols")
        brokers = serializers.ListField(
            child=choice(KNOWN_BROKERS), help_text="Those you may see it trades on"
        )
        paused_brokers = serializers.ListField(
            child=choice(KNOWN_BROKERS), help_text="Those you may see it is paused on"
        )
        active = serializers.BooleanField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        tags=["strategies"], parameters=[STRATEGY_PATH], responses={200: OutputSerializer, **errors(401, 404)}
    )
    def get(self, request: Request, name: str) -> Response:
        strategy = selectors.strategy_detail(name=name, brokers=visible_brokers(request.user))
        if strategy is None:
            raise NotFound()
        return Response(self.OutputSerializer(strategy).data)


class StrategyListApi(APIView):
    pagination_class = LimitOffset
    FilterSerializer = BrokerFilterSerializer
    OutputSerializer = StrategyDetailApi.OutputSerializer

    @extend_schema(
        tags=["strategies"],
        summary="Strategies trading on a broker you may see",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.FilterSerializer)
        trading_on = filtered_brokers(request, filters)
        items = selectors.strategy_list(brokers=visible_brokers(request.user), trading_on=trading_on)
        return paginated_response(
            items=items, serializer_class=self.OutputSerializer, request=request, view=self
        )


class _StrategyControlApi(APIView):
    """Pause or resume one strategy on one broker (traders and admins on that broker)."""

    parser_classes = [JSONParser]
    OutputSerializer = StrategyDetailApi.OutputSerializer
    service = None

    @extend_schema_serializer(component_name="StrategyControl")
    class InputSerializer(serializers.Serializer):
        broker = broker_choice()

    def post(self, request: Request, name: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        broker = broker_trader(user=request.user, broker=serializer.validated_data["broker"])
        brokers = visible_brokers(request.user)
        strategy = selectors.strategy_get(name=name, brokers=brokers)
        if strategy is None:
            raise NotFound()
        if broker not in strategy.brokers:
            raise ValidationError({"broker": [f"{strategy.name} does not trade on {broker}."]})
        strategy = type(self).service(strategy=strategy, broker=broker, user=request.user)
        return Response(
            self.OutputSerializer(selectors.strategy_view(strategy=strategy, brokers=brokers)).data
        )


_CONTROL_SCHEMA = {
    "tags": ["strategies"],
    "parameters": [STRATEGY_PATH],
    "request": _StrategyControlApi.InputSerializer,
    "responses": {200: StrategyDetailApi.OutputSerializer, **errors(400, 401, 403, 404, 415)},
}


@extend_schema(
    summary="Pause a strategy on a broker: no new entries there; its positions stay", **_CONTROL_SCHEMA
)
class StrategyPauseApi(_StrategyControlApi):
    service = staticmethod(strategy_pause)


@extend_schema(summary="Resume a strategy on a broker", **_CONTROL_SCHEMA)
class StrategyResumeApi(_StrategyControlApi):
    service = staticmethod(strategy_resume)


# -- flatten ---------------------------------------------------------------------------------------
class FlattenApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="Flatten")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, max_length=200, default="flatten")

    @extend_schema_serializer(component_name="FlattenResult")
    class OutputSerializer(serializers.Serializer):
        signals_sent = serializers.IntegerField(
            help_text="Closing MARKET signals published, one per position"
        )

    @extend_schema(
        tags=["brokers"],
        summary="Close every open position of the broker (traders and admins), through risk",
        parameters=[BROKER_PATH],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 415, 503)},
    )
    def post(self, request: Request, broker: str) -> Response:
        broker_trader(user=request.user, broker=broker)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = positions_flatten(
                broker=broker, user=request.user, reason=serializer.validated_data["reason"]
            )
        except KafkaException as exc:
            raise KafkaUnavailable() from exc
        return Response(self.OutputSerializer({"signals_sent": sent}).data)
