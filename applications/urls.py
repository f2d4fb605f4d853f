"""Case pages (intake and back office), mounted at the site root (namespace `applications`)."""

from django.urls import path

from applications import views

app_name = "applications"

urlpatterns = [
    # citizen
    path("apply/<str:code>/", views.apply, name="apply"),
    path("my/cases/", views.my_cases, name="mine"),
    path("my/cases/<str:number>/", views.my_case, name="case"),
    path("my/cases/<str:number>/materials/", views.my_case_upload, name="upload"),
    path("my/cases/<str:number>/submit/", views.my_case_submit, name="submit"),
    path("my/cases/<str:number>/resubmit/", views.my_case_resubmit, name="resubmit"),
    path("my/cases/<str:number>/withdraw/", views.my_case_withdraw, name="withdraw"),
    # window
    path("window/prereview/", views.prereview, name="prereview"),
    path("window/intake/", views.intake, name="intake"),
    path("window/cases/<str:number>/", views.window_case, name="window-case"),
    path("window/cases/<str:number>/materials/", views.window_case_upload, name="window-upload"),
    path("window/cases/<str:number>/accept/", views.window_case_accept, name="window-accept"),
    path("window/cases/<str:number>/notice/", views.window_case_notice, name="window-notice"),
    path("window/cases/<str:number>/refer/", views.window_case_refer, name="window-refer"),
    path("window/cases/<str:number>/resubmit/", views.window_case_resubmit, name="window-resubmit"),
    path("window/pickup/", views.pickup, name="pickup"),
    # department head
    path("dept/referrals/", views.referrals, name="head"),
    path("dept/referrals/<str:number>/return/", views.referral_return, name="referral-return"),
    path("dept/referrals/<str:number>/decline/", views.referral_decline, name="referral-decline"),
    path("dept/overdue/", views.overdue, name="overdue"),
    # back office: the department's reviewers and head
    path("review/", views.worklist, name="worklist"),
    path("review/cases/<str:number>/", views.review_case, name="review-case"),
    path("review/cases/<str:number>/claim/", views.review_claim, name="review-claim"),
    path("review/cases/<str:number>/suspend/", views.review_suspend, name="review-suspend"),
    path("review/cases/<str:number>/resume/", views.review_resume, name="review-resume"),
    path("review/cases/<str:number>/approve/", views.review_approve, name="review-approve"),
    path("review/cases/<str:number>/reject/", views.review_reject, name="review-reject"),
    path("review/cases/<str:number>/extend/", views.review_extend, name="review-extend"),
]

# --- service quality and the hall (DESIGN §6) ---------------------------------------------------------
urlpatterns += [
    path("halls/<str:code>/screen/", views.hall_screen, name="hall-screen"),
    path("window/queue/", views.queue, name="queue"),
    path("window/queue/appointments/<int:appointment_id>/arrive/", views.queue_arrive, name="queue-arrive"),
    path("appointments/", views.appointments, name="appointments"),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("my/cases/<str:number>/rate/", views.rate, name="rate"),
    path("supervision/rectifications/", views.rectifications, name="rectifications"),
    path("supervision/rectifications/<int:pk>/<str:step>/", views.rectification_step, name="rectification-step"),
    path("supervision/stats/", views.stats, name="stats"),
]

# === 一件事一次办: bundle pages (applications/views.py "bundle pages") ===============================
# Put FIRST: a parent's number takes the bundle views; every other number falls through to the
# single-case views these wrap (same paths, same names).
urlpatterns[:0] = [
    path("apply/bundle/<str:code>/", views.bundle_apply, name="bundle-apply"),
    path("my/cases/", views.bundle_my_cases, name="mine"),
    path("my/cases/<str:number>/", views.bundle_my_case, name="case"),
    path("my/cases/<str:number>/shared/<int:material_id>/", views.bundle_shared_upload, name="bundle-shared-upload"),
    path("my/cases/<str:number>/children/<str:child>/materials/", views.bundle_child_upload, name="bundle-child-upload"),
    path("my/cases/<str:number>/submit/", views.bundle_my_case_submit, name="submit"),
    path("my/cases/<str:number>/resubmit/", views.bundle_my_case_resubmit, name="resubmit"),
    path("my/cases/<str:number>/withdraw/", views.bundle_my_case_withdraw, name="withdraw"),
    path("window/cases/<str:number>/", views.bundle_window_case, name="window-case"),
    path("window/cases/<str:number>/accept/", views.bundle_window_accept, name="window-accept"),
    path("window/cases/<str:number>/notice/", views.bundle_window_notice, name="window-notice"),
    path("window/cases/<str:number>/resubmit/", views.bundle_window_resubmit, name="window-resubmit"),
    path("window/cases/<str:number>/deliver/", views.window_case_deliver, name="window-deliver"),
]
# === end of bundle pages ===========================================================================
