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
