//! Abstract syntax tree for the KQL subset Riposte understands.
//!
//! Shapes, top-down:
//!
//! * [`Query`] — `set`/`declare query_parameters` statements (kept but not interpreted),
//!   `let` statements in source order, then one tabular expression `body`.
//!   Any further `;`-separated tabular statements land in `extra_bodies`.
//! * [`LetStmt`] — `let name = <LetValue>;` where [`LetValue`] is a scalar [`Expr`],
//!   a [`TabularExpr`], or a user [`FunctionDef`] (`let f = (a:string, b:long=1) { ... };`).
//! * [`TabularExpr`] — a [`Source`] followed by `| operator` stages ([`Operator`] / [`OpKind`]).
//!   Sources: table / let names, function calls, `union`, `datatable`, `print`,
//!   `range`, `externaldata`, `materialize(...)`, parenthesised subqueries, `search`, `find`,
//!   `evaluate` (as source).
//! * [`Expr`] / [`ExprKind`] — scalar expressions. Binary operators (arithmetic, comparison,
//!   logical and every string operator incl. negated / `_cs` forms) are [`BinOp`];
//!   list operators (`in`, `!in`, `in~`, `!in~`, `has_any`, `has_all`) are [`ListOp`].
//!   Function calls keep their name as written (`iff`, `case`, `not`, `count`, `bin`… are calls).
//!   `toscalar(...)` is [`ExprKind::ToScalar`]; a tabular expression used where a scalar list is
//!   expected (`x in (T | project y)`) is [`ExprKind::Subquery`].
//!
//! Every node carries a [`Span`] of byte offsets into the query text.
//!
//! Literal encodings (chosen to match KQL's native precision):
//! * `datetime` — [`Literal::DateTime`] holds **ticks (100 ns) since the Unix epoch** (may be negative).
//! * `timespan` — [`Literal::Timespan`] holds **ticks (100 ns)**.
//! * plain integer literals are `long` ([`Literal::Long`]); `int(1)` gives [`Literal::Int`].
//! * `dynamic(...)` / bare `[..]` JSON arrays become [`Literal::Dynamic`] with a `serde_json::Value`
//!   (datetime / timespan items inside a dynamic literal are stored as their KQL string form).
//!
//! Stability: consumers (the evaluator) depend on these names; only add, never rename.

use serde_json::Value as Json;

/// Half-open byte range `[start, end)` into the original query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// Smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// An identifier as written (column, table, let name, function name, `$left`, `$right`).
/// Bracketed names `['My Col']` are unquoted into `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `set x = y;` and `declare query_parameters(...)` statements (not interpreted).
    pub options: Vec<SetOption>,
    /// `declare query_parameters (name:type [= default], ...)` parameters.
    pub query_parameters: Vec<Param>,
    /// `let` statements in source order; later ones may refer to earlier ones.
    pub lets: Vec<LetStmt>,
    /// The (first) tabular expression statement: what the query returns.
    pub body: TabularExpr,
    /// Further tabular statements after `body` (`T1; T2`) — rare, kept for completeness.
    pub extra_bodies: Vec<TabularExpr>,
    pub span: Span,
}

/// `set name [= value];`
#[derive(Debug, Clone, PartialEq)]
pub struct SetOption {
    pub name: String,
    pub value: Option<Expr>,
    pub span: Span,
}

/// `let name = value;`
#[derive(Debug, Clone, PartialEq)]
pub struct LetStmt {
    pub name: Ident,
    pub value: LetValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LetValue {
    /// `let x = 5;` `let since = ago(7d);` `let n = toscalar(T | count);`
    Scalar(Expr),
    /// `let T = DeviceEvents | where ...;` `let M = materialize(...);` `let D = datatable(...)[...];`
    Tabular(TabularExpr),
    /// `let f = (a:string, b:long = 1) { ... };`
    Function(FunctionDef),
}

/// A user-defined function (lambda bound by `let`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub params: Vec<Param>,
    /// `let` statements inside the body `{ let y = ...; result }`.
    pub lets: Vec<LetStmt>,
    pub body: FunctionBody,
    pub span: Span,
}

