import { GraphError, graphErrors } from '../http/errors';

/**
 * The `$filter` subset SPEC 6 names for GET /users and /groups, parsed into a typed tree by a
 * small recursive-descent parser (OData ABNF, http://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html):
 *
 *   or-expr   = and-expr *( "or" and-expr )
 *   and-expr  = primary *( "and" primary )
 *   primary   = "(" or-expr ")" / property "eq" literal / "startswith(" property "," string ")"
 *             / "groupTypes/any(" var ":" var "eq" string ")"
 *   literal   = string ('' escapes a quote) / true / false / GUID
 *
 * `and` binds tighter than `or`, as in OData. Keywords are case-sensitive as in OData (Graph
 * refuses `EQ`); property names are matched case-insensitively, as Graph does. Which properties
 * a resource allows is the caller's choice (FilterRules); anything else is a 400 naming it.
 */
export type FilterValue = string | boolean;

export type FilterNode =
  | { readonly kind: 'eq'; readonly property: string; readonly value: FilterValue }
  | { readonly kind: 'startswith'; readonly property: string; readonly value: string }
  | { readonly kind: 'anyEq'; readonly property: string; readonly value: string }
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode };

/** The operands of a chain of one operator (`a or b or c`, parsed left-deep), left to right. */
export function operandsOf(node: FilterNode, kind: 'and' | 'or'): FilterNode[] {
  return node.kind === kind ? [...operandsOf(node.left, kind), ...operandsOf(node.right, kind)] : [node];
}

export interface FilterRules {
  /** The resource's name in messages: 'User', 'Group'. */
  readonly resource: string;
  /** Properties `eq` may compare, canonical spelling, with the literal type each takes. */
  readonly eq: Readonly<Record<string, 'string' | 'boolean'>>;
  readonly startswith: readonly string[];
  /** Collection properties `any(c:c eq '…')` may test. */
  readonly any: readonly string[];
}

/** Deeper nesting than any real filter; it keeps a hostile one from exhausting the stack. */
const maxDepth = 32;
/** Graph caps the number of clauses too; this bounds the size of the SQL it becomes. */
const maxClauses = 50;

interface Token {
  readonly type: 'word' | 'string' | 'punct' | 'end';
  readonly text: string;
  readonly position: number;
}

const guidText = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function syntaxError(text: string, position: number): GraphError {
  // The wording of Graph's (and Microsoft.OData's) answer to a filter it cannot read.
  return new GraphError('BadRequest', `Invalid filter clause: Syntax error at position ${position} in '${text}'.`);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new GraphError('BadRequest', `Invalid filter clause: There is an unterminated string literal at position ${start} in '${text}'.`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      tokens.push({ type: 'string', text: value, position: start });
    } else if ('(),:/'.includes(ch)) {
      tokens.push({ type: 'punct', text: ch, position: i });
      i += 1;
    } else {
      const match = /^[A-Za-z0-9_.-]+/.exec(text.slice(i));
      if (match === null) throw syntaxError(text, i);
      tokens.push({ type: 'word', text: match[0], position: i });
      i += match[0].length;
    }
  }
  tokens.push({ type: 'end', text: '', position: text.length });
  return tokens;
}

