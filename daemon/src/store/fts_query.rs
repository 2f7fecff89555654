//! What a person types into the search box, turned into an FTS5 expression that cannot fail.
//!
//! SQLite's FTS5 has a query language of its own (`AND`, `OR`, `NOT`, `NEAR(...)`, `col:`,
//! `^`, `+`, parentheses, bare words limited to letters, digits and `_`), and most everyday
//! inputs are syntax errors in it: `#fox`, `owner@localhost`, `example.org`, a URL, a lone `"`,
//! `(`, `-` or `*`. So nothing the person typed reaches FTS5 as syntax: every word becomes an
//! FTS5 *string* (`"..."`, a `"` inside doubled), which the tokenizer splits as it split the
//! posts when it indexed them (`example.org` → the phrase `example org`, `#fox` → `fox`). The
//! few pieces of syntax people use on purpose are kept:
//!
//! - `"a phrase"`: the words next to each other, in order (an unclosed `"` runs to the end);
//! - `word*`, `"a phr"*`: the last word is a prefix;
//! - `OR` between two terms: either side; plain juxtaposition (or `AND`) means both;
//! - `-word` and `NOT word`: no post with that term (one exclusion for the whole query, as a
//!   search box does, not FTS5's binary `NOT` with its own precedence).
//!
//! `OR`, `AND` and `NOT` are operators only in capitals and only between two terms; anywhere
//! else they are words. Control characters (NUL among them, which would end an FTS5 string
//! early) separate words like spaces. A term made only of ASCII punctuation has nothing the
//! tokenizer indexes and is left out; a query left with no term to look for, or with only
//! exclusions (FTS5 cannot list "everything but"), translates to `None`: an empty result.
//!
//! The output is `(t t ...) OR (t ...)`, wrapped as `(...) NOT (t OR t ...)` when something is
//! excluded, each `t` a string with an optional `*`: at most a small multiple of the input's
//! length, which the caller bounds ([`super::timeline::MAX_QUERY_BYTES`]).

/// One term: a word or a phrase, as FTS5 will see it once quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// What is between the quotes, before escaping.
    text: String,
    /// Typed inside `"..."` (never an operator).
    quoted: bool,
    /// Ended by `*`: the last token is a prefix.
    prefix: bool,
    /// Led by `-`: excluded.
    negated: bool,
}

impl Term {
    /// Something the tokenizer might index: any character but ASCII punctuation. Non-ASCII
    /// characters are kept whatever their class: FTS5's tokenizer indexes some symbols (emoji)
    /// and an empty string does no harm in an expression, so FTS5 decides.
    fn searchable(&self) -> bool {
        self.text
            .chars()
            .any(|c| !c.is_ascii() || c.is_ascii_alphanumeric())
    }

    /// The operator this bare word would be, if it stood between two terms.
    fn operator(&self) -> Option<Operator> {
        if self.quoted || self.prefix || self.negated {
            return None;
        }
        match self.text.as_str() {
            "OR" => Some(Operator::Or),
            "AND" => Some(Operator::And),
            "NOT" => Some(Operator::Not),
            _ => None,
        }
    }

    /// The FTS5 string, with `*` for a prefix.
    fn render(&self, out: &mut String) {
        out.push('"');
        out.push_str(&self.text.replace('"', "\"\""));
        out.push('"');
        if self.prefix {
            out.push('*');
        }
    }
}

/// An operator kept from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Or,
    And,
    Not,
}

/// Splits the input into terms: phrases in `"..."` and words between spaces and control
/// characters. A word may hold `"` (it is escaped); only a `"` that starts a term opens a phrase.
fn lex(input: &str) -> Vec<Term> {
    let separator = |c: char| c.is_whitespace() || c.is_control();
    let mut terms = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start_matches(separator);
        if rest.is_empty() {
            return terms;
        }
        let (negated, body) = match rest.strip_prefix('-') {
            Some(after) if after.starts_with(|c: char| !separator(c)) => (true, after),
            _ => (false, rest),
        };
        if let Some(inner) = body.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            let text = inner[..end].replace(separator, " ");
            let after = inner.get(end + 1..).unwrap_or("");
            let prefix = after.starts_with('*');
            rest = after.trim_start_matches('*');
            terms.push(Term {
                text,
                quoted: true,
                prefix,
                negated,
            });
        } else {
            let end = body.find(separator).unwrap_or(body.len());
            let word = &body[..end];
            rest = &body[end..];
            let stem = word.trim_end_matches('*');
            terms.push(Term {
                text: stem.to_string(),
                quoted: false,
                prefix: stem.len() < word.len(),
                negated,
            });
        }
    }
}

/// The FTS5 expression for `input`, or `None` when it has nothing to look for.
pub fn translate(input: &str) -> Option<String> {
    let terms = lex(input);
    // Each group's terms must all match; any group may; no exclusion may.
    let mut groups: Vec<Vec<Term>> = vec![Vec::new()];
    let mut excluded: Vec<Term> = Vec::new();
    let mut negate_next = false;
    let mut previous_was_term = false;
    for (i, term) in terms.iter().enumerate() {
        let next_is_term = terms.get(i + 1).is_some_and(|t| t.operator().is_none());
        match term.operator() {
            Some(op) if previous_was_term && next_is_term => {
                match op {
                    Operator::Or => groups.push(Vec::new()),
                    Operator::And => {}
                    Operator::Not => negate_next = true,
                }
                previous_was_term = false;
                continue;
            }
            _ => {}
        }
        previous_was_term = true;
        if !term.searchable() {
            negate_next = false;
            continue;
        }
        if term.negated || std::mem::take(&mut negate_next) {
            excluded.push(term.clone());
        } else if let Some(group) = groups.last_mut() {
            group.push(term.clone());
        }
    }
    groups.retain(|g| !g.is_empty());
    if groups.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(input.len() * 2 + 16);
    if !excluded.is_empty() {
        out.push('(');
    }
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push_str(" OR ");
        }
        out.push('(');
        join(&mut out, group, " ");
        out.push(')');
    }
    if !excluded.is_empty() {
        out.push_str(") NOT (");
        join(&mut out, &excluded, " OR ");
        out.push(')');
    }
    Some(out)
}

/// The terms as FTS5 strings, `sep` between them.
fn join(out: &mut String, terms: &[Term], sep: &str) {
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        term.render(out);
    }
}

#[cfg(test)]
#[path = "fts_query_tests.rs"]
mod tests;
