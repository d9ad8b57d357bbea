"""The API's shared parts (errors, pagination, filters), sign-in with JWTs, and the brokers.

Every API is a thin `APIView`: validate input with a nested serializer, check the broker with
`alphapanda.permissions`, call one selector or service, render with a nested output serializer. A
broker the user may not see is a 404 everywhere; see `alphapanda.permissions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.permissions import broker_visible, brokers_in_scope
from riskcheck.selectors import broker_status_list

# -- shared by every app's apis --------------------------------------------------------------------


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="Set on token errors, e.g. token_not_valid")
    messages = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Set on token errors: why each token failed"
    )


_FIELD_ERRORS = {
    "type": "object",
    "description": 'Field errors: {"field": ["message", ...]}; "non_field_errors" for the whole body; '
    'an object per item for list fields; a malformed body gives {"detail": "..."}.',
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {}},
            {"type": "string"},
        ]
    },
}


class ValidationErrorSerializer(serializers.Serializer):
    """Documents DRF's field errors (its fields are the input's, so it has none of its own)."""


class _ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction) -> str:
        return "ValidationError"

    def map_serializer(self, auto_schema, direction) -> dict:
        return _FIELD_ERRORS


VALIDATION_ERROR = OpenApiResponse(
    ValidationErrorSerializer, description="Invalid input, with the errors per field."
)
UNAUTHENTICATED = OpenApiResponse(
    ErrorSerializer, description="Not signed in, or the token is invalid or expired."
)
FORBIDDEN = OpenApiResponse(
    ErrorSerializer,
    description="You may see this broker but not do this (or a session request lacks its CSRF token).",
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description='No such broker or object, or you may not see it: {"detail": "Not found."}.'
)
THROTTLED = OpenApiResponse(
    ErrorSerializer, description="Too many attempts; retry after the Retry-After header."
)
UNSUPPORTED_MEDIA = OpenApiResponse(ErrorSerializer, description="The body must be JSON (application/json).")
UNAVAILABLE = OpenApiResponse(ErrorSerializer, description="A dependency (Kafka) did not answer.")


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses of an operation; 401 applies to every authenticated one."""
    table = {
        400: VALIDATION_ERROR,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        415: UNSUPPORTED_MEDIA,
        429: THROTTLED,
        503: UNAVAILABLE,
    }
    return {code: table[code] for code in codes}


BROKER_PATH = OpenApiParameter(
    "broker",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(KNOWN_BROKERS),
    description="A broker you may see (an inactive or invisible one is a 404).",
)


def choice(choices, **kwargs) -> serializers.ChoiceField:
    """A choice field documented by a pattern rather than an enum, for a choice set that appears under
    several property names (broker: name, brokers, paused_brokers), which as enums would each get a
    differently named component."""
    values = [str(c) for c in choices]
    documented = extend_schema_field(
        {"type": "string", "pattern": f"^({'|'.join(re.escape(v) for v in values)})$"}
    )
    # A class, not an instance: serializers deep-copy their fields, which rebuilds them from the class.
    field_class = documented(type("PatternChoiceField", (serializers.ChoiceField,), {}))
    return field_class(choices=values, **kwargs)


def broker_choice(**kwargs) -> serializers.ChoiceField:
    """A broker name, for fields named `broker` (documented as the shared BrokerEnum)."""
    return serializers.ChoiceField(choices=KNOWN_BROKERS, **kwargs)


