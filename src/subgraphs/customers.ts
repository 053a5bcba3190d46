import type { GraphQLSchema } from 'graphql';
import type { Kysely } from 'kysely';
import type { BaseContext, CustomersContext } from '../context/index.js';
import {
  EmbeddedCustomers,
  customerLoaders,
  type CustomerDataSource,
} from '../datasources/customers/customers.js';
import {
  CaseCustomerResolver,
  CustomerContactResolver,
  CustomerResolver,
  DocumentCustomerResolver,
} from '../resolvers/customers/customer.resolver.js';
import { customersReferences } from '../resolvers/customers/customer.reference.js';
import type { CustomersDB } from '../store/tables.js';
import { CaseCustomer, DocumentCustomer } from '../schema/customers/types.js';
import { Outbox, type EventBus } from '../events/index.js';
import { buildFederatedSchema } from './build.js';
import type { Subgraph } from './types.js';

export interface CustomersSubgraph extends Subgraph<CustomersContext> {
  readonly source: CustomerDataSource;
}

/** The subgraph's schema alone (no store needed): for printing SDL and composing. */
export function customersSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [CustomerResolver, CustomerContactResolver, CaseCustomerResolver, DocumentCustomerResolver],
    // Entities other subgraphs own, which this one extends: nothing here references them.
    orphanedTypes: [CaseCustomer, DocumentCustomer],
    references: customersReferences,
  });
}

export async function createCustomersSubgraph(deps: {
  db: Kysely<CustomersDB>;
  bus: EventBus;
}): Promise<CustomersSubgraph> {
  const schema = await customersSchema();
  const source = new EmbeddedCustomers(deps.db, new Outbox<CustomersDB>(deps.db, 'customers', deps.bus));
  return {
    name: 'customers',
    schema,
    source,
    contextFor: (base: BaseContext): CustomersContext => ({
      ...base,
      customers: { source, loaders: customerLoaders(source) },
    }),
    start: () => undefined,
    stop: async () => undefined,
    settle: async () => 0,
    nextDue: async () => null,
  };
}
