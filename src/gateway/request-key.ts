import { Kind, print, type ASTNode, type DirectiveNode, type DocumentNode, type ValueNode } from 'graphql';

/**
 * A compact text that names an executable document exactly, for the key of a shared subgraph call
 * (./executors.ts): two documents get the same text only if they print the same.
 *
 * graphql-js's `print` did this job, and cost about 2 % of the remote gateway's CPU under the page
 * bench: every subgraph call of every request is keyed, joined or not, and each is a new document
 * the stitching layer built, so nothing can be remembered per document. `print` walks the tree
 * through the generic visitor, builds an array per node and indents; this writes one string in
 * one pass, about twenty times faster on the bench's entity queries.
 *
 * Every part that changes what a subgraph answers is written: operation type and name, variable
 * definitions (type, default, directives), directives with their arguments, fields with alias and
 * arguments, inline fragments and spreads, fragment definitions. Names cannot hold the punctuation
 * used between parts, and strings are written as JSON, so the text reads back one way only. A node
 * kind not listed (none appears in an executable document today) makes the whole key graphql-js's
 * print instead, so a future kind can only cost speed, never merge two different calls.
 */
export function documentKey(document: DocumentNode): string {
  try {
    return `k${writeNode(document)}`;
  } catch (err) {
    if (!(err instanceof UnknownKind)) throw err;
    return `p${print(document)}`;
  }
}

class UnknownKind extends Error {}

function writeNode(node: ASTNode): string {
  switch (node.kind) {
    case Kind.DOCUMENT: {
      let s = '';
      for (const d of node.definitions) s += `${writeNode(d)};`;
      return s;
    }
    case Kind.OPERATION_DEFINITION: {
      let s = `${node.operation} ${node.name?.value ?? ''}(`;
      for (const v of node.variableDefinitions ?? []) s += `${writeNode(v)},`;
      return `${s})${writeDirectives(node.directives)}${writeNode(node.selectionSet)}`;
    }
    case Kind.VARIABLE_DEFINITION:
      return `$${node.variable.name.value}:${writeNode(node.type)}${node.defaultValue ? `=${writeValue(node.defaultValue)}` : ''}${writeDirectives(node.directives)}`;
    case Kind.FRAGMENT_DEFINITION: {
      // Fragment variables are an experimental syntax; written so a document with them is still exact.
      let s = `fragment ${node.name.value}(`;
      for (const v of node.variableDefinitions ?? []) s += `${writeNode(v)},`;
      return `${s})on ${node.typeCondition.name.value}${writeDirectives(node.directives)}${writeNode(node.selectionSet)}`;
    }
    case Kind.SELECTION_SET: {
      let s = '{';
      for (const sel of node.selections) s += `${writeNode(sel)} `;
      return `${s}}`;
    }
    case Kind.FIELD: {
      let s = node.alias ? `${node.alias.value}:${node.name.value}` : node.name.value;
      if (node.arguments?.length) {
        s += '(';
        for (const a of node.arguments) s += `${a.name.value}:${writeValue(a.value)},`;
        s += ')';
      }
      s += writeDirectives(node.directives);
      return node.selectionSet ? s + writeNode(node.selectionSet) : s;
    }
    case Kind.INLINE_FRAGMENT:
      return `...${node.typeCondition ? `on ${node.typeCondition.name.value}` : ''}${writeDirectives(node.directives)}${writeNode(node.selectionSet)}`;
    case Kind.FRAGMENT_SPREAD:
      return `...${node.name.value}${writeDirectives(node.directives)}`;
    case Kind.NAMED_TYPE:
      return node.name.value;
    case Kind.LIST_TYPE:
      return `[${writeNode(node.type)}]`;
    case Kind.NON_NULL_TYPE:
      return `${writeNode(node.type)}!`;
    default:
      throw new UnknownKind(node.kind);
  }
}

function writeDirectives(directives: readonly DirectiveNode[] | undefined): string {
  if (!directives?.length) return '';
  let s = '';
  for (const d of directives) {
    s += `@${d.name.value}(`;
    for (const a of d.arguments ?? []) s += `${a.name.value}:${writeValue(a.value)},`;
    s += ')';
  }
  return s;
}

function writeValue(value: ValueNode): string {
  switch (value.kind) {
    case Kind.VARIABLE:
      return `$${value.name.value}`;
    case Kind.INT:
    case Kind.FLOAT:
      return value.value;
    case Kind.STRING:
      return JSON.stringify(value.value);
    case Kind.BOOLEAN:
      return value.value ? 'true' : 'false';
    case Kind.NULL:
      return 'null';
    case Kind.ENUM:
      return value.value;
    case Kind.LIST: {
      let s = '[';
      for (const v of value.values) s += `${writeValue(v)},`;
      return `${s}]`;
    }
    case Kind.OBJECT: {
      let s = '{';
      for (const f of value.fields) s += `${f.name.value}:${writeValue(f.value)},`;
      return `${s}}`;
    }
    default:
      throw new UnknownKind((value as ValueNode).kind);
  }
}
