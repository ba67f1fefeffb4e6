/*
 * The grammar of continuous queries (docs/QUERIES.md), for peggy. It is a string so that nothing
 * is generated or copied at build time: parser.ts generates the parser from it on first use.
 *
 * The grammar keeps to syntax and the shape of ast.ts. What needs arithmetic or a view of the
 * whole query (intervals, windows, options, GROUP BY's one window) is parser.ts's: the actions
 * call it through the parse options, as `build`, so its refusals are typed code with positions.
 *
 * Errors read well because every token is a named rule: a keyword by its own name, the tokens
 * that continue an expression all as "an operator", the start of any expression as "an
 * expression" (ExpressionMarker), so parser.ts can shorten the list of what was expected.
 */
export const GRAMMAR = String.raw`
{{
  // Words an unquoted name may not be, as they end the expression or list before them (a quoted
  // name may be any of them).
  const RESERVED = new Set([
    'AND', 'AS', 'BETWEEN', 'BY', 'CASE', 'CAST', 'CREATE', 'DISTINCT', 'ELSE', 'END', 'FALSE',
    'FROM', 'GROUP', 'HAVING', 'IN', 'INSERT', 'INTERVAL', 'INTO', 'IS', 'LIKE', 'NOT', 'NULL', 'OR',
    'SELECT', 'THEN', 'TRUE', 'WHEN', 'WHERE', 'WITH',
  ]);

  // Operators are left-associative: each tail item makes the node of the operand before it.
  function fold(head, tail) {
    return tail.reduce((left, make) => make(left), head);
  }

  function binary(op, left, right, negated = false) {
    return { kind: 'binary', op, left, right, negated, at: left.at };
  }
}}

{
  const build = options.build;
}

// The whole query is checked once it has all parsed, so that a syntax error is reported as one.
Query
  = _ parts:Create _ (";" _)? End { return build.query(parts); }

Create
  = CREATE _ (OrReplace _)? (QUERY / PUMP) _ name:Name _ withOptions:(o:With _ { return o; })?
    AS _ INSERT _ INTO _ output:StreamName _ select:Select _ source:From
    where:(_ WHERE _ e:Expr { return e; })? _ group:(GroupBy / NoGroupBy)
    { return { name, options: withOptions ?? {}, output, select, source, where, group }; }

OrReplace
  = at:Here OR _ REPLACE { build.refuse('OR REPLACE is not supported: delete the query first', at); }

Name
  = id:Identifier { return id.name; }

With
  = WITH _ "(" _ head:Option tail:(_ "," _ o:Option { return o; })* _ ")" { return build.options([head, ...tail]); }

Option
  = at:Here key:Identifier _ "=" _ valueAt:Here value:(StringLiteral / NumberLiteral)
    { return { key: key.name.toLowerCase(), at, value: { value, at: valueAt } }; }

Select
  = SELECT _ STREAM _ items:SelectList &(_ FROM) { return items; }
  / SELECT _ items:SelectList { return items; }

SelectList
  = head:SelectItem tail:(_ "," _ i:SelectItem { return i; })* { return [head, ...tail]; }

SelectItem
  = expr:Expr alias:(_ AS _ a:Alias { return a; } / _ a:Alias { return a; })?
    { return alias === null ? { expr, at: expr.at } : { expr, alias, at: expr.at }; }

Alias "an alias"
  = id:Identifier { return id.name; }

From
  = FROM _ at:Here stream:StreamName format:(_ f:Format { return f; })?
    { return { stream, format: format ?? { kind: 'json' }, at }; }

Format
  = FORMAT _ format:(JsonFormat / CsvFormat / RawFormat) { return format; }

JsonFormat
  = JSON columns:(_ c:Declarations { return c; })? { return columns === null ? { kind: 'json' } : { kind: 'json', columns }; }

CsvFormat
  = CSV _ columns:Declarations delimiter:(_ DELIMITER _ d:Delimiter { return d; })?
    { return { kind: 'csv', columns, delimiter: delimiter ?? ',' }; }

RawFormat
  = RAW { return { kind: 'raw' }; }

Delimiter
  = at:Here text:StringLiteral { return build.delimiter(text, at); }

Declarations
  = "(" _ head:Declaration tail:(_ "," _ d:Declaration { return d; })* _ ")" { return [head, ...tail]; }

Declaration
  = at:Here id:Identifier _ type:Type { return { name: id.name, type, at }; }

GroupBy
  = at:Here GROUP _ BY _ head:GroupItem tail:(_ "," _ i:GroupItem { return i; })* having:(_ HAVING _ e:Expr { return e; })?
    { return { items: [head, ...tail], having, at }; }

// A query without GROUP BY parses, for parser.ts to refuse it with the reason.
NoGroupBy
  = at:Here { return { items: [], having: null, at }; }

GroupItem
  = window:Window { return { window }; }
  / key:Expr { return { key }; }

// ---- windows ----

Window
  = TumbleWindow / HopWindow / SessionWindow / StepWindow / FloorWindow

TumbleWindow
  = at:Here TUMBLE _ "(" _ time:Expr _ "," _ size:Interval _ ")" { return { kind: 'tumble', time, sizeMs: size.ms, at }; }

HopWindow
  = at:Here HOP _ "(" _ time:Expr _ "," _ slide:Interval _ "," _ size:Interval _ ")" { return build.hop(time, slide, size, at); }

SessionWindow
  = at:Here SESSION _ "(" _ time:Expr _ "," _ gap:Interval _ ")" { return { kind: 'session', time, gapMs: gap.ms, at }; }

StepWindow
  = at:Here STEP _ "(" _ time:Expr _ BY _ size:Interval _ ")" { return { kind: 'tumble', time, sizeMs: size.ms, at }; }

FloorWindow
  = at:Here FLOOR _ "(" _ time:Expr _ TO _ unitAt:Here unit:Unit _ ")" { return build.floor(time, unit, unitAt, at); }

WindowKeyword
  = TUMBLE / HOP / SESSION / STEP

// ---- expressions, loosest first ----

Expr
  = OrExpr

ExprList
  = head:Expr tail:(_ "," _ e:Expr { return e; })* { return [head, ...tail]; }

OrExpr
  = head:AndExpr tail:(_ OrOp _ right:AndExpr { return (left) => binary('OR', left, right); })* { return fold(head, tail); }

AndExpr
  = head:NotExpr tail:(_ AndOp _ right:NotExpr { return (left) => binary('AND', left, right); })* { return fold(head, tail); }

NotExpr
  = at:Here NOT _ operand:NotExpr { return { kind: 'unary', op: 'NOT', operand, at }; }
  / Comparison

Comparison
  = head:Concat tail:ComparisonTail* { return fold(head, tail); }

ComparisonTail
  = _ op:ComparisonOp _ right:Concat { return (left) => binary(op, left, right); }
  / _ IsOp _ not:(NOT _)? NULL { return (operand) => ({ kind: 'isNull', operand, negated: not !== null, at: operand.at }); }
  / _ PostfixNot _ make:Negatable { return (operand) => make(operand, true); }
  / _ &NegatableOp make:Negatable { return (operand) => make(operand, false); }

// What NOT may come before. The bounds of BETWEEN are above AND, which separates them.
Negatable
  = IN _ "(" _ list:ExprList _ ")" { return (operand, negated) => ({ kind: 'in', operand, list, negated, at: operand.at }); }
  / BETWEEN _ low:Concat _ AND _ high:Concat { return (operand, negated) => ({ kind: 'between', operand, low, high, negated, at: operand.at }); }
  / LIKE _ right:Concat { return (operand, negated) => binary('LIKE', operand, right, negated); }

Concat
  = head:Additive tail:(_ ConcatOp _ right:Additive { return (left) => binary('||', left, right); })* { return fold(head, tail); }

Additive
  = head:Multiplicative tail:(_ op:AddOp _ right:Multiplicative { return (left) => binary(op, left, right); })* { return fold(head, tail); }

Multiplicative
  = head:Unary tail:(_ op:MulOp _ right:Unary { return (left) => binary(op, left, right); })* { return fold(head, tail); }

Unary
  = at:Here "-" _ operand:Unary { return { kind: 'unary', op: '-', operand, at }; }
  / Primary

Primary
  = ExpressionMarker
  / "(" _ e:Expr _ ")" { return e; }
  / Case
  / Cast
  / Interval
  / Literal
  / MisplacedWindow
  / Call
  / ColumnRef

// Never matches: it only records, where an expression may start, that one was expected.
ExpressionMarker "an expression"
  = []

Case
  = at:Here CASE _ operand:(e:Expr _ { return e; })? whens:When+ otherwise:(ELSE _ e:Expr _ { return e; })? END
    { return { kind: 'case', ...(operand === null ? {} : { operand }), whens, ...(otherwise === null ? {} : { else: otherwise }), at }; }

When
  = WHEN _ when:Expr _ THEN _ then:Expr _ { return { when, then }; }

Cast
  = at:Here CAST _ "(" _ operand:Expr _ AS _ type:Type _ ")" { return { kind: 'cast', operand, type, at }; }

// The unit is inside the quotes ('5 SECONDS') or after them; a word after quotes that hold a unit is an alias.
Interval
  = at:Here INTERVAL _ amount:StringLiteral
    unit:(_ !{ return /[a-z]/i.test(amount); } unitAt:Here word:Unit { return { word, at: unitAt }; })?
    { return build.interval(amount, unit, at); }

Literal
  = at:Here value:(StringLiteral / NumberLiteral / TRUE { return true; } / FALSE { return false; } / NULL { return null; })
    { return { kind: 'literal', value, at }; }

MisplacedWindow
  = window:Window { build.misplacedWindow(text(), window.at); }

Call
  = at:Here !(WindowKeyword _ "(") name:UnquotedName _ CallParen _ body:(
        DISTINCT _ args:ExprList { return { args, distinct: true }; }
      / star:Star { return { args: [build.star(name, star)], distinct: false }; }
      / args:ExprList? { return { args: args ?? [], distinct: false }; }
    ) _ ")"
    { return { kind: 'call', name: name.toUpperCase(), ...body, at }; }

Star
  = at:Here "*" { return { kind: 'star', at }; }

// KDA qualifies ROWTIME by the stream it is of ("SOURCE_SQL_STREAM_001".ROWTIME); a query has one.
ColumnRef
  = at:Here Identifier _ Dot _ ROWTIME !(_ (Dot / Bracket)) { return { kind: 'column', path: ['ROWTIME'], quoted: false, at }; }
  / at:Here head:Identifier steps:PathStep* { return { kind: 'column', path: [head.name, ...steps], quoted: head.quoted, at }; }

// After a dot any word is a field's name: JSON documents have fields called "from" or "end".
PathStep
  = _ Dot _ field:FieldName { return field; }
  / _ Bracket _ key:(StringLiteral / IntegerLiteral) _ "]" { return key; }

FieldName "a name"
  = id:QuotedIdentifier { return id.name; }
  / $(IdentStart IdentChar*)

// ---- types ----

Type "a column type"
  = ("VARCHAR"i / "CHAR"i) !IdentChar (_ "(" _ IntegerLiteral _ ")")? { return 'VARCHAR'; }
  / ("STRING"i / "TEXT"i) !IdentChar { return 'VARCHAR'; }
  / ("INTEGER"i / "INT"i / "BIGINT"i / "SMALLINT"i / "TINYINT"i) !IdentChar { return 'BIGINT'; }
  / "DOUBLE"i !IdentChar (_ "PRECISION"i !IdentChar)? { return 'DOUBLE'; }
  / ("DECIMAL"i / "NUMERIC"i) !IdentChar (_ "(" _ IntegerLiteral (_ "," _ IntegerLiteral)? _ ")")? { return 'DOUBLE'; }
  / ("FLOAT"i / "REAL"i) !IdentChar { return 'DOUBLE'; }
  / ("BOOLEAN"i / "BOOL"i) !IdentChar { return 'BOOLEAN'; }
  / "TIMESTAMP"i !IdentChar { return 'TIMESTAMP'; }

// ---- tokens ----

Identifier "a name"
  = QuotedIdentifier
  / name:UnquotedName { return { name, quoted: false }; }

QuotedIdentifier
  = '"' name:$([^"] / '""')+ '"' { return { name: name.replaceAll('""', '"'), quoted: true }; }
  / at:Here '"' ([^"] / '""')* End { build.refuse('this quoted name is not closed: a " is missing', at); }

UnquotedName "a name"
  = name:$(IdentStart IdentChar*) !{ return RESERVED.has(name.toUpperCase()); } { return name; }

// Kinesis' stream names ([a-zA-Z0-9_.-]+), unquoted where a stream is named; "--" starts a comment.
StreamName "a stream name"
  = id:QuotedIdentifier { return id.name; }
  / name:$([a-zA-Z0-9_.] / "-" !"-")+ !{ return RESERVED.has(name.toUpperCase()); } { return name; }

Unit "a unit"
  = UnquotedName

StringLiteral "a string"
  = "'" text:$([^'] / "''")* "'" { return text.replaceAll("''", "'"); }
  / at:Here "'" { build.refuse("this string is not closed: a ' is missing", at); }

NumberLiteral "a number"
  = digits:$(([0-9]+ ("." [0-9]*)? / "." [0-9]+) ([eE] [+-]? [0-9]+)?) !IdentChar { return Number(digits); }

IntegerLiteral "a number"
  = digits:$[0-9]+ !IdentChar { return Number(digits); }

IdentStart
  = [A-Za-z_]

IdentChar
  = [A-Za-z0-9_]

Here
  = "" { return location().start; }

End "end of query"
  = !.

_ "whitespace"
  = ([ \t\r\n]+ / "--" [^\n]* / BlockComment)*

BlockComment
  = "/*" (!"*/" .)* "*/"
  / at:Here "/*" { build.refuse('this comment is not closed: a */ is missing', at); }

// ---- operators: what continues an expression ----

OrOp "an operator" = "OR"i !IdentChar
AndOp "an operator" = "AND"i !IdentChar
IsOp "an operator" = "IS"i !IdentChar
PostfixNot "an operator" = "NOT"i !IdentChar
NegatableOp "an operator" = IN / BETWEEN / LIKE
ConcatOp "an operator" = "||"
AddOp "an operator" = "+" / "-"
MulOp "an operator" = "*" / "/" / "%"
Dot "an operator" = "."
Bracket "an operator" = "["
CallParen "an operator" = "("

ComparisonOp "an operator"
  = op:("<=" / ">=" / "<>" / "=" / "<" / ">") { return op; }
  / "!=" { return '<>'; }

// ---- keywords ----

AND "AND" = "AND"i !IdentChar
AS "AS" = "AS"i !IdentChar
BETWEEN "BETWEEN" = "BETWEEN"i !IdentChar
BY "BY" = "BY"i !IdentChar
CASE "CASE" = "CASE"i !IdentChar
CAST "CAST" = "CAST"i !IdentChar
CREATE "CREATE" = "CREATE"i !IdentChar
CSV "CSV" = "CSV"i !IdentChar
DELIMITER "DELIMITER" = "DELIMITER"i !IdentChar
DISTINCT "DISTINCT" = "DISTINCT"i !IdentChar
ELSE "ELSE" = "ELSE"i !IdentChar
END "END" = "END"i !IdentChar
FALSE "FALSE" = "FALSE"i !IdentChar
FLOOR "FLOOR" = "FLOOR"i !IdentChar
FORMAT "FORMAT" = "FORMAT"i !IdentChar
FROM "FROM" = "FROM"i !IdentChar
GROUP "GROUP BY" = "GROUP"i !IdentChar
HAVING "HAVING" = "HAVING"i !IdentChar
HOP "HOP" = "HOP"i !IdentChar
IN "IN" = "IN"i !IdentChar
INSERT "INSERT INTO" = "INSERT"i !IdentChar
INTERVAL "INTERVAL" = "INTERVAL"i !IdentChar
INTO "INTO" = "INTO"i !IdentChar
IS "IS" = "IS"i !IdentChar
JSON "JSON" = "JSON"i !IdentChar
LIKE "LIKE" = "LIKE"i !IdentChar
NOT "NOT" = "NOT"i !IdentChar
NULL "NULL" = "NULL"i !IdentChar
OR "OR" = "OR"i !IdentChar
PUMP "PUMP" = "PUMP"i !IdentChar
QUERY "QUERY" = "QUERY"i !IdentChar
RAW "RAW" = "RAW"i !IdentChar
REPLACE "REPLACE" = "REPLACE"i !IdentChar
ROWTIME "ROWTIME" = "ROWTIME"i !IdentChar
SELECT "SELECT" = "SELECT"i !IdentChar
SESSION "SESSION" = "SESSION"i !IdentChar
STEP "STEP" = "STEP"i !IdentChar
STREAM "STREAM" = "STREAM"i !IdentChar
THEN "THEN" = "THEN"i !IdentChar
TO "TO" = "TO"i !IdentChar
TRUE "TRUE" = "TRUE"i !IdentChar
TUMBLE "TUMBLE" = "TUMBLE"i !IdentChar
WHEN "WHEN" = "WHEN"i !IdentChar
WHERE "WHERE" = "WHERE"i !IdentChar
WITH "WITH" = "WITH"i !IdentChar
`;
