"""The hall and service quality (DESIGN §6): halls/, window/queue/, appointments/ and a case's rating."""

from django.urls import path

from applications.views import hall

urlpatterns = [
    path("halls/<str:code>/screen/", hall.hall_screen, name="hall-screen"),
    path("halls/<str:code>/screen/data/", hall.hall_screen_data, name="hall-screen-data"),
    path("halls/<str:code>/ticket/", hall.hall_ticket, name="hall-ticket"),
    path("halls/<str:code>/ticket/<str:token>/", hall.hall_ticket_show, name="hall-ticket-show"),
    path("window/queue/", hall.queue, name="queue"),
    path("window/queue/tickets/<int:ticket_id>/recall/", hall.queue_recall, name="queue-recall"),
    path("window/queue/tickets/<int:ticket_id>/skip/", hall.queue_skip, name="queue-skip"),
    path("window/hall/", hall.hall_days, name="hall-days"),
    path("window/hall/slots/<int:slot_id>/", hall.hall_slot_adjust, name="hall-slot-adjust"),
    path("window/hall/close/", hall.hall_day_close, name="hall-day-close"),
    path("window/hall/reopen/", hall.hall_day_reopen, name="hall-day-reopen"),
    path("window/queue/appointments/<int:appointment_id>/arrive/", hall.queue_arrive, name="queue-arrive"),
    path("appointments/", hall.appointments, name="appointments"),
    path("appointments/<int:appointment_id>/cancel/", hall.appointment_cancel, name="appointment-cancel"),
    path("my/cases/<str:number>/rate/", hall.rate, name="rate"),
    path("my/cases/<str:number>/rate/appeal/", hall.rate_appeal, name="rate-appeal"),
    path("rate/<str:token>/", hall.rate_link, name="rate-link"),
    path("halls/<str:code>/rate/", hall.rating_pad, name="rating-pad"),
    path("halls/<str:code>/rate/pending/", hall.rating_pad_pending, name="rating-pad-pending"),
    path("window/cases/<str:number>/rating-pad/", hall.window_rating_pad, name="window-rating-pad"),
]
