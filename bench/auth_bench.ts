/**
 * The cost of security per request (issue 17), in one run, in this process:
 * - SigV4 verification of a signed PutRecord (verifySigV4, the signing key cached as on a server)
 *   and the policy check of it (AccessControl.authorize, a three-statement policy with a
 *   condition): p50/p99 in nanoseconds per call.
 * - PutRecord through the AWS SDK (HTTP/2) one at a time, and a one-record putRecords over the
 *   WebSocket one at a time, each against a server with auth off and one with auth on, on one
 *   engine, in alternating rounds: latency p50/p99 of both, and their ratio.
 * - Encryption at rest: records/s and MB/s of putRecords (500 per call) and of reading them back
 *   with getRecords, embedded, for 100 B and 64 KiB records, on a plaintext stream and on one
 *   encrypted with StartStreamEncryption, one after the other for each size, in one run.
 * Usage: npm run bench:auth [-- --json <file>]. Environment: CALLS (20000), REQUESTS (2000),
 * STORE_MIB (64, per side and record size).
 * Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { AccessControl } from '../src/auth/access_control.js';
import { verifySigV4, type SignedRequest } from '../src/auth/sigv4.js';
import { connect } from '../src/client/node.js';
import { Engine } from '../src/engine/engine.js';
import { KinesisHttpServer } from '../src/net/kinesis/server.js';
import { ShardlineServer } from '../src/net/server.js';
import {
  echoEnvironment,
  envNumber,
  environment,
  finish,
  jsonPathArg,
  latencyHistogram,
  ratio,
  summarizeHistogram,
} from './bench_common.js';

const config = {
  calls: Math.round(envNumber('CALLS', 20_000, 100, 10_000_000)),
  requests: Math.round(envNumber('REQUESTS', 2000, 100, 1_000_000)),
  storeMiB: Math.round(envNumber('STORE_MIB', 64, 1, 4096)),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const KEY = { accessKeyId: 'AKIABENCHWRITER00001', secretAccessKey: 'bench-secret-0123456789abcdef' };
const POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['kinesis:PutRecord*', 'kinesis:Describe*'],
      Resource: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench*',
    },
    { Effect: 'Deny', Action: 'kinesis:Delete*', Resource: '*' },
    {
      Effect: 'Allow',
      Action: 'kinesis:ListStreams',
      Resource: '*',
      Condition: { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } },
    },
  ],
};

/** Nanoseconds per call of `run` over `count` calls, as p50/p99. */
function perCall(count: number, run: (index: number) => void): { p50Ns: number; p99Ns: number } {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    run(i);
    times[i] = Number(process.hrtime.bigint() - started);
  }
  times.sort();
  return { p50Ns: Math.round(times[Math.floor(count * 0.5)]!), p99Ns: Math.round(times[Math.floor(count * 0.99)]!) };
}

async function signedRequests(count: number): Promise<SignedRequest[]> {
  const signer = new SignatureV4({ credentials: KEY, region: 'us-east-1', service: 'kinesis', sha256: Hash.bind(null, 'sha256') });
  const requests: SignedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ StreamName: 'bench', PartitionKey: `k${i}`, Data: 'eHl6' });
    const headers = { host: '127.0.0.1:4568', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecord' };
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4568, path: '/', headers, body });
    requests.push({ method: 'POST', path: '/', query: '', headers: signed.headers, body: new TextEncoder().encode(body) });
  }
  return requests;
}

type Histogram = ReturnType<typeof latencyHistogram>;
const ROUNDS = 8;

/**
 * Both sides in alternating rounds, after a round of each unrecorded: run one after the other,
 * the second side would get the warmer JIT and page cache.
 */
async function alternating(measure: (side: string, histogram: Histogram | null, count: number) => Promise<void>, sides: [string, string]) {
  const histograms = [latencyHistogram(), latencyHistogram()] as const;
  for (const side of sides) await measure(side, null, Math.ceil(config.requests / ROUNDS));
  for (let round = 0; round < ROUNDS; round++)
    for (const [index, side] of sides.entries()) await measure(side, histograms[index]!, Math.ceil(config.requests / ROUNDS));
  return histograms.map(summarizeHistogram);
}

