"""The hall and service quality (DESIGN §6): the public call screen (halls/), the window's queue
(window/queue/), citizens' appointments (appointments/) and the 好差评 page of a finished case
(my/cases/<number>/rate/)."""


from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_POST

from applications import rating_links, selectors, services
from applications.models import (
    APPEALABLE,
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    HallClosure,
    Rating,
    RatingChannel,
    RatingStage,
    Rectification,
    Score,
    Ticket,
    rating_stage_open,
)
from applications.permissions import access_application, access_appointment, allowed_actions
from applications.views.common import applicant_required, clerk_required, show_refusal
from items.models import Item
from portal.errors import Forbidden, Refused
from portal.models import Hall
from portal.throttles import throttle_page
from portal.workdays import WorkCalendar

SCREEN_ROWS = 8


def _screen_state(hall) -> dict:
    """What the call screen shows: the latest call (a 重呼 counts as a new call), the ones before it, and
    how many wait. Skipped tickets (过号) leave the screen."""
    tickets = Ticket.objects.filter(hall=hall, day=timezone.localdate())
    called = list(
        tickets.filter(called_at__isnull=False, skipped_at__isnull=True)
        .annotate(shown_at=Coalesce("recalled_at", "called_at")).order_by("-shown_at", "-pk")[:SCREEN_ROWS]
    )
    return {"latest": called[0] if called else None, "recent": called[1:],
            "waiting": tickets.filter(called_at__isnull=True).count(), "now": timezone.localtime()}


def hall_screen(request, code):
    """叫号大屏: public, big numbers, the latest calls and their windows. A script asks screen/data/ every few
    seconds and redraws in place (no page reload, which a screen reader would announce as a new page)."""
    hall = selectors.hall_get(code=code)
    return render(request, "applications/pages/hall_screen.html", {"hall": hall, **_screen_state(hall)})


def _ticket_json(ticket) -> dict:
    return {"number": ticket.number, "window": ticket.window,
            "at": timezone.localtime(ticket.shown_at).strftime("%H:%M"), "recalled": bool(ticket.recalled_at)}


@require_GET
def hall_screen_data(request, code):
    """The screen's state as JSON, for the screen's own script."""
    hall = selectors.hall_get(code=code)
    state = _screen_state(hall)
    now = state["now"]
    response = JsonResponse({
        "now": f"{now.year}年{now.month}月{now.day}日 {now:%H:%M}",
        "latest": _ticket_json(state["latest"]) if state["latest"] else None,
        "recent": [_ticket_json(ticket) for ticket in state["recent"]],
        "waiting": state["waiting"],
    })
    response["Cache-Control"] = "no-store"
    return response


# --- 自助取号 (a phone or the hall's kiosk; no account needed) ---------------------------------------------

TICKET_SALT = "applications.hall.ticket"


@throttle_page("kiosk", methods=("POST",))
def hall_ticket(request, code):
    """取号: pick the item (or not) and take the next number; the number's own page follows."""
    hall = selectors.hall_get(code=code)
    errors = {}
    if request.method == "POST":
        try:
            ticket = services.ticket_issue(hall=hall, actor=request.user, item_code=request.POST.get("item", "")[:64])
        except ValidationError as error:
            errors = error.message_dict
        else:
            token = signing.dumps(ticket.pk, salt=TICKET_SALT)
            return redirect("applications:hall-ticket-show", code=hall.code, token=token)
    return render(request, "applications/pages/hall_ticket.html", {
        "hall": hall, "items": _appointment_items(), "errors": errors,
        "waiting": Ticket.objects.filter(hall=hall, day=timezone.localdate(), called_at__isnull=True).count(),
    })


def hall_ticket_show(request, code, token):
    """The number just taken: how many are ahead, and the window once it is called. The link is signed: a
    number's page is for whoever took it, not for guessing the next one."""
    hall = selectors.hall_get(code=code)
    try:
        pk = signing.loads(token, salt=TICKET_SALT, max_age=24 * 3600)
    except signing.BadSignature as error:
        raise Http404("排队号不存在或已过期") from error
    ticket = Ticket.objects.filter(pk=pk, hall=hall).first()
    if ticket is None:
        raise Http404("排队号不存在或已过期")
    ahead = 0
    if ticket.called_at is None:
        ahead = Ticket.objects.filter(hall=hall, day=ticket.day, called_at__isnull=True, sequence__lt=ticket.sequence).count()
    return render(request, "applications/pages/hall_ticket_show.html", {"hall": hall, "ticket": ticket, "ahead": ahead})


