import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/observability/metrics.ts';

// A tally's adds are plain field increments; prom-client must still see every one at each
// scrape, once, whichever way it is read (the text exposition or one metric's values).
test('a tally reports every add at the next scrape, once, by label set', async () => {
  const metrics = new Metrics({ defaults: false });
  const t = metrics.tally('test_datagrams_total', 'Datagrams, by listener', ['listener']);
  const ipfix = t.at({ listener: 'ipfix' });
  const netflow = t.at({ listener: 'netflow' });
  assert.equal(t.at({ listener: 'ipfix' }), ipfix, 'the same labels give the same cell');
  assert.equal(metrics.tally('test_datagrams_total', 'Datagrams, by listener', ['listener']), t, 'the same name gives the same tally');

  assert.doesNotMatch(await metrics.registry.metrics(), /test_datagrams_total\{/, 'a label set never added to is not shown');
  ipfix.add();
  ipfix.add(4);
  assert.match(await metrics.registry.metrics(), /test_datagrams_total\{listener="ipfix"\} 5\n/);
  // Scraped again with nothing added: still 5, not 10.
  assert.match(await metrics.registry.metrics(), /test_datagrams_total\{listener="ipfix"\} 5\n/);
  netflow.add(2);
  ipfix.add(0);
  const values = (await t.counter.get()).values.map((v) => [v.labels.listener, v.value]).sort();
  assert.deepEqual(values, [['ipfix', 5], ['netflow', 2]]);
});

test('a tally without labels starts at 0 like a counter', async () => {
  const metrics = new Metrics({ defaults: false });
  const records = metrics.tally('test_records_total', 'Records').at();
  assert.match(await metrics.registry.metrics(), /^test_records_total 0$/m);
  records.add(24);
  assert.match(await metrics.registry.metrics(), /^test_records_total 24$/m);
});
