-- customer_features v2: v1 plus ratios that describe engagement per session and support
-- load relative to tenure; same grain, so both versions run side by side and compare.
-- Incremental: the days and customers v1 recomputed since v2 last read it.
SELECT
    f.*,
    round(CASE WHEN f.events_30d = 0 THEN 0.0 ELSE f.minutes_30d / f.events_30d END, 4)
        AS minutes_per_event_30d,
    round(f.tickets_90d / greatest(least(f.tenure_days, 90), 1) * 30.0, 4) AS tickets_per_30_days,
    CAST(f.active_days_30d >= 20 AS INTEGER) AS habitual_user
FROM {{ gold.customer_features }} AS f
WHERE (f.snapshot_date >= {{ window_start }} AND f.snapshot_date < {{ window_end }})
   OR CAST(f.customer_id AS VARCHAR) IN (SELECT key FROM {{ changed_keys }})
