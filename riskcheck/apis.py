"""Risk APIs: the risk step's decisions, the limits per broker, and the kill switch."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alphapanda.access import is_admin
from alphapanda.apis import (
    BROKER_PATH,
    BrokerFilterSerializer,
    LimitOffset,
    broker_choice,
    broker_page,
    choice,
    errors,
)
from alphapanda.events import Product
from alphapanda.permissions import broker_admin, broker_trader, broker_visible
from riskcheck import selectors
from riskcheck.controls import (
    breaker_trip_unreleased,
    global_kill_switch_get,
    global_kill_switch_set,
    kill_switch_set,
)
from riskcheck.models import SignalDecision
from riskcheck.services import risk_limits_update
from trading.selectors import instrument_get

# -- signals (the risk step's decisions) ------------------------------------------------------------


class SignalListApi(APIView):
    pagination_class = LimitOffset

    class FilterSerializer(BrokerFilterSerializer):
        strategy = serializers.CharField(required=False, max_length=64)
        outcome = serializers.ChoiceField(
            choices=[SignalDecision.VALIDATED, SignalDecision.REJECTED], required=False
        )
        rule = serializers.CharField(required=False, max_length=32, help_text="The rule that rejected it")

    @extend_schema_serializer(component_name="SignalDecision")
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = SignalDecision
            fields = (
                "broker",
                "signal_id",
                "correlation_id",
                "strategy",
                "instrument_token",
                "side",
                "quantity",
                "outcome",
                "rule",
                "reason",
                "decided_at",
            )

    @extend_schema(
        tags=["signals"],
        summary="Every signal's risk decision, newest first (rule and reason when rejected)",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(self, request, selectors.decision_list)


# -- the kill switch -------------------------------------------------------------------------------
class KillSwitchApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="KillSwitchChange")
    class InputSerializer(serializers.Serializer):
        engaged = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    @extend_schema_serializer(component_name="KillSwitch")
    class OutputSerializer(serializers.Serializer):
        broker = broker_choice()
        engaged = serializers.BooleanField()
        reason = serializers.CharField(allow_blank=True)
        changed_at = serializers.DateTimeField()

    @extend_schema(
        tags=["brokers"],
        summary="Engage or release the broker's kill switch (traders and admins): no new entries, exits pass",
        description="Releasing it after a circuit breaker tripped (and before an admin released that trip) "
        "is for admins only: a trader gets a 403.",
        parameters=[BROKER_PATH],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, broker: str) -> Response:
        broker_trader(user=request.user, broker=broker)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        releasing = not serializer.validated_data["engaged"]
        if releasing and not is_admin(request.user) and breaker_trip_unreleased(broker=broker):
            raise PermissionDenied(
                f"A circuit breaker tripped on {broker}; only an admin may release its kill switch."
            )
        switch = kill_switch_set(broker=broker, user=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(switch).data)


class GlobalKillSwitchApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="GlobalKillSwitchChange")
    class InputSerializer(serializers.Serializer):
        engaged = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    @extend_schema_serializer(component_name="GlobalKillSwitch")
    class OutputSerializer(serializers.Serializer):
        engaged = serializers.BooleanField()
        reason = serializers.CharField(allow_blank=True)
        changed_at = serializers.DateTimeField(allow_null=True, help_text="null: never set")

    @staticmethod
    def _admin_only(request: Request) -> None:
        if not is_admin(request.user):
            raise PermissionDenied("Only an admin may use the global kill switch.")

    @extend_schema(
        tags=["risk"],
        summary="The global kill switch (admins): when engaged, no broker takes new entries",
        responses={200: OutputSerializer, **errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        self._admin_only(request)
        return Response(self.OutputSerializer(global_kill_switch_get()).data)

    @extend_schema(
        tags=["risk"],
        summary="Engage or release the global kill switch (admins): no new entries on any broker, exits pass",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        self._admin_only(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        switch = global_kill_switch_set(user=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(switch).data)


# -- risk limits -----------------------------------------------------------------------------------
class RiskLimitsDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="RiskLimitsChange")
    class InputSerializer(serializers.Serializer):
        """Bounds keep a typo from disabling a check (0) or making it meaningless (absurdly large)."""

        max_quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
        max_order_value = serializers.DecimalField(
            max_digits=13,
            decimal_places=2,
            min_value=Decimal("1"),
            max_value=Decimal("10000000000"),
            help_text="Rupees, 1 to 10,000,000,000",
        )
        max_position = serializers.IntegerField(min_value=1, max_value=10_000_000, help_text="Net units")
        max_open_positions = serializers.IntegerField(min_value=1, max_value=10_000)
        max_daily_trades = serializers.IntegerField(min_value=1, max_value=1_000_000)
        max_price_deviation_pct = serializers.DecimalField(
            max_digits=5,
            decimal_places=2,
            min_value=Decimal("0.01"),
            max_value=Decimal("100"),
            help_text="Percent from the last tick, 0.01 to 100",
        )
        allowed_products = serializers.ListField(
            child=choice([p.value for p in Product]),
            max_length=len(Product),
            help_text="Empty: every product",
        )
        allowed_instruments = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            max_length=10_000,
            help_text="Instrument tokens; empty: every instrument",
        )
        max_daily_loss = serializers.DecimalField(
            max_digits=13,
            decimal_places=2,
            min_value=Decimal("1"),
            max_value=Decimal("10000000000"),
            help_text="Rupees from the day's starting equity, 1 to 10,000,000,000",
        )

        def validate_allowed_products(self, value: list[str]) -> list[str]:
            return sorted(set(value))

        def validate_allowed_instruments(self, value: list[int]) -> list[int]:
            tokens = sorted(set(value))
            unknown = [t for t in tokens if instrument_get(t) is None]
            if unknown:
                raise serializers.ValidationError(
                    f"unknown instrument token(s): {', '.join(map(str, unknown[:10]))}"
                )
            return tokens

    @extend_schema_serializer(component_name="RiskLimits")
    class OutputSerializer(serializers.Serializer):
        broker = broker_choice()
        max_quantity = serializers.IntegerField()
        max_order_value = serializers.DecimalField(max_digits=20, decimal_places=2)
        max_position = serializers.IntegerField()
        max_open_positions = serializers.IntegerField()
        max_daily_trades = serializers.IntegerField()
        max_price_deviation_pct = serializers.DecimalField(max_digits=8, decimal_places=2)
        allowed_products = serializers.ListField(child=serializers.CharField())
        allowed_instruments = serializers.ListField(child=serializers.IntegerField())
        max_daily_loss = serializers.DecimalField(max_digits=20, decimal_places=2)
        updated_at = serializers.DateTimeField(allow_null=True, help_text="null: never changed (defaults)")

    @extend_schema(
        tags=["risk"], parameters=[BROKER_PATH], responses={200: OutputSerializer, **errors(401, 404)}
    )
    def get(self, request: Request, broker: str) -> Response:
        broker_visible(user=request.user, broker=broker)
        return Response(self.OutputSerializer(selectors.risk_limits_get(broker=broker)).data)

    @extend_schema(
        tags=["risk"],
        summary="Change some of the broker's limits (admins)",
        parameters=[BROKER_PATH],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 415)},
    )
    def patch(self, request: Request, broker: str) -> Response:
        broker_admin(user=request.user, broker=broker)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        limits = risk_limits_update(broker=broker, user=request.user, changes=dict(serializer.validated_data))
        return Response(self.OutputSerializer(limits).data)


class RiskLimitsListApi(APIView):
    pagination_class = LimitOffset
    FilterSerializer = BrokerFilterSerializer
    OutputSerializer = RiskLimitsDetailApi.OutputSerializer

    @extend_schema(
        tags=["risk"],
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(
            self, request, lambda brokers, filters: selectors.risk_limits_list(brokers=brokers)
        )
