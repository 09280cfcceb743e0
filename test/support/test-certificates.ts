import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  /** SHA-256 of the DER certificate, as `openssl x509 -fingerprint -sha256` prints it (AB:CD:…). */
  fingerprint: string;
}

export interface TestCertificates {
  dir: string;
  caFile: string;
  /** A certificate (EC P-256) issued by the test CA; `sans` such as `IP:127.0.0.1,DNS:nas1.test`. */
  issue(name: string, o?: { sans?: string; startDate?: string; endDate?: string; selfSigned?: boolean }): IssuedCertificate;
  dispose(): void;
}

const CA_CONFIG = (dir: string) => `[ca]
default_ca = test_ca
[test_ca]
database = ${dir}/index.txt
new_certs_dir = ${dir}
serial = ${dir}/serial
default_md = sha256
default_days = 30
policy = any_name
copy_extensions = copy
unique_subject = no
[any_name]
commonName = supplied
`;

/**
 * A throwaway CA made with openssl at run time, and the certificates a test issues from
 * it (or self-signs). `openssl ca` is used for issuing because it takes explicit validity
 * dates: an expired certificate is one whose dates lie in the past.
 */
export function testCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-certs-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG(dir));
  const caFile = join(dir, 'ca.pem');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', caFile, '-days', '30', '-subj', '/CN=Sideband Test CA');
  const fingerprintOf = (file: string) => openssl('x509', '-in', file, '-noout', '-fingerprint', '-sha256').trim().split('=')[1]!;
  return {
    dir,
    caFile,
    issue(name, o = {}) {
      const keyFile = join(dir, `${name}.key`);
      const certFile = join(dir, `${name}.pem`);
      const csr = join(dir, `${name}.csr`);
      const ext = o.sans ? ['-addext', `subjectAltName=${o.sans}`] : [];
      if (o.selfSigned) {
        openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/CN=${name}`, ...ext);
      } else {
        openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`, ...ext);
        const dates = o.startDate && o.endDate ? ['-startdate', o.startDate, '-enddate', o.endDate] : [];
        openssl('ca', '-batch', '-config', join(dir, 'ca.cnf'), '-cert', caFile, '-keyfile', join(dir, 'ca.key'), '-in', csr, '-out', certFile, '-notext', ...dates);
      }
      return { certFile, keyFile, fingerprint: fingerprintOf(certFile) };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const readPem = (file: string): Buffer => readFileSync(file);
