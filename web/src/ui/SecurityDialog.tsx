import { useEffect, useState } from 'preact/hooks';
import type { Session, TwoFactorSetup } from '../api/client';
import { describeAgent, groupSecret, normalizeCode, otpauthLabel } from '../lib/security';
import { formatWhen } from '../lib/time';
import { app } from '../state/app';
import { Dialog } from './Dialog';
import { ErrorLine, useAction } from './dialogs';

/** Where you are signed in (revoke any other), and two-factor sign-in. */
export function SecurityDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Sessions and security" onClose={onClose}>
      <Sessions />
      <TwoFactor />
    </Dialog>
  );
}

function Sessions() {
  const [list, setList] = useState<Session[] | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  const load = () => run(async () => setList(await app.listSessions()));
  useEffect(() => {
    void load();
  }, []);
  const revoke = async (id?: string) => {
    setDone(null);
    let n = 0;
    if (await run(async () => (n = await app.revokeSessions(id)))) {
      setDone(n === 1 ? 'One session was signed out.' : `${n} sessions were signed out.`);
      await load();
    }
  };
  const others = (list ?? []).filter((x) => !x.current);
  return (
    <section aria-labelledby="sessions-title">
      <h3 id="sessions-title">Where you are signed in</h3>
      {list === null && busy && <p role="status">Loading sessions…</p>}
      {list && (
        <ul class="browse sessions" aria-label="Sessions">
          {list.map((x) => {
            const what = describeAgent(x.userAgent);
            return (
              <li key={x.id} data-session={x.id}>
                <span class="what">
                  <span>
                    {what}
                    {x.current && <span class="tag">This browser</span>}
                  </span>
                  <span class="muted">
                    {x.ipAddress ? `${x.ipAddress} · ` : ''}signed in {formatWhen(x.createdAt)}
                  </span>
                </span>
                {!x.current && (
                  <button class="danger" disabled={busy} aria-label={`Sign out ${what}${x.ipAddress ? ` at ${x.ipAddress}` : ''}, signed in ${formatWhen(x.createdAt)}`} onClick={() => void revoke(x.id)}>
                    Sign out
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {others.length > 1 && (
        <button class="danger" disabled={busy} onClick={() => void revoke()}>
          Sign out all other sessions
        </button>
      )}
      <ErrorLine error={error} />
      {done && !error && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </section>
  );
}

type Step = { name: 'idle' } | { name: 'password'; off: boolean } | { name: 'setup'; setup: TwoFactorSetup } | { name: 'on'; codes: string[] } | { name: 'off' };

function TwoFactor() {
  const [step, setStep] = useState<Step>({ name: 'idle' });
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const { error, busy, run } = useAction();
  return (
    <section aria-labelledby="twofactor-title">
      <h3 id="twofactor-title">Two-factor sign-in</h3>
      {step.name === 'idle' && (
        <>
          <p class="muted">Ask for a code from an authenticator app after your password.</p>
          <div class="row">
            <button class="primary" onClick={() => setStep({ name: 'password', off: false })}>
              Set up two-factor
            </button>
            <button onClick={() => setStep({ name: 'password', off: true })}>Turn off two-factor</button>
          </div>
        </>
      )}
      {step.name === 'password' && (
        <form
          aria-label={step.off ? 'Turn off two-factor' : 'Set up two-factor'}
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              if (step.off) {
                await app.disableTwoFactor(password);
                setStep({ name: 'off' });
              } else {
                setStep({ name: 'setup', setup: await app.enableTwoFactor(password) });
              }
              setPassword('');
            });
          }}
        >
          <label>
            Your password
            <input type="password" name="currentPassword" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button class="primary" type="submit" disabled={busy || !password}>
              {step.off ? 'Turn off' : 'Continue'}
            </button>
            <button type="button" onClick={() => setStep({ name: 'idle' })}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {step.name === 'setup' && (
        <form
          aria-label="Verify two-factor"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await app.verifyTwoFactor(normalizeCode(code));
              setCode('');
              setStep({ name: 'on', codes: step.setup.backupCodes });
            });
          }}
        >
          <p>
            Add this account{otpauthLabel(step.setup.otpauthUrl) ? ` (${otpauthLabel(step.setup.otpauthUrl)})` : ''} to your authenticator app: open the link on
            this device, or type the key.
          </p>
          <p>
            <a href={step.setup.otpauthUrl} data-testid="otpauth">
              Open in an authenticator app
            </a>
          </p>
          <p>
            Key: <code class="secret" data-testid="totp-secret">{groupSecret(step.setup.secret)}</code>
          </p>
          <details>
            <summary>Setup address (otpauth URI)</summary>
            <p class="secret">{step.setup.otpauthUrl}</p>
          </details>
          <label>
            The 6-digit code the app shows
            <input name="totpSetupCode" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button class="primary" type="submit" disabled={busy || !code.trim()}>
              Verify and turn on
            </button>
            <button type="button" onClick={() => setStep({ name: 'idle' })}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {step.name === 'on' && (
        <div role="status">
          <p class="ok">Two-factor sign-in is on.</p>
          <p>
            <strong>Save these backup codes now: they are shown only this once.</strong> Each signs you in once without your app.
          </p>
          <ul class="codes" aria-label="Backup codes">
            {step.codes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </div>
      )}
      {step.name === 'off' && (
        <p class="ok" role="status">
          Two-factor sign-in is off.
        </p>
      )}
      <ErrorLine error={error} />
    </section>
  );
}
