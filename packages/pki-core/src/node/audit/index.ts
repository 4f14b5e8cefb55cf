export { AuditCheckpoints, checkAuditCheckpointPolicy, DEFAULT_AUDIT_CHECKPOINT_POLICY, type AuditCheckpointPolicy } from './audit-checkpoints.ts';
export { AUDIT_PAGE_ENTRIES_MAX, auditEventSummary, AuditHistory, type AuditPage } from './audit-history.ts';
export { verifyAuditHistory, type AuditDivergence, type AuditHistoryEntry, type AuditHistoryInput, type AuditSummary, type AuditVerdict } from './audit-verify.ts';
