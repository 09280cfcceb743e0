import type { NasDirectory } from '../aaa/service/nas-directory.ts';
import type { SessionService } from '../aaa/service/session-service.ts';
import type { SubscriberDirectory } from '../aaa/service/subscriber-directory.ts';
import type { Logger } from '../observability/logger.ts';
import { REGISTRY_CHANNEL, type ChangeNotices } from '../store/change-notices.ts';
import type { ExporterRegistry } from '../tracking/service/exporter-registry.ts';
import type { Vault } from '../vault/vault.ts';

/** What a gateway keeps in memory of the registrations other processes change. */
export interface FollowedParts {
  nas: NasDirectory;
  subscribers: SubscriberDirectory;
  sessions: SessionService;
  exporters: ExporterRegistry;
  vault: Vault;
  /** Called when merchants or their keys changed; the certification part may start later. */
  merchantsChanged: () => void;
}

/**
 * Makes a gateway follow, within a notification's delay, what operators change through
 * another gateway or the command line: NAS clients, exporters, pools, subscribers (a
 * suspension refuses the next log-in at once), merchants' keys and the active master
 * key. The announcements are the audit log's actions (`store/audit-log.ts`). The
 * periodic reloads each part keeps are the safety net, and SQLite's only way.
 */
export function followRegistry(notices: ChangeNotices, parts: FollowedParts, logger: Logger): void {
  const reloadExporters = () => void parts.exporters.load().catch((e) => logger.warn({ err: e }, 'could not reload exporters after another process changed them'));
  const apply = (payload: string): void => {
    const [action = '', subject = ''] = payload.split(' ');
    const kind = action.slice(0, action.indexOf('.'));
    logger.debug({ action, subject }, 'following a change made elsewhere');
    switch (kind) {
      case 'nas':
        void parts.nas.reload();
        return;
      case 'exporter':
        reloadExporters();
        return;
      case 'pool':
        if (action === 'pool.remove') parts.sessions.forgetPool(subject);
        return;
      case 'subscriber':
        parts.subscribers.forgetSubscriber(subject);
        return;
      case 'merchant':
        parts.merchantsChanged();
        return;
      case 'vault':
        void parts.vault.syncActiveKey();
        return;
    }
  };
  // After a (re)connection, what was announced meanwhile is unknown: read it all again.
  const resync = (): void => {
    void parts.nas.reload();
    reloadExporters();
    parts.subscribers.clear();
    parts.merchantsChanged();
    void parts.vault.syncActiveKey();
  };
  notices.on(REGISTRY_CHANNEL, apply, resync);
}