class Parser {
  private index = 0;
  private clauses = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly rules: FilterRules,
  ) {}

  parse(): FilterNode {
    const node = this.orExpression(0);
    if (this.peek().type !== 'end') throw syntaxError(this.text, this.peek().position);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { type: 'end', text: '', position: this.text.length };
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index += 1;
    return token;
  }

  private expect(type: Token['type'], text?: string): Token {
    const token = this.next();
    if (token.type !== type || (text !== undefined && token.text !== text)) throw syntaxError(this.text, token.position);
    return token;
  }

  private orExpression(depth: number): FilterNode {
    let left = this.andExpression(depth);
    while (this.peek().type === 'word' && this.peek().text === 'or') {
      this.next();
      left = { kind: 'or', left, right: this.andExpression(depth) };
    }
    return left;
  }

  private andExpression(depth: number): FilterNode {
    let left = this.primary(depth);
    while (this.peek().type === 'word' && this.peek().text === 'and') {
      this.next();
      left = { kind: 'and', left, right: this.primary(depth) };
    }
    return left;
  }

  private primary(depth: number): FilterNode {
    if (depth > maxDepth) throw new GraphError('BadRequest', `Invalid filter clause: The filter is nested more than ${maxDepth} levels deep.`);
    this.clauses += 1;
    if (this.clauses > maxClauses) throw new GraphError('BadRequest', `Invalid filter clause: The filter has more than ${maxClauses} clauses.`);
    const token = this.next();
    if (token.type === 'punct' && token.text === '(') {
      const inner = this.orExpression(depth + 1);
      this.expect('punct', ')');
      return inner;
    }
    if (token.type !== 'word') throw syntaxError(this.text, token.position);
    const following = this.peek();
    if (following.type === 'punct' && following.text === '(') {
      if (token.text !== 'startswith') throw new GraphError('BadRequest', `Invalid filter clause: An unknown function with name '${token.text}' was found.`);
      this.next();
      const property = this.property(this.expect('word'), this.rules.startswith);
      this.expect('punct', ',');
      const value = this.expect('string').text;
      this.expect('punct', ')');
      return { kind: 'startswith', property, value };
    }
    if (following.type === 'punct' && following.text === '/') {
      const property = this.property(token, this.rules.any);
      this.next();
      const lambda = this.expect('word');
      if (lambda.text !== 'any') throw new GraphError('BadRequest', `Invalid filter clause: '${lambda.text}' is not supported on ${property}; use any.`);
      this.expect('punct', '(');
      const variable = this.expect('word').text;
      this.expect('punct', ':');
      if (this.expect('word').text !== variable) throw syntaxError(this.text, this.tokens[this.index - 1]?.position ?? 0);
      this.expect('word', 'eq');
      const value = this.expect('string').text;
      this.expect('punct', ')');
      return { kind: 'anyEq', property, value };
    }
    const property = this.property(token, Object.keys(this.rules.eq));
    const operator = this.expect('word');
    if (operator.text !== 'eq') {
      if (['ne', 'gt', 'ge', 'lt', 'le', 'in', 'has'].includes(operator.text)) throw this.unsupported(property);
      throw syntaxError(this.text, operator.position);
    }
    return { kind: 'eq', property, value: this.literal(property) };
  }

  private literal(property: string): FilterValue {
    const token = this.next();
    const type = this.rules.eq[property];
    // An id is a GUID: anything else is Graph's 400 for an identifier, not a filter that matches nothing.
    if (type === 'string' && property === 'id' && token.type === 'string' && !guidText.test(token.text)) throw graphErrors.invalidObjectId(token.text);
    if (type === 'string' && token.type === 'string') return token.text;
    // A bare GUID is an OData Edm.Guid literal; Graph takes it for id as it takes the string.
    if (type === 'string' && property === 'id' && token.type === 'word' && guidText.test(token.text)) return token.text;
    if (type === 'boolean' && token.type === 'word' && (token.text === 'true' || token.text === 'false')) return token.text === 'true';
    if (token.type === 'end') throw syntaxError(this.text, token.position);
    throw new GraphError(
      'BadRequest',
      `Invalid filter clause: A literal of type '${type === 'boolean' ? 'Edm.Boolean' : 'Edm.String'}' is required for property '${property}' at position ${token.position}.`,
    );
  }

  private property(token: Token, allowed: readonly string[]): string {
    if (token.type !== 'word') throw syntaxError(this.text, token.position);
    const property = allowed.find((name) => name.toLowerCase() === token.text.toLowerCase());
    if (property === undefined) throw this.unsupported(token.text);
    return property;
  }

  private unsupported(property: string): GraphError {
    // Graph's answer to a clause its directory cannot evaluate.
    return new GraphError('Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${property}' of resource '${this.rules.resource}'.`);
  }
}

/** Parses a `$filter` value under the resource's rules: a tree, or a 400 naming the part. */
export function parseFilter(text: string, rules: FilterRules): FilterNode {
  if (text.trim() === '') throw syntaxError(text, 0);
  return new Parser(text, tokenize(text), rules).parse();
}
