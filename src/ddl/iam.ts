/**
 * Least-privilege IAM policies for an export's S3 destination: the writer's (what logbarge needs
 * to upload, and optionally what `verify` needs to read back and clean up), a reader's (what a
 * query engine's role needs, e.g. the role behind a Snowflake storage integration), and a
 * sealer's (what `logbarge seal` needs).
 *
 * The writer needs s3:PutObject (single and multipart uploads, conditional `If-None-Match`
 * writes) and s3:AbortMultipartUpload (a failed multipart upload is aborted). With SSE-KMS it
 * also needs kms:GenerateDataKey, and kms:Decrypt for multipart uploads and for reading back.
 * It also needs s3:GetObject on the `dt=` keys: when S3 refuses a data write because the key
 * exists (412), logbarge reads that object's metadata (HeadObject) to tell its own earlier upload
 * from another spool's object. The statement covers every writer's keys, because one role usually
 * serves replicas with different writer ids.
 * For a sealed export it also lists and reads `_seals/` (late objects), or, when the daemon
 * seals (`seal.schedule`), has the sealer's statements too.
 */
import type { Config, ExportConfig } from '../config/schema.js';
import { verifyFolder } from '../store/verify.js';
import { quarantineFolder } from '../export/keys.js';
import { digestFolder } from '../export/digest.js';
import { s3Location } from './common.js';

/** One IAM policy statement. */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  /** Bucket policies only: whom the statement applies to (`*`: every principal). */
  readonly Principal?: string;
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
  /**
   * `writer`: logbarge's own identity (with the sealer's statements when the export has a
   * `seal.schedule`, since the daemon then seals); `reader`: a query engine's role; `sealer`: an
   * identity that runs `logbarge seal` and nothing else.
   */
  readonly role: 'writer' | 'reader' | 'sealer';
  /** Writer only: add s3:GetObject, s3:DeleteObject and s3:ListBucket on `_verify/` for verify's read-back, --cleanup and the daemon's sweep of old verify objects. */
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

/**
 * What sealing needs (docs/sealing.md): list the prefix, read every object under it, write and
 * delete under the seal folders, and delete raw objects when `seal.deleteRaw` is on.
 */
