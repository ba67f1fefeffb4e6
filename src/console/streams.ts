import type { ShardlineClient } from '../client/client.js';
import { ResourceNotFoundException } from '../errors.js';
import type { StreamDescriptionSummary } from '../streams/api_types.js';

/*
 * The reads several pages share: every stream's name (ListStreams page after page) and summary.
 */

/** ListStreams pages read for one list: STREAMS_MAX (1000) streams at the default 100 a page. */
const LIST_PAGES_MAX = 10;

export async function listStreamNames(client: ShardlineClient): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < LIST_PAGES_MAX; page++) {
    const listed = await client.call('ListStreams', token === undefined ? {} : { NextToken: token });
    names.push(...listed.StreamNames);
    token = listed.NextToken;
    if (!listed.HasMoreStreams || token === undefined) break;
  }
  return names;
}

/** Each stream's summary, in name order; a stream deleted between the list and its summary is left out. */
export async function describeStreams(client: ShardlineClient): Promise<StreamDescriptionSummary[]> {
  const names = await listStreamNames(client);
  const summaries = await Promise.all(
    names.map((name) =>
      client.call('DescribeStreamSummary', { StreamName: name }).then(
        (described) => described.StreamDescriptionSummary,
        (error: unknown) => {
          if (error instanceof ResourceNotFoundException) return null;
          throw error;
        },
      ),
    ),
  );
  return summaries.filter((summary): summary is StreamDescriptionSummary => summary !== null);
}
