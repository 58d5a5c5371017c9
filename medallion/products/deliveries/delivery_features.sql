-- delivery_features: one row per shipment once its first 24 hours are observed (the last
-- scan seen is at least 24 hours after it was handed in), with what is known by then, the
-- delivery time once it is delivered, and the target delay_hours = delivered_at - promised_at
-- in hours. A shipment enters the table the day after it is handed in, delivered or not, so
-- every day of the table holds all of that day's shipments: what the model scores when a
-- shipment is created, and what drift is measured on. The target is NULL until delivery and
-- for shipments created in the last 8 observed days: only their early deliveries are observed
-- yet, so labelling them would bias every recent day towards being on time.
-- Incremental: rows for shipments created in [window_start, window_end); their scans all
-- happen after they were created, so scans before window_start are not read.
WITH shipments AS (
    SELECT * FROM {{ silver.shipments }}
    WHERE CAST(created_at AS DATE) >= {{ window_start }}
      AND CAST(created_at AS DATE) < {{ window_end }}
),
events AS (
    SELECT e.shipment_id, e.status, e.event_at,
           e.event_at < s.created_at + INTERVAL 24 HOUR AS first_24h
    FROM {{ silver.tracking_events }} AS e
    JOIN shipments AS s USING (shipment_id)
    WHERE e.event_at >= CAST({{ window_start }} AS TIMESTAMP)
),
per_shipment AS (
    SELECT shipment_id,
           min(event_at) FILTER (WHERE status = 'delivered') AS delivered_at,
           count(*) FILTER (WHERE first_24h AND status IN ('received', 'sorted', 'in_transit'))
               AS scans_24h,
           count(*) FILTER (WHERE first_24h AND status = 'exception') AS exceptions_24h
    FROM events
    GROUP BY shipment_id
),
observed AS (
    SELECT max(CAST(event_at AS DATE)) AS last_day, max(event_at) AS last_event
    FROM {{ silver.tracking_events }}
),
hub_days AS (
    SELECT origin_hub, CAST(created_at AS DATE) AS day, count(*) AS hub_load
    FROM shipments
    GROUP BY ALL
)
SELECT
    s.shipment_id,
    CAST(s.created_at AS DATE) AS created_date,
    s.service_level,
    s.origin_hub,
    s.destination_region,
    s.area_type,
    s.distance_km,
    s.weight_kg,
    round(date_diff('second', s.created_at, s.promised_at) / 3600.0, 2) AS promised_hours,
    CAST(hour(s.created_at) AS INTEGER) AS created_hour,
    CAST(isodow(s.created_at) AS INTEGER) AS created_dow,
    CAST(isodow(s.promised_at) AS INTEGER) AS promised_dow,
    CAST(l.hub_load AS INTEGER) AS hub_load,
    round(l.hub_load / h.daily_capacity, 4) AS hub_load_ratio,
    CAST(coalesce(wo.storm, false) AS INTEGER) AS origin_storm,
    CAST(coalesce(wd.storm, false) AS INTEGER) AS dest_storm,
    coalesce(wd.precipitation_mm, 0.0) AS dest_precipitation_mm,
    CAST(s.updated_at > s.created_at AS INTEGER) AS address_corrected,
    CAST(p.scans_24h AS INTEGER) AS scans_24h,
    CAST(p.exceptions_24h AS INTEGER) AS exceptions_24h,
    p.delivered_at,
    CASE
        WHEN CAST(s.created_at AS DATE) > o.last_day - INTERVAL 8 DAY THEN NULL
        ELSE round(date_diff('second', s.promised_at, p.delivered_at) / 3600.0, 2)
    END AS delay_hours
FROM shipments AS s
JOIN per_shipment AS p USING (shipment_id)
CROSS JOIN observed AS o
LEFT JOIN {{ silver.hubs }} AS h ON h.hub = s.origin_hub
LEFT JOIN hub_days AS l ON l.origin_hub = s.origin_hub AND l.day = CAST(s.created_at AS DATE)
LEFT JOIN {{ silver.weather }} AS wo
       ON wo.region = h.region AND wo.day = CAST(s.created_at AS DATE)
LEFT JOIN {{ silver.weather }} AS wd
       ON wd.region = s.destination_region AND wd.day = CAST(s.promised_at AS DATE)
WHERE s.created_at + INTERVAL 24 HOUR <= o.last_event
