import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { withClient } from './connection.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline query create|list|describe|stop|start|delete`: continuous queries (docs/QUERIES.md)
 * over the WebSocket CALL (`Queries.<Op>`).
 */

interface CreateOptions extends ClientOptions {
  readonly file?: string;
}

export function addQueryCommands(program: Command): void {
  const query = program.command('query').description('continuous windowed SQL queries over streams, written into a stream');
  query
    .command('create')
    .description('create a query and start it; prints its ARN (a refusal names the line and column)')
    .argument('[sql]', 'CREATE QUERY <name> AS INSERT INTO <stream> SELECT ... (or --file)')
    .option('--file <file>', 'read the query from this file')
    .addOption(urlOption())
    .action((sql: string | undefined, options: CreateOptions) =>
      withClient(options.url, async (client) => {
        const { QueryARN } = (await client.callNamed('Queries.CreateQuery', { Sql: queryText(sql, options.file) })) as { QueryARN: string };
        await writeLine(QueryARN);
      }),
    );
  query
    .command('list')
    .description('the queries: name, status, source and output')
    .addOption(urlOption())
    .action((options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const { Queries } = (await client.callNamed('Queries.ListQueries', {})) as {
          Queries: { QueryName: string; QueryStatus: string; SourceStream: string; OutputStream: string }[];
        };
        for (const entry of Queries)
          await writeLine(`${entry.QueryName}\t${entry.QueryStatus}\t${entry.SourceStream} -> ${entry.OutputStream}`);
      }),
    );
  query
    .command('describe')
    .description('a query, with its status: records in, rows out, late and bad records, input lag, watermark (JSON)')
    .argument('<name>', 'the query')
    .addOption(urlOption())
    .action((name: string, options: ClientOptions) =>
      withClient(options.url, async (client) =>
        writeLine(JSON.stringify(await client.callNamed('Queries.DescribeQuery', { QueryName: name }), null, 2)),
      ),
    );
  for (const [command, operation, description, done] of [
    ['stop', 'StopQuery', 'stop a query, its state checkpointed (start goes on from there)', 'stopped'],
    ['start', 'StartQuery', 'start a stopped or failed query from its checkpoint', 'started'],
    ['delete', 'DeleteQuery', 'stop and remove a query, its checkpoint and its leases (the streams stay)', 'deleted'],
  ] as const)
    query
      .command(command)
      .description(description)
      .argument('<name>', 'the query')
      .addOption(urlOption())
      .action((name: string, options: ClientOptions) =>
        withClient(options.url, async (client) => {
          await client.callNamed(`Queries.${operation}`, { QueryName: name });
          await writeLine(`${done} ${name}`);
        }),
      );
}

function queryText(sql: string | undefined, file: string | undefined): string {
  if ((sql === undefined) === (file === undefined))
    throw new InvalidArgumentError('give the query as an argument or with --file, not both');
  if (sql !== undefined) return sql;
  try {
    return fs.readFileSync(file!, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`--file ${file}: ${(error as Error).message}`);
  }
}
