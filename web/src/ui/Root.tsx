import { useApp } from '../state/app';
import { AuthView } from './AuthView';
import { CreateWorkspace } from './CreateWorkspace';
import { InviteView } from './InviteView';
import { ResetPasswordView } from './ResetPasswordView';
import { Shell } from './Shell';

export function Root() {
  const s = useApp();
  if (s.phase === 'booting') {
    return (
      <div class="center" role="status" aria-live="polite">
        Loading…
      </div>
    );
  }
  if (s.route.name === 'reset') return <ResetPasswordView token={s.route.token} />;
  if (s.phase === 'signedOut') return <AuthView invite={s.route.name === 'invite'} />;
  if (s.route.name === 'invite') return <InviteView token={s.route.token} />;
  if (s.workspaces.length === 0) return <CreateWorkspace first />;
  if (!s.wsId) {
    return (
      <div class="center" role="status" aria-live="polite">
        {s.notice ? (
          <p>
            {s.notice} <button onClick={() => location.reload()}>Retry</button>
          </p>
        ) : (
          'Opening the workspace…'
        )}
      </div>
    );
  }
  return <Shell />;
}
