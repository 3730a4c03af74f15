//! Text with `{{ variable }}` placeholders: contract clauses and guest
//! messages are written in it.

/// A piece of a text: as written, or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits a text into text and `{{ variable }}` references. A `{{` without
/// its `}}` is an error, so a typo cannot print half a placeholder.
pub fn parse_body(body: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a `{{` is not closed by `}}`".to_string())?;
        let name = after[..end].trim();
        if name.is_empty() || name.contains("{{") {
            return Err("an empty or nested `{{ }}`".to_string());
        }
        out.push(Segment::Variable(name));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    Ok(out)
}

/// Fills the variables of `segments` from `value` (unknown ones are left
/// empty: callers reject unknown variables when the text is saved).
pub fn fill(segments: &[Segment<'_>], value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Variable(v) => out.push_str(&value(v).unwrap_or_default()),
        }
    }
    out
}
