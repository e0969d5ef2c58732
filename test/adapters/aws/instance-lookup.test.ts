import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { awsInstanceLookup } from '../../../functions/adapters/aws/instance-lookup';
import { SsmInstanceRepository } from '../../../functions/adapters/aws/ssm-instance-repository';
import { CachedInstanceStore } from '../../../functions/core/cached-instance-store';

test('with the read model table set, instances are read through the cached read model; its clients go through the wrapper', () => {
  const wrapped: string[] = [];
  const lookup = awsInstanceLookup({ ssmPrefix: '/p', cacheSeconds: 30, readModelTableName: 'instances' }, (client) => {
    wrapped.push((client as object).constructor.name);
    return client;
  });
  expect(lookup).toBeInstanceOf(CachedInstanceStore);
  expect(wrapped).toEqual(['DynamoDBClient', 'KMSClient']);
});

test('without it, from Parameter Store directly (as before the read model)', () => {
  const wrapped: string[] = [];
  const lookup = awsInstanceLookup({ ssmPrefix: '/p', cacheSeconds: 30 }, (client) => {
    wrapped.push((client as object).constructor.name);
    return client;
  });
  expect(lookup).toBeInstanceOf(SsmInstanceRepository);
  expect(wrapped).toEqual(['SSMClient']);
});

describe('the path not taken is never loaded (cold start)', () => {
  const loadedBy = (config: string): string[] => {
    const script = `
      const { awsInstanceLookup } = require('./functions/adapters/aws/instance-lookup');
      awsInstanceLookup(${config});
      const loaded = Object.keys(require.cache).map((file) => file.replace(/\\\\/g, '/'));
      const names = ['@aws-sdk/client-ssm/', '@aws-sdk/client-dynamodb/', '@aws-sdk/client-kms/', '@aws-lambda-powertools/parameters/', 'adapters/aws/ssm-instance-repository', 'adapters/aws/dynamodb-instance-directory'];
      process.stdout.write(JSON.stringify(names.filter((name) => loaded.some((file) => file.includes(name)))));`;
    const output = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: join(__dirname, '..', '..', '..'),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      encoding: 'utf8',
    });
    return JSON.parse(output) as string[];
  };

  test('the read model path loads neither the SSM client nor Powertools Parameters', () => {
    expect(loadedBy(`{ ssmPrefix: '/p', cacheSeconds: 30, readModelTableName: 'instances' }`)).toEqual([
      '@aws-sdk/client-dynamodb/',
      '@aws-sdk/client-kms/',
      'adapters/aws/dynamodb-instance-directory',
    ]);
  });

  test('the Parameter Store path loads neither DynamoDB nor KMS', () => {
    expect(loadedBy(`{ ssmPrefix: '/p', cacheSeconds: 30 }`)).toEqual([
      '@aws-sdk/client-ssm/',
      '@aws-lambda-powertools/parameters/',
      'adapters/aws/ssm-instance-repository',
    ]);
  });
});
