-- Athena DDL for logbarge export "athena" (parquet, zstd) at s3://audit-bucket/airkit/parquet/
-- Generated from schema airkit_audit_event v1 by `logbarge ddl`; regenerate it rather than editing it.
-- Partition projection finds dt=YYYY-MM-DD/ folders from 2026-01-01 to 1 day after today (ingest.eventTime.maxAheadMs): no crawler or MSCK REPAIR.
-- Ingest accepts events dated from 2000-01-01 (ingest.eventTime.min); those dated before 2026-01-01 are in S3
-- but not in this table until the range starts earlier: ALTER TABLE logbarge.airkit_audit_event_unsealed SET TBLPROPERTIES
-- ('projection.dt.range' = '2000-01-01,NOW+1DAYS');

CREATE DATABASE IF NOT EXISTS logbarge;

CREATE EXTERNAL TABLE IF NOT EXISTS logbarge.airkit_audit_event_unsealed (
  `organization_id` string,
  `event_id` string,
  `event_year` int,
  `event_month` date,
  `event_date` date,
  `event_time` timestamp,
  `root_scope_user_id` string,
  `user_id` string,
  `email` string,
  `app_id` string,
  `branch_id` string,
  `deploy_id` string,
  `savepoint_id` string,
  `savepoint_revision` string,
  `resource_type` string,
  `resource_id` string,
  `domain` string,
  `datastore_id` string,
  `api_key_id` string,
  `notifier_id` string,
  `saml_id` string,
  `webhook_id` string,
  `adapter_id` string,
  `embed_id` string,
  `role_id` string,
  `service` string,
  `service_revision` string,
  `login_type` string,
  `event_type` string,
  `raw` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://audit-bucket/airkit/parquet/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2026-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://audit-bucket/airkit/parquet/dt=${dt}/'
);

-- Sealed days (`logbarge seal`): one deduplicated, sorted set of Parquet files per day.
CREATE EXTERNAL TABLE IF NOT EXISTS logbarge.airkit_audit_event_sealed (
  `organization_id` string,
  `event_id` string,
  `event_year` int,
  `event_month` date,
  `event_date` date,
  `event_time` timestamp,
  `root_scope_user_id` string,
  `user_id` string,
  `email` string,
  `app_id` string,
  `branch_id` string,
  `deploy_id` string,
  `savepoint_id` string,
  `savepoint_revision` string,
  `resource_type` string,
  `resource_id` string,
  `domain` string,
  `datastore_id` string,
  `api_key_id` string,
  `notifier_id` string,
  `saml_id` string,
  `webhook_id` string,
  `adapter_id` string,
  `embed_id` string,
  `role_id` string,
  `service` string,
  `service_revision` string,
  `login_type` string,
  `event_type` string,
  `raw` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://audit-bucket/airkit/parquet/_sealed/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2026-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://audit-bucket/airkit/parquet/_sealed/dt=${dt}/'
);

-- The seal records: one line of JSON per sealed day, naming the seal whose files are current.
CREATE EXTERNAL TABLE IF NOT EXISTS logbarge.airkit_audit_event_seals (
  `dt` string,
  `seal_id` string,
  `sealed_at` string
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('case.insensitive' = 'true', 'ignore.malformed.json' = 'false')
LOCATION 's3://audit-bucket/airkit/parquet/_seals/';

-- Query this view: sealed days from their current seal, the other days from the raw objects
-- without the copies several replicas wrote. A day switches when its seal record lands.
CREATE OR REPLACE VIEW logbarge.airkit_audit_event AS
SELECT DISTINCT "organization_id", "event_id", "event_year", "event_month", "event_date", "event_time", "root_scope_user_id", "user_id", "email", "app_id", "branch_id", "deploy_id", "savepoint_id", "savepoint_revision", "resource_type", "resource_id", "domain", "datastore_id", "api_key_id", "notifier_id", "saml_id", "webhook_id", "adapter_id", "embed_id", "role_id", "service", "service_revision", "login_type", "event_type", "raw", "dt"
FROM logbarge.airkit_audit_event_unsealed
WHERE "dt" NOT IN (SELECT "dt" FROM logbarge.airkit_audit_event_seals WHERE "dt" IS NOT NULL)
UNION ALL
SELECT s."organization_id", s."event_id", s."event_year", s."event_month", s."event_date", s."event_time", s."root_scope_user_id", s."user_id", s."email", s."app_id", s."branch_id", s."deploy_id", s."savepoint_id", s."savepoint_revision", s."resource_type", s."resource_id", s."domain", s."datastore_id", s."api_key_id", s."notifier_id", s."saml_id", s."webhook_id", s."adapter_id", s."embed_id", s."role_id", s."service", s."service_revision", s."login_type", s."event_type", s."raw", s."dt"
FROM logbarge.airkit_audit_event_sealed s
JOIN logbarge.airkit_audit_event_seals k ON k."dt" = s."dt" AND k."seal_id" = regexp_extract(s."$path", '/([0-9A-Za-z]+)-[0-9]+[.]parquet$', 1);

-- First query:
-- SELECT event_type, count(*) AS events FROM logbarge.airkit_audit_event
--   WHERE dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')
--   GROUP BY event_type ORDER BY events DESC;
-- raw holds the record as the sender sent it (JSON text; NULL when the typed columns hold all of it);
-- for an Okta System Log event (more paths in docs/athena.md):
-- SELECT event_id, json_extract_scalar(raw, '$.client.ipAddress') AS client_ip FROM logbarge.airkit_audit_event
--   WHERE raw IS NOT NULL LIMIT 10;
