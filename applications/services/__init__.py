"""Every write to a case, one module per capability; every public name is re-exported here, so callers say
`from applications import services` and `services.application_accept(...)`.

- case: what every write shares (the row lock, the audited transition, numbering, documents, telling the applicant)
- intake, review, deadlines, issuance, ratings, hall, rollup, bundles: the use cases of each capability
- deferral (容缺受理) and commitments (告知承诺制): DESIGN §14's rules that intake, review and issuance apply

Seeing a case is decided before these run (permissions.access_application); each service decides, through
permissions, whether the actor may take the action, and whether the case's state and the rules allow it.
Reads live in applications.selectors, and who may see what in applications.permissions.
"""

from applications.services.bundles import (
    bundle_accept,
    bundle_application_create,
    bundle_deliver,
    bundle_material_upload,
    bundle_request_materials,
    bundle_resubmit,
    bundle_submit,
    bundle_withdraw,
)
from applications.services.case import (
    ACTION_LABELS,
    CLOCK_FIELDS,
    document_create,
    document_pdf_ensure,
    local_today,
    lock_case,
    materials_snapshot,
    next_number,
    refuse_incomplete,
    require_role,
    set_due_date,
    start_clock,
    state_refusal,
    tell_applicant,
    transition,
)
from applications.services.commitments import (
    application_commit,
    commitment_text,
    commitment_verification_open,
    commitment_verify,
    refuse_false_commitment,
)
from applications.services.complaints import (
    complaint_answer,
    complaint_confirm,
    complaint_file,
    complaint_overdue_sweep,
    complaint_rate,
    complaint_send_back,
    complaint_start,
    complaint_steps,
)
from applications.services.deadlines import (
    application_alert_sweep,
    application_deem_accept_sweep,
    application_deferral_sweep,
    deemed_acceptance_due,
)
from applications.services.deferral import deferral_close_if_complete, deferral_open, refuse_deferred
from applications.services.faces import (
    FaceField,
    certificate_face_data,
    certificate_face_fields,
    face_data_checked,
    face_data_number,
)
from applications.services.hall import (
    appointment_arrive,
    appointment_book,
    appointment_cancel,
    appointment_slot_adjust,
    appointment_slots_create,
    appointment_slots_sweep,
    booking_days,
    hall_day_close,
    hall_day_reopen,
    hall_periods,
    ticket_call_next,
    ticket_issue,
    ticket_link,
    ticket_recall,
    ticket_skip,
)
from applications.services.intake import (
    ASSISTABLE,
    acceptance_context,
    application_accept,
    application_assist,
    application_create,
    application_decline,
    application_material_upload,
    application_refer,
    application_request_materials,
    application_resubmit,
    application_return,
    application_submit,
    application_withdraw,
    material_read_record,
    upload_refusal,
    validated_deficiencies,
)
from applications.services.issuance import (
    application_deliver,
    application_issue,
    application_issuing_failed,
    application_issuing_start,
    decision_document,
)
from applications.services.ratings import (
    PAD_SECONDS,
    application_rate,
    rating_pad_clear,
    rating_pad_pending,
    rating_pad_request,
    rating_stages_open,
    rectification_appeal,
    rectification_complete,
    rectification_confirm,
    rectification_declare_impossible,
    rectification_invalidate,
    rectification_overdue_sweep,
    rectification_send_back,
    rectification_start,
    stage_staff,
)
from applications.services.review import (
    RECONSIDERATION_RIGHTS,
    application_approve,
    application_claim,
    application_extend,
    application_reject,
    application_resume,
    application_suspend,
)
from applications.services.rollup import (
    statistics_day_invalidate,
    statistics_rollup_day,
    statistics_rollup_sweep,
    statistics_rollup_today,
)