/// What a function body returns.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum FunctionBody {
    Scalar(Expr),
    Tabular(TabularExpr),
}

/// Function / query parameter `name: type [= default]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: ParamType,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    Scalar(TypeName),
    /// Tabular parameter `T:(*)` (`columns == None`) or `T:(a:string, b:long)` / `T:(a:string, *)`.
    Tabular {
        columns: Option<Vec<ColumnDecl>>,
        open: bool,
    },
}

/// `name:type` in `datatable`, `externaldata`, tabular params, parse patterns, evaluate schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDecl {
    pub name: Ident,
    pub ty: TypeName,
    pub span: Span,
}

/// KQL scalar types (aliases are normalised: `boolean`→Bool, `double`→Real, `date`→DateTime,
/// `time`→Timespan, `int64`→Long, `int32`→Int, `uuid`/`uniqueid`→Guid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeName {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    Timespan,
    Guid,
    Dynamic,
}

impl TypeName {
    /// Parse a KQL type name (case-sensitive as KQL is, plus the usual aliases).
    pub fn from_name(s: &str) -> Option<TypeName> {
        Some(match s {
            "bool" | "boolean" => TypeName::Bool,
            "int" | "int32" => TypeName::Int,
            "long" | "int64" => TypeName::Long,
            "real" | "double" | "float" => TypeName::Real,
            "decimal" => TypeName::Decimal,
            "string" => TypeName::String,
            "datetime" | "date" => TypeName::DateTime,
            "timespan" | "time" => TypeName::Timespan,
            "guid" | "uuid" | "uniqueid" => TypeName::Guid,
            "dynamic" => TypeName::Dynamic,
            _ => return None,
        })
    }

    /// Canonical KQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeName::Bool => "bool",
            TypeName::Int => "int",
            TypeName::Long => "long",
            TypeName::Real => "real",
            TypeName::Decimal => "decimal",
            TypeName::String => "string",
            TypeName::DateTime => "datetime",
            TypeName::Timespan => "timespan",
            TypeName::Guid => "guid",
            TypeName::Dynamic => "dynamic",
        }
    }
}

/// `source | op | op ...`
#[derive(Debug, Clone, PartialEq)]
pub struct TabularExpr {
    pub source: Source,
    pub ops: Vec<Operator>,
    pub span: Span,
}

/// Where rows come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub kind: SourceKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// Table, tabular `let`, or tabular parameter name. May contain `*` wildcards only
    /// inside `union`/`search`/`find` table lists (e.g. `Device*`).
    Name(Ident),
    /// `f(args)` — user function or built-in tabular function (`FileProfile` is used via invoke),
    /// also `table("Name")`, `view`-style calls.
    Call { name: Ident, args: Vec<Expr> },
    /// `union [params] T1, T2, (T3 | ...)` as the first statement of a pipeline.
    Union(UnionOp),
    /// `datatable(a:string, b:long) [ "x", 1, "y", 2 ]` — values row-major.
    Datatable { columns: Vec<ColumnDecl>, values: Vec<Expr> },
    /// `print a = 1, 2` (unnamed columns are `print_0`, `print_1`, ...).
    Print(Vec<NamedExpr>),
    /// `range x from a to b step c`
    Range { column: Ident, from: Expr, to: Expr, step: Expr },
    /// `externaldata(a:string, ...) [ "url", ... ] with (format="csv", ...)`
    ExternalData { columns: Vec<ColumnDecl>, uris: Vec<Expr>, options: Vec<OpParam> },
    /// `materialize(T | ...)`
    Materialize(Box<TabularExpr>),
    /// `( T | ... )`
    Paren(Box<TabularExpr>),
    /// `search ...` as a source (no piped input).
    Search(SearchOp),
    /// `find ...` as a source.
    Find(FindOp),
    /// `evaluate plugin(...)` as a source.
    Evaluate(EvaluateOp),
}

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub kind: OpKind,
    pub span: Span,
}

/// `name=value` operator parameter / hint: `kind=inner`, `hint.strategy=shuffle`, `isfuzzy=true`,
/// `withsource=TableName`, `bagexpansion=array`, `with(format="csv")`. Bare identifiers on the
/// right-hand side are stored as [`ExprKind::Name`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpParam {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

