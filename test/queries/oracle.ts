/*
 * The oracle the query tests check against: the same records loaded into DuckDB (an in-memory
 * database, @duckdb/node-api) as table `t`, aggregated there by SQL the test writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../helpers/temp_dir.js';

/** The rows `sql` returns over table `t` of `rows`, with `columns` as DuckDB types (`{ ts: 'BIGINT', k: 'VARCHAR' }`). */
export async function oracle(
  rows: readonly object[],
  columns: Readonly<Record<string, string>>,
  sql: string,
): Promise<Record<string, unknown>[]> {
  const file = path.join(tempDir(), 'rows.ndjson');
  fs.writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const types = Object.entries(columns)
      .map(([name, type]) => `'${name}': '${type}'`)
      .join(', ');
    await connection.run(`CREATE TABLE t AS SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${types}})`);
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, plain(value)])));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function plain(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
