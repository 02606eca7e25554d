-- Snowflake DDL for logbarge export "csv" (csv, gzip) at s3://audit-bucket/airkit/csv/
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
  STORAGE_ALLOWED_LOCATIONS = ('s3://audit-bucket/airkit/csv/');
-- DESC INTEGRATION LOGBARGE_S3;  -- STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID go in the role's trust policy

-- 2. File format: the export's CSV files (docs/formats.md dialect; COPY and the external table read the columns by position, so it skips the header).
CREATE OR REPLACE FILE FORMAT AIRKIT_AUDIT_EVENT_FORMAT
  TYPE = CSV
  COMPRESSION = GZIP
  FIELD_DELIMITER = ','
  RECORD_DELIMITER = '\n'
  SKIP_HEADER = 1
  FIELD_OPTIONALLY_ENCLOSED_BY = '"'
  ESCAPE = NONE
  ESCAPE_UNENCLOSED_FIELD = NONE
  NULL_IF = ('\\N')
  EMPTY_FIELD_AS_NULL = FALSE
  TRIM_SPACE = FALSE
  DATE_FORMAT = 'YYYY-MM-DD'
  TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF3'
  ENCODING = 'UTF8';

-- 3. Stage on the destination (not replaced when it exists: the pipe and external table refer to it).
CREATE STAGE IF NOT EXISTS AIRKIT_AUDIT_EVENT_STAGE
  URL = 's3://audit-bucket/airkit/csv/'
  STORAGE_INTEGRATION = LOGBARGE_S3
  FILE_FORMAT = AIRKIT_AUDIT_EVENT_FORMAT;

-- 4. Target table. RAW: the record as the sender sent it, NULL when the typed columns hold all of it (RAW:field::type reads a value).
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
  EVENT_TYPE VARCHAR COMMENT 'What happened; see eventTypes for the published values.',
  RAW VARIANT COMMENT 'The record as the sender sent it (JSON, parsed); NULL when the typed columns hold all of it.'
);

-- 5. Load the objects there now; COPY skips objects it has loaded before. PATTERN leaves out _verify/, _quarantine/ and _sealed/.
--    It selects and converts each column: MATCH_BY_COLUMN_NAME cannot be combined with the PARSE_JSON of RAW.
COPY INTO AIRKIT_AUDIT_EVENT (
  ORGANIZATION_ID,
  EVENT_ID,
  EVENT_YEAR,
  EVENT_MONTH,
  EVENT_DATE,
  EVENT_TIME,
  ROOT_SCOPE_USER_ID,
  USER_ID,
  EMAIL,
  APP_ID,
  BRANCH_ID,
  DEPLOY_ID,
  SAVEPOINT_ID,
  SAVEPOINT_REVISION,
  RESOURCE_TYPE,
  RESOURCE_ID,
  DOMAIN,
  DATASTORE_ID,
  API_KEY_ID,
  NOTIFIER_ID,
  SAML_ID,
  WEBHOOK_ID,
  ADAPTER_ID,
  EMBED_ID,
  ROLE_ID,
  SERVICE,
  SERVICE_REVISION,
  LOGIN_TYPE,
  EVENT_TYPE,
  RAW
)
  FROM (
    SELECT
      $1::VARCHAR,
      $2::VARCHAR,
      $3::NUMBER(10,0),
      TO_DATE($4::VARCHAR, 'YYYY-MM-DD'),
      TO_DATE($5::VARCHAR, 'YYYY-MM-DD'),
      TO_TIMESTAMP_NTZ($6::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3'),
      $7::VARCHAR,
      $8::VARCHAR,
      $9::VARCHAR,
      $10::VARCHAR,
      $11::VARCHAR,
      $12::VARCHAR,
      $13::VARCHAR,
      $14::VARCHAR,
      $15::VARCHAR,
      $16::VARCHAR,
      $17::VARCHAR,
      $18::VARCHAR,
      $19::VARCHAR,
      $20::VARCHAR,
      $21::VARCHAR,
      $22::VARCHAR,
      $23::VARCHAR,
      $24::VARCHAR,
      $25::VARCHAR,
      $26::VARCHAR,
      $27::VARCHAR,
      $28::VARCHAR,
      $29::VARCHAR,
      PARSE_JSON($30::VARCHAR)
    FROM @AIRKIT_AUDIT_EVENT_STAGE
  )
  FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]csv[.]gz';

-- 6. Or load continuously: Snowpipe runs the same COPY for each new object.
CREATE PIPE IF NOT EXISTS AIRKIT_AUDIT_EVENT_PIPE
  AUTO_INGEST = TRUE
  AS
