/*
 * The object store of a delivery stream whose destination is a local directory: `<root>/<bucket>/<key>`,
 * the key's segments as directories, so the tree reads as the bucket would list. An object is
 * written to a temporary file beside its final name, fsynced and renamed into place, so a reader
 * (or a crash) sees the old object or the new one whole, never part of one; put() resolves only
 * once the rename, and every directory created for it, is durable, since the delivery is
 * checkpointed after.
 */

import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentException } from '../errors.js';
import { syncDirectory } from '../util/sync_directory.js';
import type { DeliveryObject, ObjectStore } from './object_store.js';

export class DirectoryStore implements ObjectStore {
  private readonly root: string;
  /** Directories whose own entry, and every ancestor's up to the root, is known to be on disk. */
  private readonly durable = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(bucket: string, object: DeliveryObject): Promise<void> {
    const file = path.join(this.root, checkedBucket(bucket), ...keySegments(object.key));
    const dir = path.dirname(file);
    await this.ensureDirectory(dir);
    // A name of our own in the same directory: rename() is atomic only within a file system.
    const temp = path.join(dir, `.shardline-${randomUUID()}.tmp`);
    try {
      await writeDurably(temp, object.body);
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await syncDirectory(dir);
  }

  /**
   * mkdir -p, then an fsync of the parent of each directory from `dir` up to the root, so a new
   * directory's name survives a crash. A directory some other put() is still creating is not yet
   * in `durable`, so this put() syncs it too rather than trusting a mkdir that found it there.
   */
  private async ensureDirectory(dir: string): Promise<void> {
    const created = await fs.mkdir(dir, { recursive: true });
    if (created === undefined && this.durable.has(dir)) return;
    const parents: string[] = [];
    for (let d = dir; ; d = path.dirname(d)) {
      parents.push(path.dirname(d));
      if (d === this.root) break;
    }
    await Promise.all(parents.map(syncDirectory));
    this.durable.add(dir);
  }
}

async function writeDurably(file: string, body: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkedBucket(bucket: string): string {
  if (!isPlainSegment(bucket)) throw new InvalidArgumentException(`Bucket name ${JSON.stringify(bucket)} is not a directory name`);
  return bucket;
}

/**
 * The key's segments, refused when the key would leave the bucket's directory (`..`, a leading
 * `/`, NUL) or could not be laid out as its own file: an empty or `.` segment would make two keys
 * one file (`a//b` and `a/./b` are `a/b`), and a trailing `/` names a directory.
 */
function keySegments(key: string): string[] {
  const segments = key.split('/');
  if (!segments.every(isPlainSegment)) {
    throw new InvalidArgumentException(`Object key ${JSON.stringify(key)} cannot be a file under the bucket's directory`);
  }
  return segments;
}

function isPlainSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !segment.includes('/') && !segment.includes('\0');
}
