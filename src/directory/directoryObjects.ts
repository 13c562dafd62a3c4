/** The two kinds of directory object this service keeps. */
export type ObjectType = 'user' | 'group';

/**
 * One user or group as stored: routing fields at the top, the Graph properties under `entity`
 * so that serialization is a copy, not a filter. Partition key `{tenantId}|{id}`: point reads.
 */
export interface DirectoryObjectDocument {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly objectType: ObjectType;
  readonly entity: Readonly<Record<string, unknown>>;
  /**
   * Counts the object's changes: 1 at creation, one more per PATCH. Its anchors carry it
   * (src/membership/anchors.ts), so an edge is only ever written against the current version.
   */
  readonly version?: number;
  /** Cosmos DB's entity tag, on documents read back: a PATCH replaces only what it read. */
  readonly _etag?: string;
}

/** An object's version; documents written before versions existed are version 1. */
export const versionOf = (object: Pick<DirectoryObjectDocument, 'version'>): number => object.version ?? 1;

/** Claims a userPrincipalName within a tenant: its create is the uniqueness check. */
export interface PrincipalNameClaimDocument {
  readonly id: 'upn';
  readonly pk: string;
  readonly tenantId: string;
  readonly objectId: string;
}

export const objectPartitionKey = (tenantId: string, objectId: string): string => `${tenantId}|${objectId}`;
export const principalNamePartitionKey = (tenantId: string, userPrincipalName: string): string => `${tenantId}|upn|${userPrincipalName.toLowerCase()}`;

export const odataTypeOf = (objectType: ObjectType): string => `#microsoft.graph.${objectType}`;

/** The object as Graph shows it: type, id, then every stored property. */
export function toGraphEntity(document: Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>): Record<string, unknown> {
  return { '@odata.type': odataTypeOf(document.objectType), id: document.id, ...document.entity };
}

/** Group facts the membership rules read. */
export interface GroupTraits {
  readonly isUnified: boolean;
  readonly isDynamic: boolean;
  readonly isRoleAssignable: boolean;
  readonly isDistributionList: boolean;
  readonly isPublic: boolean;
}

export function groupTraits(group: Pick<DirectoryObjectDocument, 'entity'>): GroupTraits {
  const groupTypes = Array.isArray(group.entity.groupTypes) ? (group.entity.groupTypes as unknown[]) : [];
  const isUnified = groupTypes.includes('Unified');
  return {
    isUnified,
    isDynamic: groupTypes.includes('DynamicMembership'),
    isRoleAssignable: group.entity.isAssignableToRole === true,
    isDistributionList: group.entity.mailEnabled === true && group.entity.securityEnabled !== true && !isUnified,
    isPublic: group.entity.visibility === 'Public',
  };
}
