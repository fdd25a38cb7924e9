import { render } from 'preact';
import { Root } from './ui/Root';
import { app } from './state/app';
import './styles.css';

render(<Root />, document.getElementById('app')!);
void app.boot();

// The app shell works offline once loaded (public/sw.js). Not in dev, where
// Vite serves modules that change on every edit.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/sw.js').catch(() => undefined);
}
