"""The hall (DESIGN §6): tickets and calling the next one, a hall's appointment slots, and citizens'
appointments."""

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import selectors, services
from applications.models import Appointment, AppointmentSlot
from applications.permissions import access_appointment
from items.models import Item
from portal.inputs import bounded
from portal.models import Hall
from portal.schema import ERROR
from portal.throttles import AnonymousClientRateThrottle


class EmptySerializer(serializers.Serializer):
    pass


# --- the hall queue ---------------------------------------------------------------------------------


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(source="number")
    hall = serializers.CharField(source="hall.code")
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    window = serializers.IntegerField(allow_null=True)
    wait_seconds = serializers.IntegerField(allow_null=True)
    item = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_item(self, ticket):
        return ticket.item.code if ticket.item_id else None


class TicketRequestSerializer(serializers.Serializer):
    item = bounded(Item, "code", label="办理事项实施编码（可不填）", required=False, allow_blank=True, default="")


class HallTicketApi(APIView):
    """取号: anyone, no account needed (the hall's kiosk is a public device; a signed-in citizen's ticket
    is kept with their account). Anonymous callers are rate-limited per address, so one address cannot
    empty the day's numbers."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousClientRateThrottle]
    throttle_scope = "kiosk"

    @extend_schema(request=TicketRequestSerializer, responses={201: TicketSerializer})
    def post(self, request, code):
        hall = selectors.hall_get(code=code)
        data = TicketRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_issue(hall=hall, actor=request.user, item_code=data.validated_data["item"])
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class CallNextSerializer(serializers.Serializer):
    window = serializers.IntegerField(label="窗口号")


class HallCallNextApi(APIView):
    """叫号: a clerk of this hall calls the oldest waiting ticket of today to their window; 409 queue_empty."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CallNextSerializer, responses=TicketSerializer)
    def post(self, request, code):
        hall = selectors.hall_get(code=code)
        data = CallNextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.ticket_call_next(actor=request.user, hall=hall, window=data.validated_data["window"])
        return Response(TicketSerializer(ticket).data)


# --- appointments -------------------------------------------------------------------------------------


class SlotSerializer(serializers.ModelSerializer):
    # RFC 3339 date-times with the hall's offset ("2026-11-24T09:00:00+08:00"), as every other moment in the API.
    start = serializers.DateTimeField(source="starts_at", label="开始时间")
    end = serializers.DateTimeField(source="ends_at", label="结束时间")
    remaining = serializers.IntegerField()

    class Meta:
        model = AppointmentSlot
        fields = ["id", "date", "start", "end", "capacity", "booked", "remaining"]


class HallSlotsApi(APIView):
    """A hall's appointment slots of one day with the places left (public)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("date", str, description="日期 YYYY-MM-DD（默认今天）")],
        responses=SlotSerializer(many=True),
    )
    def get(self, request, code):
        hall = selectors.hall_get(code=code)
        raw = request.query_params.get("date")
        day = parse_date(raw) if raw else timezone.localdate()
        if day is None:
            raise serializers.ValidationError({"date": ["日期格式应为 YYYY-MM-DD"]})
        slots = AppointmentSlot.objects.filter(hall=hall, date=day).order_by("start")
        return Response(SlotSerializer(slots, many=True).data)


class AppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hall = serializers.CharField(source="slot.hall.code")
    hall_name = serializers.CharField(source="slot.hall.name")
    date = serializers.DateField(source="slot.date")
    start = serializers.DateTimeField(source="slot.starts_at")
    end = serializers.DateTimeField(source="slot.ends_at")
    item = serializers.CharField(source="item.code")
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    booked_at = serializers.DateTimeField()
    ticket = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ticket(self, appointment):
        return appointment.ticket.number if appointment.ticket_id else None


class AppointmentRequestSerializer(serializers.Serializer):
    hall = bounded(Hall, "code")
    slot = serializers.IntegerField(label="预约时段")
    item = bounded(Item, "code", label="办理事项实施编码")


class AppointmentListApi(ListAPIView):
    """The caller's own bookings (applicants), newest first; POST books one place (409 slot_full)."""

    permission_classes = [IsAuthenticated]
    serializer_class = AppointmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return (
            Appointment.objects.filter(user=self.request.user)
            .select_related("slot", "slot__hall", "item", "ticket").order_by("-booked_at", "-pk")
        )

    # 404: the hall named in the body does not exist.
    @extend_schema(request=AppointmentRequestSerializer, responses={201: AppointmentSerializer, 404: ERROR})
    def post(self, request):
        data = AppointmentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hall = selectors.hall_get(code=data.validated_data["hall"])
        appointment = services.appointment_book(
            actor=request.user, hall=hall, slot_id=data.validated_data["slot"], item_code=data.validated_data["item"],
        )
        appointment = access_appointment(user=request.user, pk=appointment.pk)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


APPOINTMENT_ACTIONS = {"cancel": services.appointment_cancel, "arrive": services.appointment_arrive}


class AppointmentActionApi(APIView):
    """cancel (the applicant; frees the place) or arrive (a clerk of the hall; gives a ticket)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="appointments_action", request=EmptySerializer, responses=AppointmentSerializer,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(APPOINTMENT_ACTIONS))],
    )
    def post(self, request, appointment_id, action):
        if action not in APPOINTMENT_ACTIONS:
            raise Http404("未知的操作")
        appointment = access_appointment(user=request.user, pk=appointment_id)
        APPOINTMENT_ACTIONS[action](actor=request.user, appointment=appointment)
        return Response(AppointmentSerializer(access_appointment(user=request.user, pk=appointment_id)).data)


