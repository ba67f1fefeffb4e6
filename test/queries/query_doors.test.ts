import { afterEach, describe, expect, it } from 'vitest';
import { QueryRegistry } from '../../src/queries/registry.js';
import { keyOf, rawCall, startSecureServers, writeCredentials, type SecureServers } from '../auth/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the queries' HTTP door (`ShardlineQueries_20261207.<Op>`, JSON, SigV4 for
// `kinesisanalytics`) runs every operation, obeys IAM policies on the query's ARN
// (`kinesisanalytics:<Op>`), and answers a bad query with InvalidQueryException and its position.
// Method: a real engine behind the HTTP port with access control from a credentials file; requests
// signed by @smithy/signature-v4 as the AWS SDKs sign them.

let servers: SecureServers | undefined;
afterEach(async () => {
  if (servers !== undefined) await (await QueryRegistry.of(servers.engine)).stopAll();
  await servers?.stop();
  servers = undefined;
});

const QUERIES = { targetPrefix: 'ShardlineQueries_20261207.', service: 'kinesisanalytics' };
const ARN = 'arn:aws:kinesisanalytics:us-east-1:000000000000:application/';
const SQL = "CREATE QUERY counts AS INSERT INTO out SELECT COUNT(*) AS n FROM events GROUP BY TUMBLE(ROWTIME, INTERVAL '1' SECOND)";

describe('the queries over HTTP', () => {
  it('runs each operation as the policies allow, on the query ARN', async () => {
    const dir = tempDir();
    const credentials = writeCredentials(dir, {
      admin: [{ Effect: 'Allow', Action: ['kinesisanalytics:*'], Resource: '*' }],
      analyst: [
        { Effect: 'Allow', Action: ['kinesisanalytics:DescribeQuery', 'kinesisanalytics:ListQueries'], Resource: '*' },
        { Effect: 'Allow', Action: ['kinesisanalytics:StopQuery'], Resource: `${ARN}other` },
      ],
    });
    servers = await startSecureServers(dir, credentials);
    await servers.engine.createStream({ StreamName: 'events', ShardCount: 1 });
    await servers.engine.createStream({ StreamName: 'out', ShardCount: 1 });
    const call = (operation: string, request: unknown, who: string): ReturnType<typeof rawCall> =>
      rawCall(servers!.http.url, operation, request, keyOf(who), Date.now(), QUERIES);

    const refused = await call('CreateQuery', { Sql: SQL }, 'analyst');
    expect([refused.status, refused.type]).toEqual([400, 'AccessDeniedException']);
    expect(refused.message).toContain(`${ARN}counts`);
    const created = await call('CreateQuery', { Sql: SQL }, 'admin');
    expect([created.status, created.body]).toEqual([200, { QueryARN: `${ARN}counts` }]);

    const described = await call('DescribeQuery', { QueryName: 'counts' }, 'analyst');
    expect(described.status).toBe(200);
    expect(described.body['QueryDescription']).toMatchObject({ QueryName: 'counts', QueryStatus: 'RUNNING', OutputStream: 'out' });
    expect((await call('ListQueries', {}, 'analyst')).body).toEqual({
      Queries: [{ QueryName: 'counts', QueryStatus: 'RUNNING', SourceStream: 'events', OutputStream: 'out' }],
    });
    expect((await call('StopQuery', { QueryName: 'counts' }, 'analyst')).type).toBe('AccessDeniedException');
    expect((await call('StopQuery', { QueryName: 'counts' }, 'admin')).status).toBe(200);
    expect((await call('StartQuery', { QueryName: 'counts' }, 'admin')).status).toBe(200);
    expect((await call('DeleteQuery', { QueryName: 'counts' }, 'admin')).status).toBe(200);
    const gone = await call('DescribeQuery', { QueryName: 'counts' }, 'admin');
    expect([gone.status, gone.type]).toEqual([400, 'ResourceNotFoundException']);
  });

  it('answers a query that does not parse with InvalidQueryException at its line and column, creating nothing', async () => {
    const dir = tempDir();
    servers = await startSecureServers(
      dir,
      writeCredentials(dir, { admin: [{ Effect: 'Allow', Action: ['kinesisanalytics:*'], Resource: '*' }] }),
    );
    await servers.engine.createStream({ StreamName: 'events', ShardCount: 1 });
    await servers.engine.createStream({ StreamName: 'out', ShardCount: 1 });
    const call = (operation: string, request: unknown): ReturnType<typeof rawCall> =>
      rawCall(servers!.http.url, operation, request, keyOf('admin'), Date.now(), QUERIES);
    const bad = await call('CreateQuery', {
      Sql: 'CREATE QUERY q AS INSERT INTO out\nSELECT nope(1) FROM events GROUP BY TUMBLE(ROWTIME, INTERVAL 1 SECOND)',
    });
    expect([bad.status, bad.type]).toEqual([400, 'InvalidQueryException']);
    expect(bad.message).toMatch(/^line 2, column \d+: /);
    const unknownField = await call('CreateQuery', {
      Sql: "CREATE QUERY q AS INSERT INTO out SELECT SUM(price) FROM events FORMAT CSV (item VARCHAR, qty BIGINT) GROUP BY TUMBLE(ROWTIME, INTERVAL '1' SECOND)",
    });
    expect([unknownField.type, unknownField.message]).toEqual([
      'InvalidQueryException',
      expect.stringMatching(/column 46: unknown field "price"/),
    ]);
    expect((await call('ListQueries', {})).body).toEqual({ Queries: [] });
  });
});