function sealerStatements(options: { exportConfig: ExportConfig; bucketArn: string; prefix: string }): PolicyStatement[] {
  const { exportConfig, bucketArn, prefix } = options;
  const under = (folder: string): string => `${bucketArn}/${prefix}${folder}*`;
  const folders = ['_sealed/', '_seals/', '_seal_leases/', '_seal_pending/'].map(under);
  return [
    {
      Sid: 'SealListPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      ...(prefix ? { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
    },
    { Sid: 'SealReadObjects', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/${prefix}*` },
    { Sid: 'SealWriteSeals', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: folders },
    {
      Sid: 'SealDeleteReplaced',
      Effect: 'Allow',
      Action: 's3:DeleteObject',
      Resource: [...folders.filter((f) => !f.endsWith('/_seals/*')), ...(exportConfig.seal?.deleteRaw ? [under('dt=')] : [])],
    },
  ];
}

/** Generates the IAM policy for an export's destination. */
export function generateIamPolicy({ exportConfig, s3, options }: IamPolicyInput): IamPolicy {
  const location = s3Location(action, exportConfig);
  const partition = arnPartition(s3.region);
  const objects = `arn:${partition}:s3:::${location.bucket}/${location.prefix}*`;
  const verifyObjects = `arn:${partition}:s3:::${location.bucket}/${location.prefix}${verifyFolder}*`;
  // What the writer HEADs (or GETs) after a conditional upload found the key taken: data and
  // quarantine objects (their metadata names the rows), and digests (compared byte for byte).
  const existingObjects = [
    `arn:${partition}:s3:::${location.bucket}/${location.prefix}dt=*`,
    `arn:${partition}:s3:::${location.bucket}/${location.prefix}${quarantineFolder}*`,
    ...(exportConfig.integrity ? [`arn:${partition}:s3:::${location.bucket}/${location.prefix}${digestFolder}*`] : []),
  ];
  const notes: string[] = [];
  const statements: PolicyStatement[] = [];
  const bucketArn = `arn:${partition}:s3:::${location.bucket}`;
  if (options.role === 'sealer') {
    if (!exportConfig.seal) notes.push(`Export "${exportConfig.name}" has no "seal" section: \`logbarge seal\` refuses it until it has one.`);
    statements.push(...sealerStatements({ exportConfig, bucketArn, prefix: location.prefix }));
    const kms = kmsStatement(s3, ['kms:GenerateDataKey', 'kms:Decrypt'], notes);
    if (kms) statements.push(kms);
  } else if (options.role === 'writer') {
    statements.push({ Sid: 'LogbargeWriteObjects', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: objects });
    if (exportConfig.seal?.schedule) {
      notes.push('seal.schedule is set: the daemon seals, so the policy includes the sealer\'s statements (the same as --sealer).');
      statements.push(...sealerStatements({ exportConfig, bucketArn, prefix: location.prefix }));
    } else if (exportConfig.seal) {
      // After each cycle the daemon lists and reads the records of old days it delivered into (late objects).
      statements.push(
        { Sid: 'LogbargeReadSealRecords', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/${location.prefix}_seals/*` },
        { Sid: 'LogbargeListSealRecords', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${location.prefix}_seals/*`] } } },
      );
      notes.push('The export has a "seal" section: the writer reads _seals/ to report late objects; `logbarge seal` itself needs `ddl iam --sealer`.');
    }
    const kms = kmsStatement(s3, ['kms:GenerateDataKey', 'kms:Decrypt'], notes);
    if (kms) statements.push(kms);
    statements.push({ Sid: 'LogbargeCheckExistingObjects', Effect: 'Allow', Action: 's3:GetObject', Resource: existingObjects });
    if (options.verifyExtras) {
      statements.push(
        { Sid: 'OptionalVerifyReadBack', Effect: 'Allow', Action: 's3:GetObject', Resource: verifyObjects },
        { Sid: 'OptionalVerifyCleanup', Effect: 'Allow', Action: 's3:DeleteObject', Resource: verifyObjects },
        {
          Sid: 'OptionalVerifyList',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: `arn:${partition}:s3:::${location.bucket}`,
          Condition: { StringLike: { 's3:prefix': [`${location.prefix}${verifyFolder}*`] } },
        },
      );
    } else {
      notes.push('Optional: --verify-extras adds s3:GetObject, s3:DeleteObject and s3:ListBucket on _verify/ only, for `logbarge verify` to read back (otherwise reported as a note), for --cleanup, and for the daemon to sweep its old verify objects.');
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

/**
 * The folders whose every object logbarge writes once, with `If-None-Match: *`: data objects and
 * quarantine (exports), digests (integrity). Seal records (`_seals/`), pending deletions and the
 * verify object are written without it (a re-seal rewrites its day's record), so a bucket policy
 * requiring the header must leave them out.
 */
export const writeOnceFolders = ['dt=', '_quarantine/', '_digest/'] as const;

/**
 * A bucket policy that refuses every PutObject and CompleteMultipartUpload under the export's
 * write-once folders that does not carry `If-None-Match` (so no one, whatever their IAM rights,
 * overwrites a delivered object or digest). The upload steps of a multipart upload
 * (CreateMultipartUpload, UploadPart) take no conditional headers; `s3:ObjectCreationOperation`
 * is false for them, so the statement leaves them alone (AWS: "Enforce conditional writes on
 * Amazon S3 buckets").
 */
export function generateBucketPolicy({ exportConfig, s3 }: { exportConfig: ExportConfig; s3: Config['s3'] }): IamPolicy {
  const location = s3Location('generate bucket policy', exportConfig);
  const objectsUnder = (folder: string): string => `arn:${arnPartition(s3.region)}:s3:::${location.bucket}/${location.prefix}${folder}*`;
  const notes = [
    'This is a bucket policy: apply it with `aws s3api put-bucket-policy --bucket ' + location.bucket + ' --policy file://bucket-policy.json` (merge its statement into an existing bucket policy).',
    'It covers dt=, _quarantine/ and _digest/, which logbarge writes with If-None-Match: *. It leaves out _seals/ and _seal_pending/ (a re-seal rewrites the record and pending deletions of its day in place) and _verify/ (`logbarge verify` writes without the header): requiring the header there would break `logbarge seal` and `logbarge verify`.',
    'A retried upload of an existing key is answered 412 and logbarge then compares the object there (HeadObject); CopyObject into these folders is refused (it takes no If-None-Match), and an S3-compatible endpoint without conditional writes (501) cannot write there at all.',
    'The policy stops overwrites, not deletes: combine it with S3 Object Lock in compliance mode (which also keeps seal.deleteRaw from deleting raw objects before their retention ends). See docs/integrity.md.',
  ];
  return {
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'LogbargeRequireIfNoneMatch',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutObject',
          Resource: writeOnceFolders.map(objectsUnder),
          Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
        },
      ],
    },
    notes,
  };
}

/** The policy as the JSON text IAM accepts (`aws iam put-role-policy --policy-document file://…`). */
export function policyText(policy: PolicyDocument): string {
  return `${JSON.stringify(policy, null, 2)}\n`;
}
