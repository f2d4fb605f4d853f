"""好差评 ratings and hall queue tickets for the statistics page, derived in SQL from the bulk cases.

    bench_service_records(ctx)   # after bench_cases(ctx); once per run

Ratings, per stage (DESIGN §15): 60 % of the delivered cases are rated for issuance by their applicant a day
after delivery (GB/T 39046 A.8 scores: 1 非常满意 70 %, 2 满意 20 %, 3 基本满意 6 %, 4 不满意 3 %, 5 非常不满意 1 %;
channels as the 好差评 system receives them); half of the accepted cases rate the accepting clerk for intake. Tickets: every hall, every day of the last two years, 150 tickets a day at
full scale (scaled with ctx.scale), called after a wait of 1–40 minutes. INSERT … SELECT in the database,
then VACUUM (ANALYZE). No rectifications: the page does not read them.
"""

from __future__ import annotations

import time


def bench_service_records(ctx) -> dict:
    from bench.data.cases import bench_cases

    data = bench_cases(ctx)
    return ctx.once("service_records", lambda: _build(ctx, data))


def _build(ctx, data) -> dict:
    from django.db import connection

    from bench.lib import vacuum_analyze

    started = time.perf_counter()
    tickets_per_day = max(5, ctx.scaled(150))
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO applications_rating (application_id, stage, department_id, hall_id, score, comment, channel,
                                             rated_by_id, rated_at, invalid)
            SELECT id, 'issuance', department_id, hall_id,
                   CASE WHEN id % 100 < 70 THEN 1 WHEN id % 100 < 90 THEN 2 WHEN id % 100 < 96 THEN 3
                        WHEN id % 100 < 99 THEN 4 ELSE 5 END,
                   CASE WHEN id % 100 >= 96 THEN '等候时间过长，材料要求说明不清' ELSE '' END,
                   (ARRAY['pc', 'mobile', 'mobile', 'window', 'kiosk', 'sms'])[1 + (id / 7) % 6],
                   applicant_id, delivered_at + interval '1 day', false
            FROM applications_application
            WHERE state = 'delivered' AND (id * 7919) % 10 < 6
        """)
        ratings = cursor.rowcount
        # 一次一评 at the counter: half of the accepted cases rate the clerk who accepted them, on the window pad
        # (or the SMS link), the day of acceptance; a little more satisfied than at issuance, as the seeds report.
        cursor.execute("""
            INSERT INTO applications_rating (application_id, stage, staff_id, department_id, hall_id, score, comment,
                                             channel, rated_by_id, rated_at, invalid)
            SELECT id, 'intake', accepted_by_id, department_id, hall_id,
                   CASE WHEN id % 100 < 80 THEN 1 WHEN id % 100 < 95 THEN 2 WHEN id % 100 < 99 THEN 3 ELSE 4 END,
                   '', (ARRAY['window', 'window', 'sms', 'mobile'])[1 + (id / 11) % 4],
                   applicant_id, accepted_at + interval '10 minutes', false
            FROM applications_application
            WHERE accepted_at IS NOT NULL AND (id * 7907) % 10 < 5
        """)
        ratings += cursor.rowcount
        cursor.execute("""
            INSERT INTO applications_ticket (hall_id, day, sequence, number, issued_at, called_at, "window",
                                             wait_seconds, recalls)
            SELECT h.id, d::date, s, 'A' || lpad(s::text, 3, '0'),
                   d + time '08:30' + (s * interval '150 seconds'),
                   d + time '08:30' + (s * interval '150 seconds') + ((60 + (s * 37 + h.id * 11) %% 2340) * interval '1 second'),
                   1 + s %% 12, 60 + (s * 37 + h.id * 11) %% 2340, 0
            FROM portal_hall h,
                 generate_series(current_date - 730, current_date - 1, interval '1 day') AS d,
                 generate_series(1, %s) AS s
            WHERE extract(isodow FROM d) < 6
        """, [tickets_per_day])
        tickets = cursor.rowcount
    vacuum_analyze("applications_rating", "applications_ticket")
    seconds = time.perf_counter() - started
    ctx.log(f"service records: {ratings:,} ratings, {tickets:,} tickets in {seconds:.1f} s")
    return {"ratings": ratings, "tickets": tickets, "seconds": seconds}
