"""The case (办件) and what hangs off it, one module per capability; every name is re-exported here, so
`from applications.models import Application` works wherever it is defined.

- case: the case, its states and state groups, materials, notices, suspensions, documents, referrals
- quality: 好差评 ratings and rectifications
- complaints: 投诉, answered by the department
- hall: queue tickets and appointments
- stats: the daily (and monthly) statistics rollup
"""

from applications.models.case import (
    DECIDED,
    FINISHED,
    INTAKE,
    RATED,
    RUNNING,
    WITHDRAWABLE,
    AlertLevel,
    Application,
    ApplicationQuerySet,
    Channel,
    Commitment,
    CommitmentOutcome,
    Deficiency,
    DeliveryMethod,
    Document,
    Material,
    MaterialState,
    Notice,
    NumberSequence,
    Outcome,
    Referral,
    ReferralOutcome,
    State,
    Suspension,
    SuspensionKind,
    material_upload_to,
)
from applications.models.complaints import AWAITING_DEPARTMENT, Complaint, ComplaintCategory, ComplaintState, ComplaintVerdict
from applications.models.hall import Appointment, AppointmentSlot, AppointmentStatus, HallClosure, Ticket
from applications.models.quality import (
    APPEALABLE,
    OPEN_RECTIFICATION,
    POOR_SCORES,
    Rating,
    RatingChannel,
    RatingStage,
    Rectification,
    RectificationState,
    Score,
    rating_stage_open,
)
from applications.models.stats import DayStat, MonthStat, StatDay, StatMonth, TicketDayStat