COPY INTO AIRKIT_AUDIT_EVENT (
  ORGANIZATION_ID,
  EVENT_ID,
  EVENT_YEAR,
  EVENT_MONTH,
  EVENT_DATE,
  EVENT_TIME,
  ROOT_SCOPE_USER_ID,
  USER_ID,
  EMAIL,
  APP_ID,
  BRANCH_ID,
  DEPLOY_ID,
  SAVEPOINT_ID,
  SAVEPOINT_REVISION,
  RESOURCE_TYPE,
  RESOURCE_ID,
  DOMAIN,
  DATASTORE_ID,
  API_KEY_ID,
  NOTIFIER_ID,
  SAML_ID,
  WEBHOOK_ID,
  ADAPTER_ID,
  EMBED_ID,
  ROLE_ID,
  SERVICE,
  SERVICE_REVISION,
  LOGIN_TYPE,
  EVENT_TYPE,
  RAW
)
  FROM (
    SELECT
      $1::VARCHAR,
      $2::VARCHAR,
      $3::NUMBER(10,0),
      TO_DATE($4::VARCHAR, 'YYYY-MM-DD'),
      TO_DATE($5::VARCHAR, 'YYYY-MM-DD'),
      TO_TIMESTAMP_NTZ($6::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3'),
      $7::VARCHAR,
      $8::VARCHAR,
      $9::VARCHAR,
      $10::VARCHAR,
      $11::VARCHAR,
      $12::VARCHAR,
      $13::VARCHAR,
      $14::VARCHAR,
      $15::VARCHAR,
      $16::VARCHAR,
      $17::VARCHAR,
      $18::VARCHAR,
      $19::VARCHAR,
      $20::VARCHAR,
      $21::VARCHAR,
      $22::VARCHAR,
      $23::VARCHAR,
      $24::VARCHAR,
      $25::VARCHAR,
      $26::VARCHAR,
      $27::VARCHAR,
      $28::VARCHAR,
      $29::VARCHAR,
      PARSE_JSON($30::VARCHAR)
    FROM @AIRKIT_AUDIT_EVENT_STAGE
  )
  FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]csv[.]gz';
-- SHOW PIPES LIKE 'AIRKIT_AUDIT_EVENT_PIPE';  -- send the bucket's s3:ObjectCreated:* events for prefix "airkit/csv/"
-- to its notification_channel (an SQS queue ARN): S3 console > bucket > Properties > Event notifications.

-- 7. Or query the objects in place: an external table partitioned by their dt= folder.
CREATE OR REPLACE EXTERNAL TABLE AIRKIT_AUDIT_EVENT_EXTERNAL (
  DT DATE AS (TO_DATE(SPLIT_PART(SPLIT_PART(METADATA$FILENAME, 'dt=', 2), '/', 1), 'YYYY-MM-DD')),
  ORGANIZATION_ID VARCHAR AS (VALUE:c1::VARCHAR),
  EVENT_ID VARCHAR AS (VALUE:c2::VARCHAR),
  EVENT_YEAR NUMBER(10,0) AS (VALUE:c3::NUMBER(10,0)),
  EVENT_MONTH DATE AS (TO_DATE(VALUE:c4::VARCHAR, 'YYYY-MM-DD')),
  EVENT_DATE DATE AS (TO_DATE(VALUE:c5::VARCHAR, 'YYYY-MM-DD')),
  EVENT_TIME TIMESTAMP_NTZ(3) AS (TO_TIMESTAMP_NTZ(VALUE:c6::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3')),
  ROOT_SCOPE_USER_ID VARCHAR AS (VALUE:c7::VARCHAR),
  USER_ID VARCHAR AS (VALUE:c8::VARCHAR),
  EMAIL VARCHAR AS (VALUE:c9::VARCHAR),
  APP_ID VARCHAR AS (VALUE:c10::VARCHAR),
  BRANCH_ID VARCHAR AS (VALUE:c11::VARCHAR),
  DEPLOY_ID VARCHAR AS (VALUE:c12::VARCHAR),
  SAVEPOINT_ID VARCHAR AS (VALUE:c13::VARCHAR),
  SAVEPOINT_REVISION VARCHAR AS (VALUE:c14::VARCHAR),
  RESOURCE_TYPE VARCHAR AS (VALUE:c15::VARCHAR),
  RESOURCE_ID VARCHAR AS (VALUE:c16::VARCHAR),
  DOMAIN VARCHAR AS (VALUE:c17::VARCHAR),
  DATASTORE_ID VARCHAR AS (VALUE:c18::VARCHAR),
  API_KEY_ID VARCHAR AS (VALUE:c19::VARCHAR),
  NOTIFIER_ID VARCHAR AS (VALUE:c20::VARCHAR),
  SAML_ID VARCHAR AS (VALUE:c21::VARCHAR),
  WEBHOOK_ID VARCHAR AS (VALUE:c22::VARCHAR),
  ADAPTER_ID VARCHAR AS (VALUE:c23::VARCHAR),
  EMBED_ID VARCHAR AS (VALUE:c24::VARCHAR),
  ROLE_ID VARCHAR AS (VALUE:c25::VARCHAR),
  SERVICE VARCHAR AS (VALUE:c26::VARCHAR),
  SERVICE_REVISION VARCHAR AS (VALUE:c27::VARCHAR),
  LOGIN_TYPE VARCHAR AS (VALUE:c28::VARCHAR),
  EVENT_TYPE VARCHAR AS (VALUE:c29::VARCHAR),
  RAW VARIANT AS (PARSE_JSON(VALUE:c30::VARCHAR))
)
PARTITION BY (DT)
LOCATION = @AIRKIT_AUDIT_EVENT_STAGE
PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]csv[.]gz'
FILE_FORMAT = (FORMAT_NAME = 'AIRKIT_AUDIT_EVENT_FORMAT')
AUTO_REFRESH = TRUE;
-- SHOW EXTERNAL TABLES LIKE 'AIRKIT_AUDIT_EVENT_EXTERNAL';  -- its notification_channel takes the same S3 events

-- First query:
-- SELECT EVENT_TYPE, COUNT(*) AS EVENTS FROM AIRKIT_AUDIT_EVENT
--   WHERE EVENT_DATE >= DATEADD(DAY, -7, CURRENT_DATE()) GROUP BY EVENT_TYPE ORDER BY EVENTS DESC;
