/**
 * The ACLs of the local stack. The PLAINTEXT listener's principal keeps a wildcard ALLOW (local work and
 * every test that does not test security stay open, and a DENY for it still wins, as a missing ACL
 * would); each SCRAM user of the SASL_SSL listener gets exactly what its process does, nothing more.
 * The same lists are what the chart's KafkaUsers grant (charts/kafka-order-system/templates/kafka/kafka-user.yaml),
 * which test/chart/chart-users.test.ts checks row by row.
 */
import kafkajs, { type Admin, type AclEntry } from 'kafkajs';

// kafkajs is CommonJS and these enums are not among the names Node detects as named exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

type Op = keyof typeof AclOperationTypes;
type ResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER';

export interface Grant {
  readonly resource: ResourceType;
  readonly name: string;
  readonly prefixed?: boolean;
  readonly operations: readonly Op[];
}

export interface ProducerResources {
  readonly ordersTopic: string;
}

export interface ConsumerResources {
  readonly ordersTopic: string;
  readonly dlqTopic: string;
  readonly statsTopic: string;
  readonly groupId: string;
}

/** The producer writes orders and reads their topic's metadata (partitions). Idempotence needs only topic WRITE (KIP-679). */
export function producerGrants(r: ProducerResources): Grant[] {
  return [{ resource: 'TOPIC', name: r.ordersTopic, operations: ['WRITE', 'DESCRIBE'] }];
}

/**
 * The consumer reads orders in its group; in one transaction per partition (transactional id
 * `<group>-<topic>-<partition>`) it writes dead letters, the aggregate changelog and the offsets; it
 * reads the changelog back through short-lived `<group>-stats-reader-*` groups it deletes on exit, and
 * reads the DLQ's max.message.bytes so a dead letter always fits.
 */
export function consumerGrants(r: ConsumerResources): Grant[] {
  return [
    { resource: 'TOPIC', name: r.ordersTopic, operations: ['READ', 'DESCRIBE'] },
    { resource: 'TOPIC', name: r.dlqTopic, operations: ['WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'] },
    { resource: 'TOPIC', name: r.statsTopic, operations: ['READ', 'WRITE', 'DESCRIBE'] },
    { resource: 'GROUP', name: r.groupId, operations: ['READ', 'DESCRIBE'] },
    {
      resource: 'GROUP',
      name: `${r.groupId}-stats-reader-`,
      prefixed: true,
      operations: ['READ', 'DESCRIBE', 'DELETE'],
    },
    {
      resource: 'TRANSACTIONAL_ID',
      name: `${r.groupId}-${r.ordersTopic}-`,
      prefixed: true,
      operations: ['WRITE', 'DESCRIBE'],
    },
  ];
}

/** Everything for one principal: what the PLAINTEXT listener's ANONYMOUS gets. */
export const OPEN_GRANTS: readonly Grant[] = [
  { resource: 'TOPIC', name: '*', operations: ['ALL'] },
  { resource: 'GROUP', name: '*', operations: ['ALL'] },
  { resource: 'TRANSACTIONAL_ID', name: '*', operations: ['ALL'] },
  { resource: 'CLUSTER', name: 'kafka-cluster', operations: ['ALL'] },
];

export function aclEntries(principal: string, grants: readonly Grant[]): AclEntry[] {
  return grants.flatMap((g) =>
    g.operations.map((op) => ({
      resourceType: AclResourceTypes[g.resource],
      resourceName: g.name,
      resourcePatternType: g.prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal,
      host: '*',
      operation: AclOperationTypes[op],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

/** Creates the ACLs (the broker ignores ones that already exist, so this is idempotent). */
export async function grant(admin: Admin, principal: string, grants: readonly Grant[]): Promise<void> {
  const acl = aclEntries(principal, grants);
  if (acl.length > 0) await admin.createAcls({ acl });
}

export async function revoke(admin: Admin, principal: string, grants: readonly Grant[]): Promise<void> {
  const filters = aclEntries(principal, grants);
  if (filters.length > 0) await admin.deleteAcls({ filters });
}
