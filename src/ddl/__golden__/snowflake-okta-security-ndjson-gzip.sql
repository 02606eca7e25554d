-- Snowflake DDL for logbarge export "snowflake" (ndjson, gzip) at s3://audit-bucket/airkit/ndjson/
-- Generated from schema okta_security v1 (extends airkit_audit_event v1) by `logbarge ddl`; regenerate it rather than editing it.
-- Replace <AWS_ROLE_ARN> with the IAM role Snowflake assumes to read the bucket (docs/snowflake.md).
-- Step 1 needs ACCOUNTADMIN (or CREATE INTEGRATION); run the rest in the database and schema
-- that should hold the table.

-- 1. Storage integration: Snowflake reads the bucket through an IAM role of yours.
CREATE STORAGE INTEGRATION IF NOT EXISTS LOGBARGE_S3
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '<AWS_ROLE_ARN>'
  STORAGE_ALLOWED_LOCATIONS = ('s3://audit-bucket/airkit/ndjson/');
-- DESC INTEGRATION LOGBARGE_S3;  -- STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID go in the role's trust policy

-- 2. File format: the export's NDJSON files.
CREATE OR REPLACE FILE FORMAT OKTA_SECURITY_FORMAT
  TYPE = JSON
  COMPRESSION = GZIP
  DATE_FORMAT = 'YYYY-MM-DD'
  TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF3'
  NULL_IF = ();

-- 3. Stage on the destination (not replaced when it exists: the pipe and external table refer to it).
CREATE STAGE IF NOT EXISTS OKTA_SECURITY_STAGE
  URL = 's3://audit-bucket/airkit/ndjson/'
  STORAGE_INTEGRATION = LOGBARGE_S3
  FILE_FORMAT = OKTA_SECURITY_FORMAT;

-- 4. Target table. RAW: the record as the sender sent it, NULL when the typed columns hold all of it (RAW:field::type reads a value).
CREATE TABLE IF NOT EXISTS OKTA_SECURITY (
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
  CLIENT_IP VARCHAR COMMENT 'IP address the client sent its request from (Okta: client.ipAddress).',
  CLIENT_COUNTRY VARCHAR COMMENT 'Country the request came from, by its full name, as Okta located the client''s IP address (Okta: client.geographicalContext.country).',
  CLIENT_STATE VARCHAR COMMENT 'State or province the request came from, by its full name (Okta: client.geographicalContext.state).',
  CLIENT_CITY VARCHAR COMMENT 'City the request came from, where Okta could place it (Okta: client.geographicalContext.city).',
  USER_AGENT VARCHAR COMMENT 'The client''s User-Agent header as sent; browser and operating system can be read from it (Okta: client.userAgent.rawUserAgent).',
  CLIENT_DEVICE VARCHAR COMMENT 'Kind of device the client runs on, e.g. Computer or Mobile (Okta: client.device).',
  OUTCOME_RESULT VARCHAR COMMENT 'Result of the action: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE or UNKNOWN (Okta: outcome.result).',
  OUTCOME_REASON VARCHAR COMMENT 'Why the action had its result, e.g. INVALID_CREDENTIALS (Okta: outcome.reason).',
  SEVERITY VARCHAR COMMENT 'How severe the event is: DEBUG, INFO, WARN or ERROR (Okta: severity).',
  DISPLAY_MESSAGE VARCHAR COMMENT 'The event''s message for people, e.g. User login to Okta (Okta: displayMessage).',
  SESSION_ID VARCHAR COMMENT 'Stand-in for the actor''s session id, shared by the events of one sign-in session (Okta: authenticationContext.externalSessionId).',
  TRANSACTION_ID VARCHAR COMMENT 'Id of the transaction the event belongs to, shared by the events one request caused (Okta: transaction.id).',
  ACTOR_TYPE VARCHAR COMMENT 'Kind of actor that performed the action, e.g. User or PublicClientApp (Okta: actor.type).',
  ACTOR_DISPLAY_NAME VARCHAR COMMENT 'Display name of the actor (Okta: actor.displayName).',
  TARGETS VARCHAR COMMENT 'Every target of the action as JSON text: Okta''s whole target array, each target with its id, type, alternateId, displayName and detailEntry (Okta: target).',
  THREAT_SUSPECTED VARCHAR COMMENT 'Whether Okta flagged the request as a suspected threat, as Okta sends it: the string true or false (Okta: debugContext.debugData.threatSuspected).',
  RAW VARIANT COMMENT 'The record as the sender sent it (JSON, parsed); NULL when the typed columns hold all of it.'
);