async function sdkLatency(endpoint: string, histogram: Histogram | null, count: number): Promise<void> {
  const sdk = new KinesisClient({ endpoint, region: 'us-east-1', credentials: KEY, maxAttempts: 1 });
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await sdk.send(new PutRecordCommand({ StreamName: 'bench', PartitionKey: `k${i}`, Data: new Uint8Array(100) }));
      histogram?.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    }
  } finally {
    sdk.destroy();
  }
}

async function webSocketLatency(url: string, histogram: Histogram | null, count: number): Promise<void> {
  const client = await connect(url, { credentials: KEY });
  const data = new Uint8Array(100);
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await client.putRecords('bench', [{ partitionKey: `k${i}`, data }]);
      histogram?.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    }
  } finally {
    client.close();
  }
}

interface StoreRate {
  readonly putRecordsPerSecond: number;
  readonly putMBps: number;
  readonly readRecordsPerSecond: number;
  readonly readMBps: number;
}

/** Puts `bytes` of `recordBytes` records into the stream (500 per call, at most 4 MiB), then reads them all back. */
async function storeRate(engine: Engine, stream: string, recordBytes: number, bytes: number): Promise<StoreRate> {
  const perCall = Math.max(1, Math.min(500, Math.floor((4 * 1024 * 1024) / recordBytes)));
  const calls = Math.max(1, Math.round(bytes / (recordBytes * perCall)));
  const data = new Uint8Array(recordBytes).fill(0x61);
  const Records = Array.from({ length: perCall }, (_, i) => ({ PartitionKey: `k${i}`, Data: data }));
  const putStarted = performance.now();
  for (let i = 0; i < calls; i++) await engine.putRecords({ StreamName: stream, Records });
  const putSeconds = (performance.now() - putStarted) / 1000;
  const { ShardId } = engine.listShards({ StreamName: stream }).Shards[0]!;
  let iterator: string | undefined = (await engine.getShardIterator({ StreamName: stream, ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
    .ShardIterator;
  let read = 0;
  const readStarted = performance.now();
  while (iterator !== undefined && read < calls * perCall) {
    const page = await engine.getRecords({ ShardIterator: iterator });
    read += page.Records.length;
    iterator = page.NextShardIterator;
  }
  const readSeconds = (performance.now() - readStarted) / 1000;
  const total = calls * perCall;
  return {
    putRecordsPerSecond: Math.round(total / putSeconds),
    putMBps: Math.round((total * recordBytes) / 1e6 / putSeconds),
    readRecordsPerSecond: Math.round(read / readSeconds),
    readMBps: Math.round((read * recordBytes) / 1e6 / readSeconds),
  };
}

/** A plaintext and an encrypted stream of one shard each, for each record size. */
async function encryptionRates(engine: Engine): Promise<Record<string, StoreRate>> {
  const rates: Record<string, StoreRate> = {};
  for (const recordBytes of [100, 64 * 1024]) {
    for (const side of ['plain', 'encrypted'] as const) {
      const stream = `store-${side}-${recordBytes}`;
      await engine.createStream({ StreamName: stream, ShardCount: 1 });
      if (side === 'encrypted')
        await engine.startStreamEncryption({ StreamName: stream, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
      rates[`${side}${recordBytes}`] = await storeRate(engine, stream, recordBytes, config.storeMiB * 1024 * 1024);
      const rate = rates[`${side}${recordBytes}`]!;
      console.log(
        `${side} ${recordBytes} B: put ${rate.putRecordsPerSecond} records/s (${rate.putMBps} MB/s), read ${rate.readRecordsPerSecond} records/s (${rate.readMBps} MB/s)`,
      );
    }
  }
  return rates;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-auth-bench-'));
  echoEnvironment('bench:auth', { ...environment(dataDir), ...config });
  const credentials = path.join(dataDir, 'credentials.json');
  const identity = { name: 'writer', accessKeys: [KEY], policies: [{ name: 'bench', document: POLICY }] };
  fs.writeFileSync(credentials, JSON.stringify({ version: 1, identities: [identity] }), { mode: 0o600 });
  const engine = await Engine.open({ dataDir: path.join(dataDir, 'data'), fsync: 'never', enforceLimits: false });
  const on = AccessControl.fromFile(engine, credentials);
  const off = AccessControl.off(engine);
  const servers = {
    httpOff: await KinesisHttpServer.start({ engine, port: 0, access: off }),
    httpOn: await KinesisHttpServer.start({ engine, port: 0, access: on }),
    wsOff: await ShardlineServer.start({ engine, port: 0, access: off }),
    wsOn: await ShardlineServer.start({ engine, port: 0, access: on }),
  };
  try {
    await engine.createStream({ StreamName: 'bench', ShardCount: 4 });
    const requests = await signedRequests(config.calls);
    const secretOf = (id: string): string | undefined => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined);
    const verify = perCall(config.calls, (i) => verifySigV4(requests[i]!, secretOf, { service: 'kinesis' }));
    console.log(`SigV4 verification: p50 ${verify.p50Ns} ns, p99 ${verify.p99Ns} ns`);
    const caller = on.callerOf(KEY.accessKeyId);
    const origin = { sourceIp: '127.0.0.1', secureTransport: false };
    const policy = perCall(config.calls, () => on.authorize(caller, 'PutRecord', { StreamName: 'bench' }, origin));
    console.log(`policy check: p50 ${policy.p50Ns} ns, p99 ${policy.p99Ns} ns`);
    const [httpOff, httpOn] = (await alternating(sdkLatency, [servers.httpOff.url, servers.httpOn.url])) as [
      ReturnType<typeof summarizeHistogram>,
      ReturnType<typeof summarizeHistogram>,
    ];
    console.log(
      `SDK PutRecord: auth off p50 ${httpOff.p50Us} us p99 ${httpOff.p99Us} us; auth on p50 ${httpOn.p50Us} us p99 ${httpOn.p99Us} us`,
    );
    const [wsOff, wsOn] = (await alternating(webSocketLatency, [servers.wsOff.url, servers.wsOn.url])) as [
      ReturnType<typeof summarizeHistogram>,
      ReturnType<typeof summarizeHistogram>,
    ];
    console.log(`WebSocket put: auth off p50 ${wsOff.p50Us} us p99 ${wsOff.p99Us} us; auth on p50 ${wsOn.p50Us} us p99 ${wsOn.p99Us} us`);
    const rates = await encryptionRates(engine);
    const of = (name: string): StoreRate => rates[name]!;
    finish(
      {
        encryptedToPlainPut100: ratio(of('encrypted100').putRecordsPerSecond, of('plain100').putRecordsPerSecond),
        encryptedToPlainRead100: ratio(of('encrypted100').readRecordsPerSecond, of('plain100').readRecordsPerSecond),
        encryptedToPlainPut64k: ratio(of('encrypted65536').putMBps, of('plain65536').putMBps),
        encryptedToPlainRead64k: ratio(of('encrypted65536').readMBps, of('plain65536').readMBps),
        rates,
        sigv4P50Ns: verify.p50Ns,
        sigv4P99Ns: verify.p99Ns,
        policyP50Ns: policy.p50Ns,
        policyP99Ns: policy.p99Ns,
        sdkPutOffP50Us: httpOff.p50Us,
        sdkPutOffP99Us: httpOff.p99Us,
        sdkPutOnP50Us: httpOn.p50Us,
        sdkPutOnP99Us: httpOn.p99Us,
        sdkPutOnToOffP50: ratio(httpOn.p50Us, httpOff.p50Us),
        wsPutOffP50Us: wsOff.p50Us,
        wsPutOffP99Us: wsOff.p99Us,
        wsPutOnP50Us: wsOn.p50Us,
        wsPutOnP99Us: wsOn.p99Us,
        wsPutOnToOffP50: ratio(wsOn.p50Us, wsOff.p50Us),
      },
      config.jsonPath,
    );
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
