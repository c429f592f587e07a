//! KQL tokenizer.
//!
//! The lexer never fails: malformed input (unterminated strings, stray characters) becomes a
//! [`TokKind::Error`] token so the parser can report it with a precise position. Keywords are not
//! distinguished from identifiers here — KQL keywords are contextual (`project`, `kind`, `by` are
//! valid column names in many places), so the parser decides by looking at identifier text.
//!
//! Multi-character operators are lexed greedily (`==`, `!=`, `<>`, `<=`, `>=`, `=~`, `!~`, `=>`,
//! `..`). Word operators with a leading `!` (`!has`, `!in~`) are assembled by the parser from
//! adjacent tokens, using spans to check adjacency.

use crate::ast::{
    Span, TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MICROSECOND, TICKS_PER_MILLISECOND, TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
};

#[derive(Debug, Clone, PartialEq)]
pub enum TokKind {
    /// Identifier or keyword (letters, digits, `_`; may start with `$` for `$left`/`$right`).
    Ident,
    /// Integer literal (decimal or `0x` hex).
    Long(i64),
    Real(f64),
    /// Timespan literal such as `1d`, `30min`, `1.5h`, in 100 ns ticks.
    Timespan(i64),
    /// Decoded string literal (escapes processed, verbatim / obfuscated prefixes removed).
    Str(String),
    Pipe,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Dot,
    DotDot,
    Colon,
    Assign,
    EqEq,
    NotEq,
    /// `<>`
    LtGt,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`
    EqTilde,
    /// `!~`
    BangTilde,
    Bang,
    Tilde,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    /// `=>`
    Arrow,
    /// `@` not followed by a string (rare `AtExpression`).
    At,
    /// `?`
    Question,
    /// Malformed input; the message says why.
    Error(String),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokKind,
    pub span: Span,
}

/// Tokenize the whole input. Always ends with exactly one `Eof` token.
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut lx = Lexer { src, bytes: src.as_bytes(), pos: 0, out: Vec::new() };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Token>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Lexer<'a> {
    fn peek(&self, off: usize) -> u8 {
        *self.bytes.get(self.pos + off).unwrap_or(&0)
    }

    fn push(&mut self, kind: TokKind, start: usize) {
        self.out.push(Token { kind, span: Span::new(start, self.pos) });
    }

    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let start = self.pos;
            if self.pos >= self.bytes.len() {
                self.push(TokKind::Eof, start);
                return;
            }
            self.lex_one(start);
        }
    }

    /// Skip whitespace and `//` comments.
    fn skip_trivia(&mut self) {
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'/' && self.peek(1) == b'/' {
                while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else if c >= 0x80
                && self.src[self.pos..].chars().next().is_some_and(|ch| {
                    ch.is_whitespace() || matches!(ch, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
                })
            {
                // Unicode whitespace (NBSP etc.) pasted from web pages.
                self.pos += self.src[self.pos..].chars().next().map_or(1, char::len_utf8);
            } else {
                break;
            }
        }
    }

    fn lex_one(&mut self, start: usize) {
        let c = self.bytes[self.pos];
        // Prefixed strings: @"..", h"..", H'..', h@"..".
        if (c == b'h' || c == b'H') && matches!(self.peek(1), b'"' | b'\'') {
            self.pos += 1;
            self.lex_quoted(start, false);
            return;
        }
        if (c == b'h' || c == b'H') && self.peek(1) == b'@' && matches!(self.peek(2), b'"' | b'\'') {
            self.pos += 2;
            self.lex_quoted(start, true);
            return;
        }
        if c == b'@' && matches!(self.peek(1), b'"' | b'\'') {
            self.pos += 1;
            self.lex_quoted(start, true);
            return;
        }
        if c == b'`' && self.peek(1) == b'`' && self.peek(2) == b'`' {
            self.lex_multiline(start);
            return;
        }
        if c == b'"' || c == b'\'' {
            self.lex_quoted(start, false);
            return;
        }
        if c.is_ascii_digit() && self.digit_identifier_len() > 0 {
            self.pos += self.digit_identifier_len();
            self.push(TokKind::Ident, start);
            return;
        }
        if c.is_ascii_digit() || (c == b'.' && self.peek(1).is_ascii_digit() && !self.prev_is_value()) {
            self.lex_number(start);
            return;
        }
        if is_ident_start(c) {
            self.pos += 1;
            while self.pos < self.bytes.len() && is_ident_char(self.bytes[self.pos]) {
                self.pos += 1;
            }
            self.push(TokKind::Ident, start);
            return;
        }
        if c >= 0x80 {
            self.lex_non_ascii(start);
            return;
        }
        self.lex_punct(start, c);
    }

    /// Length of an identifier that starts with digits (`5Minutebin`), or 0 when the text is a
    /// number, timespan (`5m`), exponent (`1e5`) or hex literal.
    fn digit_identifier_len(&self) -> usize {
        let rest = &self.bytes[self.pos..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let word = rest[digits..].iter().take_while(|b| is_ident_char(**b)).count();
        if word == 0 || !rest[digits].is_ascii_alphabetic() {
            return 0;
        }
        let w = &self.src[self.pos + digits..self.pos + digits + word];
        let exp = (w.starts_with('e') || w.starts_with('E')) && w[1..].bytes().all(|b| b.is_ascii_digit());
        let hex = digits == 1 && rest[0] == b'0' && (w.starts_with('x') || w.starts_with('X'));
        if timespan_unit_ticks(w).is_some() || exp || hex || w == "e" || w == "E" {
            return 0;
        }
        digits + word
    }

    /// True when the previous token ends a value (so `.5` after it is member access, not a number).
    fn prev_is_value(&self) -> bool {
        self.out.last().is_some_and(|t| {
            matches!(t.kind, TokKind::Ident | TokKind::RParen | TokKind::RBracket) && t.span.end == self.pos
        })
    }

    /// Non-ASCII: letters are allowed in identifiers (KQL accepts Unicode letters); anything
    /// else is an error token.
    fn lex_non_ascii(&mut self, start: usize) {
        let ch = self.src[self.pos..].chars().next().unwrap_or('\u{FFFD}');
        if ch.is_alphabetic() {
            while self.pos < self.bytes.len() {
                let Some(ch) = self.src[self.pos..].chars().next() else {
                    break;
                };
                if ch.is_alphanumeric() || ch == '_' {
                    self.pos += ch.len_utf8();
                } else {
                    break;
                }
            }
            self.push(TokKind::Ident, start);
        } else {
            self.pos += ch.len_utf8();
            self.push(TokKind::Error(format!("unexpected character '{ch}'")), start);
        }
    }

    fn lex_punct(&mut self, start: usize, c: u8) {
        let n = self.peek(1);
        let (kind, len) = match (c, n) {
            (b'=', b'=') => (TokKind::EqEq, 2),
            (b'=', b'~') => (TokKind::EqTilde, 2),
            (b'=', b'>') => (TokKind::Arrow, 2),
            (b'=', _) => (TokKind::Assign, 1),
            (b'!', b'=') => (TokKind::NotEq, 2),
            (b'!', b'~') => (TokKind::BangTilde, 2),
            (b'!', _) => (TokKind::Bang, 1),
            (b'<', b'>') => (TokKind::LtGt, 2),
            (b'<', b'=') => (TokKind::Le, 2),
            (b'<', _) => (TokKind::Lt, 1),
            (b'>', b'=') => (TokKind::Ge, 2),
            (b'>', _) => (TokKind::Gt, 1),
            (b'.', b'.') => (TokKind::DotDot, 2),
            (b'.', _) => (TokKind::Dot, 1),
            (b'|', _) => (TokKind::Pipe, 1),
            (b'(', _) => (TokKind::LParen, 1),
            (b')', _) => (TokKind::RParen, 1),
            (b'[', _) => (TokKind::LBracket, 1),
            (b']', _) => (TokKind::RBracket, 1),
            (b'{', _) => (TokKind::LBrace, 1),
            (b'}', _) => (TokKind::RBrace, 1),
            (b',', _) => (TokKind::Comma, 1),
            (b';', _) => (TokKind::Semi, 1),
            (b':', _) => (TokKind::Colon, 1),
            (b'~', _) => (TokKind::Tilde, 1),
            (b'+', _) => (TokKind::Plus, 1),
            (b'-', _) => (TokKind::Minus, 1),
            (b'*', _) => (TokKind::Star, 1),
            (b'/', _) => (TokKind::Slash, 1),
            (b'%', _) => (TokKind::Percent, 1),
            (b'@', _) => (TokKind::At, 1),
            (b'?', _) => (TokKind::Question, 1),
            _ => {
                self.pos += 1;
                let shown = if c.is_ascii_graphic() { (c as char).to_string() } else { format!("\\x{c:02x}") };
                self.push(TokKind::Error(format!("unexpected character '{shown}'")), start);
                return;
            }
        };
        self.pos += len;
        self.push(kind, start);
    }

    /// Quoted string starting at `self.pos` (the quote). Verbatim strings double the quote to
    /// escape it and ignore backslashes; regular strings process `\` escapes.
    fn lex_quoted(&mut self, start: usize, verbatim: bool) {
        let quote = self.bytes[self.pos];
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(ch) = self.src[self.pos..].chars().next() else {
                self.push(TokKind::Error("unterminated string literal".into()), start);
                return;
            };
            let b = ch as u32;
            if b == quote as u32 {
                if verbatim && self.peek(1) == quote {
                    out.push(ch);
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                break;
            }
            if ch == '\n' && !verbatim {
                self.push(TokKind::Error("unterminated string literal (newline inside quotes)".into()), start);
                return;
            }
            if ch == '\\' && !verbatim {
                self.pos += 1;
                let Some(e) = self.src[self.pos..].chars().next() else {
                    self.push(TokKind::Error("unterminated string literal".into()), start);
                    return;
                };
                self.pos += e.len_utf8();
                match self.escape(e) {
                    Ok(s) => out.push_str(&s),
                    Err(m) => {
                        self.push(TokKind::Error(m), start);
                        return;
                    }
                }
                continue;
            }
            out.push(ch);
            self.pos += ch.len_utf8();
        }
        self.push(TokKind::Str(out), start);
    }

    /// Decode one escape (the char after `\`); `\uXXXX` reads more input.
    fn escape(&mut self, e: char) -> Result<String, String> {
        Ok(match e {
            'n' => "\n".into(),
            't' => "\t".into(),
            'r' => "\r".into(),
            '0' => "\0".into(),
            'a' => "\u{7}".into(),
            'b' => "\u{8}".into(),
            'f' => "\u{c}".into(),
            'v' => "\u{b}".into(),
            '\\' | '\'' | '"' | '/' | '?' => e.to_string(),
            'u' | 'x' => {
                let want = if e == 'u' { 4 } else { 2 };
                let hex: String = self.src[self.pos..].chars().take(want).collect();
                if hex.len() != want || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!("invalid \\{e} escape in string literal"));
                }
                self.pos += want;
                let v = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                char::from_u32(v).unwrap_or('\u{FFFD}').to_string()
            }
            // Kusto rejects unknown escapes such as "\W" (use a verbatim @"..." string instead).
            other => {
                return Err(format!(
                    "invalid escape sequence '\\{other}' in string literal (use a verbatim @\"...\" string for backslashes)"
                ));
            }
        })
    }

