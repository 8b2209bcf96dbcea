import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { prefetch } from './lib/hooks.ts';
import { applyTheme, loadTheme } from './lib/theme.ts';
import { inventoryPath } from './pages/services.tsx';
import './styles.css';

applyTheme(loadTheme());
// Deep links into the inventory (the page analysts open most) fetch its rows while the session is checked.
if (location.pathname === '/inventory') prefetch(inventoryPath(new URLSearchParams(location.search)));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
