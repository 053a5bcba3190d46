import {
  Arg,
  Authorized,
  Ctx,
  Directive,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { CustomersContext } from '../../context/index.js';
import {
  CaseCustomer,
  Customer,
  CustomerConnection,
  DocumentCustomer,
  UpdateCustomerContactInput,
} from '../../schema/customers/types.js';
import { MUTATION_ROLES } from '../policy.js';
import { toCustomer, toCustomerConnection } from './mappers.js';

@Resolver(() => Customer)
export class CustomerResolver {
  @Authorized()
  @Query(() => Customer, { nullable: true })
  async customer(@Arg('id', () => ID) id: string, @Ctx() ctx: CustomersContext): Promise<Customer | null> {
    const row = await ctx.customers.loaders.customer.load(id);
    return row ? toCustomer(row) : null;
  }

  @Authorized()
  @Query(() => CustomerConnection)
  async customers(
    @Ctx() ctx: CustomersContext,
    @Arg('segment', () => String, { nullable: true }) segment?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<CustomerConnection> {
    return toCustomerConnection(await ctx.customers.source.list({ segment, first, after }));
  }
}

@Resolver(() => Customer)
export class CustomerContactResolver {
  @Authorized(...MUTATION_ROLES.updateCustomerContact)
  @Mutation(() => Customer, {
    description: "Corrects a customer's email or phone (for instance before resending a failed delivery).",
  })
  async updateCustomerContact(
    @Arg('input', () => UpdateCustomerContactInput) input: UpdateCustomerContactInput,
    @Ctx() ctx: CustomersContext,
  ): Promise<Customer> {
    return toCustomer(await ctx.customers.source.updateContact(ctx.principal!.sub, input));
  }
}

async function customerOf(id: string | null, ctx: CustomersContext): Promise<Customer | null> {
  if (!id) return null;
  const row = await ctx.customers.loaders.customer.load(id);
  return row ? toCustomer(row) : null;
}

@Resolver(() => CaseCustomer)
export class CaseCustomerResolver {
  @FieldResolver(() => Customer, { nullable: true })
  @Directive('@requires(fields: "customerId")')
  @Authorized()
  customer(@Root() c: CaseCustomer, @Ctx() ctx: CustomersContext): Promise<Customer | null> {
    return customerOf(c.customerId, ctx);
  }
}

@Resolver(() => DocumentCustomer)
export class DocumentCustomerResolver {
  @FieldResolver(() => Customer, { nullable: true })
  @Directive('@requires(fields: "customerId")')
  @Authorized()
  customer(@Root() d: DocumentCustomer, @Ctx() ctx: CustomersContext): Promise<Customer | null> {
    return customerOf(d.customerId, ctx);
  }
}
