-- Athena DDL for logbarge export "athena" (parquet, zstd) at s3://audit-bucket/airkit/parquet/
-- Generated from schema okta_security v1 (extends airkit_audit_event v1) by `logbarge ddl`; regenerate it rather than editing it.
-- Partition projection finds dt=YYYY-MM-DD/ folders from 2026-01-01 to 1 day after today (ingest.eventTime.maxAheadMs): no crawler or MSCK REPAIR.
-- Ingest accepts events dated from 2000-01-01 (ingest.eventTime.min); those dated before 2026-01-01 are in S3
-- but not in this table until the range starts earlier: ALTER TABLE logbarge.okta_security SET TBLPROPERTIES
-- ('projection.dt.range' = '2000-01-01,NOW+1DAYS');

CREATE DATABASE IF NOT EXISTS logbarge;

CREATE EXTERNAL TABLE IF NOT EXISTS logbarge.okta_security (
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
  `client_ip` string,
  `client_country` string,
  `client_state` string,
  `client_city` string,
  `user_agent` string,
  `client_device` string,
  `outcome_result` string,
  `outcome_reason` string,
  `severity` string,
  `display_message` string,
  `session_id` string,
  `transaction_id` string,
  `actor_type` string,
  `actor_display_name` string,
  `targets` string,
  `threat_suspected` string,
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

-- First query:
-- SELECT event_type, count(*) AS events FROM logbarge.okta_security
--   WHERE dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')
--   GROUP BY event_type ORDER BY events DESC;
-- raw holds the record as the sender sent it (JSON text; NULL when the typed columns hold all of it);
-- for an Okta System Log event (more paths in docs/athena.md):
-- SELECT event_id, json_extract_scalar(raw, '$.client.ipAddress') AS client_ip FROM logbarge.okta_security
--   WHERE raw IS NOT NULL LIMIT 10;