    /// ```` ```multi-line``` ```` string, verbatim.
    fn lex_multiline(&mut self, start: usize) {
        self.pos += 3;
        match self.src[self.pos..].find("```") {
            Some(i) => {
                let s = self.src[self.pos..self.pos + i].to_string();
                self.pos += i + 3;
                self.push(TokKind::Str(s), start);
            }
            None => {
                self.pos = self.bytes.len();
                self.push(TokKind::Error("unterminated ``` string literal".into()), start);
            }
        }
    }

    fn lex_number(&mut self, start: usize) {
        if self.bytes[self.pos] == b'0' && matches!(self.peek(1), b'x' | b'X') && self.peek(2).is_ascii_hexdigit() {
            self.pos += 2;
            let ds = self.pos;
            while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_hexdigit() {
                self.pos += 1;
            }
            let kind = match u64::from_str_radix(&self.src[ds..self.pos], 16) {
                Ok(v) => TokKind::Long(v as i64),
                Err(_) => TokKind::Error("hex literal out of range".into()),
            };
            self.push(kind, start);
            return;
        }
        let mut is_real = false;
        self.eat_digits();
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            is_real = true;
            self.pos += 1;
            self.eat_digits();
        } else if self.peek(0) == b'.' && self.peek(1) != b'.' && !is_ident_start(self.peek(1)) {
            // `1.` is a real literal.
            is_real = true;
            self.pos += 1;
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                is_real = true;
                self.pos += 1 + sign;
                self.eat_digits();
            }
        }
        let text = &self.src[start..self.pos];
        if let Some(ticks_per_unit) = self.timespan_unit() {
            let value: f64 = text.parse().unwrap_or(0.0);
            let ticks = (value * ticks_per_unit as f64).round();
            let kind = if ticks.is_finite() && ticks.abs() < 9.2e18 {
                TokKind::Timespan(ticks as i64)
            } else {
                TokKind::Error("timespan literal out of range".into())
            };
            self.push(kind, start);
            return;
        }
        let kind = if is_real {
            text.parse::<f64>().map(TokKind::Real).unwrap_or_else(|_| TokKind::Error("invalid real literal".into()))
        } else {
            match text.parse::<i64>() {
                Ok(v) => TokKind::Long(v),
                // Too large for long: KQL reads it as real.
                Err(_) => {
                    text.parse::<f64>().map(TokKind::Real).unwrap_or_else(|_| TokKind::Error("invalid number".into()))
                }
            }
        };
        self.push(kind, start);
    }

    fn eat_digits(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
    }

    /// If a timespan unit suffix follows immediately, consume it and return ticks per unit.
    fn timespan_unit(&mut self) -> Option<i64> {
        let mut end = self.pos;
        while end < self.bytes.len() && is_ident_char(self.bytes[end]) {
            end += 1;
        }
        if end == self.pos {
            return None;
        }
        let unit = timespan_unit_ticks(&self.src[self.pos..end])?;
        self.pos = end;
        Some(unit)
    }
}

