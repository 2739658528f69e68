import 'reflect-metadata';
import { getNamedType, getNullableType, isCompositeType, isListType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { fieldCostOf } from './cost.js';
import { getSchema } from './schema.js';

describe('the query cost model', () => {
  it('prices every list of objects by its largest size, except connection pages and nodes(ids:)', async () => {
    const schema = await getSchema();
    const unpriced: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || type.name.endsWith('Connection')) continue;
      for (const field of Object.values(type.getFields())) {
        if (!isListType(getNullableType(field.type)) || !isCompositeType(getNamedType(field.type))) continue;
        if (field.args.some((arg) => arg.name === 'ids')) continue;
        if (fieldCostOf(field)?.maxItems === undefined) unpriced.push(`${type.name}.${field.name}`);
      }
    }
    expect(unpriced).toEqual([]);
  });

  it('prices totalCount and chain verification above a plain field', async () => {
    const schema = await getSchema();
    const count = (type: string, field: string) => {
      const object = schema.getType(type);
      return isObjectType(object) ? fieldCostOf(object.getFields()[field]) : undefined;
    };
    expect(count('OrganizationConnection', 'totalCount')?.price).toBeGreaterThan(1);
    expect(count('AuditEventConnection', 'totalCount')?.price).toBeGreaterThan(count('OrganizationConnection', 'totalCount')!.price!);
    expect(count('Query', 'auditChainVerification')).toMatchObject({ perOperation: 1 });
    expect(count('AuditEvent', 'targets')?.maxItems).toBe(20);
  });
});
