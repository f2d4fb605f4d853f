"""The hall and service quality (DESIGN §6): the public call screen (halls/), the window's queue
(window/queue/), citizens' appointments (appointments/) and the 好差评 page of a finished case
(my/cases/<number>/rate/)."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from applications import selectors, services
from applications.models import Appointment, AppointmentSlot, AppointmentStatus, Rating, RatingChannel, Score, Ticket
from applications.permissions import access_application, access_appointment, allowed_actions
from applications.views.common import applicant_required, clerk_required, show_refusal
from items.models import Item
from portal.errors import Forbidden, Refused
from portal.models import Hall

SCREEN_ROWS = 8


def hall_screen(request, code):
    """叫号大屏: public, big numbers, the latest calls and their windows; refreshes itself every 5 s."""
    hall = selectors.hall_get(code=code)
    today = timezone.localdate()
    tickets = Ticket.objects.filter(hall=hall, day=today)
    called = list(tickets.filter(called_at__isnull=False).order_by("-called_at", "-pk")[:SCREEN_ROWS])
    return render(request, "applications/pages/hall_screen.html", {
        "hall": hall, "latest": called[0] if called else None, "recent": called[1:],
        "waiting": tickets.filter(called_at__isnull=True).count(), "now": timezone.localtime(),
    })


def _queue_page(request, *, window=None):
    hall = request.user.hall
    today = timezone.localdate()
    tickets = Ticket.objects.filter(hall=hall, day=today)
    window = window or request.session.get("queue_window") or 1
    appointments = (
        Appointment.objects.filter(slot__hall=hall, slot__date=today, status=AppointmentStatus.BOOKED)
        .select_related("user", "item__current_version", "slot").order_by("slot__start", "pk")
    )
    return render(request, "applications/pages/queue.html", {
        "hall": hall, "windows": range(1, hall.windows + 1), "window": int(window),
        "waiting": tickets.filter(called_at__isnull=True).count(),
        "next_ticket": tickets.filter(called_at__isnull=True).order_by("sequence").first(),
        "mine": tickets.filter(called_by=request.user).order_by("-called_at")[:10],
        "appointments": appointments,
    })


@clerk_required
def queue(request):
    """叫号: the clerk picks their window once (kept for the session) and calls the next ticket."""
    if request.method == "POST":
        window = request.POST.get("window")
        try:
            ticket = services.ticket_call_next(actor=request.user, hall=request.user.hall, window=window)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
        else:
            request.session["queue_window"] = ticket.window
            minutes = ticket.wait_seconds // 60
            messages.success(request, f"请 {ticket.number} 号到 {ticket.window} 号窗口办理（已等候 {minutes} 分钟）")
        return redirect("applications:queue")
    return _queue_page(request)


@clerk_required
@require_POST
def queue_arrive(request, appointment_id):
    """预约签到: the booking gets a ticket of today's queue."""
    appointment = access_appointment(user=request.user, pk=appointment_id)
    try:
        appointment = services.appointment_arrive(actor=request.user, appointment=appointment)
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"已签到，排队号 {appointment.ticket.number}")
    return redirect("applications:queue")


# --- appointments (citizens) ---------------------------------------------------------------------------

APPOINTMENT_ITEMS_LIMIT = 200


def _appointment_items():
    items = Item.objects.filter(current_version__isnull=False).select_related("current_version").order_by("code")
    bookable = items.filter(current_version__appointment=True)
    return list((bookable if bookable.exists() else items)[:APPOINTMENT_ITEMS_LIMIT])


@applicant_required
def appointments(request):
    """预约办事: pick hall and day, then a slot and the item; the citizen's bookings below."""
    halls = list(Hall.objects.order_by("code"))
    hall = next((h for h in halls if h.code == request.GET.get("hall")), halls[0] if halls else None)
    day = parse_date(request.GET.get("date") or "") or timezone.localdate() + timedelta(days=1)
    if request.method == "POST":
        hall = selectors.hall_get(code=request.POST.get("hall", ""))
        try:
            appointment = services.appointment_book(actor=request.user, hall=hall, slot_id=request.POST.get("slot"),
                                                    item_code=request.POST.get("item", ""))
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
        else:
            slot = appointment.slot
            messages.success(request, f"预约成功：{hall.name} {slot.date:%Y-%m-%d} {slot.start:%H:%M}–{slot.end:%H:%M}，请按时到厅签到取号。")
        day = parse_date(request.POST.get("date") or "") or day
        return redirect(f"{reverse('applications:appointments')}?hall={hall.code}&date={day:%Y-%m-%d}")
    now = timezone.localtime()
    slots = []
    if hall is not None:
        for slot in AppointmentSlot.objects.filter(hall=hall, date=day).order_by("start"):
            started = slot.date < now.date() or (slot.date == now.date() and slot.start <= now.time())
            slots.append({"slot": slot, "open": not started and slot.remaining > 0, "started": started})
    mine = (
        Appointment.objects.filter(user=request.user).select_related("slot__hall", "item__current_version", "ticket")
        .order_by("-slot__date", "-slot__start")[:20]
    )
    return render(request, "applications/pages/appointments.html", {
        "halls": halls, "hall": hall, "day": day, "slots": slots, "items": _appointment_items(),
        "mine": [{"appointment": a, "cancellable": a.status == AppointmentStatus.BOOKED and a.slot.starts_at > now}
                 for a in mine],
    })


@applicant_required
@require_POST
def appointment_cancel(request, appointment_id):
    appointment = access_appointment(user=request.user, pk=appointment_id)
    try:
        services.appointment_cancel(actor=request.user, appointment=appointment)
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, "预约已取消。")
    return redirect("applications:appointments")


# --- 好差评 (the applicant's rating of a finished case) ---------------------------------------------------


@applicant_required
def rate(request, number):
    """好差评: one rating per issued case; 不满意/非常不满意 need a reason and go to the department."""
    case = access_application(user=request.user, number=number)
    rating = Rating.objects.filter(application=case).first()
    errors, values = {}, {"score": "", "comment": ""}
    if request.method == "POST" and rating is None:
        values = {"score": request.POST.get("score", ""), "comment": request.POST.get("comment", "")}
        try:
            services.application_rate(actor=request.user, application=case, score=values["score"],
                                      comment=values["comment"], channel=RatingChannel.PC)
        except ValidationError as error:
            errors = error.message_dict
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
            return redirect("applications:rate", number=case.number)
        else:
            messages.success(request, "感谢您的评价！")
            return redirect("applications:rate", number=case.number)
    return render(request, "applications/pages/rate.html", {
        "case": case, "rating": rating, "scores": Score.choices, "errors": errors, "values": values,
        "can_rate": "rate" in allowed_actions(request.user, case),
        "rectification": getattr(rating, "rectification", None) if rating else None,
    })
