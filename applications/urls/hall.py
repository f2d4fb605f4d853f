"""The hall and service quality (DESIGN §6): halls/, window/queue/, appointments/ and a case's rating."""

from django.urls import path

from applications.views import hall

urlpatterns = [
    path("halls/<str:code>/screen/", hall.hall_screen, name="hall-screen"),
    path("window/queue/", hall.queue, name="queue"),
    path("window/queue/appointments/<int:appointment_id>/arrive/", hall.queue_arrive, name="queue-arrive"),
    path("appointments/", hall.appointments, name="appointments"),
    path("appointments/<int:appointment_id>/cancel/", hall.appointment_cancel, name="appointment-cancel"),
    path("my/cases/<str:number>/rate/", hall.rate, name="rate"),
]
