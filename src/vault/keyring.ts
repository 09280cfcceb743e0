import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { SidebandError } from '../errors/sideband-error.ts';

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
  readonly createdAt: string;
}

interface KeyringFile {
  version: 1;
  active: string;
  keys: Array<{ id: string; key: string; createdAt: string }>;
  /** Ids of destroyed keys: a record still under one fails with VAULT_KEY_RETIRED. */
  retired: string[];
}

const newKeyId = (): string => `mk-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;

/**
 * The master keys, from the keyring file (mode 0600) or SIDEBAND_MASTER_KEY. The file is
 * the one `keys rotate` writes; a running gateway re-reads it when it meets a key id it
 * does not hold, so rotation needs no restart.
 */
export class Keyring {
  private state: KeyringFile;

  private constructor(
    private readonly path: string | null,
    state: KeyringFile,
  ) {
    this.state = state;
  }

  /** SIDEBAND_MASTER_KEY=KEYID:BASE64(32 bytes) wins over the file; it cannot be rotated in place. */
  static fromEnvironment(value: string): Keyring {
    const m = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/=_-]+)$/.exec(value.trim());
    const key = m ? Buffer.from(m[2]!, 'base64') : null;
    if (!m || !key || key.length !== 32) throw new SidebandError('VAULT_KEY_MALFORMED', 'SIDEBAND_MASTER_KEY must be KEYID:BASE64 of exactly 32 bytes.', { param: 'SIDEBAND_MASTER_KEY' });
    return new Keyring(null, { version: 1, active: m[1]!, keys: [{ id: m[1]!, key: m[2]!, createdAt: new Date(0).toISOString() }], retired: [] });
  }

  static load(path: string): Keyring {
    if (!existsSync(path)) throw new SidebandError('VAULT_KEY_MISSING', `No master key: ${path} does not exist and SIDEBAND_MASTER_KEY is unset.`);
    return new Keyring(path, Keyring.read(path));
  }

  /** Creates a keyring with one fresh key; refuses to overwrite an existing file. */
  static create(path: string): Keyring {
    const id = newKeyId();
    const state: KeyringFile = { version: 1, active: id, keys: [{ id, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }], retired: [] };
    writeFileSync(path, JSON.stringify(state, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    return new Keyring(path, state);
  }

  private static read(path: string): KeyringFile {
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as KeyringFile;
    } catch (e) {
      throw new SidebandError('VAULT_KEY_MALFORMED', `Keyring ${path} is not readable JSON: ${(e as Error).message}`);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.keys) || !parsed.keys.some((k) => k.id === parsed.active)) {
      throw new SidebandError('VAULT_KEY_MALFORMED', `Keyring ${path} has no active key.`);
    }
    for (const k of parsed.keys) {
      if (Buffer.from(k.key, 'base64').length !== 32) throw new SidebandError('VAULT_KEY_MALFORMED', `Key ${k.id} in ${path} is not 32 bytes.`);
    }
    parsed.retired ??= [];
    return parsed;
  }

  get active(): MasterKey {
    return this.get(this.state.active);
  }

  get ids(): string[] {
    return this.state.keys.map((k) => k.id);
  }

  get retiredIds(): string[] {
    return [...this.state.retired];
  }

  get file(): string | null {
    return this.path;
  }

  /** The key with this id, re-reading the file once if it is not known yet. */
  get(id: string): MasterKey {
    let entry = this.state.keys.find((k) => k.id === id);
    if (!entry && this.path && existsSync(this.path)) {
      this.state = Keyring.read(this.path);
      entry = this.state.keys.find((k) => k.id === id);
    }
    if (!entry) {
      if (this.state.retired.includes(id)) throw new SidebandError('VAULT_KEY_RETIRED', `The record is wrapped under master key ${id}, which was retired.`);
      throw new SidebandError('VAULT_KEY_UNKNOWN', `The record is wrapped under master key ${id}, which this keyring does not hold.`);
    }
    return { id: entry.id, key: Buffer.from(entry.key, 'base64'), createdAt: entry.createdAt };
  }

  /** Adds a fresh key and makes it active; the previous keys stay until retired. */
  addActiveKey(): MasterKey {
    this.requireFile('rotate');
    const id = newKeyId();
    this.state.keys.push({ id, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() });
    this.state.active = id;
    this.save();
    return this.active;
  }

  /** Destroys a key's material; records still under it can never be opened again. */
  retire(id: string): void {
    this.requireFile('retire');
    if (id === this.state.active) throw new SidebandError('VAULT_KEY_IN_USE', `Key ${id} is the active key; rotate first.`);
    if (!this.state.keys.some((k) => k.id === id)) throw new SidebandError('VAULT_KEY_UNKNOWN', `No key ${id} in the keyring.`);
    this.state.keys = this.state.keys.filter((k) => k.id !== id);
    this.state.retired.push(id);
    this.save();
  }

  reload(): void {
    if (this.path) this.state = Keyring.read(this.path);
  }

  private requireFile(what: string): void {
    if (!this.path) throw new SidebandError('VAULT_KEY_MALFORMED', `Cannot ${what} a key given by SIDEBAND_MASTER_KEY; use a keyring file.`);
  }

  // Write-then-rename so that a crash leaves either the old keyring or the new one.
  private save(): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path!);
  }
}
