"""The citizen's pages: apply/ and my/cases/ (a bundle's parent shares the case URLs)."""

from django.urls import path

from applications.views import bundles, citizen

urlpatterns = [
    path("apply/<str:code>/", citizen.apply, name="apply"),
    path("apply/bundle/<str:code>/", bundles.bundle_apply, name="bundle-apply"),
    path("my/cases/", citizen.my_cases, name="mine"),
    path("my/cases/<str:number>/", citizen.my_case, name="case"),
    path("my/cases/<str:number>/materials/", citizen.my_case_upload, name="upload"),
    path("my/cases/<str:number>/commitment/", citizen.my_case_commit, name="commit"),
    path("my/cases/<str:number>/submit/", citizen.my_case_submit, name="submit"),
    path("my/cases/<str:number>/resubmit/", citizen.my_case_resubmit, name="resubmit"),
    path("my/cases/<str:number>/withdraw/", citizen.my_case_withdraw, name="withdraw"),
    path("my/cases/<str:number>/deliver/", citizen.my_case_receive, name="receive"),
    path("my/cases/<str:number>/shared/<int:material_id>/", bundles.bundle_shared_upload, name="bundle-shared-upload"),
    path("my/cases/<str:number>/children/<str:child>/materials/", bundles.bundle_child_upload,
         name="bundle-child-upload"),
]