# --- the window's queue ------------------------------------------------------------------------------------


def _queue_page(request, *, window=None):
    hall = request.user.hall
    today = timezone.localdate()
    tickets = Ticket.objects.filter(hall=hall, day=today)
    window = window or request.session.get("queue_window") or 1
    appointments = (
        Appointment.objects.filter(slot__hall=hall, slot__date=today, status=AppointmentStatus.BOOKED)
        .select_related("user", "item__current_version", "slot").order_by("slot__start", "pk")
    )
    mine = list(tickets.filter(called_by=request.user).select_related("application").order_by("-called_at")[:10])
    # The one at my window now: the last I called, unless it was skipped.
    current = mine[0] if mine and mine[0].skipped_at is None else None
    return render(request, "applications/pages/queue.html", {
        "hall": hall, "windows": range(1, hall.windows + 1), "window": int(window),
        "waiting": tickets.filter(called_at__isnull=True).count(),
        "next_ticket": tickets.filter(called_at__isnull=True).order_by("sequence").first(),
        "mine": mine, "current": current,
        "appointments": appointments,
    })


@clerk_required
def queue(request):
    """叫号: the clerk picks their window once (kept for the session) and calls the next ticket."""
    if request.method == "POST":
        window = request.POST.get("window")
        if str(window).isdigit() and 1 <= int(window) <= request.user.hall.windows:
            request.session["queue_window"] = int(window)  # kept even when nobody is waiting
        try:
            ticket = services.ticket_call_next(actor=request.user, hall=request.user.hall, window=window)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
        else:
            minutes = ticket.wait_seconds // 60
            messages.success(request, f"请 {ticket.number} 号到 {ticket.window} 号窗口办理（已等候 {minutes} 分钟）")
        return redirect("applications:queue")
    return _queue_page(request)


def _hall_ticket(request, ticket_id) -> Ticket:
    ticket = Ticket.objects.filter(pk=ticket_id, hall_id=request.user.hall_id).first()
    if ticket is None:
        raise Http404("排队号不存在")
    return ticket


def _ticket_step(request, ticket_id, service, done: str):
    try:
        ticket = service(actor=request.user, ticket=_hall_ticket(request, ticket_id))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, done.format(number=ticket.number, window=ticket.window))
    return redirect("applications:queue")


@clerk_required
@require_POST
def queue_recall(request, ticket_id):
    """重呼: call the same number again."""
    return _ticket_step(request, ticket_id, services.ticket_recall, "已重呼 {number} 号到 {window} 号窗口")


@clerk_required
@require_POST
def queue_skip(request, ticket_id):
    """过号: nobody came; call the next one."""
    return _ticket_step(request, ticket_id, services.ticket_skip, "{number} 号已过号")


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
    """预约办事: pick hall and one of its bookable days, then a slot and the item; the citizen's bookings below."""
    halls = list(Hall.objects.order_by("code"))
    hall = next((h for h in halls if h.code == request.GET.get("hall")), halls[0] if halls else None)
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
        day = parse_date(request.POST.get("date") or "") or timezone.localdate()
        return redirect(f"{reverse('applications:appointments')}?hall={hall.code}&date={day:%Y-%m-%d}")
    now = timezone.localtime()
    days = services.booking_days(hall, today=now.date(), calendar=WorkCalendar.load()) if hall else []
    # The first bookable day with a place left is where a newcomer starts.
    day = parse_date(request.GET.get("date") or "") or _first_day_with_room(hall, days, now) or now.date()
    slots, closure = [], None
    if hall is not None:
        closure = HallClosure.objects.filter(hall=hall, date=day).first()
        for slot in AppointmentSlot.objects.filter(hall=hall, date=day, capacity__gt=0).order_by("start"):
            started = slot.starts_at <= now
            slots.append({"slot": slot, "open": not started and slot.remaining > 0, "started": started})
    mine = (
        Appointment.objects.filter(user=request.user).select_related("slot__hall", "item__current_version", "ticket")
        .order_by("-slot__date", "-slot__start")[:20]
    )
    return render(request, "applications/pages/appointments.html", {
        "halls": halls, "hall": hall, "day": day, "days": days, "slots": slots, "closure": closure,
        "items": _appointment_items(),
        "mine": [{"appointment": a, "cancellable": a.status == AppointmentStatus.BOOKED and a.slot.starts_at > now}
                 for a in mine],
    })


