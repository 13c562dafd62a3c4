import { z } from 'zod';

/**
 * Bodies of the transitive checks (SPEC 7), as Graph names them
 * (https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups and its siblings).
 * Ids are checked after parsing (GUIDs, at most 20), where Graph's own wording is given.
 */
export const checkMemberGroupsSchema = z.strictObject({ groupIds: z.array(z.string()) });
export const checkMemberObjectsSchema = z.strictObject({ ids: z.array(z.string()) });
export const getMemberGroupsSchema = z.strictObject({ securityEnabledOnly: z.boolean().nullable().optional() });

/** The answer of all four: ids. */
export const idCollectionSchema = z.object({ '@odata.context': z.string(), value: z.array(z.string()) });
