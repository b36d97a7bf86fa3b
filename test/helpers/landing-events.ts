import { randomUUID } from 'node:crypto'

/**
 * An S3 `Object Created` event as EventBridge delivers it: the shape of the sample in the S3 user guide ("EventBridge
 * event message structure", Object created), with our bucket and key. The key is written as S3 writes it in events:
 * URL-encoded as a form value (`dt%3D2024-01-15`) unless `encode` is false.
 */
export function s3ObjectCreated(
  bucket: string,
  key: string,
  options: { encode?: boolean; reason?: string } = {},
): Record<string, unknown> {
  const encoded = options.encode === false ? key : key.split('/').map(encodeFormValue).join('/')
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '111122223333',
    time: '2024-01-13T00:05:00Z',
    region: 'eu-west-2',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: encoded,
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '617f08299329d189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: options.reason ?? 'PutObject',
    },
  }
}

/** A key segment as a form value: what S3's event notifications do to keys ("red flower.jpg" → "red+flower.jpg"). */
function encodeFormValue(segment: string): string {
  return encodeURIComponent(segment).replaceAll('%20', '+')
}

/**
 * A Glue `Glue Data Catalog Table State Change` event (a partition change), the shape Glue sends to EventBridge:
 * `changedPartitions` lists each partition's values in column order, rendered as `[v1, v2]`.
 */
export function glueTableChange(options: {
  database: string
  table: string
  typeOfChange: string
  partitions: string[][]
}): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Glue Data Catalog Table State Change',
    source: 'aws.glue',
    account: '111122223333',
    time: '2024-01-20T01:00:00Z',
    region: 'eu-west-2',
    resources: [`arn:aws:glue:eu-west-2:111122223333:table/${options.database}/${options.table}`],
    detail: {
      databaseName: options.database,
      changedPartitions: options.partitions.map((values) => `[${values.join(', ')}]`),
      typeOfChange: options.typeOfChange,
      tableName: options.table,
    },
  }
}
