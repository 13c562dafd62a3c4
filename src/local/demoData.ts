import { objectPartitionKey, type DirectoryObjectDocument } from '../directory/directoryObjects';
import type { Repositories } from '../store/repositories';

/** Fixed ids, so that the README's commands work on every fresh `npm start`. */
export const demoIds = {
  adele: 'a1f4c0de-0000-4000-8000-000000000001',
  megan: 'a1f4c0de-0000-4000-8000-000000000002',
  engineering: 'a1f4c0de-0000-4000-8000-0000000000e1',
  allCompany: 'a1f4c0de-0000-4000-8000-0000000000a1',
  platform: 'a1f4c0de-0000-4000-8000-0000000000b1',
  staff: 'a1f4c0de-0000-4000-8000-0000000000c1',
} as const;

function user(tenantId: string, id: string, displayName: string, userPrincipalName: string): DirectoryObjectDocument {
  return {
    id,
    pk: objectPartitionKey(tenantId, id),
    tenantId,
    objectType: 'user',
    entity: { displayName, userPrincipalName, mail: userPrincipalName, mailNickname: userPrincipalName.split('@')[0], accountEnabled: true, createdDateTime: '2026-01-01T00:00:00Z' },
  };
}

function group(tenantId: string, id: string, entity: Record<string, unknown>): DirectoryObjectDocument {
  return {
    id,
    pk: objectPartitionKey(tenantId, id),
    tenantId,
    objectType: 'group',
    entity: { description: null, groupTypes: [], isAssignableToRole: false, mail: null, membershipRule: null, visibility: null, createdDateTime: '2026-01-01T00:00:00Z', ...entity },
  };
}

async function ignoreDuplicate(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!(error instanceof Error && /already exists/.test(error.message))) throw error;
  }
}

/**
 * Two users and four groups in the development tenant: Adele owns the security groups
 * Engineering, Platform and Staff; All Company is a public Microsoft 365 group anyone may join.
 */
export async function seedDemoDirectory({ directory, memberships }: Repositories, tenantId: string): Promise<void> {
  const adele = user(tenantId, demoIds.adele, 'Adele Vance', 'adele@contoso.example');
  const megan = user(tenantId, demoIds.megan, 'Megan Bowen', 'megan@contoso.example');
  const engineering = group(tenantId, demoIds.engineering, { displayName: 'Engineering', mailNickname: 'engineering', mailEnabled: false, securityEnabled: true });
  const platform = group(tenantId, demoIds.platform, { displayName: 'Platform', mailNickname: 'platform', mailEnabled: false, securityEnabled: true });
  const staff = group(tenantId, demoIds.staff, { displayName: 'Staff', mailNickname: 'staff', mailEnabled: false, securityEnabled: true });
  const allCompany = group(tenantId, demoIds.allCompany, {
    displayName: 'All Company',
    mailNickname: 'allcompany',
    mailEnabled: true,
    securityEnabled: false,
    groupTypes: ['Unified'],
    visibility: 'Public',
    mail: 'allcompany@contoso.example',
  });
  await ignoreDuplicate(directory.createUser(adele, 'adele@contoso.example'));
  await ignoreDuplicate(directory.createUser(megan, 'megan@contoso.example'));
  for (const demoGroup of [engineering, platform, staff, allCompany]) await ignoreDuplicate(directory.createGroup(demoGroup));
  await memberships.addOwner(engineering, adele);
  await memberships.addOwner(platform, adele);
  await memberships.addOwner(staff, adele);
  await memberships.addOwner(allCompany, adele);
}
