import path from 'node:path';
import { AuditLog } from '../auth/audit_log.js';
import { AuditTrail } from '../auth/audit_trail.js';

/** `serve --audit [dir]`: the audit trail the doors write to, or null without the flag. Loaded by serve alone. */
export async function openAuditTrail(
  audit: string | boolean | undefined,
  dataDir: string,
  dataEvents: boolean,
): Promise<AuditTrail | null> {
  if (audit === undefined || audit === false) return null;
  const directory = audit === true ? path.join(dataDir, 'audit') : path.resolve(audit);
  return new AuditTrail(await AuditLog.open({ directory }), dataEvents);
}
