-- Snowflake DDL for logbarge export "athena" (parquet, zstd) at s3://audit-bucket/airkit/parquet/
-- Generated from schema airkit_audit_event v1 by `logbarge ddl`; regenerate it rather than editing it.
-- Replace <AWS_ROLE_ARN> with the IAM role Snowflake assumes to read the bucket (docs/snowflake.md).
-- Step 1 needs ACCOUNTADMIN (or CREATE INTEGRATION); run the rest in the database and schema
-- that should hold the table.

-- 1. Storage integration: Snowflake reads the bucket through an IAM role of yours.
CREATE STORAGE INTEGRATION IF NOT EXISTS LOGBARGE_S3
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '<AWS_ROLE_ARN>'
  STORAGE_ALLOWED_LOCATIONS = ('s3://audit-bucket/airkit/parquet/');
-- DESC INTEGRATION LOGBARGE_S3;  -- STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID go in the role's trust policy

-- 2. File format: the export's PARQUET files.
CREATE OR REPLACE FILE FORMAT AIRKIT_AUDIT_EVENT_FORMAT
  TYPE = PARQUET
  COMPRESSION = AUTO
  USE_LOGICAL_TYPE = TRUE
  BINARY_AS_TEXT = TRUE
  NULL_IF = ();

-- 3. Stage on the destination (not replaced when it exists: the pipe and external table refer to it).
CREATE STAGE IF NOT EXISTS AIRKIT_AUDIT_EVENT_STAGE
  URL = 's3://audit-bucket/airkit/parquet/'
  STORAGE_INTEGRATION = LOGBARGE_S3
  FILE_FORMAT = AIRKIT_AUDIT_EVENT_FORMAT;

-- 4. Target table.
CREATE TABLE IF NOT EXISTS AIRKIT_AUDIT_EVENT (
  ORGANIZATION_ID VARCHAR COMMENT 'Airkit organization (tenant) the event belongs to.',
  EVENT_ID VARCHAR COMMENT 'Event id; a repeat with the same EVENT_TIME and content is a duplicate, stored once.',
  EVENT_YEAR NUMBER(10,0) COMMENT 'UTC year of EVENT_TIME; derived when absent.',
  EVENT_MONTH DATE COMMENT 'First day of the UTC month of EVENT_TIME; derived when absent.',
  EVENT_DATE DATE COMMENT 'UTC date of EVENT_TIME; derived when absent. Also the dt= partition.',
  EVENT_TIME TIMESTAMP_NTZ(3) COMMENT 'When the event happened, UTC, millisecond precision.',
  ROOT_SCOPE_USER_ID VARCHAR COMMENT 'User id of the root scope the actor acted under.',
  USER_ID VARCHAR COMMENT 'User who caused the event.',
  EMAIL VARCHAR COMMENT 'E-mail address of that user.',
  APP_ID VARCHAR COMMENT 'Application concerned.',
  BRANCH_ID VARCHAR COMMENT 'Branch of the application.',
  DEPLOY_ID VARCHAR COMMENT 'Deployment concerned.',
  SAVEPOINT_ID VARCHAR COMMENT 'Savepoint concerned.',
  SAVEPOINT_REVISION VARCHAR COMMENT 'Revision of that savepoint.',
  RESOURCE_TYPE VARCHAR COMMENT 'Type of the resource concerned.',
  RESOURCE_ID VARCHAR COMMENT 'Id of the resource concerned.',
  DOMAIN VARCHAR COMMENT 'Domain concerned.',
  DATASTORE_ID VARCHAR COMMENT 'Datastore concerned.',
  API_KEY_ID VARCHAR COMMENT 'API key concerned (its id, never the key).',
  NOTIFIER_ID VARCHAR COMMENT 'Notifier concerned.',
  SAML_ID VARCHAR COMMENT 'SAML configuration concerned.',
  WEBHOOK_ID VARCHAR COMMENT 'Webhook concerned.',
  ADAPTER_ID VARCHAR COMMENT 'Adapter concerned.',
  EMBED_ID VARCHAR COMMENT 'Embed concerned.',
  ROLE_ID VARCHAR COMMENT 'Role concerned.',
  SERVICE VARCHAR COMMENT 'Service that emitted the event.',
  SERVICE_REVISION VARCHAR COMMENT 'Revision of that service.',
  LOGIN_TYPE VARCHAR COMMENT 'How the user authenticated, for login events.',
  EVENT_TYPE VARCHAR COMMENT 'What happened; see eventTypes for the published values.'
);

-- 5. Load the objects there now; COPY skips objects it has loaded before. PATTERN leaves out _verify/, _quarantine/ and _sealed/.
COPY INTO AIRKIT_AUDIT_EVENT
  FROM @AIRKIT_AUDIT_EVENT_STAGE
  FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]parquet';

