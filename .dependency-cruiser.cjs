/*
 * The directions of imports (docs/ARCHITECTURE.md, "Layers"): cli -> client / net -> engine ->
 * streams / workers -> log -> index -> native, with src/limits.ts, src/errors.ts and src/util/
 * beneath everything. A rule names what a layer must not import; `npm test` runs this check.
 */
const layer = (name, path, forbidden) => ({
  name,
  severity: 'error',
  comment: `${path} must not import ${forbidden}`,
  from: { path },
  to: { path: forbidden },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import circles, type-only ones included', from: {}, to: { circular: true } },
    layer('leaves-import-nothing', '^src/(limits|errors)\\.ts$', '^src/'),
    layer('util-is-a-leaf', '^src/util/', '^src/(?!util/|limits\\.ts|errors\\.ts)'),
    layer('native-is-the-bottom', '^src/native/', '^src/(?!native/|limits\\.ts|errors\\.ts|util/)'),
    layer('index-sits-on-native', '^src/index/', '^src/(log|streams|workers|engine|net|client|cli/)'),
    layer('log-sits-on-index', '^src/log/', '^src/(streams|workers|engine|net|client|cli/|config\\.ts)'),
    layer('streams-are-pure', '^src/streams/', '^src/(native|index|workers|engine|net|client|cli/|config\\.ts)'),
    layer('workers-hold-threads-only', '^src/workers/', '^src/(engine|net|client|cli/)'),
    layer('engine-knows-no-door', '^src/(engine|config\\.ts)', '^src/(net|client|cli/|metrics/|console/)'),
    layer(
      'console-is-a-browser-client',
      '^src/console/',
      '^src/(engine|net/(?!protocol|messages/)|workers|log|index|native|cli/|auth|groups/(?!exports))',
    ),
    layer('net-is-a-door', '^src/net/', '^src/(client|cli|workers|index|native)'),
    layer(
      'client-talks-over-the-wire',
      '^src/client/',
      '^src/(engine|workers|log/(?!batch_format|key_text)|index|native|cli/|net/(?!protocol|messages/))',
    ),
    layer(
      'groups-sit-on-the-public-interfaces',
      '^src/groups/',
      '^src/(net/(?!messages/call\\.ts)|cli/|workers|log|index|native|engine/(?!engine\\.ts))',
    ),
    layer(
      'queries-sit-on-the-public-interfaces',
      '^src/queries/',
      '^src/(net/|cli/|client/|log|index|native|engine/(?!engine\\.ts)|workers/(?!thread_entry\\.ts))',
    ),
    layer('auth-sits-below-the-doors', '^src/auth/', '^src/(net|cli|client|groups|workers|log|index|native)/|^src/engine/(?!engine\\.ts)'),
    layer('kms-is-a-leaf-service', '^src/kms/', '^src/(?!kms/|util/|errors\\.ts|limits\\.ts|streams/kinesis_shapes\\.ts)'),
    layer(
      'capture-sits-on-the-public-interfaces',
      '^src/testkit/capture_',
      '^src/(net/(?!messages/)|cli/|workers|log|index|native|engine/(?!engine\\.ts))',
    ),
    layer('client-entries-alone-see-groups', '^src/client/(?!exports\\.ts|node\\.ts)', '^src/groups/'),
    {
      name: 'data-path-is-the-doors',
      severity: 'error',
      comment: "the engine's wire-only operations (EngineDataPath) are for src/net alone",
      from: { path: '^src/', pathNot: '^src/(net|engine)/' },
      to: { path: '^src/engine/data_path\\.ts$' },
    },
    {
      name: 'browser-safe-codecs',
      severity: 'error',
      comment: 'the protocol codecs, the pure model and the browser client run in browsers: no Node modules',
      from: {
        path: '^src/(console/|metrics/cost\\.ts|streams/metrics_types\\.ts|net/protocol\\.ts|net/messages/|client/(?!node\\.ts|envelope_node\\.ts|envelope_keys\\.ts)|groups/(?!embedded|lease_tables|group_operations|dynamodb_lease_store|kinesis_source)|streams/(hash_key|sequence_number)\\.ts|limits\\.ts)',
      },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
