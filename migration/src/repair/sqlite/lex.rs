//! SQLite schema text as tokens with byte offsets: `sqlparser`'s tokenizer (SQLite dialect),
//! whose line/column locations are turned into byte ranges of the original text, so a caller can
//! splice that text at exact token boundaries. Whitespace and comments are dropped from the token
//! list but stay in the text, between the ranges.

use std::ops::Range;

use sqlparser::dialect::SQLiteDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// One significant token and where it sits in the text.
#[derive(Debug, Clone)]
pub(super) struct Lexeme {
    /// The token as sqlparser reads it (quoted identifiers unquoted, with their quote style).
    pub(super) token: Token,
    /// Where the token's text is, in bytes of the tokenized text.
    pub(super) bytes: Range<usize>,
}

impl Lexeme {
    /// Whether this is the unquoted keyword `word` (any case).
    pub(super) fn is_keyword(&self, word: &str) -> bool {
        matches!(&self.token, Token::Word(w) if w.quote_style.is_none()
            && w.value.eq_ignore_ascii_case(word))
    }

    /// The name this token spells where SQLite expects a name: an identifier, quoted or not, or
    /// a string literal (which SQLite accepts as a name for compatibility).
    pub(super) fn name(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) => Some(&w.value),
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Some(s),
            _ => None,
        }
    }
}

/// The significant tokens of `sql`, or the tokenizer's complaint.
pub(super) fn lex(sql: &str) -> Result<Vec<Lexeme>, String> {
    let tokens = Tokenizer::new(&SQLiteDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    let offsets = Offsets::of(sql);
    let mut lexemes = Vec::with_capacity(tokens.len());
    for token in tokens {
        if matches!(token.token, Token::Whitespace(_)) {
            continue;
        }
        let start = offsets.byte(token.span.start);
        let end = offsets.byte(token.span.end);
        match (start, end) {
            (Some(start), Some(end)) if start <= end => lexemes.push(Lexeme {
                token: token.token,
                bytes: start..end,
            }),
            _ => {
                return Err(format!(
                    "token `{}` at {} has no place in the text",
                    token.token, token.span.start
                ));
            }
        }
    }
    Ok(lexemes)
}

/// Maps the tokenizer's 1-based (line, character column) locations to byte offsets.
struct Offsets {
    /// Byte offset of every character, then the text's length (the end of the last token).
    chars: Vec<usize>,
    /// Index into `chars` of each line's first character.
    lines: Vec<usize>,
}

impl Offsets {
    fn of(sql: &str) -> Offsets {
        let mut chars = Vec::with_capacity(sql.len() + 1);
        let mut lines = vec![0];
        for (i, (byte, c)) in sql.char_indices().enumerate() {
            chars.push(byte);
            if c == '\n' {
                lines.push(i + 1);
            }
        }
        chars.push(sql.len());
        Offsets { chars, lines }
    }

    fn byte(&self, at: Location) -> Option<usize> {
        let line = usize::try_from(at.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
        self.chars.get(self.lines.get(line)? + column).copied()
    }
}

/// Index of the token closing the parenthesis opened at `open`.
pub(super) fn closing(tokens: &[Lexeme], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, lexeme) in tokens.iter().enumerate().skip(open) {
        match lexeme.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
