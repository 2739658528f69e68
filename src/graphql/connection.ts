import { ArgsType, Field, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { Page, PageArgs } from '../db/pagination.js';
import { selects } from './lookahead.js';
import { Cost } from './cost.js';

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, {
  name: 'OrderDirection',
  description: 'Sort direction.',
  valuesConfig: { ASC: { description: 'Smallest first.' }, DESC: { description: 'Largest first.' } },
});

@ObjectType({ simpleResolvers: true, description: 'Relay page information.' })
export class PageInfo {
  @Field({ description: 'Whether more items follow this page.' })
  hasNextPage!: boolean;

  @Field({ description: 'Whether items precede this page.' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Cursor of the first item of the page.' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Cursor of the last item of the page.' })
  endCursor!: string | null;
}

@ArgsType()
export class PageArgsType {
  @Field(() => Int, { nullable: true, description: 'Items after `after`, at most the page size cap (default 20, or the cap if lower).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Cursor to continue after.' })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'Items before `before`, at most the page size cap.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: 'Cursor to continue before.' })
  before?: string | null;
}

@ArgsType()
export class ForwardPageArgsType {
  @Field(() => Int, { nullable: true, description: 'Items after `after`, at most the page size cap (default 20, or the cap if lower).' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'Cursor to continue after.' })
  after?: string | null;
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
}

/**
 * Price of `totalCount` in the query cost model: a COUNT reads every matching index entry, not
 * one page. Lists that grow without bound (audit events) price it higher.
 */
export const COUNT_PRICE = 50;

/** Builds the `XConnection` and `XEdge` types of a node type. */
export function Connection<T extends object>(nodeType: ClassType<T>, name: string, options: { countPrice?: number } = {}) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `An edge of a ${name} connection.` })
  class Edge {
    @Field({ description: 'Opaque cursor of this item.' })
    cursor!: string;

    @Field(() => nodeType, { description: 'The item.' })
    node!: T;
  }

  @ObjectType({ simpleResolvers: true })
  abstract class ConnectionType {
    @Field(() => [Edge], { description: 'Items with their cursors.' })
    edges!: Edge[];

    @Field(() => [nodeType], { description: 'The items, without cursors.' })
    nodes!: T[];

    @Field(() => PageInfo, { description: 'Where this page sits.' })
    pageInfo!: PageInfo;

    @Cost({ price: options.countPrice ?? COUNT_PRICE })
    @Field(() => Int, { description: 'Number of items matching the filter, across all pages.' })
    totalCount!: number;
  }
  return ConnectionType;
}

/**
 * Turns a service page into a connection. Nothing is built before it is selected: `totalCount`
 * runs its query, and `edges` and the page's cursors are made, only when the query asks for them
 * (a page read through `nodes` needs no cursor at all).
 */
export function toConnection<T>(page: Omit<Page<T>, 'totalCount'>, count: () => Promise<number>): ConnectionShape<T> {
  let counted: Promise<number> | undefined;
  let edges: { cursor: string; node: T }[] | undefined;
  return {
    get edges() {
      edges ??= page.nodes.map((node, index) => ({ cursor: page.cursors[index], node }));
      return edges;
    },
    nodes: page.nodes,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      get startCursor() {
        return page.cursors[0] ?? null;
      },
      get endCursor() {
        return page.cursors[page.cursors.length - 1] ?? null;
      },
    },
    get totalCount() {
      counted ??= count();
      return counted;
    },
  };
}

export const pageConnection = <T>(page: Page<T>) => toConnection(page, page.totalCount);

/** A list query's page arguments, asking for the total with the page when the query reads `totalCount`. */
export const pageArgsFor = (page: PageArgs, info: GraphQLResolveInfo): PageArgs => ({ ...page, countWithPage: selects(info, ['totalCount']) });
