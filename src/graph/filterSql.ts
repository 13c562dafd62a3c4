import type { SqlParameter } from '@azure/cosmos';
import { operandsOf, type FilterNode, type FilterValue } from './filter';

/**
 * How one store layout writes the leaves of a filter: which column a property is, and how it
 * compares case-insensitively (a folded copy, or LOWER() of the stored value). `parameter` adds a
 * value as a query parameter and returns its name.
 */
export interface FilterLeaves {
  eq(property: string, value: FilterValue, parameter: (value: FilterValue) => string): string;
  startswith(property: string, value: string, parameter: (value: FilterValue) => string): string;
  anyEq(property: string, value: string, parameter: (value: FilterValue) => string): string;
}

/**
 * The filter as a Cosmos SQL predicate, its leaves written by `leaves`. Every value the caller
 * wrote travels as a parameter (`@{prefix}{n}`, appended to `parameters`); nothing from the request
 * is ever part of the SQL text.
 *
 * A chain of one operator (`a or b or c`, parsed left-deep) is one flat list, not nested
 * parentheses: the embedded endpoint's SQL parser (@zeit/cosmosdb-query, a PEG parser without
 * memoization) takes about 8 times longer per level of parentheses, so a plain 7-clause `or` chain
 * took over 20 s and ended as a 503 (found by test/fuzz/fuzzRoutes.test.ts).
 */
export function filterPredicate(node: FilterNode, leaves: FilterLeaves, parameters: SqlParameter[], prefix: string): string {
  const parameter = (value: FilterValue): string => {
    const name = `@${prefix}${parameters.length}`;
    parameters.push({ name, value });
    return name;
  };
  const predicateOf = (current: FilterNode): string => {
    switch (current.kind) {
      case 'and':
      case 'or':
        return `(${operandsOf(current, current.kind)
          .map(predicateOf)
          .join(current.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'eq':
        return leaves.eq(current.property, current.value, parameter);
      case 'startswith':
        return leaves.startswith(current.property, current.value, parameter);
      case 'anyEq':
        return leaves.anyEq(current.property, current.value, parameter);
    }
  };
  return predicateOf(node);
}
