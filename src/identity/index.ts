export type { Role, IdentityTables } from './identity.table.ts';
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
