/**
 * Least-privilege IAM policies for an export's S3 destination: the writer's (what logbarge needs
 * to upload, and optionally what `verify` needs to read back and clean up), and a reader's (what a
 * query engine's role needs, e.g. the role behind a Snowflake storage integration).
 *
 * The writer needs s3:PutObject (single and multipart uploads, conditional `If-None-Match`
 * writes) and s3:AbortMultipartUpload (a failed multipart upload is aborted). With SSE-KMS it
 * also needs kms:GenerateDataKey, and kms:Decrypt for multipart uploads and for reading back.
 * It also needs s3:GetObject on the `dt=` keys: when S3 refuses a data write because the key
 * exists (412), logbarge reads that object's metadata (HeadObject) to tell its own earlier upload
 * from another spool's object. The statement covers every writer's keys, because one role usually
 * serves replicas with different writer ids.
 */
import type { Config, ExportConfig } from '../config/schema.js';
import { verifyFolder } from '../store/verify.js';
import { s3Location } from './common.js';

/** One IAM policy statement. */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

/** Options of generateIamPolicy. */
export interface IamPolicyOptions {
  /** `writer`: logbarge's own identity; `reader`: a query engine's role. */
  readonly role: 'writer' | 'reader';
  /** Writer only: add s3:GetObject and s3:DeleteObject on `_verify/` for verify's read-back and --cleanup. */
  readonly verifyExtras: boolean;
}

/** Inputs of generateIamPolicy. */
export interface IamPolicyInput {
  readonly exportConfig: ExportConfig;
  readonly s3: Config['s3'];
  readonly options: IamPolicyOptions;
}

/** The policy and the notes for the person applying it (printed apart, so the JSON stays pure). */
export interface IamPolicy {
  readonly policy: PolicyDocument;
  readonly notes: string[];
}

const action = 'generate iam policy';

/** The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`). */
function arnPartition(region: string | null): string {
  if (region?.startsWith('cn-')) return 'aws-cn';
  if (region?.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The statement granting the KMS actions on the configured key, or a note when there is none to write. */
function kmsStatement(s3: Config['s3'], actions: string[], notes: string[]): PolicyStatement | undefined {
  const sse = s3.serverSideEncryption;
  if (sse !== 'aws:kms' && sse !== 'aws:kms:dsse') return undefined;
  const partition = arnPartition(s3.region);
  const region = s3.region ?? '<REGION>';
  const viaS3 = s3.region ? { StringEquals: { 'kms:ViaService': `s3.${s3.region}.amazonaws.com` } } : undefined;
  const key = s3.kmsKeyId;
  if (key === null) {
    notes.push(`${sse} without s3.kmsKeyId uses the AWS managed key aws/s3, whose key policy already lets this account use it through S3: no KMS statement is needed.`);
    return undefined;
  }
  const arn = /^arn:[^:]+:kms:([^:]*):(\d*):(key|alias)\/(.+)$/.exec(key);
  const sid = 'LogbargeUseKmsKey';
  if ((arn && arn[3] === 'key') || (!arn && !key.startsWith('alias/'))) {
    const resource = arn ? key : `arn:${partition}:kms:${region}:<ACCOUNT_ID>:key/${key}`;
    if (!arn) notes.push(`Replace <ACCOUNT_ID>${s3.region ? '' : ' and <REGION>'} in the KMS key ARN (s3.kmsKeyId is a bare key id).`);
    return { Sid: sid, Effect: 'Allow', Action: actions, Resource: resource, ...(viaS3 ? { Condition: viaS3 } : {}) };
  }
  // An alias in Resource does not authorize using the key; match keys by alias instead.
  const alias = arn ? `alias/${arn[4]}` : key;
  const keys = arn ? `arn:${partition}:kms:${arn[1]}:${arn[2]}:key/*` : `arn:${partition}:kms:${region}:<ACCOUNT_ID>:key/*`;
  if (!arn) notes.push(`Replace <ACCOUNT_ID>${s3.region ? '' : ' and <REGION>'} in the KMS key ARN (s3.kmsKeyId is an alias).`);
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: actions,
    Resource: keys,
    Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias }, ...(viaS3 ?? {}) },
  };
}

/** Generates the IAM policy for an export's destination. */
export function generateIamPolicy({ exportConfig, s3, options }: IamPolicyInput): IamPolicy {
  const location = s3Location(action, exportConfig);
  const partition = arnPartition(s3.region);
  const objects = `arn:${partition}:s3:::${location.bucket}/${location.prefix}*`;
  const verifyObjects = `arn:${partition}:s3:::${location.bucket}/${location.prefix}${verifyFolder}*`;
  const dataObjects = `arn:${partition}:s3:::${location.bucket}/${location.prefix}dt=*`;
  const notes: string[] = [];
  const statements: PolicyStatement[] = [];
  if (options.role === 'writer') {
    statements.push({ Sid: 'LogbargeWriteObjects', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: objects });
    const kms = kmsStatement(s3, ['kms:GenerateDataKey', 'kms:Decrypt'], notes);
    if (kms) statements.push(kms);
    statements.push({ Sid: 'LogbargeCheckExistingObjects', Effect: 'Allow', Action: 's3:GetObject', Resource: dataObjects });
    if (options.verifyExtras) {
      statements.push(
        { Sid: 'OptionalVerifyReadBack', Effect: 'Allow', Action: 's3:GetObject', Resource: verifyObjects },
        { Sid: 'OptionalVerifyCleanup', Effect: 'Allow', Action: 's3:DeleteObject', Resource: verifyObjects },
      );
    } else {
      notes.push('Optional: --verify-extras adds s3:GetObject and s3:DeleteObject on _verify/ only, for `logbarge verify` to read back (otherwise reported as a note) and for --cleanup.');
    }
  } else {
    statements.push(
      { Sid: 'ReadExportObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objects },
      {
        Sid: 'ListExportPrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `arn:${partition}:s3:::${location.bucket}`,
        ...(location.prefix ? { Condition: { StringLike: { 's3:prefix': [`${location.prefix}*`] } } } : {}),
      },
      { Sid: 'LocateBucket', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: `arn:${partition}:s3:::${location.bucket}` },
    );
    const kms = kmsStatement(s3, ['kms:Decrypt'], notes);
    if (kms) statements.push(kms);
  }
  return { policy: { Version: '2012-10-17', Statement: statements }, notes };
}

/** The policy as the JSON text IAM accepts (`aws iam put-role-policy --policy-document file://…`). */
export function policyText(policy: PolicyDocument): string {
  return `${JSON.stringify(policy, null, 2)}\n`;
}
