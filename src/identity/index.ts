export { ROLES, type Role, type IdentityTables } from './identity.table.ts';
export {
  createToken,
  findPrincipalByToken,
  listTokens,
  revokeToken,
  touchToken,
  hashToken,
  type Principal,
  type TokenInfo,
} from './token.repository.ts';
export { bootstrapAdmin, ADMIN_TOKEN_FILE } from './bootstrap.ts';
export { sealPlaintextTotpSecrets } from './totp.ts';
export {
  ADMIN,
  ANY,
  HEC,
  PERMISSIONS,
  PUBLIC,
  SCRIPT,
  WORK,
  roleAllowed,
  ruleFor,
  type Rule,
} from './permissions.ts';
export {
  createSession,
  csrfTokenFor,
  findPrincipalBySession,
  revokeSession,
  revokeUserSessions,
  CSRF_COOKIE,
  CSRF_HEADER,
  SESSION_COOKIE,
} from './session.repository.ts';
export { authenticateHecToken } from './hec-token.ts';
export { recordSecurityEvent, type SecurityEvent } from './security-audit.ts';
export {
  createUser,
  getUser,
  listUsers,
  setPassword,
  updateUser,
  deleteUser,
  type UserInfo,
} from './user.repository.ts';
export { hashPassword, verifyPassword, checkPasswordPolicy } from './password.ts';
export { login, type LoginResult } from './login.service.ts';
export { registerIdentityRoutes, toPhUser } from './identity.routes.ts';
export { auditConfigChanges, auditableConfig } from './config-audit.ts';
export { AUDITED_CHANGES, installChangeAudit, type AuditedChange } from './change-audit.ts';
