import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, get, onUnauthorized, post, setCsrfToken, setToken, getToken } from './api/client.ts';
import type { Me } from './api/types.ts';
import { Loading } from './components/ui.tsx';
import { useLiveStatus } from './lib/hooks.ts';
import { connectLive, disconnectLive } from './lib/live.ts';
import { Link, match, navigate, useLocation } from './lib/router.tsx';
import { SessionContext, useSession, type Session } from './lib/session.tsx';
import { applyTheme, effectiveTheme, loadTheme, type ThemeChoice } from './lib/theme.ts';
import { AdminPage } from './pages/admin.tsx';
import { TotpSetup } from './pages/account.tsx';
import { AppsPage } from './pages/apps.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ContainerPage } from './pages/container.tsx';
import { ContainersPage } from './pages/containers.tsx';
import { HostPage } from './pages/host.tsx';
import { ImportsPage } from './pages/imports.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PlaybooksPage } from './pages/playbooks.tsx';
import { ScansPage } from './pages/scans.tsx';
import { ServicesPage } from './pages/services.tsx';
import { SignInPage } from './pages/sign-in.tsx';

interface NavItem {
  href: string;
  label: string;
  key: string;
  admin?: boolean;
}

const NAV: NavItem[] = [
  { href: '/', label: 'Overview', key: 'o' },
  { href: '/inventory', label: 'Services', key: 's' },
  { href: '/containers', label: 'Containers', key: 'c' },
  { href: '/playbooks', label: 'Playbooks & runs', key: 'p' },
  { href: '/apps', label: 'Apps & assets', key: 'a' },
  { href: '/imports', label: 'Imports', key: 'i' },
  { href: '/scans', label: 'Scans', key: 'n' },
  { href: '/audit', label: 'Audit log', key: 'l' },
  { href: '/admin', label: 'Users & tokens', key: 'u' },
];

function route(path: string): ReactNode {
  if (path === '/') return <OverviewPage />;
  if (path === '/inventory') return <ServicesPage />;
  let m = match('/hosts/:host', path);
  if (m) return <HostPage host={m.host!} />;
  if (path === '/containers') return <ContainersPage />;
  m = match('/containers/:id', path);
  if (m) return <ContainerPage id={Number(m.id)} />;
  if (path === '/playbooks') return <PlaybooksPage />;
  if (path === '/apps') return <AppsPage />;
  if (path === '/imports') return <ImportsPage />;
  if (path === '/scans') return <ScansPage />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/admin') return <AdminPage />;
  return (
    <div className="empty">
      <strong>No page at {path}.</strong> <Link href="/">Go to the overview</Link>
    </div>
  );
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const loc = useLocation();

  const loadMe = useCallback(async () => {
    try {
      const m = await get<Me>('/api/me', { quiet401: true });
      setCsrfToken(m.csrf_token ?? m.csrfToken);
      setMe(m);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && getToken()) setToken(null);
      setMe(null);
    }
  }, []);

  useEffect(() => {
    void loadMe();
    return onUnauthorized(() => setMe(null));
  }, [loadMe]);

  useEffect(() => {
    if (me) connectLive();
    else disconnectLive();
    return () => disconnectLive();
  }, [me]);

  const signOut = useCallback(async () => {
    try {
      if (!getToken()) await post('/api/logout');
    } catch {
      // already signed out
    }
    setToken(null);
    setCsrfToken(null);
    setMe(null);
    navigate('/');
  }, []);

  const session = useMemo<Session | null>(
    () =>
      me
        ? {
            me,
            signOut: () => void signOut(),
            isAdmin: me.role === 'admin',
            canWork: me.role !== 'observer',
            refresh: () => void loadMe(),
          }
        : null,
    [me, signOut, loadMe],
  );

  if (me === undefined) return <Loading label="Starting Portcullis…" />;
  if (!session) return <SignInPage onSignedIn={() => void loadMe()} />;
  if (session.me.totp_enrolment_required)
    return (
      <SessionContext.Provider value={session}>
        <main className="signin" id="main">
          <div className="card">
            <h1>Set up two-factor sign-in</h1>
            <p className="muted">This server requires admins to use a TOTP code. Set it up to continue.</p>
            <TotpSetup enabled={false} onChanged={() => void loadMe()} />
            <p>
              <button type="button" onClick={session.signOut}>
                Sign out
              </button>
            </p>
          </div>
        </main>
      </SessionContext.Provider>
    );
  return (
    <SessionContext.Provider value={session}>
      <Shell path={loc.path}>{route(loc.path)}</Shell>
    </SessionContext.Provider>
  );
}

function Shell(props: { path: string; children: ReactNode }) {
  const live = useLiveStatus();
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme());
  const session = useSession();

  useEffect(() => {
    // Move focus to the new page's title so keyboard and screen-reader users land on it.
    const h = document.getElementById('page-title');
    h?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [props.path]);

  useEffect(() => {
    let pendingG = 0;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input,textarea,select,[contenteditable=true]') || e.ctrlKey || e.metaKey || e.altKey)
        return;
      if (e.key === '/') {
        const search = document.querySelector<HTMLInputElement>('input[type=search]');
        if (search) {
          e.preventDefault();
          search.focus();
        }
        return;
      }
      if (e.key === 'g') {
        pendingG = Date.now();
        return;
      }
      if (Date.now() - pendingG < 1500) {
        const item = NAV.find((n) => n.key === e.key);
        if (item) {
          e.preventDefault();
          navigate(item.href);
        }
      }
      pendingG = 0;
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const toggleTheme = () => {
    const next: ThemeChoice = effectiveTheme(theme) === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    setTheme(next);
  };

  const active = (href: string) =>
    href === '/'
      ? props.path === '/'
      : props.path === href ||
        props.path.startsWith(`${href}/`) ||
        (href === '/inventory' && props.path.startsWith('/hosts/'));

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Portcullis overview">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Portcullis</span>
        </Link>
        <div className="topbar-right">
          <span
            className={`live live-${live}`}
            role="status"
            aria-live="polite"
            title="Live updates from the server"
          >
            <span className="dot" aria-hidden="true" />
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
          </span>
          <button
            type="button"
            onClick={toggleTheme}
            aria-label={`Switch to ${effectiveTheme(theme) === 'dark' ? 'light' : 'dark'} theme`}
          >
            {effectiveTheme(theme) === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          <span className="who">
            {session.me.username} <span className="muted">({session.me.role})</span>
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="sidebar" aria-label="Main">
        <ul>
          {NAV.filter((n) => !n.admin || session.isAdmin).map((n) => (
            <li key={n.href}>
              <Link
                href={n.href}
                aria-current={active(n.href) ? 'page' : undefined}
                aria-keyshortcuts={`g ${n.key}`}
              >
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
        <p className="muted small keys">
          Keys: <kbd>g</kbd> then <kbd>o</kbd>/<kbd>s</kbd>/<kbd>c</kbd>… to go, <kbd>/</kbd> to search,{' '}
          <kbd>↑</kbd>
          <kbd>↓</kbd> in tables, <kbd>Enter</kbd> to open.
        </p>
      </nav>
      <main id="main">{props.children}</main>
    </div>
  );
}