-- 6. Or load continuously: Snowpipe runs the same COPY for each new object.
CREATE PIPE IF NOT EXISTS AIRKIT_AUDIT_EVENT_PIPE
  AUTO_INGEST = TRUE
  AS
COPY INTO AIRKIT_AUDIT_EVENT
  FROM @AIRKIT_AUDIT_EVENT_STAGE
  FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]parquet';
-- SHOW PIPES LIKE 'AIRKIT_AUDIT_EVENT_PIPE';  -- send the bucket's s3:ObjectCreated:* events for prefix "airkit/parquet/"
-- to its notification_channel (an SQS queue ARN): S3 console > bucket > Properties > Event notifications.

-- 7. Or query the objects in place: an external table partitioned by their dt= folder.
CREATE OR REPLACE EXTERNAL TABLE AIRKIT_AUDIT_EVENT_EXTERNAL (
  DT DATE AS (TO_DATE(SPLIT_PART(SPLIT_PART(METADATA$FILENAME, 'dt=', 2), '/', 1), 'YYYY-MM-DD')),
  ORGANIZATION_ID VARCHAR AS (VALUE:ORGANIZATION_ID::VARCHAR),
  EVENT_ID VARCHAR AS (VALUE:EVENT_ID::VARCHAR),
  EVENT_YEAR NUMBER(10,0) AS (VALUE:EVENT_YEAR::NUMBER(10,0)),
  EVENT_MONTH DATE AS (VALUE:EVENT_MONTH::DATE),
  EVENT_DATE DATE AS (VALUE:EVENT_DATE::DATE),
  EVENT_TIME TIMESTAMP_NTZ(3) AS (VALUE:EVENT_TIME::TIMESTAMP_NTZ(3)),
  ROOT_SCOPE_USER_ID VARCHAR AS (VALUE:ROOT_SCOPE_USER_ID::VARCHAR),
  USER_ID VARCHAR AS (VALUE:USER_ID::VARCHAR),
  EMAIL VARCHAR AS (VALUE:EMAIL::VARCHAR),
  APP_ID VARCHAR AS (VALUE:APP_ID::VARCHAR),
  BRANCH_ID VARCHAR AS (VALUE:BRANCH_ID::VARCHAR),
  DEPLOY_ID VARCHAR AS (VALUE:DEPLOY_ID::VARCHAR),
  SAVEPOINT_ID VARCHAR AS (VALUE:SAVEPOINT_ID::VARCHAR),
  SAVEPOINT_REVISION VARCHAR AS (VALUE:SAVEPOINT_REVISION::VARCHAR),
  RESOURCE_TYPE VARCHAR AS (VALUE:RESOURCE_TYPE::VARCHAR),
  RESOURCE_ID VARCHAR AS (VALUE:RESOURCE_ID::VARCHAR),
  DOMAIN VARCHAR AS (VALUE:DOMAIN::VARCHAR),
  DATASTORE_ID VARCHAR AS (VALUE:DATASTORE_ID::VARCHAR),
  API_KEY_ID VARCHAR AS (VALUE:API_KEY_ID::VARCHAR),
  NOTIFIER_ID VARCHAR AS (VALUE:NOTIFIER_ID::VARCHAR),
  SAML_ID VARCHAR AS (VALUE:SAML_ID::VARCHAR),
  WEBHOOK_ID VARCHAR AS (VALUE:WEBHOOK_ID::VARCHAR),
  ADAPTER_ID VARCHAR AS (VALUE:ADAPTER_ID::VARCHAR),
  EMBED_ID VARCHAR AS (VALUE:EMBED_ID::VARCHAR),
  ROLE_ID VARCHAR AS (VALUE:ROLE_ID::VARCHAR),
  SERVICE VARCHAR AS (VALUE:SERVICE::VARCHAR),
  SERVICE_REVISION VARCHAR AS (VALUE:SERVICE_REVISION::VARCHAR),
  LOGIN_TYPE VARCHAR AS (VALUE:LOGIN_TYPE::VARCHAR),
  EVENT_TYPE VARCHAR AS (VALUE:EVENT_TYPE::VARCHAR)
)
PARTITION BY (DT)
LOCATION = @AIRKIT_AUDIT_EVENT_STAGE
PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]parquet'
FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
AUTO_REFRESH = TRUE;
-- SHOW EXTERNAL TABLES LIKE 'AIRKIT_AUDIT_EVENT_EXTERNAL';  -- its notification_channel takes the same S3 events

-- First query:
-- SELECT EVENT_TYPE, COUNT(*) AS EVENTS FROM AIRKIT_AUDIT_EVENT
--   WHERE EVENT_DATE >= DATEADD(DAY, -7, CURRENT_DATE()) GROUP BY EVENT_TYPE ORDER BY EVENTS DESC;