def _first_day_with_room(hall, days, now):
    if hall is None or not days:
        return None
    slot = (AppointmentSlot.objects.filter(hall=hall, date__in=days, booked__lt=F("capacity"))
            .filter(Q(date__gt=now.date()) | Q(start__gt=now.time())).order_by("date", "start").first())
    return slot.date if slot else None


# --- 预约管理 (the hall's staff: capacity of a slot, closing a day) ------------------------------------------


@clerk_required
def hall_days(request):
    """预约管理: the hall's bookable days; one day's slots with their capacity and bookings; close or reopen."""
    hall, now = request.user.hall, timezone.localtime()
    calendar = WorkCalendar.load()
    days = services.booking_days(hall, today=now.date(), calendar=calendar)
    closures = list(HallClosure.objects.filter(hall=hall, date__gte=now.date()).order_by("date"))
    day = parse_date(request.GET.get("date") or "") or (days[0] if days else now.date())
    slots = list(AppointmentSlot.objects.filter(hall=hall, date=day).order_by("start"))
    return render(request, "applications/pages/hall_days.html", {
        "hall": hall, "days": days, "day": day, "slots": slots, "closures": closures,
        "closed": any(c.date == day for c in closures), "now": now,
        "working": calendar.is_working_day(day),
    })


def _back_to_day(day):
    return redirect(f"{reverse('applications:hall-days')}?date={day:%Y-%m-%d}" if day else reverse("applications:hall-days"))


