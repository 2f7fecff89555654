//! The subset of RFC 8941 structured fields that signatures use: dictionaries whose members
//! are items or inner lists, with parameters; bare items integer, string, token, byte
//! sequence, boolean (decimals are refused). Parsing is bounded; serialising is canonical.

use base64ct::{Base64, Base64Unpadded, Encoding};

use crate::activitypub::SigError;

/// Most parameters on one item or inner list.
pub const MAX_PARAMS: usize = 8;
/// Most digits in an integer (RFC 8941's limit).
const MAX_INT_DIGITS: usize = 15;

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bare {
    /// An integer.
    Int(i64),
    /// A string (printable ASCII).
    Str(String),
    /// A token.
    Token(String),
    /// A byte sequence.
    Bytes(Vec<u8>),
    /// A boolean.
    Bool(bool),
}

/// Parameters, in order.
pub type Params = Vec<(String, Bare)>;

/// A dictionary member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// An item and its parameters.
    Item(Bare, Params),
    /// An inner list of items and the list's parameters.
    Inner(Vec<(Bare, Params)>, Params),
}

const BAD: SigError = SigError::Malformed("structured field");

/// Parses a dictionary of at most `max_members` members, inner lists of at most `max_items`.
/// Duplicate keys are refused (a signature label must mean one thing).
pub fn parse_dictionary(
    s: &str,
    max_members: usize,
    max_items: usize,
) -> Result<Vec<(String, Member)>, SigError> {
    let mut p = Parser {
        b: s.as_bytes(),
        i: 0,
    };
    let mut out: Vec<(String, Member)> = Vec::new();
    p.skip(b" \t");
    while p.i < p.b.len() {
        if out.len() >= max_members {
            return Err(SigError::TooLarge("structured field members"));
        }
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                p.inner_list(max_items)?
            } else {
                let bare = p.bare()?;
                Member::Item(bare, p.params()?)
            }
        } else {
            Member::Item(Bare::Bool(true), p.params()?)
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(BAD);
        }
        out.push((key, member));
        p.skip(b" \t");
        if p.i == p.b.len() {
            break;
        }
        if !p.eat(b',') {
            return Err(BAD);
        }
        p.skip(b" \t");
        if p.i == p.b.len() {
            return Err(BAD); // trailing comma
        }
    }
    Ok(out)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|c| set.contains(&c)) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // only ASCII bytes pass the predicates used here
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or_default()
    }

    fn key(&mut self) -> Result<String, SigError> {
        if !self
            .peek()
            .is_some_and(|c| c.is_ascii_lowercase() || c == b'*')
        {
            return Err(BAD);
        }
        Ok(self
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
            .to_string())
    }

    fn inner_list(&mut self, max_items: usize) -> Result<Member, SigError> {
        self.i += 1; // '('
        let mut items = Vec::new();
        loop {
            self.skip(b" ");
            if self.eat(b')') {
                return Ok(Member::Inner(items, self.params()?));
            }
            if items.len() >= max_items {
                return Err(SigError::TooLarge("covered components"));
            }
            let bare = self.bare()?;
            items.push((bare, self.params()?));
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(BAD);
            }
        }
    }

    fn params(&mut self) -> Result<Params, SigError> {
        let mut out: Params = Vec::new();
        while self.eat(b';') {
            if out.len() >= MAX_PARAMS {
                return Err(SigError::TooLarge("parameters"));
            }
            self.skip(b" ");
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Bool(true)
            };
            if out.iter().any(|(k, _)| *k == key) {
                return Err(BAD);
            }
            out.push((key, value));
        }
        Ok(out)
    }

    fn bare(&mut self) -> Result<Bare, SigError> {
        match self.peek().ok_or(BAD)? {
            b'-' | b'0'..=b'9' => self.integer(),
            b'"' => self.string(),
            b':' => {
                self.i += 1;
                let b64 = self.take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c));
                // RFC 8941 §4.2.7: a parser should not fail when the `=` padding is missing
                let bytes = Base64::decode_vec(b64)
                    .or_else(|_| Base64Unpadded::decode_vec(b64))
                    .map_err(|_| BAD)?;
                self.eat(b':').then_some(Bare::Bytes(bytes)).ok_or(BAD)
            }
            b'?' => {
                self.i += 1;
                let v = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err(BAD),
                };
                self.i += 1;
                Ok(Bare::Bool(v))
            }
            c if c.is_ascii_alphabetic() || c == b'*' => {
                let t = self
                    .take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
                Ok(Bare::Token(t.to_string()))
            }
            _ => Err(BAD),
        }
    }

    fn integer(&mut self) -> Result<Bare, SigError> {
        let neg = self.eat(b'-');
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() || digits.len() > MAX_INT_DIGITS || self.peek() == Some(b'.') {
            return Err(BAD);
        }
        let v: i64 = digits.parse().map_err(|_| BAD)?;
        Ok(Bare::Int(if neg { -v } else { v }))
    }

    fn string(&mut self) -> Result<Bare, SigError> {
        self.i += 1; // '"'
        let mut out = String::new();
        loop {
            match self.peek().ok_or(BAD)? {
                b'"' => {
                    self.i += 1;
                    return Ok(Bare::Str(out));
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                        _ => return Err(BAD),
                    }
                }
                c @ 0x20..=0x7e => out.push(char::from(c)),
                _ => return Err(BAD),
            }
            self.i += 1;
        }
    }
}

/// Canonical serialisation of a bare item.
pub fn serialize_bare(b: &Bare, out: &mut String) {
    match b {
        Bare::Int(i) => out.push_str(&i.to_string()),
        Bare::Str(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(b) => {
            out.push(':');
            out.push_str(&Base64::encode_string(b));
            out.push(':');
        }
        Bare::Bool(v) => out.push_str(if *v { "?1" } else { "?0" }),
    }
}

/// Canonical serialisation of parameters.
pub fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Bool(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

/// Canonical serialisation of an inner list and its parameters.
pub fn serialize_inner(items: &[(Bare, Params)], params: &Params) -> String {
    let mut out = String::from("(");
    for (i, (b, p)) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        serialize_bare(b, &mut out);
        serialize_params(p, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}
