import { Stack, Token, Validations } from 'aws-cdk-lib';
import { Grant, IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface InstanceConfigAccessProps {
  /** Parameter Store path holding the instance configs, e.g. `/ecwid-events/dev` (no trailing slash). */
  readonly ssmPrefix: string;
  /**
   * Customer managed key the SecureString parameters are encrypted with.
   *
   * @default - the AWS managed key `alias/aws/ssm`
   */
  readonly ssmKmsKey?: IKey;
}

// Parameter names: letters, digits, `_.-/`; `/aws` and `/ssm` are reserved by AWS.
const SSM_PREFIX_PATTERN = /^(\/[A-Za-z0-9_.-]+)+$/;
const RESERVED_SSM_ROOTS = /^\/(aws|ssm)(\/|$)/i;

/** Throws a clear error for a prefix Parameter Store (or our IAM pattern) cannot use. */
export function validateSsmPrefix(prefix: string): void {
  if (Token.isUnresolved(prefix)) {
    throw new Error('ssmPrefix must be a literal string: it is baked into IAM resource patterns at synth time');
  }
  if (!SSM_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `ssmPrefix "${prefix}" is invalid: it must start with "/", have no trailing "/" or empty segment, ` +
        'and use only letters, digits and "_.-"',
    );
  }
  if (RESERVED_SSM_ROOTS.test(prefix)) {
    throw new Error(`ssmPrefix "${prefix}" is invalid: paths under /aws and /ssm are reserved by AWS`);
  }
}

/**
 * Read access to the instance configs under one Parameter Store prefix: the single place that
 * knows which IAM actions reading a SecureString config needs (the functions read each
 * parameter by name, so ssm:GetParameter only; SecureStrings also need kms:Decrypt).
 */
export class InstanceConfigAccess extends Construct {
  public readonly ssmPrefix: string;
  /** IAM pattern matching every parameter under the prefix. */
  public readonly parameterArnPattern: string;
  public readonly ssmKmsKey?: IKey;

  constructor(scope: Construct, id: string, props: InstanceConfigAccessProps) {
    super(scope, id);
    validateSsmPrefix(props.ssmPrefix);
    this.ssmPrefix = props.ssmPrefix;
    this.ssmKmsKey = props.ssmKmsKey;
    this.parameterArnPattern = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      // formatArn joins resource and name with "/", and the prefix starts with one.
      resourceName: `${props.ssmPrefix.slice(1)}/*`,
    });
  }

  /**
   * Lets `grantee` read (and decrypt) every parameter under the prefix, nothing else.
   * Acknowledges the wildcards this needs, each with its reason, on `policyScope` (a construct
   * that contains the grantee's role).
   */
  public grantRead(grantee: IGrantable, policyScope: Construct): void {
    const stack = Stack.of(this);
    Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter'],
      resourceArns: [this.parameterArnPattern],
    });
    // kms:Decrypt only when Parameter Store calls KMS for us (ViaService) and only for
    // parameters under the prefix (Parameter Store puts the parameter ARN in the encryption context).
    const keyArn = this.ssmKmsKey
      ? this.ssmKmsKey.keyArn
      : // The AWS managed aws/ssm key's id is not known at synth time; the conditions narrow it.
        stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': this.parameterArnPattern },
        },
      }),
    );

    const validations = Validations.of(policyScope);
    validations.acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResourceText(stack, this.parameterArnPattern)}]`,
      reason:
        'Instance configs are created at run time by the operator CLI, one parameter per instance and store, ' +
        'so the function may read any parameter under its own prefix (ssm:GetParameter only).',
    });
    if (!this.ssmKmsKey) {
      validations.acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResourceText(stack, keyArn)}]`,
        reason:
          'The AWS managed aws/ssm key cannot be named by ARN at synth time; kms:Decrypt is limited by ' +
          'kms:ViaService=ssm and by kms:EncryptionContext:PARAMETER_ARN to parameters under the prefix.',
      });
    }
  }
}

/**
 * How cdk-nag spells a resource in its IAM5 finding ids: the resolved ARN with intrinsic
 * references written as `<AWS::Region>` etc. (as cdk-nag's flattenCfnReference does).
 * The poller's acknowledgements use it too.
 */
export function nagResourceText(stack: Stack, arn: string): string {
  const resolved = stack.resolve(arn) as unknown;
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object' && 'Ref' in part) return `<${String((part as { Ref: string }).Ref)}>`;
    if (part && typeof part === 'object' && 'Fn::GetAtt' in part) return `<${(part as { 'Fn::GetAtt': string[] })['Fn::GetAtt'].join('.')}>`;
    throw new Error(`unexpected intrinsic in ARN: ${JSON.stringify(part)}`);
  };
  if (typeof resolved === 'string') return resolved;
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`unexpected ARN shape: ${JSON.stringify(resolved)}`);
  return join[1].map(render).join(join[0]);
}