/// `[name =] expr` or `(a, b) = expr` in project / extend / summarize / print / by clauses.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    /// Empty: unnamed (the column name is derived from `expr`). One: `name = expr`.
    /// Several: `(a, b) = expr` (expr returns several columns, e.g. `arg_max`).
    pub names: Vec<Ident>,
    pub expr: Expr,
    pub span: Span,
}

/// A column name possibly containing `*` wildcards (`project-away Foo*`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamePattern {
    pub pattern: String,
    pub span: Span,
}

impl NamePattern {
    pub fn has_wildcard(&self) -> bool {
        self.pattern.contains('*')
    }
    /// Glob match with `*` as "any run of characters"; KQL column names are case-sensitive.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(&self.pattern, name)
    }
}

/// `*`-only glob matching, iterative (no recursion, linear-ish).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Sort key. Defaults (KQL): `desc` when no direction given; nulls last for desc, first for asc.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    /// `true` unless `asc` was written.
    pub descending: bool,
    /// `Some(true)` for `nulls first`, `Some(false)` for `nulls last`, `None` when not written.
    pub nulls_first: Option<bool>,
    pub span: Span,
}

impl SortKey {
    /// Effective null placement with KQL's defaults applied.
    pub fn effective_nulls_first(&self) -> bool {
        self.nulls_first.unwrap_or(!self.descending)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    InnerUnique,
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    LeftAnti,
    RightAnti,
    LeftSemi,
    RightSemi,
}

impl JoinKind {
    /// Parse the value of `kind=` (accepts `anti`=leftanti, `semi`=leftsemi, `leftantisemi`, ...).
    pub fn from_name(s: &str) -> Option<JoinKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "innerunique" => JoinKind::InnerUnique,
            "inner" => JoinKind::Inner,
            "leftouter" => JoinKind::LeftOuter,
            "rightouter" => JoinKind::RightOuter,
            "fullouter" | "outer" => JoinKind::FullOuter,
            "leftanti" | "anti" | "leftantisemi" => JoinKind::LeftAnti,
            "rightanti" | "rightantisemi" => JoinKind::RightAnti,
            "leftsemi" | "semi" => JoinKind::LeftSemi,
            "rightsemi" => JoinKind::RightSemi,
            _ => return None,
        })
    }
}

/// One equality of a join / lookup `on` clause. `on X` gives `left == right == X`;
/// `on $left.A == $right.B` gives `left = A`, `right = B`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinKey {
    pub left: Ident,
    pub right: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinOp {
    /// `kind=` value; `InnerUnique` when omitted.
    pub kind: JoinKind,
    /// Whether `kind=` was written explicitly.
    pub kind_explicit: bool,
    /// Other parameters (`hint.strategy=shuffle`, `hint.remote=...`).
    pub params: Vec<OpParam>,
    pub right: TabularExpr,
    pub on: Vec<JoinKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnionOp {
    /// `kind=`, `withsource=`, `isfuzzy=`, hints.
    pub params: Vec<OpParam>,
    /// The unioned tables / subqueries (for `T | union U`, only `U` — the input is implicit).
    pub tables: Vec<TabularExpr>,
}

impl UnionOp {
    /// `withsource=Name` (also `withsource = Name`), if present.
    pub fn withsource(&self) -> Option<&str> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case("withsource")).and_then(|p| match &p.value.kind {
            ExprKind::Name(id) => Some(id.name.as_str()),
            _ => None,
        })
    }
    /// `kind=outer` (default) or `kind=inner`.
    pub fn is_inner(&self) -> bool {
        self.params.iter().any(|p| {
            p.name.eq_ignore_ascii_case("kind") && matches!(&p.value.kind, ExprKind::Name(id) if id.name == "inner")
        })
    }
}