-- 5. Load the objects there now; COPY skips objects it has loaded before. PATTERN leaves out _verify/, _quarantine/ and _sealed/.
--    It selects and converts each column: MATCH_BY_COLUMN_NAME cannot be combined with the PARSE_JSON of RAW.
COPY INTO OKTA_SECURITY (
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
  CLIENT_IP,
  CLIENT_COUNTRY,
  CLIENT_STATE,
  CLIENT_CITY,
  USER_AGENT,
  CLIENT_DEVICE,
  OUTCOME_RESULT,
  OUTCOME_REASON,
  SEVERITY,
  DISPLAY_MESSAGE,
  SESSION_ID,
  TRANSACTION_ID,
  ACTOR_TYPE,
  ACTOR_DISPLAY_NAME,
  TARGETS,
  THREAT_SUSPECTED,
  RAW
)
  FROM (
    SELECT
      $1:ORGANIZATION_ID::VARCHAR,
      $1:EVENT_ID::VARCHAR,
      $1:EVENT_YEAR::NUMBER(10,0),
      TO_DATE($1:EVENT_MONTH::VARCHAR, 'YYYY-MM-DD'),
      TO_DATE($1:EVENT_DATE::VARCHAR, 'YYYY-MM-DD'),
      TO_TIMESTAMP_NTZ($1:EVENT_TIME::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3'),
      $1:ROOT_SCOPE_USER_ID::VARCHAR,
      $1:USER_ID::VARCHAR,
      $1:EMAIL::VARCHAR,
      $1:APP_ID::VARCHAR,
      $1:BRANCH_ID::VARCHAR,
      $1:DEPLOY_ID::VARCHAR,
      $1:SAVEPOINT_ID::VARCHAR,
      $1:SAVEPOINT_REVISION::VARCHAR,
      $1:RESOURCE_TYPE::VARCHAR,
      $1:RESOURCE_ID::VARCHAR,
      $1:DOMAIN::VARCHAR,
      $1:DATASTORE_ID::VARCHAR,
      $1:API_KEY_ID::VARCHAR,
      $1:NOTIFIER_ID::VARCHAR,
      $1:SAML_ID::VARCHAR,
      $1:WEBHOOK_ID::VARCHAR,
      $1:ADAPTER_ID::VARCHAR,
      $1:EMBED_ID::VARCHAR,
      $1:ROLE_ID::VARCHAR,
      $1:SERVICE::VARCHAR,
      $1:SERVICE_REVISION::VARCHAR,
      $1:LOGIN_TYPE::VARCHAR,
      $1:EVENT_TYPE::VARCHAR,
      $1:CLIENT_IP::VARCHAR,
      $1:CLIENT_COUNTRY::VARCHAR,
      $1:CLIENT_STATE::VARCHAR,
      $1:CLIENT_CITY::VARCHAR,
      $1:USER_AGENT::VARCHAR,
      $1:CLIENT_DEVICE::VARCHAR,
      $1:OUTCOME_RESULT::VARCHAR,
      $1:OUTCOME_REASON::VARCHAR,
      $1:SEVERITY::VARCHAR,
      $1:DISPLAY_MESSAGE::VARCHAR,
      $1:SESSION_ID::VARCHAR,
      $1:TRANSACTION_ID::VARCHAR,
      $1:ACTOR_TYPE::VARCHAR,
      $1:ACTOR_DISPLAY_NAME::VARCHAR,
      $1:TARGETS::VARCHAR,
      $1:THREAT_SUSPECTED::VARCHAR,
      PARSE_JSON($1:RAW::VARCHAR)
    FROM @OKTA_SECURITY_STAGE
  )
  FILE_FORMAT = (FORMAT_NAME = 'OKTA_SECURITY_FORMAT')
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]ndjson[.]gz';

