//! Hand-written recursive-descent / Pratt parser for KQL.
//!
//! Entry point: [`parse_query`]. The parser works on the token vector produced by
//! [`crate::lexer::tokenize`], plus the source text for literals whose contents are not regular
//! tokens (`datetime(2024-01-01T10:00Z)`, `guid(...)`, `time(1.02:00:00)`).
//!
//! Robustness guarantees: it never panics, every loop consumes at least one token or stops, and
//! nesting depth is capped at [`MAX_DEPTH`] so adversarial input cannot overflow the stack.
//! Chains are parsed in loops, but they still build left-deep trees that the checker and the
//! evaluator walk recursively, so each link of a chain (`1+1+…`, `a and b and …`, `x.a.a…`,
//! `x[0][0]…`) counts toward [`MAX_EXPR_HEIGHT`] together with the nesting around it: a
//! 16 KB `1+1+…` is a syntax error naming the limit, not a stack overflow further down.
//!
//! Scalar vs tabular: KQL does not separate the two syntactically (`let x = Foo;` may be either).
//! The parser tracks `let` bindings in scope and classifies by (1) tabular-only keywords
//! (`datatable`, `union`, `print`, ...), (2) a following `|`, (3) what a bound name was bound to,
//! and (4) unbound bare names on a `let` right-hand side are treated as tables.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value as Json;

use crate::ast::*;
use crate::lexer::{TokKind, Token, timespan_unit_ticks, tokenize};

/// Maximum nesting of expressions / subqueries before the parser gives up with an error.
pub const MAX_DEPTH: usize = 96;

/// Maximum height of an expression tree: nesting plus operator chains. The checker and the
/// evaluator recurse once per level, and the engine runs them on a thread whose stack is
/// sized for this (see `crates/hunt/src/limits.rs`).
pub const MAX_EXPR_HEIGHT: usize = 400;

/// A syntax error with a 1-based line/column (columns count characters) and byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// 1-based (line, column) of a byte offset; offsets past the end or inside a UTF-8 sequence are
/// clamped to the nearest valid position.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(src.len());
    while off > 0 && !src.is_char_boundary(off) {
        off -= 1;
    }
    let before = &src[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = src[line_start..off].chars().count() + 1;
    (line, column)
}

/// Parse a complete KQL query (statements separated by `;`).
pub fn parse_query(src: &str) -> Result<Query, ParseError> {
    let mut p = Parser::new(src);
    p.query()
}

/// Parse a single scalar expression (used by tests and tools).
pub fn parse_expression(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src);
    let e = p.expr()?;
    p.expect_eof()?;
    Ok(e)
}

/// What a `let`-bound name (or function parameter) denotes, for scalar/tabular classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Scalar,
    Tabular,
    ScalarFn,
    TabularFn,
}

/// Result of parsing something that may be either scalar or tabular.
#[allow(clippy::large_enum_variant)]
enum Either {
    Expr(Expr),
    Tab(TabularExpr),
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Height of the expression tree being built: nesting plus chain links (`MAX_EXPR_HEIGHT`).
    height: usize,
    scopes: Vec<HashMap<String, Binding>>,
    /// Inside `search` predicates, `Column:"value"` means `Column has "value"`.
    search_colon: bool,
}

