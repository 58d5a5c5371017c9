-- customer_features: one row per active customer per day (snapshot_date), with trailing
-- 7/30/90-day features computed by ROWS window frames over a dense per-customer daily
-- calendar (one row per active day, so N rows = N days, and ROWS frames are about twice as
-- fast as RANGE ones), and the label churned_30d (NULL while its 30 days are not yet observed).
-- Incremental: only customer-days from history_start on are built (90 days of input before
-- the window medallion keeps), plus every day of the customers in changed_keys (their
-- customer, subscription or support ticket records changed); the last active day before
-- history_start comes from one aggregate (prior_active). A full build has no changed keys
-- and history_start 1900-01-01, so it builds everything.
WITH days AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(
        (SELECT min(CAST(event_at AS DATE)) FROM {{ silver.usage_events }}),
        (SELECT max(CAST(event_at AS DATE)) FROM {{ silver.usage_events }}) + INTERVAL 1 DAY,
        INTERVAL 1 DAY)
),
observed AS (
    SELECT min(day) AS first_day, max(day) AS last_day FROM days
),
subscriptions AS (
    SELECT * FROM {{ silver.subscriptions }}
    QUALIFY row_number() OVER (
        PARTITION BY customer_id ORDER BY started_at DESC, subscription_id DESC) = 1
),
changed AS (
    SELECT key AS customer_key FROM {{ changed_keys }}
),
calendar AS (
    SELECT s.customer_id, d.day
    FROM subscriptions AS s
    JOIN days AS d
      ON d.day >= s.started_at AND (s.cancelled_at IS NULL OR d.day < s.cancelled_at)
    WHERE d.day >= {{ history_start }}
       OR CAST(s.customer_id AS VARCHAR) IN (SELECT customer_key FROM changed)
),
prior_active AS (
    SELECT u.customer_id, max(CAST(u.event_at AS DATE)) AS day
    FROM {{ silver.usage_events }} AS u
    JOIN subscriptions AS s USING (customer_id)
    WHERE CAST(u.event_at AS DATE) < {{ history_start }}
      AND CAST(u.event_at AS DATE) >= s.started_at
    GROUP BY 1
),
usage_daily AS (
    SELECT customer_id, CAST(event_at AS DATE) AS day,
           count(*) AS events,
           -- whole milliseconds: integer sums are exact, so the table is identical run to run
           sum(CAST(round(duration_sec * 1000) AS BIGINT)) AS duration_ms,
           count(*) FILTER (WHERE device = 'mobile') AS mobile_events,
           bit_or(CASE feature
                    WHEN 'play' THEN 1 WHEN 'search' THEN 2 WHEN 'download' THEN 4
                    WHEN 'share' THEN 8 WHEN 'settings' THEN 16 WHEN 'profile' THEN 32
                    ELSE 64 END) AS feature_mask
    FROM {{ silver.usage_events }}
    WHERE CAST(event_at AS DATE) >= {{ history_start }}
       OR CAST(customer_id AS VARCHAR) IN (SELECT customer_key FROM changed)
    GROUP BY ALL
),
payments_daily AS (
    SELECT customer_id, CAST(paid_at AS DATE) AS day,
           count(*) FILTER (WHERE status = 'failed') AS failed_payments,
           coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS amount_paid
    FROM {{ silver.payments }}
    WHERE CAST(paid_at AS DATE) >= {{ history_start }}
       OR CAST(customer_id AS VARCHAR) IN (SELECT customer_key FROM changed)
    GROUP BY ALL
),
tickets_daily AS (
    SELECT customer_id, CAST(opened_at AS DATE) AS day,
           count(*) AS tickets,
           count(*) FILTER (WHERE priority = 'high') AS high_priority_tickets
    FROM {{ silver.support_tickets }}
    WHERE CAST(opened_at AS DATE) >= {{ history_start }}
       OR CAST(customer_id AS VARCHAR) IN (SELECT customer_key FROM changed)
    GROUP BY ALL
),
daily AS (
    SELECT c.customer_id, c.day,
           coalesce(u.events, 0) AS events,
           coalesce(u.duration_ms, 0) AS duration_ms,
           coalesce(u.mobile_events, 0) AS mobile_events,
           coalesce(u.feature_mask, 0) AS feature_mask,
           CASE WHEN u.events > 0 THEN c.day END AS active_day,
           coalesce(p.failed_payments, 0) AS failed_payments,
           coalesce(p.amount_paid, 0) AS amount_paid,
           coalesce(t.tickets, 0) AS tickets,
           coalesce(t.high_priority_tickets, 0) AS high_priority_tickets
    FROM calendar AS c
    LEFT JOIN usage_daily AS u USING (customer_id, day)
    LEFT JOIN payments_daily AS p USING (customer_id, day)
    LEFT JOIN tickets_daily AS t USING (customer_id, day)
),
windows AS (
    SELECT customer_id, day AS snapshot_date,
           sum(events) OVER w7 AS events_7d,
           sum(events) OVER w30 AS events_30d,
           count(active_day) OVER w30 AS active_days_30d,
           sum(duration_ms) OVER w7 AS duration_ms_7d,
           sum(duration_ms) OVER w30 AS duration_ms_30d,
           sum(mobile_events) OVER w30 AS mobile_events_30d,
           bit_count(bit_or(feature_mask) OVER w30) AS distinct_features_30d,
           max(active_day) OVER history AS last_active_day,
           sum(failed_payments) OVER w90 AS payments_failed_90d,
           sum(amount_paid) OVER w90 AS amount_paid_90d,
           sum(tickets) OVER w30 AS tickets_30d,
           sum(tickets) OVER w90 AS tickets_90d,
           sum(high_priority_tickets) OVER w90 AS high_priority_tickets_90d
    FROM daily
    WINDOW
        w7 AS (PARTITION BY customer_id ORDER BY day
               ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
        w30 AS (PARTITION BY customer_id ORDER BY day
                ROWS BETWEEN 29 PRECEDING AND CURRENT ROW),
        w90 AS (PARTITION BY customer_id ORDER BY day
                ROWS BETWEEN 89 PRECEDING AND CURRENT ROW),
        history AS (PARTITION BY customer_id ORDER BY day
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT
    w.customer_id,
    w.snapshot_date,
    CAST(w.snapshot_date - s.started_at AS INTEGER) AS tenure_days,
    coalesce(c.age_band, 'unknown') AS age_band,
    coalesce(c.gender, 'unknown') AS gender,
    coalesce(c.region, 'unknown') AS region,
    coalesce(c.acquisition_channel, 'unknown') AS acquisition_channel,
    s.plan,
    s.billing_cycle,
    CAST(s.monthly_price AS DOUBLE) AS monthly_price,
    CAST(w.events_7d AS INTEGER) AS events_7d,
    CAST(w.events_30d AS INTEGER) AS events_30d,
    CAST(w.active_days_30d AS INTEGER) AS active_days_30d,
    round(w.duration_ms_7d / 60000.0, 2) AS minutes_7d,
    round(w.duration_ms_30d / 60000.0, 2) AS minutes_30d,
    round(CASE WHEN w.events_30d = 0 THEN 0.0
               ELSE w.events_7d * 30.0 / 7.0 / w.events_30d END, 4) AS usage_trend,
    CAST(coalesce(w.snapshot_date - coalesce(w.last_active_day, pa.day),
                  w.snapshot_date - s.started_at) AS INTEGER) AS days_since_last_event,
    CAST(w.distinct_features_30d AS INTEGER) AS distinct_features_30d,
    round(CASE WHEN w.events_30d = 0 THEN 0.0
               ELSE w.mobile_events_30d / w.events_30d END, 4) AS mobile_share_30d,
    CAST(w.payments_failed_90d AS INTEGER) AS payments_failed_90d,
    CAST(w.amount_paid_90d AS DOUBLE) AS amount_paid_90d,
    CAST(w.tickets_30d AS INTEGER) AS tickets_30d,
    CAST(w.tickets_90d AS INTEGER) AS tickets_90d,
    CAST(w.high_priority_tickets_90d AS INTEGER) AS high_priority_tickets_90d,
    CASE
        WHEN w.snapshot_date + INTERVAL 30 DAY > o.last_day THEN NULL
        WHEN s.cancelled_at IS NOT NULL
             AND s.cancelled_at <= w.snapshot_date + INTERVAL 30 DAY THEN 1
        ELSE 0
    END AS churned_30d
FROM windows AS w
CROSS JOIN observed AS o
JOIN subscriptions AS s USING (customer_id)
LEFT JOIN {{ silver.customers }} AS c USING (customer_id)
LEFT JOIN prior_active AS pa ON pa.customer_id = w.customer_id AND pa.day <= w.snapshot_date
WHERE w.snapshot_date >= o.first_day + INTERVAL 29 DAY
