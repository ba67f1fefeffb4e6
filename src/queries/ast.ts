/*
 * The syntax tree of a continuous query (docs/QUERIES.md), as the parser (parser.ts, from
 * grammar.ts) returns it and the rest of src/queries reads it. Every node carries where it
 * starts in the query's text, so a refusal can name the line and column.
 */

export interface Position {
  /** 0-based offset into the query's text. */
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/** The types a declared column or a CAST names (their SQL spellings are mapped onto these). */
export type ScalarType = 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';

export type BinaryOperator = '+' | '-' | '*' | '/' | '%' | '||' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR' | 'LIKE';

export type Expr =
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null; readonly at: Position }
  /** `INTERVAL '5' SECOND`, in milliseconds. */
  | { readonly kind: 'interval'; readonly ms: number; readonly at: Position }
  /**
   * A field, with its nested path: `a.b[0]['c d']` is ['a', 'b', 0, 'c d']. Names are as written
   * (a quoted identifier keeps its case; an unquoted one too: JSON field names are case-sensitive).
   * ROWTIME, PARTITION_KEY, SEQUENCE_NUMBER, SHARD_ID, APPROXIMATE_ARRIVAL_TIME, DATA,
   * WINDOW_START and WINDOW_END are columns too; src/queries/evaluate.ts resolves them.
   */
  | { readonly kind: 'column'; readonly path: readonly (string | number)[]; readonly quoted: boolean; readonly at: Position }
  /** Only as COUNT(*)'s argument. */
  | { readonly kind: 'star'; readonly at: Position }
  | { readonly kind: 'unary'; readonly op: '-' | 'NOT'; readonly operand: Expr; readonly at: Position }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOperator;
      readonly left: Expr;
      readonly right: Expr;
      readonly negated: boolean;
      readonly at: Position;
    }
  | { readonly kind: 'isNull'; readonly operand: Expr; readonly negated: boolean; readonly at: Position }
  | { readonly kind: 'in'; readonly operand: Expr; readonly list: readonly Expr[]; readonly negated: boolean; readonly at: Position }
  | {
      readonly kind: 'between';
      readonly operand: Expr;
      readonly low: Expr;
      readonly high: Expr;
      readonly negated: boolean;
      readonly at: Position;
    }
  | {
      readonly kind: 'case';
      /** `CASE x WHEN 1 THEN ...`; absent for `CASE WHEN cond THEN ...`. */
      readonly operand?: Expr;
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly else?: Expr;
      readonly at: Position;
    }
  | { readonly kind: 'cast'; readonly operand: Expr; readonly type: ScalarType; readonly at: Position }
  /** A function or an aggregate; the name upper-cased. `COUNT(DISTINCT x)` has distinct true. */
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly distinct: boolean; readonly at: Position };

/** The window of GROUP BY. TUMBLE, STEP(... BY ...) and FLOOR(... TO unit) are all tumbling. */
export type WindowSpec =
  | { readonly kind: 'tumble'; readonly time: Expr; readonly sizeMs: number; readonly at: Position }
  /** Flink's HOP(time, slide, size): windows of sizeMs starting every slideMs. */
  | { readonly kind: 'hop'; readonly time: Expr; readonly slideMs: number; readonly sizeMs: number; readonly at: Position }
  | { readonly kind: 'session'; readonly time: Expr; readonly gapMs: number; readonly at: Position };

export interface ColumnDeclaration {
  readonly name: string;
  readonly type: ScalarType;
  readonly at: Position;
}

export type SourceFormat =
  /** Without columns, any field may be named; with them, only those (and their types are applied). */
  | { readonly kind: 'json'; readonly columns?: readonly ColumnDeclaration[] }
  | { readonly kind: 'csv'; readonly columns: readonly ColumnDeclaration[]; readonly delimiter: string }
  /** The record's bytes: DATA (UTF-8 text) and the pseudo-columns only. */
  | { readonly kind: 'raw' };

export interface SelectItem {
  readonly expr: Expr;
  readonly alias?: string;
  readonly at: Position;
}

export interface OptionValue {
  readonly value: string | number;
  readonly at: Position;
}

export interface QueryAst {
  readonly name: string;
  /** `WITH (key = value, ...)` after the name; keys lower-cased. Their meaning is query_definition.ts's. */
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly output: string;
  readonly select: readonly SelectItem[];
  readonly source: { readonly stream: string; readonly format: SourceFormat; readonly at: Position };
  readonly where?: Expr;
  /** GROUP BY's keys, without the window. */
  readonly groupBy: readonly Expr[];
  readonly window: WindowSpec;
  readonly having?: Expr;
}
