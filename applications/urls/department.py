"""The department's pages: the head's dept/ and the back office's review/."""

from django.urls import path

from applications.views import department

urlpatterns = [
    # the department head
    path("dept/referrals/", department.referrals, name="head"),
    path("dept/referrals/<str:number>/return/", department.referral_return, name="referral-return"),
    path("dept/referrals/<str:number>/decline/", department.referral_decline, name="referral-decline"),
    path("dept/overdue/", department.overdue, name="overdue"),
    # the back office: the department's reviewers and head
    path("review/", department.worklist, name="worklist"),
    path("review/commitments/", department.commitment_tasks, name="commitment-tasks"),
    path("review/cases/<str:number>/", department.review_case, name="review-case"),
    path("review/cases/<str:number>/claim/", department.review_claim, name="review-claim"),
    path("review/cases/<str:number>/suspend/", department.review_suspend, name="review-suspend"),
    path("review/cases/<str:number>/resume/", department.review_resume, name="review-resume"),
    path("review/cases/<str:number>/approve/", department.review_approve, name="review-approve"),
    path("review/cases/<str:number>/reject/", department.review_reject, name="review-reject"),
    path("review/cases/<str:number>/extend/", department.review_extend, name="review-extend"),
    path("review/cases/<str:number>/commitment/verify/", department.review_commitment_verify, name="review-commitment-verify"),
]