@clerk_required
@require_POST
def hall_slot_adjust(request, slot_id):
    slot = AppointmentSlot.objects.filter(pk=slot_id, hall_id=request.user.hall_id).first()
    if slot is None:
        raise Http404("预约时段不存在")
    try:
        services.appointment_slot_adjust(actor=request.user, slot=slot, capacity=request.POST.get("capacity"))
    except ValidationError as error:
        messages.error(request, f"{slot.start:%H:%M} 时段：" + "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"{slot.date:%Y-%m-%d} {slot.start:%H:%M} 时段可预约人数已改为 {request.POST.get('capacity')}")
    return _back_to_day(slot.date)


@clerk_required
@require_POST
def hall_day_close(request):
    day = parse_date(request.POST.get("date") or "")
    try:
        closure = services.hall_day_close(actor=request.user, hall=request.user.hall, day=day, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, "闭厅未设置：" + "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"{closure.date:%Y-%m-%d} 已设为闭厅，当日预约已取消并通知预约人")
    return _back_to_day(day)


@clerk_required
@require_POST
def hall_day_reopen(request):
    day = parse_date(request.POST.get("date") or "")
    try:
        services.hall_day_reopen(actor=request.user, hall=request.user.hall, day=day)
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"{day:%Y-%m-%d} 已恢复开放预约")
    return _back_to_day(day)


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
    """好差评, 一次一评: each stage of the case (受理, 出证) rated once, naming who handled it; 不满意/非常不满意 need
    a reason and go to the department; the rater may appeal a rectification's outcome once."""
    case = access_application(user=request.user, number=number)
    errors, values = {}, {"score": "", "comment": "", "stage": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            services.application_rate(actor=request.user, application=case, score=values["score"],
                                      comment=values["comment"], stage=values["stage"], channel=RatingChannel.PC)
        except ValidationError as error:
            errors = error.message_dict
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
            return redirect("applications:rate", number=case.number)
        else:
            messages.success(request, "感谢您的评价！")
            return redirect("applications:rate", number=case.number)
    ratings = {r.stage: r for r in Rating.objects.filter(application=case).select_related("staff", "rectification")}
    may_rate = "rate" in allowed_actions(request.user, case)
    stages = []
    for stage, label in RatingStage.choices:
        rating = ratings.get(stage)
        rectification = getattr(rating, "rectification", None) if rating else None
        stages.append({
            "stage": stage, "label": label, "rating": rating, "rectification": rectification,
            "staff": rating.staff.display_name if rating and rating.staff_id else "",
            "open": may_rate and rating is None and rating_stage_open(case, stage),
            "errors": errors if values["stage"] == stage else {}, "values": values if values["stage"] == stage else {},
            "can_appeal": bool(rectification and rectification.state in APPEALABLE and rectification.appealed_at is None
                               and rating.rated_by_id == request.user.pk),
        })
    return render(request, "applications/pages/rate.html", {"case": case, "stages": stages, "scores": Score.choices})


@applicant_required
@require_POST
def rate_appeal(request, number):
    """申诉: the rater does not accept how their 差评 was handled (once)."""
    case = access_application(user=request.user, number=number)
    rectification_id = request.POST.get("rectification", "")
    rectification = (Rectification.objects.filter(application=case, pk=int(rectification_id)).first()
                     if rectification_id.isdigit() else None)
    if rectification is None:
        raise Http404("该办件没有这条差评整改")
    try:
        services.rectification_appeal(actor=request.user, rectification=rectification, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, "申诉未提交：" + "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        messages.success(request, "申诉已提交，部门将重新整改，监察人员将复核。")
    return redirect("applications:rate", number=case.number)


# --- rating without signing in: the SMS link and the window's pad (DESIGN §15) ------------------------------


def rate_link(request, token):
    """好差评 by a signed link (SMS to a walk-in, or the window's pad): no account, one stage, once."""
    found = rating_links.rating_link_read(token)
    if found is None:
        raise Http404("评价链接无效或已过期")
    case, stage, channel = found
    rated = Rating.objects.filter(application=case, stage=stage).first()
    errors, values = {}, {"score": "", "comment": ""}
    if request.method == "POST" and rated is None:
        values = {key: request.POST.get(key, "") for key in values}
        try:
            rated = services.application_rate(actor=case.applicant, application=case, score=values["score"],
                                              comment=values["comment"], stage=stage, channel=channel)
        except ValidationError as error:
            errors = error.message_dict
        except (Refused, Forbidden) as error:
            show_refusal(request, error)
            return redirect("applications:rate-link", token=token)
        else:
            if channel == RatingChannel.WINDOW and case.hall_id:
                pad = request.GET.get("window", "")
                if pad.isdigit():
                    services.rating_pad_clear(hall_id=case.hall_id, window=int(pad), token=token)
            messages.success(request, "感谢您的评价！")
            return redirect(f"{reverse('applications:rate-link', args=[token])}?{request.GET.urlencode()}")
    return render(request, "applications/pages/rate_link.html", {
        "case": case, "stage_label": RatingStage(stage).label, "rated": rated, "scores": Score.choices,
        "errors": errors, "values": values, "pad": channel == RatingChannel.WINDOW,
        "pad_url": (f"{reverse('applications:rating-pad', args=[case.hall.code])}?window={request.GET.get('window', '')}"
                    if channel == RatingChannel.WINDOW and case.hall_id else ""),
        "staff": stage_staff_name(case, stage),
    })


def stage_staff_name(case, stage: str) -> str:
    staff = services.stage_staff(case, stage)
    return staff.display_name if staff else ""


def rating_pad(request, code):
    """The pad at a window (评价器): waits for the clerk's request, then shows the rating form for it."""
    hall = selectors.hall_get(code=code)
    window = request.GET.get("window", "")
    if not window.isdigit() or not 1 <= int(window) <= hall.windows:
        return render(request, "applications/pages/rating_pad.html", {"hall": hall, "window": None,
                                                                      "windows": range(1, hall.windows + 1)})
    token = services.rating_pad_pending(hall_id=hall.pk, window=int(window))
    found = rating_links.rating_link_read(token, max_age=services.PAD_SECONDS) if token else None
    if found is not None:
        case, stage, _channel = found
        if not Rating.objects.filter(application=case, stage=stage).exists():
            return redirect(f"{reverse('applications:rate-link', args=[token])}?window={window}")
    return render(request, "applications/pages/rating_pad.html", {"hall": hall, "window": int(window)})


@require_GET
def rating_pad_pending(request, code):
    """Whether the window's pad has a rating request: the pad's own script asks every few seconds."""
    hall = selectors.hall_get(code=code)
    window = request.GET.get("window", "")
    token = services.rating_pad_pending(hall_id=hall.pk, window=int(window)) if window.isdigit() else ""
    response = JsonResponse({"url": f"{reverse('applications:rate-link', args=[token])}?window={window}" if token else ""})
    response["Cache-Control"] = "no-store"
    return response


@clerk_required
@require_POST
def window_rating_pad(request, number):
    """The clerk asks the person at the counter to rate the stage just done, on this window's pad."""
    case = access_application(user=request.user, number=number)
    window = request.POST.get("window") or request.session.get("queue_window") or ""
    try:
        stage = services.rating_pad_request(actor=request.user, application=case, window=window)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    except (Refused, Forbidden) as error:
        show_refusal(request, error)
    else:
        request.session["queue_window"] = int(window)
        messages.success(request, f"已推送到 {window} 号窗口评价器，请申请人评价{RatingStage(stage).label}")
    return redirect("applications:window-case", number=case.number)