/// Ticks per unit for KQL timespan suffixes (`d`, `h`, `m`, `s`, `ms`, `microsecond`, `tick`, ...).
pub fn timespan_unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisec" | "millisecond" | "milliseconds" => TICKS_PER_MILLISECOND,
        "microsec" | "microsecond" | "microseconds" => TICKS_PER_MICROSECOND,
        "nanosec" | "nanosecond" | "nanoseconds" => 0,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokKind> {
        tokenize(s).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_and_prefixes() {
        assert_eq!(kinds(r#"@"a\b""c""#)[0], TokKind::Str(r#"a\b"c"#.into()));
        assert_eq!(kinds(r#"h'sec'"#)[0], TokKind::Str("sec".into()));
        assert_eq!(kinds(r#""a\"b\n""#)[0], TokKind::Str("a\"b\n".into()));
        assert_eq!(kinds("```x\ny```")[0], TokKind::Str("x\ny".into()));
        assert!(matches!(kinds("'abc")[0], TokKind::Error(_)));
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(kinds("1d")[0], TokKind::Timespan(TICKS_PER_DAY));
        assert_eq!(kinds("1.5h")[0], TokKind::Timespan(TICKS_PER_HOUR * 3 / 2));
        assert_eq!(kinds("100ms")[0], TokKind::Timespan(100 * TICKS_PER_MILLISECOND));
        assert_eq!(kinds("5min")[0], TokKind::Timespan(5 * TICKS_PER_MINUTE));
        assert_eq!(kinds("1tick")[0], TokKind::Timespan(1));
        assert_eq!(kinds("1e5")[0], TokKind::Real(1e5));
        assert_eq!(kinds("0x1F")[0], TokKind::Long(31));
        assert_eq!(kinds("1 .. 5"), vec![TokKind::Long(1), TokKind::DotDot, TokKind::Long(5), TokKind::Eof]);
        assert_eq!(kinds("1..5"), vec![TokKind::Long(1), TokKind::DotDot, TokKind::Long(5), TokKind::Eof]);
    }

    #[test]
    fn operators_and_comments() {
        assert_eq!(
            kinds("a =~ b // c\n!~ <> =>"),
            vec![
                TokKind::Ident,
                TokKind::EqTilde,
                TokKind::Ident,
                TokKind::BangTilde,
                TokKind::LtGt,
                TokKind::Arrow,
                TokKind::Eof
            ]
        );
    }
}
