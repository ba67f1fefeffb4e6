/*
 * The thread a query runs on (docs/QUERIES.md, "How it runs"): it compiles the query, restores the
 * checkpoint's state, and answers its runner's requests in order, each with what was emitted and
 * the counters. A request that fails answers with the error; the runner stops the query.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QueryExecutor, type ExecutorSnapshot } from './executor.js';
import { parseQuery } from './parser.js';
import { planQuery } from './query_plan.js';
import { unpackBatch, type ThreadData, type ThreadReply, type ThreadRequest } from './thread_messages.js';

const { sql, snapshot, nowMs } = workerData as ThreadData;
const executor = new QueryExecutor(
  planQuery(parseQuery(sql)),
  nowMs,
  snapshot === null ? undefined : (JSON.parse(Buffer.from(snapshot).toString('utf8')) as ExecutorSnapshot),
);

type Snapshot = NonNullable<Extract<ThreadReply, { output: unknown }>['snapshot']>;

function handle(request: ThreadRequest): Snapshot | undefined {
  switch (request.type) {
    case 'process':
      executor.process(request.shardId, unpackBatch(request.batch), request.millisBehindLatest, request.nowMs);
      return undefined;
    case 'expect':
      executor.expect(request.shardIds, request.nowMs);
      return undefined;
    case 'ended':
      executor.shardEnded(request.shardId, request.children, request.nowMs);
      return undefined;
    case 'advance':
      executor.advance(request.nowMs);
      return undefined;
    case 'snapshot': {
      const snapshot = executor.snapshot();
      // Its own buffer (not a slice of Buffer's pool), since it is transferred.
      return { bytes: new TextEncoder().encode(JSON.stringify(snapshot)), positions: snapshot.positions, ended: snapshot.ended };
    }
  }
}

parentPort!.on('message', ({ id, request }: { id: number; request: ThreadRequest }) => {
  let reply: ThreadReply;
  try {
    const snapshot = handle(request);
    reply = { id, output: executor.take(), status: executor.status, ...(snapshot === undefined ? {} : { snapshot }) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply, 'snapshot' in reply && reply.snapshot !== undefined ? [reply.snapshot.bytes.buffer as ArrayBuffer] : []);
});