-- 6. Or load continuously: Snowpipe runs the same COPY for each new object.
CREATE PIPE IF NOT EXISTS OKTA_SECURITY_PIPE
  AUTO_INGEST = TRUE
  AS
COPY INTO OKTA_SECURITY (
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
  CLIENT_IP,
  CLIENT_COUNTRY,
  CLIENT_STATE,
  CLIENT_CITY,
  USER_AGENT,
  CLIENT_DEVICE,
  OUTCOME_RESULT,
  OUTCOME_REASON,
  SEVERITY,
  DISPLAY_MESSAGE,
  SESSION_ID,
  TRANSACTION_ID,
  ACTOR_TYPE,
  ACTOR_DISPLAY_NAME,
  TARGETS,
  THREAT_SUSPECTED,
  RAW
)
  FROM (
    SELECT
      $1:ORGANIZATION_ID::VARCHAR,
      $1:EVENT_ID::VARCHAR,
      $1:EVENT_YEAR::NUMBER(10,0),
      TO_DATE($1:EVENT_MONTH::VARCHAR, 'YYYY-MM-DD'),
      TO_DATE($1:EVENT_DATE::VARCHAR, 'YYYY-MM-DD'),
      TO_TIMESTAMP_NTZ($1:EVENT_TIME::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3'),
      $1:ROOT_SCOPE_USER_ID::VARCHAR,
      $1:USER_ID::VARCHAR,
      $1:EMAIL::VARCHAR,
      $1:APP_ID::VARCHAR,
      $1:BRANCH_ID::VARCHAR,
      $1:DEPLOY_ID::VARCHAR,
      $1:SAVEPOINT_ID::VARCHAR,
      $1:SAVEPOINT_REVISION::VARCHAR,
      $1:RESOURCE_TYPE::VARCHAR,
      $1:RESOURCE_ID::VARCHAR,
      $1:DOMAIN::VARCHAR,
      $1:DATASTORE_ID::VARCHAR,
      $1:API_KEY_ID::VARCHAR,
      $1:NOTIFIER_ID::VARCHAR,
      $1:SAML_ID::VARCHAR,
      $1:WEBHOOK_ID::VARCHAR,
      $1:ADAPTER_ID::VARCHAR,
      $1:EMBED_ID::VARCHAR,
      $1:ROLE_ID::VARCHAR,
      $1:SERVICE::VARCHAR,
      $1:SERVICE_REVISION::VARCHAR,
      $1:LOGIN_TYPE::VARCHAR,
      $1:EVENT_TYPE::VARCHAR,
      $1:CLIENT_IP::VARCHAR,
      $1:CLIENT_COUNTRY::VARCHAR,
      $1:CLIENT_STATE::VARCHAR,
      $1:CLIENT_CITY::VARCHAR,
      $1:USER_AGENT::VARCHAR,
      $1:CLIENT_DEVICE::VARCHAR,
      $1:OUTCOME_RESULT::VARCHAR,
      $1:OUTCOME_REASON::VARCHAR,
      $1:SEVERITY::VARCHAR,
      $1:DISPLAY_MESSAGE::VARCHAR,
      $1:SESSION_ID::VARCHAR,
      $1:TRANSACTION_ID::VARCHAR,
      $1:ACTOR_TYPE::VARCHAR,
      $1:ACTOR_DISPLAY_NAME::VARCHAR,
      $1:TARGETS::VARCHAR,
      $1:THREAT_SUSPECTED::VARCHAR,
      PARSE_JSON($1:RAW::VARCHAR)
    FROM @OKTA_SECURITY_STAGE
  )
  FILE_FORMAT = (FORMAT_NAME = 'OKTA_SECURITY_FORMAT')
  PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]ndjson[.]gz';