/// Operators parsed only as raw text (kept so valid queries using them still parse).
const RAW_OPERATORS: &[&str] = &[
    "make-graph",
    "graph-match",
    "graph-merge",
    "graph-shortest-paths",
    "graph-to-table",
    "graph-mark-components",
    "reduce",
    "project-smart",
    "execute-and-cache",
    "assert-schema",
    "macro-expand",
];

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            depth: 0,
            height: 0,
            scopes: vec![HashMap::new()],
            search_colon: false,
        }
    }

    // ----------------------------------------------------------------- token helpers

    fn tok(&self) -> &Token {
        self.tok_at(0)
    }

    fn tok_at(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i]
    }

    fn kind(&self) -> &TokKind {
        &self.tok().kind
    }

    fn kind_at(&self, n: usize) -> &TokKind {
        &self.tok_at(n).kind
    }

    fn text_of(&self, t: &Token) -> &'a str {
        self.src.get(t.span.start..t.span.end).unwrap_or("")
    }

    fn text(&self) -> &'a str {
        self.text_of(self.tok())
    }

    fn text_at(&self, n: usize) -> &'a str {
        self.text_of(self.tok_at(n))
    }

    fn bump(&mut self) -> Token {
        let t = self.tok().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at(&self, k: &TokKind) -> bool {
        self.kind() == k
    }

    fn eat(&mut self, k: &TokKind) -> bool {
        if self.at(k) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn at_eof(&self) -> bool {
        matches!(self.kind(), TokKind::Eof)
    }

    /// Current token is the identifier/keyword `w`.
    fn at_word(&self, w: &str) -> bool {
        matches!(self.kind(), TokKind::Ident) && self.text() == w
    }

    fn word_at(&self, n: usize, w: &str) -> bool {
        matches!(self.kind_at(n), TokKind::Ident) && self.text_at(n) == w
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.at_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Tokens `n` and `n+1` touch (no whitespace between).
    fn adjacent(&self, n: usize) -> bool {
        self.tok_at(n).span.end == self.tok_at(n + 1).span.start
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 { 0 } else { self.toks[self.pos - 1].span.end }
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.prev_end().max(start))
    }

    // ----------------------------------------------------------------- errors

    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = line_col(self.src, offset);
        ParseError { message: message.into(), line, column, offset: offset.min(self.src.len()) }
    }

    fn describe(&self, t: &Token) -> String {
        match &t.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::Ident => format!("'{}'", self.text_of(t)),
            TokKind::Str(_) => "a string literal".into(),
            TokKind::Long(_) | TokKind::Real(_) => format!("number '{}'", self.text_of(t)),
            TokKind::Timespan(_) => format!("timespan '{}'", self.text_of(t)),
            TokKind::Error(m) => m.clone(),
            _ => format!("'{}'", self.text_of(t)),
        }
    }

    /// "expected X, found Y" at the current token (lexer errors are reported as themselves).
    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.tok();
        if let TokKind::Error(m) = &t.kind {
            return self.error_at(t.span.start, m.clone());
        }
        self.error_at(t.span.start, format!("expected {expected}, found {}", self.describe(t)))
    }

    fn expect(&mut self, k: &TokKind, what: &str) -> PResult<Token> {
        if self.at(k) { Ok(self.bump()) } else { Err(self.unexpected(what)) }
    }

    /// Expect a closing delimiter, mentioning where the opener was.
    fn expect_close(&mut self, k: &TokKind, close: &str, open: &Token) -> PResult<Token> {
        if self.at(k) {
            return Ok(self.bump());
        }
        let (l, c) = line_col(self.src, open.span.start);
        let opener = self.text_of(open);
        Err(self.unexpected(&format!("'{close}' to close '{opener}' opened at {l}:{c}")))
    }

    fn expect_word(&mut self, w: &str) -> PResult<Token> {
        if self.at_word(w) { Ok(self.bump()) } else { Err(self.unexpected(&format!("'{w}'"))) }
    }

    fn expect_eof(&self) -> PResult<()> {
        if self.at_eof() { Ok(()) } else { Err(self.unexpected("end of input")) }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.tok().span.start,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels; the limit is {MAX_DEPTH})"),
            ));
        }
        self.grow(1)
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.height = self.height.saturating_sub(1);
    }

    /// One more link of an operator chain: the tree the chain builds grows one level deeper.
    fn link(&mut self, links: &mut usize) -> PResult<()> {
        *links += 1;
        self.grow(1)
    }

    /// The chain is closed: its links no longer count toward the height of what follows.
    fn unlink(&mut self, links: usize) {
        self.height = self.height.saturating_sub(links);
    }

    fn grow(&mut self, by: usize) -> PResult<()> {
        self.height += by;
        if self.height > MAX_EXPR_HEIGHT {
            return Err(self.error_at(
                self.tok().span.start,
                format!(
                    "expression too deep: more than {MAX_EXPR_HEIGHT} nested or chained operators (the limit is \
                     {MAX_EXPR_HEIGHT}); split it with `let` statements"
                ),
            ));
        }
        Ok(())
    }

    // ----------------------------------------------------------------- scopes

    fn bind(&mut self, name: &str, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), b);
        }
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    // ----------------------------------------------------------------- identifiers

    /// Identifier, or bracketed name `['a b']` / `["a b"]`.
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        if matches!(self.kind(), TokKind::Ident) {
            let t = self.bump();
            return Ok(Ident { name: self.text_of(&t).to_string(), span: t.span });
        }
        if let Some(id) = self.try_bracket_ident() {
            return Ok(id);
        }
        Err(self.unexpected(what))
    }

    /// `['name']` — a `[` followed by exactly one string literal and `]`.
    fn try_bracket_ident(&mut self) -> Option<Ident> {
        if !self.at(&TokKind::LBracket) {
            return None;
        }
        let TokKind::Str(s) = self.kind_at(1).clone() else {
            return None;
        };
        if !matches!(self.kind_at(2), TokKind::RBracket) {
            return None;
        }
        let start = self.tok().span.start;
        self.bump();
        self.bump();
        let end = self.bump().span.end;
        Some(Ident { name: s, span: Span::new(start, end) })
    }

    fn at_ident_like(&self) -> bool {
        matches!(self.kind(), TokKind::Ident)
            || (self.at(&TokKind::LBracket)
                && matches!(self.kind_at(1), TokKind::Str(_))
                && matches!(self.kind_at(2), TokKind::RBracket))
    }

    /// Name pattern with `*` wildcards built from adjacent tokens (`Device*`, `*Id`, `a*b`).
    fn name_pattern(&mut self, what: &str) -> PResult<NamePattern> {
        if let Some(id) = self.try_bracket_ident() {
            return Ok(NamePattern { pattern: id.name, span: id.span });
        }
        let start = self.tok().span.start;
        let mut pat = String::new();
        let mut last: Option<usize> = None;
        loop {
            let contiguous = last.is_none_or(|e| e == self.tok().span.start);
            if !contiguous {
                break;
            }
            match self.kind() {
                TokKind::Ident => pat.push_str(self.text()),
                TokKind::Star => pat.push('*'),
                TokKind::Long(_) if last.is_some() => pat.push_str(self.text()),
                _ => break,
            }
            last = Some(self.bump().span.end);
        }
        if pat.is_empty() {
            return Err(self.unexpected(what));
        }
        Ok(NamePattern { pattern: pat, span: self.span_from(start) })
    }

    /// Operator name after `|`: an identifier plus adjacent `-word` parts (`mv-expand`).
    fn op_name(&mut self) -> PResult<(String, Span)> {
        if !matches!(self.kind(), TokKind::Ident) {
            return Err(self.unexpected("a query operator (where, project, extend, summarize, ...)"));
        }
        let start = self.tok().span.start;
        let mut name = self.text().to_string();
        self.bump();
        while self.at(&TokKind::Minus)
            && self.prev_end() == self.tok().span.start
            && matches!(self.kind_at(1), TokKind::Ident)
            && self.adjacent(0)
        {
            self.bump();
            name.push('-');
            name.push_str(self.text());
            self.bump();
        }
        Ok((name, self.span_from(start)))
    }

    // ----------------------------------------------------------------- statements

    fn query(&mut self) -> PResult<Query> {
        let start = self.tok().span.start;
        let mut options = Vec::new();
        let mut query_parameters = Vec::new();
        let mut lets = Vec::new();
        let mut bodies: Vec<TabularExpr> = Vec::new();
        while !self.at_eof() {
            if self.eat(&TokKind::Semi) {
                continue;
            }
            if self.at_word("let") && self.statement_is_let() {
                lets.push(self.let_stmt()?);
            } else if self.at_word("set") && matches!(self.kind_at(1), TokKind::Ident) {
                options.push(self.set_stmt()?);
            } else if self.at_word("declare") && self.word_at(1, "query_parameters") {
                query_parameters.extend(self.declare_stmt()?);
            } else if self.at_word("alias") || self.at_word("restrict") || self.at_word("pattern") {
                return Err(
                    self.error_at(self.tok().span.start, format!("'{}' statements are not supported", self.text()))
                );
            } else {
                bodies.push(self.tabular_statement()?);
            }
            if !self.at_eof() && !self.at(&TokKind::Semi) {
                return Err(self.unexpected("';' or end of query"));
            }
        }
        let mut it = bodies.into_iter();
        let Some(body) = it.next() else {
            let at = self.src.len();
            return Err(self.error_at(at, "query has no tabular expression (only let/set statements)"));
        };
        Ok(Query { options, query_parameters, lets, body, extra_bodies: it.collect(), span: self.span_from(start) })
    }

    /// `let` followed by a name and `=` (otherwise `let` is an ordinary identifier).
    fn statement_is_let(&self) -> bool {
        matches!(self.kind_at(1), TokKind::Ident | TokKind::LBracket)
    }

    fn set_stmt(&mut self) -> PResult<SetOption> {
        let start = self.bump().span.start;
        let mut name = self.ident("an option name")?.name;
        while self.at(&TokKind::Dot) && matches!(self.kind_at(1), TokKind::Ident) {
            self.bump();
            name.push('.');
            name.push_str(&self.ident("an option name")?.name);
        }
        let value = if self.eat(&TokKind::Assign) { Some(self.param_value()?) } else { None };
        Ok(SetOption { name, value, span: self.span_from(start) })
    }

    fn declare_stmt(&mut self) -> PResult<Vec<Param>> {
        self.bump();
        self.bump();
        let open = self.expect(&TokKind::LParen, "'('")?;
        let params = self.param_list(&open)?;
        for p in &params {
            let b = if matches!(p.ty, ParamType::Tabular { .. }) { Binding::Tabular } else { Binding::Scalar };
            self.bind(&p.name.name, b);
        }
        Ok(params)
    }

    fn let_stmt(&mut self) -> PResult<LetStmt> {
        let start = self.expect_word("let")?.span.start;
        let name = self.ident("a name after 'let'")?;
        self.expect(&TokKind::Assign, "'=' after the let name")?;
        let value = self.let_value()?;
        let b = match &value {
            LetValue::Scalar(_) => Binding::Scalar,
            LetValue::Tabular(_) => Binding::Tabular,
            LetValue::Function(f) => match f.body {
                FunctionBody::Scalar(_) => Binding::ScalarFn,
                FunctionBody::Tabular(_) => Binding::TabularFn,
            },
        };
        self.bind(&name.name, b);
        Ok(LetStmt { name, value, span: self.span_from(start) })
    }

    fn at_function_def(&self) -> bool {
        let mut n = 0;
        if self.word_at(0, "view") && matches!(self.kind_at(1), TokKind::LParen) {
            n = 1;
        }
        if !matches!(self.kind_at(n), TokKind::LParen) {
            return false;
        }
        match self.kind_at(n + 1) {
            TokKind::RParen => matches!(self.kind_at(n + 2), TokKind::LBrace),
            TokKind::Ident => matches!(self.kind_at(n + 2), TokKind::Colon),
            TokKind::LBracket => {
                matches!(self.kind_at(n + 2), TokKind::Str(_)) && matches!(self.kind_at(n + 4), TokKind::Colon)
            }
            _ => false,
        }
    }

    fn let_value(&mut self) -> PResult<LetValue> {
        if self.at_function_def() {
            return Ok(LetValue::Function(self.function_def()?));
        }
        Ok(match self.expr_or_tab()? {
            Either::Tab(t) => LetValue::Tabular(t),
            Either::Expr(e) => match self.classify_bare(&e) {
                Some(Binding::Tabular) => LetValue::Tabular(self.expr_to_tab(e)?),
                _ => LetValue::Scalar(e),
            },
        })
    }

    /// For a bare name / call on a let right-hand side or function body: tabular or scalar?
    fn classify_bare(&self, e: &Expr) -> Option<Binding> {
        match &e.kind {
            ExprKind::Name(id) => match self.lookup(&id.name) {
                Some(Binding::Scalar) | Some(Binding::ScalarFn) => Some(Binding::Scalar),
                Some(Binding::Tabular) | Some(Binding::TabularFn) => Some(Binding::Tabular),
                // Unknown names: `let T = DeviceEvents;` — a table. Lower-case words like
                // `let x = y;` are rare enough that table is the better guess.
                None => Some(Binding::Tabular),
            },
            ExprKind::Call { name, .. } => match self.lookup(&name.name) {
                Some(Binding::TabularFn) | Some(Binding::Tabular) => Some(Binding::Tabular),
                _ => Some(Binding::Scalar),
            },
            ExprKind::Subquery(_) => Some(Binding::Tabular),
            _ => Some(Binding::Scalar),
        }
    }

    fn function_def(&mut self) -> PResult<FunctionDef> {
        let start = self.tok().span.start;
        self.eat_word("view");
        let open = self.expect(&TokKind::LParen, "'('")?;
        let params = self.param_list(&open)?;
        let brace = self.expect(&TokKind::LBrace, "'{' to start the function body")?;
        self.scopes.push(HashMap::new());
        for p in &params {
            let b = if matches!(p.ty, ParamType::Tabular { .. }) { Binding::Tabular } else { Binding::Scalar };
            self.bind(&p.name.name, b);
        }
        let result = self.function_body(&brace);
        self.scopes.pop();
        let (lets, body) = result?;
        Ok(FunctionDef { params, lets, body, span: self.span_from(start) })
    }

    fn function_body(&mut self, brace: &Token) -> PResult<(Vec<LetStmt>, FunctionBody)> {
        self.enter()?;
        let mut lets = Vec::new();
        let mut body = None;
        loop {
            if self.eat(&TokKind::Semi) {
                continue;
            }
            if self.at(&TokKind::RBrace) || self.at_eof() {
                break;
            }
            if self.at_word("let") && self.statement_is_let() {
                lets.push(self.let_stmt()?);
            } else if body.is_none() {
                body = Some(match self.expr_or_tab()? {
                    Either::Tab(t) => FunctionBody::Tabular(t),
                    Either::Expr(e) => match (&e.kind, self.classify_bare(&e)) {
                        (ExprKind::Name(_) | ExprKind::Subquery(_), Some(Binding::Tabular)) => {
                            FunctionBody::Tabular(self.expr_to_tab(e)?)
                        }
                        (ExprKind::Call { .. }, Some(Binding::Tabular)) => FunctionBody::Tabular(self.expr_to_tab(e)?),
                        _ => FunctionBody::Scalar(e),
                    },
                });
            } else {
                return Err(self.unexpected("'}' to end the function body"));
            }
            if !self.at(&TokKind::Semi) && !self.at(&TokKind::RBrace) {
                return Err(self.unexpected("';' or '}'"));
            }
        }
        self.expect_close(&TokKind::RBrace, "}", brace)?;
        self.leave();
        match body {
            Some(b) => Ok((lets, b)),
            None => Err(self.error_at(brace.span.start, "function body has no result expression")),
        }
    }

    /// `name:type [= default], ...)` — consumes the closing `)`.
    fn param_list(&mut self, open: &Token) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        while !self.at(&TokKind::RParen) {
            let start = self.tok().span.start;
            let name = self.ident("a parameter name")?;
            self.expect(&TokKind::Colon, "':' and a type after the parameter name")?;
            let ty = self.param_type()?;
            let default = if self.eat(&TokKind::Assign) { Some(self.expr()?) } else { None };
            params.push(Param { name, ty, default, span: self.span_from(start) });
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RParen, ")", open)?;
        Ok(params)
    }

    fn param_type(&mut self) -> PResult<ParamType> {
        if self.at(&TokKind::LParen) {
            let open = self.bump();
            if self.eat(&TokKind::Star) {
                self.expect_close(&TokKind::RParen, ")", &open)?;
                return Ok(ParamType::Tabular { columns: None, open: true });
            }
            let mut cols = Vec::new();
            let mut open_schema = false;
            while !self.at(&TokKind::RParen) {
                if self.eat(&TokKind::Star) {
                    open_schema = true;
                } else {
                    cols.push(self.column_decl()?);
                }
                if !self.eat(&TokKind::Comma) {
                    break;
                }
            }
            self.expect_close(&TokKind::RParen, ")", &open)?;
            return Ok(ParamType::Tabular { columns: Some(cols), open: open_schema });
        }
        Ok(ParamType::Scalar(self.type_name()?))
    }

    fn type_name(&mut self) -> PResult<TypeName> {
        if let (TokKind::Ident, Some(t)) = (self.kind(), TypeName::from_name(self.text())) {
            self.bump();
            return Ok(t);
        }
        Err(self.unexpected("a type name (string, long, int, real, bool, datetime, timespan, guid, dynamic, decimal)"))
    }

    fn column_decl(&mut self) -> PResult<ColumnDecl> {
        let start = self.tok().span.start;
        let name = self.ident("a column name")?;
        self.expect(&TokKind::Colon, "':' and a column type")?;
        let ty = self.type_name()?;
        Ok(ColumnDecl { name, ty, span: self.span_from(start) })
    }

    /// `(a:string, b:long)` with the opening `(` current.
    fn column_decls(&mut self) -> PResult<Vec<ColumnDecl>> {
        let open = self.expect(&TokKind::LParen, "'(' and column declarations")?;
        let mut cols = Vec::new();
        while !self.at(&TokKind::RParen) {
            cols.push(self.column_decl()?);
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(cols)
    }

    fn tabular_statement(&mut self) -> PResult<TabularExpr> {
        match self.expr_or_tab()? {
            Either::Tab(t) => Ok(t),
            Either::Expr(e) => self.expr_to_tab(e),
        }
    }

    // ----------------------------------------------------------------- tabular expressions

    /// Convert a scalar-looking expression that is really a tabular source.
    fn expr_to_tab(&self, e: Expr) -> PResult<TabularExpr> {
        let span = e.span;
        let kind = match e.kind {
            ExprKind::Name(id) => SourceKind::Name(id),
            ExprKind::Call { name, args } => SourceKind::Call { name, args },
            ExprKind::Subquery(t) => return Ok(*t),
            _ => {
                return Err(
                    self.error_at(span.start, "expected a tabular expression (a table name, let name or subquery)")
                );
            }
        };
        Ok(TabularExpr { source: Source { kind, span }, ops: Vec::new(), span })
    }

    /// Parse something that may be a scalar expression or a tabular expression.
    fn expr_or_tab(&mut self) -> PResult<Either> {
        self.enter()?;
        let r = self.expr_or_tab_inner();
        self.leave();
        r
    }

    fn expr_or_tab_inner(&mut self) -> PResult<Either> {
        let start = self.tok().span.start;
        if let Some(source) = self.try_tabular_source()? {
            let ops = self.pipe_ops()?;
            return Ok(Either::Tab(TabularExpr { source, ops, span: self.span_from(start) }));
        }
        let e = self.expr()?;
        if !self.at(&TokKind::Pipe) {
            return Ok(Either::Expr(e));
        }
        let mut t = self.expr_to_tab(e)?;
        if !t.ops.is_empty() {
            // `(T | where x) | project y` — wrap as a parenthesised source.
            let span = t.span;
            t = TabularExpr { source: Source { kind: SourceKind::Paren(Box::new(t)), span }, ops: Vec::new(), span };
        }
        t.ops = self.pipe_ops()?;
        t.span = self.span_from(start);
        Ok(Either::Tab(t))
    }

    /// Parse a tabular expression (a scalar-looking result is converted: `T`, `f()`).
    fn tabular(&mut self) -> PResult<TabularExpr> {
        match self.expr_or_tab()? {
            Either::Tab(t) => Ok(t),
            Either::Expr(e) => self.expr_to_tab(e),
        }
    }

    /// `| op | op ...`
    fn pipe_ops(&mut self) -> PResult<Vec<Operator>> {
        let mut ops = Vec::new();
        while self.eat(&TokKind::Pipe) {
            ops.push(self.operator()?);
        }
        Ok(ops)
    }

    /// A source-less pipeline `op | op ...` (mv-apply, partition, facet, fork bodies).
    fn sub_pipeline(&mut self) -> PResult<Vec<Operator>> {
        self.enter()?;
        self.eat(&TokKind::Pipe);
        let mut ops = vec![self.operator()?];
        ops.extend(self.pipe_ops()?);
        self.leave();
        Ok(ops)
    }

    /// Sources introduced by a keyword that cannot start a scalar expression.
    fn try_tabular_source(&mut self) -> PResult<Option<Source>> {
        if !matches!(self.kind(), TokKind::Ident) {
            return Ok(None);
        }
        let start = self.tok().span.start;
        let w = self.text();
        let next_paren = matches!(self.kind_at(1), TokKind::LParen);
        let kind = match w {
            "datatable" if next_paren || matches!(self.kind_at(1), TokKind::Ident) => self.datatable()?,
            "externaldata" | "external_data" if next_paren || matches!(self.kind_at(1), TokKind::Ident) => {
                self.externaldata()?
            }
            "union" if self.lookup("union").is_none() => {
                self.bump();
                SourceKind::Union(self.union_body()?)
            }
            "range" if matches!(self.kind_at(1), TokKind::Ident) && self.word_at(2, "from") => self.range_source()?,
            "print" if self.lookup("print").is_none() => {
                self.bump();
                let items = if self.at(&TokKind::Pipe) || self.at_eof() || self.at(&TokKind::Semi) {
                    Vec::new()
                } else {
                    self.named_exprs()?
                };
                SourceKind::Print(items)
            }
            "materialize" if next_paren => {
                self.bump();
                let open = self.bump();
                let inner = self.tabular()?;
                self.expect_close(&TokKind::RParen, ")", &open)?;
                SourceKind::Materialize(Box::new(inner))
            }
            "search" if self.lookup("search").is_none() && !next_paren => {
                self.bump();
                SourceKind::Search(self.search_body()?)
            }
            "find" if self.lookup("find").is_none() && !next_paren => {
                self.bump();
                SourceKind::Find(self.find_body()?)
            }
            "evaluate" if matches!(self.kind_at(1), TokKind::Ident) => {
                self.bump();
                SourceKind::Evaluate(self.evaluate_body()?)
            }
            _ => return Ok(None),
        };
        Ok(Some(Source { kind, span: self.span_from(start) }))
    }

    fn datatable(&mut self) -> PResult<SourceKind> {
        self.bump();
        // Optional `datatable with (...)`-style hints are not KQL; only the schema follows.
        let columns = self.column_decls()?;
        let open = self.expect(&TokKind::LBracket, "'[' and the datatable values")?;
        let mut values = Vec::new();
        while !self.at(&TokKind::RBracket) {
            values.push(self.expr()?);
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RBracket, "]", &open)?;
        if !columns.is_empty() && values.len() % columns.len() != 0 {
            return Err(self.error_at(
                open.span.start,
                format!("datatable has {} values, not a multiple of its {} columns", values.len(), columns.len()),
            ));
        }
        Ok(SourceKind::Datatable { columns, values })
    }

    fn externaldata(&mut self) -> PResult<SourceKind> {
        self.bump();
        let columns = self.column_decls()?;
        let open = self.expect(&TokKind::LBracket, "'[' and the externaldata URIs")?;
        let mut uris = Vec::new();
        while !self.at(&TokKind::RBracket) {
            uris.push(self.expr()?);
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RBracket, "]", &open)?;
        let options = if self.eat_word("with") { self.with_options()? } else { Vec::new() };
        Ok(SourceKind::ExternalData { columns, uris, options })
    }

    /// `( name = value, ... )` after `with`.
    fn with_options(&mut self) -> PResult<Vec<OpParam>> {
        let open = self.expect(&TokKind::LParen, "'(' after 'with'")?;
        let mut out = Vec::new();
        while !self.at(&TokKind::RParen) {
            let start = self.tok().span.start;
            let name = self.dotted_name()?;
            self.expect(&TokKind::Assign, "'=' in option")?;
            let value = self.param_value()?;
            out.push(OpParam { name, value, span: self.span_from(start) });
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(out)
    }

    fn dotted_name(&mut self) -> PResult<String> {
        let mut name = self.ident("a name")?.name;
        while self.at(&TokKind::Dot) && matches!(self.kind_at(1), TokKind::Ident) {
            self.bump();
            name.push('.');
            name.push_str(&self.ident("a name")?.name);
        }
        Ok(name)
    }

    fn range_source(&mut self) -> PResult<SourceKind> {
        self.bump();
        let column = self.ident("a column name after 'range'")?;
        self.expect_word("from")?;
        let from = self.expr()?;
        self.expect_word("to")?;
        let to = self.expr()?;
        self.expect_word("step")?;
        let step = self.expr()?;
        Ok(SourceKind::Range { column, from, to, step })
    }

    /// Operator parameters `name=value` whose names are in `allowed` (or start with `hint.`).
    fn op_params(&mut self, allowed: &[&str]) -> PResult<Vec<OpParam>> {
        let mut out = Vec::new();
        loop {
            if !matches!(self.kind(), TokKind::Ident) {
                break;
            }
            // Name may be dotted: hint.strategy
            let mut n = 0;
            let mut name = self.text_at(0).to_string();
            while matches!(self.kind_at(n + 1), TokKind::Dot) && matches!(self.kind_at(n + 2), TokKind::Ident) {
                name.push('.');
                name.push_str(self.text_at(n + 2));
                n += 2;
            }
            if !matches!(self.kind_at(n + 1), TokKind::Assign) {
                break;
            }
            let lower = name.to_ascii_lowercase();
            if !(lower.starts_with("hint.") || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))) {
                break;
            }
            let start = self.tok().span.start;
            for _ in 0..=n + 1 {
                self.bump();
            }
            let value = self.param_value()?;
            out.push(OpParam { name, value, span: self.span_from(start) });
        }
        Ok(out)
    }

    /// Value of an operator parameter: identifier (kept as a name), literal, or simple expression.
    fn param_value(&mut self) -> PResult<Expr> {
        let literal_call = matches!(
            self.text(),
            "datetime" | "time" | "timespan" | "dynamic" | "int" | "long" | "real" | "bool" | "guid"
        );
        if matches!(self.kind(), TokKind::Ident) && !(literal_call && matches!(self.kind_at(1), TokKind::LParen)) {
            let t = self.bump();
            let text = self.text_of(&t);
            let kind = match text {
                "true" | "True" | "TRUE" => ExprKind::Literal(Literal::Bool(true)),
                "false" | "False" | "FALSE" => ExprKind::Literal(Literal::Bool(false)),
                _ => ExprKind::Name(Ident { name: text.to_string(), span: t.span }),
            };
            return Ok(Expr::new(kind, t.span));
        }
        self.unary()
    }

    // ----------------------------------------------------------------- operators

    fn operator(&mut self) -> PResult<Operator> {
        let start = self.tok().span.start;
        let (name, name_span) = self.op_name()?;
        let kind = self.operator_kind(&name, name_span)?;
        Ok(Operator { kind, span: self.span_from(start) })
    }

    fn operator_kind(&mut self, name: &str, name_span: Span) -> PResult<OpKind> {
        Ok(match name {
            "where" | "filter" => OpKind::Where(self.expr()?),
            "project" => OpKind::Project(self.named_exprs()?),
            "project-away" => OpKind::ProjectAway(self.patterns()?),
            "project-keep" => OpKind::ProjectKeep(self.patterns()?),
            "project-rename" => OpKind::ProjectRename(self.renames()?),
            "project-reorder" => OpKind::ProjectReorder(self.reorder_items()?),
            "extend" => OpKind::Extend(self.named_exprs()?),
            "summarize" => self.summarize()?,
            "sort" | "order" => {
                self.expect_word("by")?;
                OpKind::Sort(self.sort_keys()?)
            }
            "top" => {
                let count = self.expr()?;
                self.expect_word("by")?;
                OpKind::Top { count, by: self.sort_keys()? }
            }
            "take" | "limit" => {
                self.op_params(&[])?;
                OpKind::Take(self.expr()?)
            }
            "distinct" => {
                self.op_params(&[])?;
                OpKind::Distinct(self.named_exprs()?)
            }
            "count" => OpKind::Count,
            "join" => OpKind::Join(Box::new(self.join_body(false)?)),
            "lookup" => OpKind::Lookup(Box::new(self.join_body(true)?)),
            "union" => OpKind::Union(self.union_body()?),
            "mv-expand" | "mvexpand" => OpKind::MvExpand(self.mv_expand_body()?),
            "mv-apply" | "mvapply" => OpKind::MvApply(Box::new(self.mv_apply_body()?)),
            "parse" => OpKind::Parse(self.parse_body()?),
            "parse-where" => OpKind::ParseWhere(self.parse_body()?),
            "parse-kv" => OpKind::ParseKv(self.parse_kv_body()?),
            "evaluate" => OpKind::Evaluate(self.evaluate_body()?),
            "make-series" => OpKind::MakeSeries(self.make_series_body()?),
            "top-nested" => OpKind::TopNested(self.top_nested_body()?),
            "top-hitters" => {
                let count = self.expr()?;
                self.expect_word("of")?;
                let of = self.expr()?;
                let by = if self.eat_word("by") { Some(self.expr()?) } else { None };
                OpKind::TopHitters { count, of, by }
            }
            "serialize" => OpKind::Serialize(if self.at_op_end() { Vec::new() } else { self.named_exprs()? }),
            "as" => {
                let params = self.op_params(&["hint.materialized"])?;
                OpKind::As { params, name: self.ident("a name after 'as'")? }
            }
            "invoke" => {
                let name = self.ident("a function name after 'invoke'")?;
                let open = self.expect(&TokKind::LParen, "'(' after the function name")?;
                let args = self.call_args(&open)?;
                OpKind::Invoke { name, args }
            }
            "sample" => OpKind::Sample(self.expr()?),
            "sample-distinct" => {
                let count = self.expr()?;
                self.expect_word("of")?;
                OpKind::SampleDistinct { count, of: self.expr()? }
            }
            "getschema" => OpKind::GetSchema,
            "render" => self.render_body()?,
            "search" => OpKind::Search(self.search_body()?),
            "find" => OpKind::Find(self.find_body()?),
            "facet" => self.facet_body()?,
            "partition" => self.partition_body()?,
            "scan" => OpKind::Scan(Box::new(self.scan_body()?)),
            "fork" => self.fork_body()?,
            "consume" => {
                self.op_params(&["decodeblocks"])?;
                OpKind::Consume
            }
            n if RAW_OPERATORS.contains(&n) => self.raw_body(n)?,
            other => {
                return Err(self.error_at(name_span.start, format!("unknown query operator '{other}'")));
            }
        })
    }

    /// True at a token that ends an operator's arguments.
    fn at_op_end(&self) -> bool {
        matches!(self.kind(), TokKind::Pipe | TokKind::Eof | TokKind::Semi | TokKind::RParen | TokKind::RBrace)
    }

    fn summarize(&mut self) -> PResult<OpKind> {
        let params = self.op_params(&["hint.shufflekey", "hint.strategy", "hint.num_partitions"])?;
        let aggs = if self.at_word("by") || self.at_op_end() { Vec::new() } else { self.named_exprs()? };
        let by = if self.eat_word("by") { self.named_exprs()? } else { Vec::new() };
        Ok(OpKind::Summarize { params, aggs, by })
    }

    /// `[name =] expr, ...` — at least one.
    fn named_exprs(&mut self) -> PResult<Vec<NamedExpr>> {
        let mut out = vec![self.named_expr()?];
        while self.eat(&TokKind::Comma) {
            out.push(self.named_expr()?);
        }
        Ok(out)
    }

    fn named_expr(&mut self) -> PResult<NamedExpr> {
        let start = self.tok().span.start;
        let mut names = Vec::new();
        if let Some(n) = self.compound_names_len() {
            let open = self.bump();
            for _ in 0..n {
                names.push(self.ident("a column name")?);
                self.eat(&TokKind::Comma);
            }
            self.expect_close(&TokKind::RParen, ")", &open)?;
            self.expect(&TokKind::Assign, "'='")?;
        } else if self.at_ident_like() {
            let len = if matches!(self.kind(), TokKind::Ident) { 1 } else { 3 };
            if matches!(self.kind_at(len), TokKind::Assign) {
                names.push(self.ident("a column name")?);
                self.bump();
            }
        }
        let expr = self.expr()?;
        Ok(NamedExpr { names, expr, span: self.span_from(start) })
    }

    /// `(a, b, c) =` ahead? Returns the number of names.
    fn compound_names_len(&self) -> Option<usize> {
        if !self.at(&TokKind::LParen) {
            return None;
        }
        let mut i = 1;
        let mut n = 0;
        loop {
            if !matches!(self.kind_at(i), TokKind::Ident) {
                return None;
            }
            n += 1;
            i += 1;
            match self.kind_at(i) {
                TokKind::Comma => i += 1,
                TokKind::RParen => break,
                _ => return None,
            }
        }
        matches!(self.kind_at(i + 1), TokKind::Assign).then_some(n)
    }

    fn patterns(&mut self) -> PResult<Vec<NamePattern>> {
        let mut out = vec![self.name_pattern("a column name or wildcard")?];
        while self.eat(&TokKind::Comma) {
            out.push(self.name_pattern("a column name or wildcard")?);
        }
        Ok(out)
    }

    fn renames(&mut self) -> PResult<Vec<(Ident, Ident)>> {
        let mut out = Vec::new();
        loop {
            let new = self.ident("a new column name")?;
            // Kusto's parser accepts a bare name here (it is a semantic error); so do we, as
            // (name, name), and leave the complaint to the checker.
            let old = if self.eat(&TokKind::Assign) { self.ident("an existing column name")? } else { new.clone() };
            out.push((new, old));
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        Ok(out)
    }

    fn reorder_items(&mut self) -> PResult<Vec<(NamePattern, Option<String>)>> {
        let mut out = Vec::new();
        loop {
            let pat = self.name_pattern("a column name or wildcard")?;
            let order = if self.at_word("asc") || self.at_word("desc") {
                Some(self.bump()).map(|t| self.text_of(&t).to_string())
            } else if (self.at_word("granny") && matches!(self.kind_at(1), TokKind::Minus))
                && matches!(self.kind_at(2), TokKind::Ident)
            {
                self.bump();
                self.bump();
                let t = self.bump();
                Some(format!("granny-{}", self.text_of(&t)))
            } else {
                None
            };
            out.push((pat, order));
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        Ok(out)
    }

    fn sort_keys(&mut self) -> PResult<Vec<SortKey>> {
        let mut out = Vec::new();
        loop {
            let start = self.tok().span.start;
            let expr = self.expr()?;
            let mut descending = true;
            if self.eat_word("asc") {
                descending = false;
            } else {
                self.eat_word("desc");
            }
            let mut nulls_first = None;
            if self.at_word("nulls") {
                self.bump();
                if self.eat_word("first") {
                    nulls_first = Some(true);
                } else {
                    self.expect_word("last")?;
                    nulls_first = Some(false);
                }
            }
            out.push(SortKey { expr, descending, nulls_first, span: self.span_from(start) });
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        Ok(out)
    }

    /// join / lookup after the operator name.
    fn join_body(&mut self, lookup: bool) -> PResult<JoinOp> {
        let mut params = self.op_params(&["kind", "withsource"])?;
        let mut kind = if lookup { JoinKind::LeftOuter } else { JoinKind::InnerUnique };
        let mut kind_explicit = false;
        if let Some(i) = params.iter().position(|p| p.name.eq_ignore_ascii_case("kind")) {
            let p = params.remove(i);
            let text = match &p.value.kind {
                ExprKind::Name(id) => id.name.clone(),
                _ => String::new(),
            };
            kind = JoinKind::from_name(&text)
                .ok_or_else(|| self.error_at(p.value.span.start, format!("unknown join kind '{text}'")))?;
            kind_explicit = true;
        }
        let right = self.tab_operand()?;
        // Hints may also follow the right side in some dialects; accept them.
        params.extend(self.op_params(&[])?);
        let on = if self.eat_word("on") {
            self.join_keys()?
        } else if lookup {
            return Err(self.unexpected("'on' and lookup keys"));
        } else {
            return Err(self.unexpected("'on' and join keys"));
        };
        Ok(JoinOp { kind, kind_explicit, params, right, on })
    }

    /// A tabular operand without pipes: `(subquery)`, `Name`, `Name*`, `f(args)`.
    fn tab_operand(&mut self) -> PResult<TabularExpr> {
        let start = self.tok().span.start;
        if self.at(&TokKind::LParen) {
            let open = self.bump();
            self.enter()?;
            let inner = self.tabular()?;
            self.leave();
            self.expect_close(&TokKind::RParen, ")", &open)?;
            let span = self.span_from(start);
            return Ok(TabularExpr {
                source: Source { kind: SourceKind::Paren(Box::new(inner)), span },
                ops: Vec::new(),
                span,
            });
        }
        if matches!(self.kind(), TokKind::Ident) && matches!(self.kind_at(1), TokKind::LParen) {
            if let Some(src) = self.try_tabular_source()? {
                let span = src.span;
                return Ok(TabularExpr { source: src, ops: Vec::new(), span });
            }
            let name = self.ident("a function name")?;
            let open = self.bump();
            let args = self.call_args(&open)?;
            let span = self.span_from(start);
            return Ok(TabularExpr {
                source: Source { kind: SourceKind::Call { name, args }, span },
                ops: Vec::new(),
                span,
            });
        }
        let pat = self.name_pattern("a table name or '(' subquery ')'")?;
        let span = pat.span;
        let id = Ident { name: pat.pattern, span };
        Ok(TabularExpr { source: Source { kind: SourceKind::Name(id), span }, ops: Vec::new(), span })
    }

    fn join_keys(&mut self) -> PResult<Vec<JoinKey>> {
        let mut keys = Vec::new();
        loop {
            let e = self.expr()?;
            self.flatten_join_key(e, &mut keys)?;
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        Ok(keys)
    }

    fn flatten_join_key(&self, e: Expr, out: &mut Vec<JoinKey>) -> PResult<()> {
        match e.kind {
            ExprKind::Name(id) => {
                out.push(JoinKey { left: id.clone(), right: id, span: e.span });
                Ok(())
            }
            ExprKind::Binary { op: BinOp::And, left, right } => {
                self.flatten_join_key(*left, out)?;
                self.flatten_join_key(*right, out)
            }
            ExprKind::Binary { op: BinOp::Eq, left, right } => {
                let l = side_column(&left);
                let r = side_column(&right);
                match (l, r) {
                    (Some(("$left", a)), Some(("$right", b))) | (Some(("$right", b)), Some(("$left", a))) => {
                        out.push(JoinKey { left: a, right: b, span: e.span });
                        Ok(())
                    }
                    _ => Err(self
                        .error_at(e.span.start, "join condition must be 'Column' or '$left.Column == $right.Column'")),
                }
            }
            ExprKind::Member { ref expr, ref field }
                if side_column(&Expr::new(ExprKind::Member { expr: expr.clone(), field: field.clone() }, e.span))
                    .is_some() =>
            {
                // `on $left.X` alone is not valid KQL.
                Err(self.error_at(e.span.start, "'$left.X' must be compared to '$right.Y' in a join condition"))
            }
            _ => Err(self.error_at(e.span.start, "join condition must be 'Column' or '$left.Column == $right.Column'")),
        }
    }

    /// After `union`: params then operands.
    fn union_body(&mut self) -> PResult<UnionOp> {
        let params = self.op_params(&["kind", "withsource", "isfuzzy"])?;
        let mut tables = vec![self.tab_operand()?];
        while self.eat(&TokKind::Comma) {
            tables.push(self.tab_operand()?);
        }
        Ok(UnionOp { params, tables })
    }

    fn mv_items(&mut self) -> PResult<Vec<MvExpandItem>> {
        let mut items = Vec::new();
        loop {
            let start = self.tok().span.start;
            let mut name = None;
            if self.at_ident_like() {
                let len = if matches!(self.kind(), TokKind::Ident) { 1 } else { 3 };
                if matches!(self.kind_at(len), TokKind::Assign) {
                    name = Some(self.ident("a column name")?);
                    self.bump();
                }
            }
            let expr = self.expr()?;
            let to_type = if self.at_word("to") && self.word_at(1, "typeof") {
                self.bump();
                self.bump();
                let open = self.expect(&TokKind::LParen, "'(' after typeof")?;
                let t = self.type_name()?;
                self.expect_close(&TokKind::RParen, ")", &open)?;
                Some(t)
            } else {
                None
            };
            items.push(MvExpandItem { name, expr, to_type, span: self.span_from(start) });
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        Ok(items)
    }

    fn mv_params(&mut self) -> PResult<(Vec<OpParam>, Option<Ident>)> {
        let mut params = self.op_params(&["kind", "bagexpansion", "with_itemindex"])?;
        let mut idx = None;
        if let Some(i) = params.iter().position(|p| p.name == "with_itemindex") {
            let p = params.remove(i);
            match p.value.kind {
                ExprKind::Name(id) => idx = Some(id),
                _ => {
                    return Err(self.error_at(p.value.span.start, "with_itemindex needs a column name"));
                }
            }
        }
        Ok((params, idx))
    }

    fn mv_expand_body(&mut self) -> PResult<MvExpandOp> {
        let (params, with_itemindex) = self.mv_params()?;
        let items = self.mv_items()?;
        let limit = if self.eat_word("limit") { Some(self.expr()?) } else { None };
        Ok(MvExpandOp { params, with_itemindex, items, limit })
    }

    fn mv_apply_body(&mut self) -> PResult<MvApplyOp> {
        let (params, with_itemindex) = self.mv_params()?;
        let items = self.mv_items()?;
        let limit = if self.eat_word("limit") { Some(self.expr()?) } else { None };
        self.expect_word("on")?;
        let open = self.expect(&TokKind::LParen, "'(' and a subquery after 'on'")?;
        let subquery = self.sub_pipeline()?;
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(MvApplyOp { params, with_itemindex, items, limit, subquery })
    }

    fn parse_body(&mut self) -> PResult<ParseOp> {
        let mut params = self.op_params(&["kind", "flags"])?;
        let mut kind = ParseKind::Simple;
        let mut flags = None;
        let mut rest = Vec::new();
        for p in params.drain(..) {
            let text = match &p.value.kind {
                ExprKind::Name(id) => id.name.clone(),
                ExprKind::Literal(Literal::String(s)) => s.clone(),
                _ => String::new(),
            };
            if p.name == "kind" {
                kind = match text.as_str() {
                    "simple" => ParseKind::Simple,
                    "regex" => ParseKind::Regex,
                    "relaxed" => ParseKind::Relaxed,
                    _ => {
                        return Err(self.error_at(p.value.span.start, format!("unknown parse kind '{text}'")));
                    }
                };
            } else if p.name == "flags" {
                flags = Some(text);
            } else {
                rest.push(p);
            }
        }
        let expr = self.expr()?;
        self.expect_word("with")?;
        let pattern = self.parse_pattern()?;
        Ok(ParseOp { kind, flags, params: rest, expr, pattern })
    }

    fn parse_pattern(&mut self) -> PResult<Vec<ParsePart>> {
        let mut parts = Vec::new();
        loop {
            match self.kind().clone() {
                TokKind::Str(s) => {
                    self.bump();
                    parts.push(ParsePart::Literal(s));
                }
                TokKind::Star => {
                    self.bump();
                    parts.push(ParsePart::Wildcard);
                }
                TokKind::Ident | TokKind::LBracket if self.at_ident_like() => {
                    let name = self.ident("a column name")?;
                    let ty = if self.eat(&TokKind::Colon) { Some(self.type_name()?) } else { None };
                    parts.push(ParsePart::Column { name, ty });
                }
                _ => break,
            }
            // Commas are not part of the grammar but show up between parts in the wild? No: stop.
        }
        if parts.is_empty() {
            return Err(self.unexpected("a parse pattern (string literals, '*' and column names)"));
        }
        Ok(parts)
    }

    fn parse_kv_body(&mut self) -> PResult<ParseKvOp> {
        let expr = self.expr()?;
        self.expect_word("as")?;
        let columns = self.column_decls()?;
        let options = if self.eat_word("with") { self.with_options()? } else { Vec::new() };
        Ok(ParseKvOp { expr, columns, options })
    }

    fn evaluate_body(&mut self) -> PResult<EvaluateOp> {
        let params = self.op_params(&[])?;
        let plugin = self.ident("a plugin name after 'evaluate'")?;
        let open = self.expect(&TokKind::LParen, "'(' after the plugin name")?;
        let args = self.call_args(&open)?;
        let output_schema = if self.eat(&TokKind::Colon) { Some(self.column_decls()?) } else { None };
        Ok(EvaluateOp { params, plugin, args, output_schema })
    }

    fn make_series_body(&mut self) -> PResult<MakeSeriesOp> {
        let params = self.op_params(&["kind"])?;
        let mut aggs = Vec::new();
        loop {
            let start = self.tok().span.start;
            let mut name = None;
            if self.at_ident_like() {
                let len = if matches!(self.kind(), TokKind::Ident) { 1 } else { 3 };
                if matches!(self.kind_at(len), TokKind::Assign) {
                    name = Some(self.ident("a column name")?);
                    self.bump();
                }
            }
            let expr = self.expr()?;
            let default = if self.at_word("default") && matches!(self.kind_at(1), TokKind::Assign) {
                self.bump();
                self.bump();
                Some(self.expr()?)
            } else {
                None
            };
            aggs.push(MakeSeriesAgg { name, expr, default, span: self.span_from(start) });
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_word("on")?;
        // The axis is a column; stop before `in range(...)`.
        let on = self.add_expr()?;
        let (mut from, mut to) = (None, None);
        let step;
        if self.eat_word("in") {
            // on Axis in range(start, stop, step)
            self.expect_word("range")?;
            let open = self.expect(&TokKind::LParen, "'('")?;
            from = Some(self.expr()?);
            self.expect(&TokKind::Comma, "','")?;
            to = Some(self.expr()?);
            self.expect(&TokKind::Comma, "','")?;
            step = self.expr()?;
            self.expect_close(&TokKind::RParen, ")", &open)?;
        } else {
            if self.eat_word("from") {
                from = Some(self.expr()?);
            }
            if self.eat_word("to") {
                to = Some(self.expr()?);
            }
            self.expect_word("step")?;
            step = self.expr()?;
        }
        let by = if self.eat_word("by") { self.named_exprs()? } else { Vec::new() };
        Ok(MakeSeriesOp { params, aggs, on, from, to, step, by })
    }

    fn top_nested_body(&mut self) -> PResult<Vec<TopNestedLevel>> {
        let mut levels = Vec::new();
        loop {
            let start = self.tok().span.start;
            let count = if self.at_word("of") { None } else { Some(self.expr()?) };
            self.expect_word("of")?;
            let of = self.named_expr()?;
            let with_others = if self.at_word("with") && self.word_at(1, "others") {
                self.bump();
                self.bump();
                self.expect(&TokKind::Assign, "'='")?;
                Some(self.expr()?)
            } else {
                None
            };
            self.expect_word("by")?;
            let by = self.named_expr()?;
            let mut descending = true;
            if self.eat_word("asc") {
                descending = false;
            } else {
                self.eat_word("desc");
            }
            levels.push(TopNestedLevel { count, of, with_others, by, descending, span: self.span_from(start) });
            if !(self.at(&TokKind::Comma) && self.word_at(1, "top") && matches!(self.kind_at(2), TokKind::Minus)) {
                break;
            }
            self.bump();
            let (n, _) = self.op_name()?;
            if n != "top-nested" {
                return Err(self.error_at(self.prev_end(), "expected 'top-nested' after ','"));
            }
        }
        Ok(levels)
    }

    /// `render chart [with (...)]` — everything up to the next top-level `|` is ignored.
    fn render_body(&mut self) -> PResult<OpKind> {
        let visualization = if matches!(self.kind(), TokKind::Ident) { self.text().to_string() } else { String::new() };
        self.skip_raw()?;
        Ok(OpKind::Render { visualization })
    }

    fn raw_body(&mut self, name: &str) -> PResult<OpKind> {
        let start = self.tok().span.start;
        self.skip_raw()?;
        let text = self.src.get(start..self.prev_end().max(start)).unwrap_or("").to_string();
        Ok(OpKind::Raw { name: name.to_string(), text })
    }

    /// Skip balanced tokens until a top-level `|`, `;`, end, or an unmatched closer.
    fn skip_raw(&mut self) -> PResult<()> {
        let mut stack: Vec<Token> = Vec::new();
        loop {
            match self.kind() {
                TokKind::Eof => {
                    if let Some(open) = stack.pop() {
                        let close = match open.kind {
                            TokKind::LParen => ")",
                            TokKind::LBracket => "]",
                            _ => "}",
                        };
                        return self.expect_close(&TokKind::RParen, close, &open).map(|_| ());
                    }
                    return Ok(());
                }
                TokKind::Error(m) => return Err(self.error_at(self.tok().span.start, m.clone())),
                TokKind::Pipe | TokKind::Semi if stack.is_empty() => return Ok(()),
                TokKind::LParen | TokKind::LBracket | TokKind::LBrace => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error_at(self.tok().span.start, "nested too deeply"));
                    }
                    stack.push(self.bump());
                }
                TokKind::RParen | TokKind::RBracket | TokKind::RBrace => {
                    if stack.pop().is_none() {
                        return Ok(());
                    }
                    self.bump();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn search_body(&mut self) -> PResult<SearchOp> {
        let params = self.op_params(&["kind"])?;
        let tables = if self.at_word("in") && matches!(self.kind_at(1), TokKind::LParen) {
            self.bump();
            Some(self.table_list()?)
        } else {
            None
        };
        let saved = self.search_colon;
        self.search_colon = true;
        let predicate = self.expr();
        self.search_colon = saved;
        Ok(SearchOp { params, tables, predicate: predicate? })
    }

    /// `(T1, T2*, ...)`
    fn table_list(&mut self) -> PResult<Vec<NamePattern>> {
        let open = self.expect(&TokKind::LParen, "'('")?;
        let mut out = Vec::new();
        while !self.at(&TokKind::RParen) {
            out.push(self.name_pattern("a table name")?);
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(out)
    }

    fn find_body(&mut self) -> PResult<FindOp> {
        let params = self.op_params(&["withsource", "kind"])?;
        let tables = if self.eat_word("in") { Some(self.table_list()?) } else { None };
        self.expect_word("where")?;
        let saved = self.search_colon;
        self.search_colon = true;
        let predicate = self.expr();
        self.search_colon = saved;
        let predicate = predicate?;
        let mut project = None;
        let mut project_smart = false;
        if self.at_word("project-smart")
            || (self.at_word("project") && matches!(self.kind_at(1), TokKind::Minus) && self.word_at(2, "smart"))
        {
            self.op_name()?;
            project_smart = true;
        } else if self.eat_word("project") {
            project = Some(self.named_exprs()?);
        }
        Ok(FindOp { params, tables, predicate, project, project_smart })
    }

    fn facet_body(&mut self) -> PResult<OpKind> {
        self.expect_word("by")?;
        let mut columns = vec![self.ident("a column name")?];
        while self.eat(&TokKind::Comma) {
            columns.push(self.ident("a column name")?);
        }
        let with = if self.eat_word("with") {
            let open = self.expect(&TokKind::LParen, "'('")?;
            let ops = self.sub_pipeline()?;
            self.expect_close(&TokKind::RParen, ")", &open)?;
            ops
        } else {
            Vec::new()
        };
        Ok(OpKind::Facet { columns, with })
    }

    fn partition_body(&mut self) -> PResult<OpKind> {
        let params = self.op_params(&[])?;
        self.expect_word("by")?;
        let by = self.ident("a column name")?;
        let subquery = if self.at(&TokKind::LParen) {
            let open = self.bump();
            let ops = self.sub_pipeline()?;
            self.expect_close(&TokKind::RParen, ")", &open)?;
            ops
        } else {
            let open = self.expect(&TokKind::LBrace, "'(' or '{' and a subquery")?;
            let t = self.tabular()?;
            self.expect_close(&TokKind::RBrace, "}", &open)?;
            t.ops
        };
        Ok(OpKind::Partition { params, by, subquery })
    }

    fn scan_body(&mut self) -> PResult<ScanOp> {
        let params = self.op_params(&["with_match_id"])?;
        let mut order_by = Vec::new();
        let mut partition_by = Vec::new();
        let mut declare = Vec::new();
        loop {
            if self.at_word("order") && self.word_at(1, "by") {
                self.bump();
                self.bump();
                order_by = self.sort_keys()?;
            } else if self.at_word("partition") && self.word_at(1, "by") {
                self.bump();
                self.bump();
                partition_by.push(self.expr()?);
                while self.eat(&TokKind::Comma) {
                    partition_by.push(self.expr()?);
                }
            } else if self.eat_word("declare") {
                let open = self.expect(&TokKind::LParen, "'('")?;
                declare = self.param_list(&open)?;
            } else {
                break;
            }
        }
        self.expect_word("with")?;
        let open = self.expect(&TokKind::LParen, "'(' and scan steps")?;
        let mut steps = Vec::new();
        while self.at_word("step") {
            steps.push(self.scan_step()?);
        }
        if steps.is_empty() {
            return Err(self.unexpected("'step'"));
        }
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(ScanOp { params, order_by, partition_by, declare, steps })
    }

    fn scan_step(&mut self) -> PResult<ScanStep> {
        let start = self.bump().span.start;
        let name = self.ident("a step name")?;
        let mut output = None;
        if self.at_word("output") && matches!(self.kind_at(1), TokKind::Assign) {
            self.bump();
            self.bump();
            output = Some(self.ident("all, last or none")?.name);
        }
        self.expect(&TokKind::Colon, "':' after the step name")?;
        let predicate = self.expr()?;
        let mut assignments = Vec::new();
        if self.eat(&TokKind::Arrow) {
            loop {
                let s = self.tok().span.start;
                let n = self.ident("a column name")?;
                self.expect(&TokKind::Assign, "'='")?;
                let e = self.expr()?;
                assignments.push(NamedExpr { names: vec![n], expr: e, span: self.span_from(s) });
                if !self.eat(&TokKind::Comma) {
                    break;
                }
            }
        }
        self.expect(&TokKind::Semi, "';' after the scan step")?;
        Ok(ScanStep { name, output, predicate, assignments, span: self.span_from(start) })
    }

    fn fork_body(&mut self) -> PResult<OpKind> {
        let mut branches = Vec::new();
        loop {
            if matches!(self.kind(), TokKind::Ident) && matches!(self.kind_at(1), TokKind::Assign) {
                self.bump();
                self.bump();
            }
            if !self.at(&TokKind::LParen) {
                break;
            }
            let open = self.bump();
            let ops = self.sub_pipeline()?;
            self.expect_close(&TokKind::RParen, ")", &open)?;
            branches.push(ops);
        }
        if branches.is_empty() {
            return Err(self.unexpected("'(' and a fork branch"));
        }
        Ok(OpKind::Fork(branches))
    }

    // ----------------------------------------------------------------- scalar expressions

    /// Full scalar expression.
    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.or_expr();
        self.leave();
        r
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        let mut links = 0;
        while self.at_word("or") {
            self.bump();
            self.link(&mut links)?;
            let right = self.and_expr()?;
            left = binary(BinOp::Or, left, right);
        }
        self.unlink(links);
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.cmp_expr()?;
        let mut links = 0;
        while self.at_word("and") {
            self.bump();
            self.link(&mut links)?;
            let right = self.cmp_expr()?;
            left = binary(BinOp::And, left, right);
        }
        self.unlink(links);
        Ok(left)
    }

    /// Comparison, string, list and `between` operators (one level, left-associative).
    fn cmp_expr(&mut self) -> PResult<Expr> {
        let mut left = self.add_expr()?;
        let mut links = 0;
        while let Some((op, ntok)) = self.peek_cmp_op() {
            for _ in 0..ntok {
                self.bump();
            }
            self.link(&mut links)?;
            left = match op {
                CmpOp::Bin(op) => {
                    let right = self.add_expr()?;
                    binary(op, left, right)
                }
                CmpOp::List(op) => self.list_rhs(op, left)?,
                CmpOp::Between(negated) => self.between_rhs(negated, left)?,
            };
        }
        self.unlink(links);
        Ok(left)
    }

    /// Recognise a comparison-level operator at the current position; returns it and how many
    /// tokens it spans.
    fn peek_cmp_op(&self) -> Option<(CmpOp, usize)> {
        let simple = match self.kind() {
            TokKind::EqEq => Some(BinOp::Eq),
            TokKind::NotEq | TokKind::LtGt => Some(BinOp::Ne),
            TokKind::Lt => Some(BinOp::Lt),
            TokKind::Le => Some(BinOp::Le),
            TokKind::Gt => Some(BinOp::Gt),
            TokKind::Ge => Some(BinOp::Ge),
            TokKind::EqTilde => Some(BinOp::EqCi),
            TokKind::BangTilde => Some(BinOp::NeCi),
            TokKind::Colon if self.search_colon => Some(BinOp::Has),
            // Kusto's parser accepts a single `=` as equality inside predicates (`where x = 1`).
            TokKind::Assign => Some(BinOp::Eq),
            _ => None,
        };
        if let Some(op) = simple {
            return Some((CmpOp::Bin(op), 1));
        }
        let (negated, base) = match self.kind() {
            TokKind::Bang if matches!(self.kind_at(1), TokKind::Ident) && self.adjacent(0) => (true, 1),
            TokKind::Ident => (false, 0),
            _ => return None,
        };
        let word = self.text_at(base);
        let tilde = matches!(self.kind_at(base + 1), TokKind::Tilde) && self.adjacent(base);
        let op = match word {
            "in" if tilde => (CmpOp::List(if negated { ListOp::NotInCi } else { ListOp::InCi }), base + 2),
            "in" => (CmpOp::List(if negated { ListOp::NotIn } else { ListOp::In }), base + 1),
            "has_any" if !negated => (CmpOp::List(ListOp::HasAny), 1),
            "has_all" if !negated => (CmpOp::List(ListOp::HasAll), 1),
            "between" => (CmpOp::Between(negated), base + 1),
            "matches" if !negated && self.word_at(1, "regex") => (CmpOp::Bin(BinOp::MatchesRegex), 2),
            w => {
                let full = if negated { format!("!{w}") } else { w.to_string() };
                match BinOp::from_word(&full) {
                    Some(BinOp::And | BinOp::Or) | None => return None,
                    Some(op) => (CmpOp::Bin(op), base + 1),
                }
            }
        };
        Some(op)
    }

    /// `(a, b, ...)` or `(subquery)` or a dynamic expression after `in` / `has_any` ...
    fn list_rhs(&mut self, op: ListOp, left: Expr) -> PResult<Expr> {
        let start = left.span.start;
        let mut list = Vec::new();
        if self.at(&TokKind::LParen) {
            let open = self.bump();
            while !self.at(&TokKind::RParen) {
                let item = match self.expr_or_tab()? {
                    Either::Tab(t) => {
                        let span = t.span;
                        Expr::new(ExprKind::Subquery(Box::new(t)), span)
                    }
                    Either::Expr(e) => self.maybe_tabular_name(e),
                };
                list.push(item);
                if !self.eat(&TokKind::Comma) {
                    break;
                }
            }
            self.expect_close(&TokKind::RParen, ")", &open)?;
        } else {
            // `x in dynamic([...])` / `x has_any mylist` (accepted leniently).
            list.push(self.postfix_expr()?);
        }
        let span = self.span_from(start);
        Ok(Expr::new(ExprKind::InList { op, expr: Box::new(left), list }, span))
    }

    /// A bare name bound to a tabular let, used as a list item, becomes a subquery.
    fn maybe_tabular_name(&self, e: Expr) -> Expr {
        let tabular = match &e.kind {
            ExprKind::Name(id) => matches!(self.lookup(&id.name), Some(Binding::Tabular)),
            ExprKind::Call { name, .. } => {
                matches!(self.lookup(&name.name), Some(Binding::TabularFn))
            }
            _ => false,
        };
        if !tabular {
            return e;
        }
        let span = e.span;
        match self.expr_to_tab(e.clone()) {
            Ok(t) => Expr::new(ExprKind::Subquery(Box::new(t)), span),
            Err(_) => e,
        }
    }

    fn between_rhs(&mut self, negated: bool, left: Expr) -> PResult<Expr> {
        let start = left.span.start;
        let open = self.expect(&TokKind::LParen, "'(' after between")?;
        let low = self.expr()?;
        self.expect(&TokKind::DotDot, "'..' between the bounds")?;
        let high = self.expr()?;
        self.expect_close(&TokKind::RParen, ")", &open)?;
        let span = self.span_from(start);
        Ok(Expr::new(
            ExprKind::Between { expr: Box::new(left), low: Box::new(low), high: Box::new(high), negated },
            span,
        ))
    }

    fn add_expr(&mut self) -> PResult<Expr> {
        let mut left = self.mul_expr()?;
        let mut links = 0;
        loop {
            let op = match self.kind() {
                TokKind::Plus => BinOp::Add,
                TokKind::Minus => BinOp::Sub,
                _ => break,
            };
            self.bump();
            self.link(&mut links)?;
            let right = self.mul_expr()?;
            left = binary(op, left, right);
        }
        self.unlink(links);
        Ok(left)
    }

    fn mul_expr(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        let mut links = 0;
        loop {
            let op = match self.kind() {
                TokKind::Star => BinOp::Mul,
                TokKind::Slash => BinOp::Div,
                TokKind::Percent => BinOp::Mod,
                _ => break,
            };
            self.bump();
            self.link(&mut links)?;
            let right = self.unary()?;
            left = binary(op, left, right);
        }
        self.unlink(links);
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.kind() {
            TokKind::Minus => UnaryOp::Neg,
            TokKind::Plus => UnaryOp::Plus,
            _ => return self.postfix_expr(),
        };
        let start = self.bump().span.start;
        self.enter()?;
        let inner = self.unary();
        self.leave();
        let inner = inner?;
        let span = self.span_from(start);
        // Fold signs into numeric literals so `-1` is a literal everywhere (datatable values, ...).
        let folded = match (&inner.kind, op) {
            (ExprKind::Literal(Literal::Long(v)), UnaryOp::Neg) => Some(Literal::Long(v.wrapping_neg())),
            (ExprKind::Literal(Literal::Real(v)), UnaryOp::Neg) => Some(Literal::Real(-v)),
            (ExprKind::Literal(Literal::Timespan(v)), UnaryOp::Neg) => Some(Literal::Timespan(v.wrapping_neg())),
            (ExprKind::Literal(l @ (Literal::Long(_) | Literal::Real(_) | Literal::Timespan(_))), UnaryOp::Plus) => {
                Some(l.clone())
            }
            _ => None,
        };
        Ok(match folded {
            Some(l) => Expr::new(ExprKind::Literal(l), span),
            None => Expr::new(ExprKind::Unary { op, expr: Box::new(inner) }, span),
        })
    }

    fn postfix_expr(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        let mut links = 0;
        loop {
            if self.at(&TokKind::Dot) || self.at(&TokKind::LBracket) {
                self.link(&mut links)?;
            }
            if self.at(&TokKind::Dot) {
                let next = self.tok_at(1).clone();
                let field = match &next.kind {
                    TokKind::Ident => {
                        self.bump();
                        self.ident("a member name")?
                    }
                    TokKind::LBracket => {
                        self.bump();
                        self.try_bracket_ident().ok_or_else(|| self.unexpected("a member name"))?
                    }
                    // `x.1`-style numeric members are not KQL.
                    _ => {
                        self.bump();
                        return Err(self.unexpected("a member name after '.'"));
                    }
                };
                let span = e.span.to(field.span);
                e = Expr::new(ExprKind::Member { expr: Box::new(e), field }, span);
            } else if self.at(&TokKind::LBracket) {
                let open = self.bump();
                let index = self.expr()?;
                let close = self.expect_close(&TokKind::RBracket, "]", &open)?;
                let span = e.span.to(close.span);
                e = Expr::new(ExprKind::Index { expr: Box::new(e), index: Box::new(index) }, span);
            } else {
                break;
            }
        }
        self.unlink(links);
        Ok(e)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.tok().clone();
        let lit = |l: Literal| Ok(Expr::new(ExprKind::Literal(l), t.span));
        match &t.kind {
            TokKind::Long(v) => {
                self.bump();
                lit(Literal::Long(*v))
            }
            TokKind::Real(v) => {
                self.bump();
                lit(Literal::Real(*v))
            }
            TokKind::Timespan(v) => {
                self.bump();
                lit(Literal::Timespan(*v))
            }
            TokKind::Str(_) => Ok(self.string_concat()),
            TokKind::Ident => self.ident_primary(),
            TokKind::LParen => self.paren_primary(),
            TokKind::LBracket => {
                if let Some(id) = self.try_bracket_ident() {
                    let span = id.span;
                    return Ok(Expr::new(ExprKind::Name(id), span));
                }
                let start = t.span.start;
                let v = self.json_value()?;
                Ok(Expr::new(ExprKind::Literal(Literal::Dynamic(v)), self.span_from(start)))
            }
            TokKind::Star => {
                self.bump();
                Ok(Expr::new(ExprKind::Star, t.span))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// Adjacent string literals concatenate (`"a" "b"` == `"ab"`).
    fn string_concat(&mut self) -> Expr {
        let start = self.tok().span.start;
        let mut s = String::new();
        while let TokKind::Str(part) = self.kind() {
            s.push_str(part);
            self.bump();
        }
        Expr::new(ExprKind::Literal(Literal::String(s)), self.span_from(start))
    }

    fn paren_primary(&mut self) -> PResult<Expr> {
        let open = self.bump();
        let first = self.expr_or_tab()?;
        let mut items = vec![first];
        while self.eat(&TokKind::Comma) {
            items.push(self.expr_or_tab()?);
        }
        let close = self.expect_close(&TokKind::RParen, ")", &open)?;
        let span = open.span.to(close.span);
        let mut exprs: Vec<Expr> = items
            .into_iter()
            .map(|i| match i {
                Either::Expr(e) => e,
                Either::Tab(t) => {
                    let s = t.span;
                    Expr::new(ExprKind::Subquery(Box::new(t)), s)
                }
            })
            .collect();
        if exprs.len() == 1 {
            let mut e = exprs.remove(0);
            if matches!(e.kind, ExprKind::Subquery(_)) {
                e.span = span;
            }
            return Ok(e);
        }
        Ok(Expr::new(ExprKind::Tuple(exprs), span))
    }

    fn ident_primary(&mut self) -> PResult<Expr> {
        let t = self.tok().clone();
        let text = self.text_of(&t);
        let call = matches!(self.kind_at(1), TokKind::LParen);
        if !call {
            self.bump();
            let kind = match text {
                "true" | "True" | "TRUE" => ExprKind::Literal(Literal::Bool(true)),
                "false" | "False" | "FALSE" => ExprKind::Literal(Literal::Bool(false)),
                "null" => ExprKind::Literal(Literal::Null),
                _ => ExprKind::Name(Ident { name: text.to_string(), span: t.span }),
            };
            return Ok(Expr::new(kind, t.span));
        }
        match text {
            "datetime" | "date" => self.raw_literal(|p, s, at| p.datetime_literal(s, at)),
            "time" | "timespan" => self.raw_literal(|p, s, at| p.timespan_literal(s, at)),
            "guid" | "uuid" | "uniqueid" => self.raw_literal(|p, s, at| p.guid_literal(s, at)),
            "int" | "long" | "real" | "double" | "bool" | "boolean" | "decimal" => {
                let ty = TypeName::from_name(text).unwrap_or(TypeName::Long);
                self.raw_literal(move |p, s, at| p.typed_literal(ty, s, at))
            }
            "dynamic" => self.dynamic_literal(),
            "typeof" => {
                let start = self.bump().span.start;
                let open = self.bump();
                let ty = self.type_name()?;
                self.expect_close(&TokKind::RParen, ")", &open)?;
                Ok(Expr::new(ExprKind::TypeOf(ty), self.span_from(start)))
            }
            "toscalar" => {
                let start = self.bump().span.start;
                let open = self.bump();
                let inner = match self.expr_or_tab()? {
                    Either::Tab(t) => t,
                    Either::Expr(e) => match &e.kind {
                        ExprKind::Name(_) | ExprKind::Subquery(_) => self.expr_to_tab(e)?,
                        ExprKind::Call { name, .. } if self.lookup(&name.name).is_some() => self.expr_to_tab(e)?,
                        _ => {
                            let span = e.span;
                            let item = NamedExpr { names: Vec::new(), expr: e, span };
                            TabularExpr {
                                source: Source { kind: SourceKind::Print(vec![item]), span },
                                ops: Vec::new(),
                                span,
                            }
                        }
                    },
                };
                self.expect_close(&TokKind::RParen, ")", &open)?;
                Ok(Expr::new(ExprKind::ToScalar(Box::new(inner)), self.span_from(start)))
            }
            "materialize" => {
                let start = t.span.start;
                let src = self.try_tabular_source()?.ok_or_else(|| self.unexpected("materialize(...)"))?;
                let span = self.span_from(start);
                let tab = TabularExpr { source: src, ops: Vec::new(), span };
                Ok(Expr::new(ExprKind::Subquery(Box::new(tab)), span))
            }
            _ => {
                let name = Ident { name: text.to_string(), span: t.span };
                self.bump();
                let open = self.bump();
                let args = self.call_args(&open)?;
                Ok(Expr::new(ExprKind::Call { name, args }, self.span_from(t.span.start)))
            }
        }
    }

    /// Arguments after `(` up to and including `)`. Arguments may be tabular (user functions)
    /// or named (`name = value`).
    fn call_args(&mut self, open: &Token) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        while !self.at(&TokKind::RParen) {
            let start = self.tok().span.start;
            if self.at_ident_like() && matches!(self.kind_at(1), TokKind::Assign) {
                let name = self.ident("an argument name")?;
                self.bump();
                let value = self.expr()?;
                args.push(Expr::new(ExprKind::NamedArg { name, value: Box::new(value) }, self.span_from(start)));
            } else {
                let item = match self.expr_or_tab()? {
                    Either::Tab(t) => {
                        let span = t.span;
                        Expr::new(ExprKind::Subquery(Box::new(t)), span)
                    }
                    Either::Expr(e) => e,
                };
                args.push(item);
            }
            if !self.eat(&TokKind::Comma) {
                break;
            }
        }
        self.expect_close(&TokKind::RParen, ")", open)?;
        Ok(args)
    }

    // ----------------------------------------------------------------- literals

    /// `name(` raw text `)` literal: hands the trimmed inner text to `f`.
    fn raw_literal(&mut self, f: impl FnOnce(&Self, &str, usize) -> PResult<Literal>) -> PResult<Expr> {
        let start = self.bump().span.start;
        let open = self.bump();
        let mut depth = 0usize;
        let mut i = self.pos;
        loop {
            let t = &self.toks[i.min(self.toks.len() - 1)];
            match t.kind {
                TokKind::Eof => {
                    self.pos = i.min(self.toks.len() - 1);
                    let (l, c) = line_col(self.src, open.span.start);
                    return Err(self.unexpected(&format!("')' to close '(' opened at {l}:{c}")));
                }
                TokKind::LParen => depth += 1,
                TokKind::RParen if depth == 0 => break,
                TokKind::RParen => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let close = self.toks[i].clone();
        let inner = self.src.get(open.span.end..close.span.start).unwrap_or("");
        let lead = inner.len() - inner.trim_start().len();
        let lit = f(self, inner.trim(), open.span.end + lead)?;
        self.pos = i + 1;
        Ok(Expr::new(ExprKind::Literal(lit), Span::new(start, close.span.end)))
    }

    fn datetime_literal(&self, s: &str, at: usize) -> PResult<Literal> {
        if s == "null" {
            return Ok(Literal::TypedNull(TypeName::DateTime));
        }
        parse_datetime(s)
            .map(Literal::DateTime)
            .ok_or_else(|| self.error_at(at, format!("invalid datetime literal '{s}'")))
    }

    fn timespan_literal(&self, s: &str, at: usize) -> PResult<Literal> {
        if s == "null" {
            return Ok(Literal::TypedNull(TypeName::Timespan));
        }
        parse_timespan(s)
            .map(Literal::Timespan)
            .ok_or_else(|| self.error_at(at, format!("invalid timespan literal '{s}'")))
    }

    fn guid_literal(&self, s: &str, at: usize) -> PResult<Literal> {
        if s == "null" {
            return Ok(Literal::TypedNull(TypeName::Guid));
        }
        let ok = s.len() == 36
            && s.char_indices().all(
                |(i, c)| {
                    if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() }
                },
            );
        let compact = s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(Literal::Guid(s.to_ascii_lowercase()))
        } else if compact {
            let l = s.to_ascii_lowercase();
            Ok(Literal::Guid(format!("{}-{}-{}-{}-{}", &l[..8], &l[8..12], &l[12..16], &l[16..20], &l[20..])))
        } else {
            Err(self.error_at(at, format!("invalid guid literal '{s}'")))
        }
    }

    fn typed_literal(&self, ty: TypeName, s: &str, at: usize) -> PResult<Literal> {
        if s == "null" {
            return Ok(Literal::TypedNull(ty));
        }
        let bad = || self.error_at(at, format!("invalid {} literal '{s}'", ty.as_str()));
        let int_text = |s: &str| -> Option<i64> {
            let (neg, body) = match s.strip_prefix('-') {
                Some(b) => (true, b.trim()),
                None => (false, s.strip_prefix('+').unwrap_or(s).trim()),
            };
            let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()? as i64
            } else {
                body.parse::<i64>().ok()?
            };
            Some(if neg { v.wrapping_neg() } else { v })
        };
        match ty {
            TypeName::Int => int_text(s).and_then(|v| i32::try_from(v).ok()).map(Literal::Int).ok_or_else(bad),
            TypeName::Long => int_text(s).map(Literal::Long).ok_or_else(bad),
            TypeName::Real => {
                let v = match s {
                    "nan" | "NaN" => f64::NAN,
                    "inf" | "+inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    _ => s.replace(' ', "").parse::<f64>().map_err(|_| bad())?,
                };
                Ok(Literal::Real(v))
            }
            TypeName::Bool => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Literal::Bool(true)),
                "false" | "0" => Ok(Literal::Bool(false)),
                _ => Err(bad()),
            },
            TypeName::Decimal => {
                if s.parse::<f64>().is_ok() {
                    Ok(Literal::Decimal(s.to_string()))
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }

    fn dynamic_literal(&mut self) -> PResult<Expr> {
        let start = self.bump().span.start;
        let open = self.bump();
        let v = if self.at(&TokKind::RParen) { Json::Null } else { self.json_value()? };
        self.expect_close(&TokKind::RParen, ")", &open)?;
        Ok(Expr::new(ExprKind::Literal(Literal::Dynamic(v)), self.span_from(start)))
    }

    /// JSON-like value inside `dynamic(...)`: arrays, objects, strings, numbers, bools, null,
    /// and KQL scalar literals (datetime / timespan / guid stored as strings).
    fn json_value(&mut self) -> PResult<Json> {
        self.enter()?;
        let r = self.json_value_inner();
        self.leave();
        r
    }

    fn json_value_inner(&mut self) -> PResult<Json> {
        let t = self.tok().clone();
        match &t.kind {
            TokKind::LBracket => {
                self.bump();
                let mut items = Vec::new();
                while !self.at(&TokKind::RBracket) {
                    items.push(self.json_value()?);
                    if !self.eat(&TokKind::Comma) {
                        break;
                    }
                }
                self.expect_close(&TokKind::RBracket, "]", &t)?;
                Ok(Json::Array(items))
            }
            TokKind::LBrace => {
                self.bump();
                let mut map = serde_json::Map::new();
                while !self.at(&TokKind::RBrace) {
                    let key = match self.kind().clone() {
                        TokKind::Str(s) => {
                            self.bump();
                            s
                        }
                        TokKind::Ident => {
                            let k = self.text().to_string();
                            self.bump();
                            k
                        }
                        _ => return Err(self.unexpected("a property name")),
                    };
                    self.expect(&TokKind::Colon, "':' after the property name")?;
                    let v = self.json_value()?;
                    map.insert(key, v);
                    if !self.eat(&TokKind::Comma) {
                        break;
                    }
                }
                self.expect_close(&TokKind::RBrace, "}", &t)?;
                Ok(Json::Object(map))
            }
            TokKind::Str(_) => match self.string_concat().kind {
                ExprKind::Literal(Literal::String(s)) => Ok(Json::String(s)),
                _ => Ok(Json::Null),
            },
            _ => {
                let e = self.unary()?;
                literal_to_json(&e)
                    .ok_or_else(|| self.error_at(e.span.start, "expected a constant value inside dynamic literal"))
            }
        }
    }
}

enum CmpOp {
    Bin(BinOp),
    List(ListOp),
    Between(bool),
}

fn binary(op: BinOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr::new(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span)
}

/// `$left.X` → ("$left", X)
fn side_column(e: &Expr) -> Option<(&str, Ident)> {
    let ExprKind::Member { expr, field } = &e.kind else {
        return None;
    };
    match &expr.kind {
        ExprKind::Name(id) if id.name == "$left" => Some(("$left", field.clone())),
        ExprKind::Name(id) if id.name == "$right" => Some(("$right", field.clone())),
        _ => None,
    }
}

/// Convert a constant expression to JSON for dynamic literals.
fn literal_to_json(e: &Expr) -> Option<Json> {
    let ExprKind::Literal(l) = &e.kind else {
        return None;
    };
    Some(match l {
        Literal::Null | Literal::TypedNull(_) => Json::Null,
        Literal::Bool(b) => Json::Bool(*b),
        Literal::Int(v) => Json::from(*v),
        Literal::Long(v) => Json::from(*v),
        Literal::Real(v) => serde_json::Number::from_f64(*v).map_or(Json::Null, Json::Number),
        Literal::Decimal(s) | Literal::String(s) | Literal::Guid(s) => Json::String(s.clone()),
        Literal::DateTime(t) => Json::String(format_datetime_ticks(*t)),
        Literal::Timespan(t) => Json::String(format_timespan_ticks(*t)),
        Literal::Dynamic(v) => v.clone(),
    })
}

// --------------------------------------------------------------------- date/time helpers

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO-8601-ish datetime text → ticks since the Unix epoch. Accepts `YYYY-MM-DD`, `YYYY/MM/DD`,
/// optional `T` or space, `HH:MM[:SS[.fffffff]]`, optional `Z` / `±HH:MM` offset.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    parse_iso_datetime(s).or_else(|| parse_us_datetime(s)).or_else(|| parse_clock(s))
}

/// `MM/DD/YYYY[ HH:MM[:SS]][ AM|PM]` (US style, as accepted by Kusto for quoted datetimes).
fn parse_us_datetime(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut it = date.split('/');
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    let y: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 100 {
        return None;
    }
    let day = days_from_civil(y, m, d).checked_mul(crate::ast::TICKS_PER_DAY)?;
    match time {
        Some(t) => Some(day + parse_clock(t)?),
        None => Some(day),
    }
}

/// Time of day `H:MM[:SS][ AM|PM]` as ticks since midnight. A date-less datetime literal is
/// taken on 1970-01-01 (Kusto uses the current day; a parser must not read the clock).
fn parse_clock(s: &str) -> Option<i64> {
    let upper = s.to_ascii_uppercase();
    let (body, pm) = if let Some(b) = upper.strip_suffix("PM") {
        (b.trim().to_string(), Some(true))
    } else if let Some(b) = upper.strip_suffix("AM") {
        (b.trim().to_string(), Some(false))
    } else {
        (upper.clone(), None)
    };
    let mut it = body.split(':');
    let mut h: i64 = it.next()?.trim().parse().ok()?;
    let mi: i64 = it.next()?.trim().parse().ok()?;
    let sec: i64 = match it.next() {
        Some(x) => x.trim().parse().ok()?,
        None => 0,
    };
    if it.next().is_some() || mi > 59 || sec > 59 {
        return None;
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    if h > 23 {
        return None;
    }
    Some(h * crate::ast::TICKS_PER_HOUR + mi * crate::ast::TICKS_PER_MINUTE + sec * crate::ast::TICKS_PER_SECOND)
}

fn parse_iso_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, max: usize| -> Option<i64> {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        if *i == st {
            return None;
        }
        s[st..*i].parse().ok()
    };
    let y = num(&mut i, 4)?;
    if i >= b.len() || !(b[i] == b'-' || b[i] == b'/') {
        return None;
    }
    let sep = b[i];
    i += 1;
    let mo = num(&mut i, 2)?;
    if i >= b.len() || b[i] != sep {
        return None;
    }
    i += 1;
    let d = num(&mut i, 2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ticks = days_from_civil(y, mo, d).checked_mul(crate::ast::TICKS_PER_DAY)?;
    if i < b.len() && (b[i] == b'T' || b[i] == b' ') {
        i += 1;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let h = num(&mut i, 2)?;
        let mut mi = 0;
        let mut sec = 0;
        let mut frac = 0i64;
        if i < b.len() && b[i] == b':' {
            i += 1;
            mi = num(&mut i, 2)?;
            if i < b.len() && b[i] == b':' {
                i += 1;
                sec = num(&mut i, 2)?;
                if i < b.len() && b[i] == b'.' {
                    i += 1;
                    let st = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    let digits = &s[st..i];
                    let mut f = String::from(&digits[..digits.len().min(7)]);
                    while f.len() < 7 {
                        f.push('0');
                    }
                    frac = f.parse().ok()?;
                }
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        ticks += h * crate::ast::TICKS_PER_HOUR
            + mi * crate::ast::TICKS_PER_MINUTE
            + sec * crate::ast::TICKS_PER_SECOND
            + frac;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && (b[i] == b'Z' || b[i] == b'z') {
            i += 1;
        } else if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            let neg = b[i] == b'-';
            i += 1;
            let oh = num(&mut i, 2)?;
            let mut om = 0;
            if i < b.len() && b[i] == b':' {
                i += 1;
                om = num(&mut i, 2)?;
            } else if i < b.len() && b[i].is_ascii_digit() {
                om = num(&mut i, 2)?;
            }
            let off = oh * crate::ast::TICKS_PER_HOUR + om * crate::ast::TICKS_PER_MINUTE;
            ticks = if neg { ticks + off } else { ticks - off };
        }
    }
    (i == b.len()).then_some(ticks)
}

/// Timespan text inside `time(...)`: `1d`, `1.5` (days), `[-][d.]hh:mm[:ss[.fffffff]]`.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b.trim()),
        None => (false, s),
    };
    let v = if body.contains(':') {
        let (days, clock) = match body.split_once(':') {
            Some((first, _)) if first.contains('.') => {
                let (d, _) = first.split_once('.')?;
                (d.parse::<i64>().ok()?, &body[d.len() + 1..])
            }
            _ => (0, body),
        };
        let mut parts = clock.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let sec: f64 = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0.0,
        };
        if parts.next().is_some() {
            return None;
        }
        days * crate::ast::TICKS_PER_DAY
            + h * crate::ast::TICKS_PER_HOUR
            + m * crate::ast::TICKS_PER_MINUTE
            + (sec * 1e7).round() as i64
    } else {
        let split = body.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(body.len());
        let (n, unit) = body.split_at(split);
        let n: f64 = n.trim().parse().ok()?;
        let per = if unit.is_empty() { crate::ast::TICKS_PER_DAY } else { timespan_unit_ticks(unit.trim())? };
        let t = (n * per as f64).round();
        if !t.is_finite() || t.abs() > 9.2e18 {
            return None;
        }
        t as i64
    };
    Some(if neg { -v } else { v })
}

/// `2024-01-01T10:00:00.0000000Z` style text for ticks since the epoch.
pub fn format_datetime_ticks(t: i64) -> String {
    let days = t.div_euclid(crate::ast::TICKS_PER_DAY);
    let rem = t.rem_euclid(crate::ast::TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let h = rem / crate::ast::TICKS_PER_HOUR;
    let mi = rem % crate::ast::TICKS_PER_HOUR / crate::ast::TICKS_PER_MINUTE;
    let s = rem % crate::ast::TICKS_PER_MINUTE / crate::ast::TICKS_PER_SECOND;
    let f = rem % crate::ast::TICKS_PER_SECOND;
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:07}Z")
}

/// `[-][d.]hh:mm:ss[.fffffff]` text for ticks.
pub fn format_timespan_ticks(t: i64) -> String {
    let neg = t < 0;
    let a = t.unsigned_abs() as i128;
    let day = crate::ast::TICKS_PER_DAY as i128;
    let d = a / day;
    let rem = a % day;
    let h = rem / crate::ast::TICKS_PER_HOUR as i128;
    let mi = rem % crate::ast::TICKS_PER_HOUR as i128 / crate::ast::TICKS_PER_MINUTE as i128;
    let s = rem % crate::ast::TICKS_PER_MINUTE as i128 / crate::ast::TICKS_PER_SECOND as i128;
    let f = rem % crate::ast::TICKS_PER_SECOND as i128;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if d > 0 {
        out.push_str(&format!("{d}."));
    }
    out.push_str(&format!("{h:02}:{mi:02}:{s:02}"));
    if f > 0 {
        out.push_str(&format!(".{f:07}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(src: &str) -> Query {
        parse_query(src).unwrap_or_else(|e| panic!("{src}\n{e}"))
    }

    fn e(src: &str) -> Expr {
        parse_expression(src).unwrap_or_else(|e| panic!("{src}\n{e}"))
    }

    #[test]
    fn precedence_or_and_cmp_arith() {
        let x = e("a == 1 or b > 2 and c + 1 * 2 < 3");
        let ExprKind::Binary { op: BinOp::Or, right, .. } = x.kind else { panic!("or at top") };
        let ExprKind::Binary { op: BinOp::And, right: r2, .. } = right.kind else { panic!("and") };
        let ExprKind::Binary { op: BinOp::Lt, left: sum, .. } = r2.kind else { panic!("<") };
        let ExprKind::Binary { op: BinOp::Add, right: prod, .. } = sum.kind else { panic!("+") };
        assert!(matches!(prod.kind, ExprKind::Binary { op: BinOp::Mul, .. }));
    }

    #[test]
    fn string_and_list_operators() {
        for (src, op) in [
            ("a !has 'x'", BinOp::NotHas),
            ("a has_cs 'x'", BinOp::HasCs),
            ("a !contains_cs 'x'", BinOp::NotContainsCs),
            ("a !startswith 'x'", BinOp::NotStartsWith),
            ("a hassuffix_cs 'x'", BinOp::HasSuffixCs),
            ("a matches regex 'x'", BinOp::MatchesRegex),
            ("a !~ 'x'", BinOp::NeCi),
            ("a <> 'x'", BinOp::Ne),
            ("a notcontains 'x'", BinOp::NotContains),
        ] {
            assert!(matches!(e(src).kind, ExprKind::Binary { op: o, .. } if o == op), "{src}");
        }
        for (src, op) in [
            ("a in (1, 2)", ListOp::In),
            ("a !in~ ('x')", ListOp::NotInCi),
            ("a in~ ('x')", ListOp::InCi),
            ("a has_all ('x')", ListOp::HasAll),
        ] {
            assert!(matches!(e(src).kind, ExprKind::InList { op: o, .. } if o == op), "{src}");
        }
        assert!(matches!(e("a !between (1 .. 5)").kind, ExprKind::Between { negated: true, .. }));
    }

    #[test]
    fn literals() {
        let lit = |s: &str| match e(s).kind {
            ExprKind::Literal(l) => l,
            k => panic!("{s}: {k:?}"),
        };
        assert_eq!(lit("datetime(1970-01-02)"), Literal::DateTime(TICKS_PER_DAY));
        assert_eq!(lit("datetime(1970-01-01T01:00:00Z)"), Literal::DateTime(TICKS_PER_HOUR));
        assert_eq!(lit("datetime(1970-01-01 00:00:00.5)"), Literal::DateTime(5_000_000));
        assert_eq!(lit("time(1.02:00:00)"), Literal::Timespan(TICKS_PER_DAY + 2 * TICKS_PER_HOUR));
        assert_eq!(lit("-5m"), Literal::Timespan(-5 * TICKS_PER_MINUTE));
        assert_eq!(lit("int(null)"), Literal::TypedNull(TypeName::Int));
        assert_eq!(lit("long(-3)"), Literal::Long(-3));
        assert_eq!(lit("real(1e3)"), Literal::Real(1000.0));
        assert_eq!(lit("0x10"), Literal::Long(16));
        assert_eq!(lit("'a' \"b\" @'c\\d'"), Literal::String("abc\\d".into()));
        assert_eq!(lit("dynamic(null)"), Literal::Dynamic(Json::Null));
        assert_eq!(lit("dynamic({'a': [1, 'x', true]})"), Literal::Dynamic(serde_json::json!({"a": [1, "x", true]})));
        assert_eq!(
            lit("guid(74BE27DE-1E4E-49D9-B579-FE0B331D3642)"),
            Literal::Guid("74be27de-1e4e-49d9-b579-fe0b331d3642".into())
        );
    }

    #[test]
    fn member_index_and_calls() {
        let x = e("parse_json(a).b['c'][0]");
        let ExprKind::Index { expr, .. } = x.kind else { panic!() };
        let ExprKind::Index { expr, .. } = expr.kind else { panic!() };
        assert!(matches!(expr.kind, ExprKind::Member { .. }));
        assert!(matches!(e("typeof(long)").kind, ExprKind::TypeOf(TypeName::Long)));
        assert!(matches!(e("['My Column']").kind, ExprKind::Name(ref i) if i.name == "My Column"));
    }

    #[test]
    fn lets_and_functions() {
        let query = q(
            "let a = 1d; let T = DeviceEvents; let U = T | take 1; let f = (x:long, t:(*)) { t | take x }; U | invoke f(2)",
        );
        assert!(matches!(query.lets[0].value, LetValue::Scalar(_)));
        assert!(matches!(query.lets[1].value, LetValue::Tabular(_)));
        assert!(matches!(query.lets[2].value, LetValue::Tabular(_)));
        let LetValue::Function(f) = &query.lets[3].value else { panic!() };
        assert_eq!(f.params.len(), 2);
        assert!(matches!(f.params[1].ty, ParamType::Tabular { columns: None, .. }));
        assert!(matches!(f.body, FunctionBody::Tabular(_)));
        assert!(matches!(query.body.ops[0].kind, OpKind::Invoke { .. }));
    }

    #[test]
    fn join_forms() {
        let query =
            q("A | join kind=leftouter hint.strategy=shuffle (B | where x) on $left.a == $right.b, c | join B on d");
        let OpKind::Join(j) = &query.body.ops[0].kind else { panic!() };
        assert_eq!(j.kind, JoinKind::LeftOuter);
        assert_eq!(j.params[0].name, "hint.strategy");
        assert_eq!((j.on[0].left.name.as_str(), j.on[0].right.name.as_str()), ("a", "b"));
        assert_eq!((j.on[1].left.name.as_str(), j.on[1].right.name.as_str()), ("c", "c"));
        let OpKind::Join(j2) = &query.body.ops[1].kind else { panic!() };
        assert_eq!(j2.kind, JoinKind::InnerUnique);
        assert!(!j2.kind_explicit);
    }

    #[test]
    fn operators_parse() {
        let src = "T | project-away a*, b | project-rename c = d | project-reorder e asc | summarize arg_max(t, *) by bin(t, 1h)
            | sort by a asc nulls first, b | top 5 by c | mv-expand with_itemindex=i x to typeof(string) limit 3
            | parse kind=regex flags=i s with 'a' n:long '(.*)' rest | union withsource=S U, (V | take 1)
            | make-series c = count() default = 0 on t in range(ago(1d), now(), 1h) by k
            | extend (a, b) = f(x) | distinct a | count | render timechart with (title='x')";
        let query = q(src);
        let names: Vec<&str> = query.body.ops.iter().map(|o| o.kind.name()).collect();
        assert_eq!(
            names,
            [
                "project-away",
                "project-rename",
                "project-reorder",
                "summarize",
                "sort",
                "top",
                "mv-expand",
                "parse",
                "union",
                "make-series",
                "extend",
                "distinct",
                "count",
                "render"
            ]
        );
        let OpKind::Sort(keys) = &query.body.ops[4].kind else { panic!() };
        assert!(!keys[0].descending && keys[0].nulls_first == Some(true));
        assert!(keys[1].descending && keys[1].nulls_first.is_none());
    }

    #[test]
    fn error_positions_and_messages() {
        let err = parse_query("T\n| where f(a, b\n| take 1").unwrap_err();
        assert_eq!((err.line, err.column), (3, 9));
        assert!(err.message.contains("')' to close '(' opened at 2:10"), "{}", err.message);
        let err = parse_query("T | frobnicate x").unwrap_err();
        assert_eq!(err.column, 5);
        assert!(err.message.contains("unknown query operator 'frobnicate'"));
        let err = parse_query("T | where").unwrap_err();
        assert!(err.message.contains("expected an expression"), "{}", err.message);
        let err = parse_query("T | where x == 'abc").unwrap_err();
        assert_eq!(err.column, 16);
        assert!(parse_query("let x = 1;").is_err());
        assert!(parse_query("T | where \"\\W\" == x").is_err());
    }
}
