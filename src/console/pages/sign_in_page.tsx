import { useState } from 'preact/hooks';
import type { ShardlineClient } from '../../client/client.js';
import { connectConsole } from '../connection.js';
import { ErrorNote } from '../ui.js';

/*
 * With auth on (`shardline serve --auth`): an identity's access key, with which the connection's
 * upgrade is presigned (docs/SECURITY.md). A refused key (InvalidSignatureException,
 * UnrecognizedClientException) keeps the form up with the server's answer. The secret stays in
 * this page's memory only: a reload asks again.
 */

export function SignInPage({ onConnected }: { onConnected: (client: ShardlineClient, identity: string) => void }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const signIn = async (event: Event): Promise<void> => {
    event.preventDefault();
    setPending(true);
    setFailure(undefined);
    try {
      const id = accessKeyId.trim();
      onConnected(await connectConsole({ accessKeyId: id, secretAccessKey }), id);
    } catch (error) {
      setFailure(error);
      setPending(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Sign in to shardline</h1>
      <p>This server checks every request against its credentials file. Sign in with an access key of one of its identities.</p>
      <form aria-label="Sign in" onSubmit={(event) => void signIn(event)}>
        <label>
          Access key ID
          <input
            name="accessKeyId"
            autoComplete="username"
            required
            value={accessKeyId}
            onInput={(event) => setAccessKeyId(event.currentTarget.value)}
          />
        </label>
        <label>
          Secret access key
          <input
            name="secretAccessKey"
            type="password"
            autoComplete="current-password"
            required
            value={secretAccessKey}
            onInput={(event) => setSecretAccessKey(event.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorNote error={failure} context="Sign-in refused" />
    </main>
  );
}