-- SHOW PIPES LIKE 'OKTA_SECURITY_PIPE';  -- send the bucket's s3:ObjectCreated:* events for prefix "airkit/ndjson/"
-- to its notification_channel (an SQS queue ARN): S3 console > bucket > Properties > Event notifications.

-- 7. Or query the objects in place: an external table partitioned by their dt= folder.
CREATE OR REPLACE EXTERNAL TABLE OKTA_SECURITY_EXTERNAL (
  DT DATE AS (TO_DATE(SPLIT_PART(SPLIT_PART(METADATA$FILENAME, 'dt=', 2), '/', 1), 'YYYY-MM-DD')),
  ORGANIZATION_ID VARCHAR AS (VALUE:ORGANIZATION_ID::VARCHAR),
  EVENT_ID VARCHAR AS (VALUE:EVENT_ID::VARCHAR),
  EVENT_YEAR NUMBER(10,0) AS (VALUE:EVENT_YEAR::NUMBER(10,0)),
  EVENT_MONTH DATE AS (TO_DATE(VALUE:EVENT_MONTH::VARCHAR, 'YYYY-MM-DD')),
  EVENT_DATE DATE AS (TO_DATE(VALUE:EVENT_DATE::VARCHAR, 'YYYY-MM-DD')),
  EVENT_TIME TIMESTAMP_NTZ(3) AS (TO_TIMESTAMP_NTZ(VALUE:EVENT_TIME::VARCHAR, 'YYYY-MM-DD HH24:MI:SS.FF3')),
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
  EVENT_TYPE VARCHAR AS (VALUE:EVENT_TYPE::VARCHAR),
  CLIENT_IP VARCHAR AS (VALUE:CLIENT_IP::VARCHAR),
  CLIENT_COUNTRY VARCHAR AS (VALUE:CLIENT_COUNTRY::VARCHAR),
  CLIENT_STATE VARCHAR AS (VALUE:CLIENT_STATE::VARCHAR),
  CLIENT_CITY VARCHAR AS (VALUE:CLIENT_CITY::VARCHAR),
  USER_AGENT VARCHAR AS (VALUE:USER_AGENT::VARCHAR),
  CLIENT_DEVICE VARCHAR AS (VALUE:CLIENT_DEVICE::VARCHAR),
  OUTCOME_RESULT VARCHAR AS (VALUE:OUTCOME_RESULT::VARCHAR),
  OUTCOME_REASON VARCHAR AS (VALUE:OUTCOME_REASON::VARCHAR),
  SEVERITY VARCHAR AS (VALUE:SEVERITY::VARCHAR),
  DISPLAY_MESSAGE VARCHAR AS (VALUE:DISPLAY_MESSAGE::VARCHAR),
  SESSION_ID VARCHAR AS (VALUE:SESSION_ID::VARCHAR),
  TRANSACTION_ID VARCHAR AS (VALUE:TRANSACTION_ID::VARCHAR),
  ACTOR_TYPE VARCHAR AS (VALUE:ACTOR_TYPE::VARCHAR),
  ACTOR_DISPLAY_NAME VARCHAR AS (VALUE:ACTOR_DISPLAY_NAME::VARCHAR),
  TARGETS VARCHAR AS (VALUE:TARGETS::VARCHAR),
  THREAT_SUSPECTED VARCHAR AS (VALUE:THREAT_SUSPECTED::VARCHAR),
  RAW VARIANT AS (PARSE_JSON(VALUE:RAW::VARCHAR))
)
PARTITION BY (DT)
LOCATION = @OKTA_SECURITY_STAGE
PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]ndjson[.]gz'
FILE_FORMAT = (FORMAT_NAME = 'OKTA_SECURITY_FORMAT')
AUTO_REFRESH = TRUE;
-- SHOW EXTERNAL TABLES LIKE 'OKTA_SECURITY_EXTERNAL';  -- its notification_channel takes the same S3 events

-- First query:
-- SELECT EVENT_TYPE, COUNT(*) AS EVENTS FROM OKTA_SECURITY
--   WHERE EVENT_DATE >= DATEADD(DAY, -7, CURRENT_DATE()) GROUP BY EVENT_TYPE ORDER BY EVENTS DESC;
