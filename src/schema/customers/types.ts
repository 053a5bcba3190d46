import { Authorized, Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { readersOf } from '../../policy/index.js';
import { Channel, PageInfo } from '../shared/index.js';
import { Email, Phone } from '../shared/validation.js';

@ObjectType()
export class PostalAddress {
  @Field(() => String)
  line1!: string;

  @Field(() => String, { nullable: true })
  line2!: string | null;

  @Field(() => String)
  city!: string;

  @Field(() => String)
  postcode!: string;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2' })
  country!: string;
}

@ObjectType({ description: 'customers subgraph' })
@Directive('@key(fields: "id")')
export class Customer {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Authorized(...readersOf('contact'))
  @Field(() => String, { nullable: true })
  email!: string | null;

  @Authorized(...readersOf('contact'))
  @Field(() => String, { nullable: true })
  phone!: string | null;

  @Authorized(...readersOf('contact'))
  @Field(() => PostalAddress, { nullable: true })
  postalAddress!: PostalAddress | null;

  @Field(() => Channel)
  preferredChannel!: Channel;

  @Field(() => [String])
  segments!: string[];

  @Field(() => String, { description: 'BCP 47, e.g. pl-PL' })
  locale!: string;

  @Field(() => String, { description: 'The brand the customer is served under.' })
  brand!: string;
}

@ObjectType()
export class CustomerEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Customer)
  node!: Customer;
}

@ObjectType()
export class CustomerConnection {
  @Field(() => [CustomerEdge])
  edges!: CustomerEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

/** Workflow owns Case; customers resolves its `customer` from the case's customerId. */
@ObjectType('Case')
@Directive('@key(fields: "id")')
export class CaseCustomer {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true })
  @Directive('@external')
  customerId!: string | null;
}

/** Communications owns Document; customers resolves its `customer`. */
@ObjectType('Document')
@Directive('@key(fields: "id")')
export class DocumentCustomer {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  @Directive('@external')
  customerId!: string;
}

@InputType({
  description: 'Corrects contact details: a value sets it, null clears it, leaving it out keeps it.',
})
export class UpdateCustomerContactInput {
  @Field(() => ID)
  customerId!: string;

  @Email()
  @Field(() => String, { nullable: true })
  email?: string | null;

  @Phone()
  @Field(() => String, { nullable: true, description: 'International format, e.g. +44 7700 900123.' })
  phone?: string | null;
}
