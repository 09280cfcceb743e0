import { sql, type Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * On PostgreSQL, a session read for a change that may charge (a Stop, a close without one)
 * first takes the row of the session's subscriber when the subscriber is prepaid, then the
 * session's. A prepaid charge lowers the grants of the subscriber's other open sessions, so
 * two Stops of one subscriber's two sessions, each locking its own session first, waited
 * for each other until deadlock_timeout (a second) broke the cycle and the loser's whole
 * batch ran again: on two gateways at once, every time. A purchase under a spending rule and
 * `subscriber set-limit` already take the subscriber before its sessions, so this is the
 * order everywhere. `for no key update` is the lock the charge's UPDATE takes anyway, and it
 * lets rows that refer to the subscriber (a new session) be inserted meanwhile. A Start or an
 * Interim-Update charges nothing and takes only the session's row, as before.
 * A subscriber given prepaid seconds between this and the charge is locked in the old
 * order, once: the deadlock, if any, is retried as before. SQLite has one writer.
 *
 * The one-argument form (0025), as gateways from before this migration call it, now takes
 * the charging order, so that during a rolling upgrade every gateway's Stops lock alike.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`
    create function sideband_session_for_change(wanted text, charging boolean)
    returns table (session json, binding json, prefixes json)
    language plpgsql volatile as $$
    begin
      if charging then
        perform 1 from subscribers u
          where u.id = (select s.subscriber_id from sessions s where s.id = wanted) and u.seconds_remaining is not null
          for no key update;
      end if;
      perform 1 from sessions where id = wanted for update;
      if not found then
        return;
      end if;
      return query select
        row_to_json(s),
        (select row_to_json(b) from bindings b where b.session_id = wanted order by b.start_at desc limit 1),
        (select json_agg(p order by p.start_at) from prefix_bindings p where p.session_id = wanted)
      from sessions s where s.id = wanted;
    end
    $$`.execute(db);
  await sql`
    create or replace function sideband_session_for_change(wanted text)
    returns table (session json, binding json, prefixes json)
    language plpgsql volatile as $$
    begin
      return query select * from sideband_session_for_change(wanted, true);
    end
    $$`.execute(db);
}
