export { buildServer, type BuildServerOptions } from './server.ts';
export { loadTls, selfSignedCertPath, type TlsMaterial } from './tls.ts';
export { presentedToken, type RouteAuth } from './auth.ts';
export type { AppContext } from './context.ts';