class LimitOffset(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def paginated_response(
    *, items: Sequence, serializer_class: type[serializers.Serializer], request: Request, view: APIView
) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class BrokerFilterSerializer(serializers.Serializer):
    """The filter every list spanning brokers takes; naming a broker you may not see is a 404."""

    broker = broker_choice(required=False)


def query_filters(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    """Validated query parameters (400 with field errors when invalid); blank values mean no filter."""
    raw = {k: v for k, v in request.query_params.dict().items() if v != ""}
    serializer = serializer_class(data=raw)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def filtered_brokers(request: Request, filters: dict) -> tuple[str, ...]:
    return brokers_in_scope(user=request.user, broker=filters.pop("broker", None))


def broker_page(view: APIView, request: Request, select: Callable[..., Sequence]) -> Response:
    """The shape of every list spanning brokers: validated filters (the broker one resolved to the
    brokers in scope), one selector call, one page of the view's OutputSerializer."""
    filters = query_filters(request, view.FilterSerializer)
    items = select(brokers=filtered_brokers(request, filters), filters=filters)
    return paginated_response(items=items, serializer_class=view.OutputSerializer, request=request, view=view)


@csrf_exempt  # it answers every method the same way, and changes nothing
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404, like every other API error."""
    return JsonResponse({"detail": "Not found."}, status=404)


# -- sign-in ---------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="TokenPair")
class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


@extend_schema(
    tags=["auth"],
    summary="Sign in: an access token (5 min) and a refresh token (1 day)",
    description="Send the access token as `Authorization: Bearer <access>`. Throttled per client (login rate).",
    responses={200: TokenPairSerializer, **errors(400, 415, 429)}
    | {401: OpenApiResponse(ErrorSerializer, description="Wrong username or password.")},
)
class TokenObtainApi(TokenObtainPairView):
    parser_classes = [JSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


@extend_schema(
    tags=["auth"],
    summary="A new token pair for a refresh token; the old refresh token is revoked",
    description="Refresh tokens rotate: use the new one next time; the old one now gets a 401.",
    responses={200: TokenPairSerializer, **errors(400, 401, 415)},
)
class TokenRefreshApi(TokenRefreshView):
    parser_classes = [JSONParser]


@extend_schema(
    tags=["auth"],
    summary="Sign out: revoke a refresh token",
    description="The refresh token is blacklisted: refreshing with it again is a 401.",
    responses={
        205: OpenApiResponse(description="Revoked; the refresh token no longer works."),
        **errors(400, 401, 415),
    },
)
class LogoutApi(TokenBlacklistView):
    parser_classes = [JSONParser]

    def post(self, request: Request, *args, **kwargs) -> Response:
        super().post(request, *args, **kwargs)
        return Response(status=status.HTTP_205_RESET_CONTENT)


# -- brokers ---------------------------------------------------------------------------------------
class BrokerDetailApi(APIView):
    @extend_schema_serializer(component_name="Broker")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="BrokerKillSwitch")
        class KillSwitchSerializer(serializers.Serializer):
            engaged = serializers.BooleanField()
            reason = serializers.CharField(allow_blank=True)

        @extend_schema_serializer(component_name="BrokerHealth")
        class HealthSerializer(serializers.Serializer):
            ok = serializers.BooleanField()
            detail = serializers.CharField()

        name = choice(KNOWN_BROKERS)
        label = serializers.CharField()
        role = serializers.ChoiceField(choices=["admin", "trader", "viewer"], help_text="Your role on it")
        kill_switch = KillSwitchSerializer()
        health = HealthSerializer(help_text="Whether it can place orders now, and why not")

    @extend_schema(
        tags=["brokers"], parameters=[BROKER_PATH], responses={200: OutputSerializer, **errors(401, 404)}
    )
    def get(self, request: Request, broker: str) -> Response:
        broker_visible(user=request.user, broker=broker)
        (item,) = broker_status_list(user=request.user, brokers=(broker,))
        return Response(self.OutputSerializer(item).data)


class BrokerListApi(APIView):
    pagination_class = LimitOffset
    FilterSerializer = BrokerFilterSerializer
    OutputSerializer = BrokerDetailApi.OutputSerializer

    @extend_schema(
        tags=["brokers"],
        summary="The brokers you may see, your role on each, its kill switch and health",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        return broker_page(
            self, request, lambda brokers, filters: broker_status_list(user=request.user, brokers=brokers)
        )
