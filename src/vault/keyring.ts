import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
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
 * Writes a file so that it survives a power cut: the bytes are fsynced before the file is
 * renamed (or linked) into place, and the directory after, so that the new name is durable
 * too. `keys rotate` relies on it: no record is re-wrapped under a key until the key is on
 * disk.
 */
function writeDurably(path: string, text: string, { exclusive }: { exclusive: boolean }): void {
  const target = exclusive ? path : `${path}.tmp`;
  const fd = openSync(target, exclusive ? 'wx' : 'w', 0o600);
  try {
    // A left-over temporary file keeps its old mode when opened for writing.
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!exclusive) renameSync(target, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * The master keys, from the keyring file (mode 0600) or SIDEBAND_MASTER_KEY. The file is
 * the one `keys rotate` writes; a running gateway re-reads it when it meets a key id it
 * does not hold, so rotation needs no restart. A file that its group or others may read
 * or write is refused: it holds every key that opens the vault.
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
    writeDurably(path, JSON.stringify(state, null, 2) + '\n', { exclusive: true });
    return new Keyring(path, state);
  }

  private static read(path: string): KeyringFile {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SidebandError('VAULT_KEYRING_EXPOSED', `Keyring ${path} has mode ${mode.toString(8).padStart(4, '0')}: its group or others may read or change it. Run \`chmod 600 ${path}\`.`, { param: 'vault.keyFile' });
    }
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

  /** Whether the keyring holds this key, re-reading the file once if it is not known yet. */
  has(id: string): boolean {
    if (this.state.keys.some((k) => k.id === id)) return true;
    if (this.path && existsSync(this.path)) this.state = Keyring.read(this.path);
    return this.state.keys.some((k) => k.id === id);
  }

  /** Where this keyring comes from, for messages. */
  get source(): string {
    return this.path ? `the keyring ${this.path}` : 'SIDEBAND_MASTER_KEY';
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
    this.reload();
    const id = newKeyId();
    this.state.keys.push({ id, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() });
    this.state.active = id;
    this.save();
    return this.active;
  }

  /** Destroys a key's material; records still under it can never be opened again. */
  retire(id: string): void {
    this.requireFile('retire');
    this.reload();
    if (id === this.state.active) throw new SidebandError('VAULT_KEY_IN_USE', `Key ${id} is the keyring's active key; rotate first.`);
    this.state.keys = this.state.keys.filter((k) => k.id !== id);
    if (!this.state.retired.includes(id)) this.state.retired.push(id);
    this.save();
  }

  /** Refuses early, before a command changes anything, when the keys cannot be changed in place. */
  assertWritable(what: string): void {
    this.requireFile(what);
  }

  reload(): void {
    if (this.path) this.state = Keyring.read(this.path);
  }

  private requireFile(what: string): void {
    if (!this.path) throw new SidebandError('VAULT_KEY_MALFORMED', `Cannot ${what} a key given by SIDEBAND_MASTER_KEY; use a keyring file.`);
  }

  // Write-then-rename so that a crash leaves either the old keyring or the new one.
  private save(): void {
    writeDurably(this.path!, JSON.stringify(this.state, null, 2) + '\n', { exclusive: false });
  }
}
