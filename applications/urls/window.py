"""The window's pages (clerks): window/ (a bundle's parent shares the case URLs; the queue is in hall)."""

from django.urls import path

from applications.views import window

urlpatterns = [
    path("window/prereview/", window.prereview, name="prereview"),
    path("window/intake/", window.intake, name="intake"),
    path("window/cases/<str:number>/", window.window_case, name="window-case"),
    path("window/cases/<str:number>/materials/", window.window_case_upload, name="window-upload"),
    path("window/cases/<str:number>/commitment/", window.window_case_commit, name="window-commit"),
    path("window/cases/<str:number>/accept/", window.window_case_accept, name="window-accept"),
    path("window/cases/<str:number>/assist/", window.window_case_assist, name="window-assist"),
    path("window/cases/<str:number>/notice/", window.window_case_notice, name="window-notice"),
    path("window/cases/<str:number>/refer/", window.window_case_refer, name="window-refer"),
    path("window/cases/<str:number>/resubmit/", window.window_case_resubmit, name="window-resubmit"),
    path("window/cases/<str:number>/deliver/", window.window_case_deliver, name="window-deliver"),
    path("window/pickup/", window.pickup, name="pickup"),
]