/// One expansion of `mv-expand` / `mv-apply`: `[name =] expr [to typeof(T)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvExpandItem {
    pub name: Option<Ident>,
    pub expr: Expr,
    pub to_type: Option<TypeName>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MvExpandOp {
    /// `kind=`/`bagexpansion=` etc.
    pub params: Vec<OpParam>,
    /// `with_itemindex = Name`
    pub with_itemindex: Option<Ident>,
    pub items: Vec<MvExpandItem>,
    /// `limit N`
    pub limit: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MvApplyOp {
    pub params: Vec<OpParam>,
    pub with_itemindex: Option<Ident>,
    pub items: Vec<MvExpandItem>,
    pub limit: Option<Expr>,
    /// `on ( subquery )` — a pipeline applied to each row's expanded sub-table (no source).
    pub subquery: Vec<Operator>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseKind {
    Simple,
    Regex,
    Relaxed,
}

/// One element of a `parse` pattern, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePart {
    /// A string literal to match.
    Literal(String),
    /// `*` — skip anything.
    Wildcard,
    /// A column to capture, optionally typed (`name:long`); untyped → string.
    Column { name: Ident, ty: Option<TypeName> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseOp {
    pub kind: ParseKind,
    /// `flags=iU` for regex parse, stored as written.
    pub flags: Option<String>,
    pub params: Vec<OpParam>,
    pub expr: Expr,
    pub pattern: Vec<ParsePart>,
}

/// `parse-kv expr as (a:string, b:long) with (pair_delimiter=',', kv_delimiter='=', ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseKvOp {
    pub expr: Expr,
    pub columns: Vec<ColumnDecl>,
    pub options: Vec<OpParam>,
}

/// `evaluate [hints] plugin(args) [: (schema)]`
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluateOp {
    pub params: Vec<OpParam>,
    pub plugin: Ident,
    pub args: Vec<Expr>,
    pub output_schema: Option<Vec<ColumnDecl>>,
}

/// `make-series [name =] agg [default = v], ... on Axis [from a] [to b] step s [by ...]`
/// (also `on Axis in range(a, b, s)`).
#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeriesOp {
    pub params: Vec<OpParam>,
    pub aggs: Vec<MakeSeriesAgg>,
    pub on: Expr,
    pub from: Option<Expr>,
    pub to: Option<Expr>,
    pub step: Expr,
    pub by: Vec<NamedExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeriesAgg {
    pub name: Option<Ident>,
    pub expr: Expr,
    pub default: Option<Expr>,
    pub span: Span,
}

/// One level of `top-nested [N] of Expr [with others = v] by Agg [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopNestedLevel {
    pub count: Option<Expr>,
    pub of: NamedExpr,
    pub with_others: Option<Expr>,
    pub by: NamedExpr,
    pub descending: bool,
    pub span: Span,
}

/// `search [kind=case_sensitive] [in (T1, T2)] predicate`
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOp {
    pub params: Vec<OpParam>,
    /// `in (T1, T2*)`; `None` = the piped input / all tables.
    pub tables: Option<Vec<NamePattern>>,
    pub predicate: Expr,
}

/// `find [withsource=X] [in (T1, T2)] where predicate [project-smart | project a, b]`
#[derive(Debug, Clone, PartialEq)]
pub struct FindOp {
    pub params: Vec<OpParam>,
    pub tables: Option<Vec<NamePattern>>,
    pub predicate: Expr,
    pub project: Option<Vec<NamedExpr>>,
    pub project_smart: bool,
}

/// `scan [with_match_id=...] [declare (...)] with (step s: pred => a = e; ...)`
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOp {
    pub params: Vec<OpParam>,
    pub order_by: Vec<SortKey>,
    pub partition_by: Vec<Expr>,
    pub declare: Vec<Param>,
    pub steps: Vec<ScanStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanStep {
    pub name: Ident,
    pub output: Option<String>,
    pub predicate: Expr,
    pub assignments: Vec<NamedExpr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// `where` / `filter`
    Where(Expr),
    Project(Vec<NamedExpr>),
    ProjectAway(Vec<NamePattern>),
    ProjectKeep(Vec<NamePattern>),
    /// `project-rename new = old, ...` as (new, old).
    ProjectRename(Vec<(Ident, Ident)>),
    /// `project-reorder a, b* asc`; the optional string is `asc`/`desc`/`granny-asc`/`granny-desc`.
    ProjectReorder(Vec<(NamePattern, Option<String>)>),
    Extend(Vec<NamedExpr>),
    Summarize {
        params: Vec<OpParam>,
        aggs: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    /// `sort by` / `order by`
    Sort(Vec<SortKey>),
    /// `top N by key [asc|desc] [nulls ...]`
    Top {
        count: Expr,
        by: Vec<SortKey>,
    },
    /// `take` / `limit`
    Take(Expr),
    /// `distinct a, b` / `distinct *`
    Distinct(Vec<NamedExpr>),
    /// `count` (single column `Count`)
    Count,
    Join(Box<JoinOp>),
    /// `lookup [kind=leftouter|inner] (T) on keys` (kind in `JoinOp::kind`: LeftOuter default).
    Lookup(Box<JoinOp>),
    Union(UnionOp),
    MvExpand(MvExpandOp),
    MvApply(Box<MvApplyOp>),
    Parse(ParseOp),
    ParseWhere(ParseOp),
    ParseKv(ParseKvOp),
    Evaluate(EvaluateOp),
    MakeSeries(MakeSeriesOp),
    TopNested(Vec<TopNestedLevel>),
    /// `top-hitters N of col [by agg]`
    TopHitters {
        count: Expr,
        of: Expr,
        by: Option<Expr>,
    },
    /// `serialize [name = expr, ...]`
    Serialize(Vec<NamedExpr>),
    /// `as [hint.materialized=true] Name`
    As {
        params: Vec<OpParam>,
        name: Ident,
    },
    /// `invoke f(args)` — input becomes the function's first (tabular) argument.
    Invoke {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `sample N`
    Sample(Expr),
    /// `sample-distinct N of col`
    SampleDistinct {
        count: Expr,
        of: Expr,
    },
    GetSchema,
    /// `render chart [with (...)]` — ignored by evaluation.
    Render {
        visualization: String,
    },
    Search(SearchOp),
    Find(FindOp),
    /// `facet by a, b [with (ops)]`
    Facet {
        columns: Vec<Ident>,
        with: Vec<Operator>,
    },
    /// `partition [hints] by Col ( subquery )` or `{ subquery }`
    Partition {
        params: Vec<OpParam>,
        by: Ident,
        subquery: Vec<Operator>,
    },
    Scan(Box<ScanOp>),
    /// `fork (ops) (ops)` — each branch a pipeline on the input.
    Fork(Vec<Vec<Operator>>),
    /// `consume` — discards rows.
    Consume,
    /// Operator recognised but parsed only as raw token text until the next top-level `|`
    /// (`make-graph`, `graph-match`, ...). Evaluation must reject it; the checker stops tracking
    /// columns after it.
    Raw {
        name: String,
        text: String,
    },
}

impl OpKind {
    /// Operator name as written in KQL (canonical spelling), for messages.
    pub fn name(&self) -> &str {
        match self {
            OpKind::Where(_) => "where",
            OpKind::Project(_) => "project",
            OpKind::ProjectAway(_) => "project-away",
            OpKind::ProjectKeep(_) => "project-keep",
            OpKind::ProjectRename(_) => "project-rename",
            OpKind::ProjectReorder(_) => "project-reorder",
            OpKind::Extend(_) => "extend",
            OpKind::Summarize { .. } => "summarize",
            OpKind::Sort(_) => "sort",
            OpKind::Top { .. } => "top",
            OpKind::Take(_) => "take",
            OpKind::Distinct(_) => "distinct",
            OpKind::Count => "count",
            OpKind::Join(_) => "join",
            OpKind::Lookup(_) => "lookup",
            OpKind::Union(_) => "union",
            OpKind::MvExpand(_) => "mv-expand",
            OpKind::MvApply(_) => "mv-apply",
            OpKind::Parse(_) => "parse",
            OpKind::ParseWhere(_) => "parse-where",
            OpKind::ParseKv(_) => "parse-kv",
            OpKind::Evaluate(_) => "evaluate",
            OpKind::MakeSeries(_) => "make-series",
            OpKind::TopNested(_) => "top-nested",
            OpKind::TopHitters { .. } => "top-hitters",
            OpKind::Serialize(_) => "serialize",
            OpKind::As { .. } => "as",
            OpKind::Invoke { .. } => "invoke",
            OpKind::Sample(_) => "sample",
            OpKind::SampleDistinct { .. } => "sample-distinct",
            OpKind::GetSchema => "getschema",
            OpKind::Render { .. } => "render",
            OpKind::Search(_) => "search",
            OpKind::Find(_) => "find",
            OpKind::Facet { .. } => "facet",
            OpKind::Partition { .. } => "partition",
            OpKind::Scan(_) => "scan",
            OpKind::Fork(_) => "fork",
            OpKind::Consume => "consume",
            OpKind::Raw { name, .. } => name,
        }
    }
}

/// Scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// Column / let / parameter reference (`$left` and `$right` appear as names too).
    Name(Ident),
    /// `*` (in `arg_max(x, *)`, `count(*)`? , `distinct *`, `where * has "x"`).
    Star,
    /// `f(args)`; name as written (e.g. `iff`, `case`, `not`, `count`, `bin`, `geo_info_from_ip_address`).
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `-x`, `+x`
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x in (a, b)`, `x !in~ (T | project y)`, `x has_any (dyn)`.
    /// List items may be scalars, dynamic arrays (flattened by evaluation) or subqueries.
    InList {
        op: ListOp,
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    /// `x between (lo .. hi)` / `x !between (lo .. hi)`
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `x.field` (also `x.['field']`)
    Member {
        expr: Box<Expr>,
        field: Ident,
    },
    /// `x["key"]`, `x[0]`, `x[-1]`
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `toscalar(T | ...)`
    ToScalar(Box<TabularExpr>),
    /// A tabular expression in scalar position (`in (T | project x)`, arg of user function).
    Subquery(Box<TabularExpr>),
    /// `typeof(string)`
    TypeOf(TypeName),
    /// `name = value` inside call arguments (plugin / function named arguments).
    NamedArg {
        name: Ident,
        value: Box<Expr>,
    },
    /// `(a, b, c)` tuple — only where KQL allows a parenthesised list as an expression.
    Tuple(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    // logical
    And,
    Or,
    // arithmetic
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    // comparison
    Eq,
    /// `!=` and `<>`
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~` case-insensitive equality
    EqCi,
    /// `!~`
    NeCi,
    // string operators (default: case-insensitive; `Cs` = case-sensitive)
    Has,
    NotHas,
    HasCs,
    NotHasCs,
    HasPrefix,
    NotHasPrefix,
    HasPrefixCs,
    NotHasPrefixCs,
    HasSuffix,
    NotHasSuffix,
    HasSuffixCs,
    NotHasSuffixCs,
    Contains,
    NotContains,
    ContainsCs,
    NotContainsCs,
    StartsWith,
    NotStartsWith,
    StartsWithCs,
    NotStartsWithCs,
    EndsWith,
    NotEndsWith,
    EndsWithCs,
    NotEndsWithCs,
    /// `matches regex`
    MatchesRegex,
}

impl BinOp {
    /// Operator spelling in KQL.
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            And => "and",
            Or => "or",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            EqCi => "=~",
            NeCi => "!~",
            Has => "has",
            NotHas => "!has",
            HasCs => "has_cs",
            NotHasCs => "!has_cs",
            HasPrefix => "hasprefix",
            NotHasPrefix => "!hasprefix",
            HasPrefixCs => "hasprefix_cs",
            NotHasPrefixCs => "!hasprefix_cs",
            HasSuffix => "hassuffix",
            NotHasSuffix => "!hassuffix",
            HasSuffixCs => "hassuffix_cs",
            NotHasSuffixCs => "!hassuffix_cs",
            Contains => "contains",
            NotContains => "!contains",
            ContainsCs => "contains_cs",
            NotContainsCs => "!contains_cs",
            StartsWith => "startswith",
            NotStartsWith => "!startswith",
            StartsWithCs => "startswith_cs",
            NotStartsWithCs => "!startswith_cs",
            EndsWith => "endswith",
            NotEndsWith => "!endswith",
            EndsWithCs => "endswith_cs",
            NotEndsWithCs => "!endswith_cs",
            MatchesRegex => "matches regex",
        }
    }

    /// Look up a word-like string operator (`has`, `!contains_cs`, `notcontains`, ...).
    pub fn from_word(s: &str) -> Option<BinOp> {
        use BinOp::*;
        Some(match s {
            "has" => Has,
            "!has" | "nothas" => NotHas,
            "has_cs" => HasCs,
            "!has_cs" => NotHasCs,
            "hasprefix" => HasPrefix,
            "!hasprefix" => NotHasPrefix,
            "hasprefix_cs" => HasPrefixCs,
            "!hasprefix_cs" => NotHasPrefixCs,
            "hassuffix" => HasSuffix,
            "!hassuffix" => NotHasSuffix,
            "hassuffix_cs" => HasSuffixCs,
            "!hassuffix_cs" => NotHasSuffixCs,
            "contains" => Contains,
            "!contains" | "notcontains" => NotContains,
            "contains_cs" | "containscs" => ContainsCs,
            "!contains_cs" | "notcontainscs" => NotContainsCs,
            "startswith" => StartsWith,
            "!startswith" => NotStartsWith,
            "startswith_cs" => StartsWithCs,
            "!startswith_cs" => NotStartsWithCs,
            "endswith" => EndsWith,
            "!endswith" => NotEndsWith,
            "endswith_cs" => EndsWithCs,
            "!endswith_cs" => NotEndsWithCs,
            "and" => And,
            "or" => Or,
            _ => return None,
        })
    }

    /// Comparison / string predicate operators (result is bool).
    pub fn is_predicate(self) -> bool {
        !matches!(self, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListOp {
    In,
    NotIn,
    /// `in~`
    InCi,
    /// `!in~`
    NotInCi,
    HasAny,
    HasAll,
}

impl ListOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ListOp::In => "in",
            ListOp::NotIn => "!in",
            ListOp::InCi => "in~",
            ListOp::NotInCi => "!in~",
            ListOp::HasAny => "has_any",
            ListOp::HasAll => "has_all",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// `int(5)`
    Int(i32),
    /// Plain integer literals and `long(5)`.
    Long(i64),
    /// `1.5`, `1e5`, `real(1)`, `real(nan)`, `real(+inf)`.
    Real(f64),
    /// `decimal(1.5)` kept as text.
    Decimal(String),
    String(String),
    /// Ticks (100 ns) since 1970-01-01T00:00:00Z.
    DateTime(i64),
    /// Ticks (100 ns).
    Timespan(i64),
    /// Lower-case hyphenated text.
    Guid(String),
    Dynamic(Json),
    /// Typed null: `int(null)`, `datetime(null)`, `string(null)`? (string null is "").
    TypedNull(TypeName),
}

/// 100-ns ticks per unit, for timespan literals.
pub const TICKS_PER_MICROSECOND: i64 = 10;
pub const TICKS_PER_MILLISECOND: i64 = 10_000;
pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// The column name KQL derives for an unnamed expression in `project` / `extend` /
    /// `summarize ... by` / `distinct`: a column reference keeps its name; `a.b` → `a_b`;
    /// `a["k"]` → `a_k`; `bin(x, ..)`-like calls whose first argument is a column → that column
    /// (KQL does this for by-clauses); otherwise `None` (caller picks `Column1`, `print_0`, ...).
    pub fn derived_name(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Name(id) => Some(id.name.clone()),
            ExprKind::Member { expr, field } => Some(format!("{}_{}", expr.derived_name()?, field.name)),
            ExprKind::Index { expr, index } => {
                let base = expr.derived_name()?;
                match &index.kind {
                    ExprKind::Literal(Literal::String(s)) => Some(format!("{base}_{s}")),
                    ExprKind::Literal(Literal::Long(n)) => Some(format!("{base}_{n}")),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// KQL's default name for an aggregate call: `count()` → `count_`, `dcount(X)` → `dcount_X`,
    /// `sum(a.b)` → `sum_a_b`; `None` if not a call.
    pub fn aggregate_default_name(&self) -> Option<String> {
        if let ExprKind::Call { name, args } = &self.kind {
            let arg = args.first().and_then(|a| a.derived_name()).unwrap_or_default();
            return Some(format!("{}_{}", name.name, arg));
        }
        None
    }
}
