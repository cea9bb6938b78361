//! Free-text answers: control characters removed, whitespace folded, length bounded.

use crate::issue::IssueCode;

/// The default limit for a single-line text answer, in characters.
pub const DEFAULT_MAX_CHARS: usize = 200;

/// Cleans a single-line answer: control characters dropped (line breaks and tabs become spaces),
/// runs of whitespace folded to one space, ends trimmed. Fails as soon as more than `max_chars`
/// characters would remain, so the work and the allocation stay bounded on hostile input.
pub fn clean_line(raw: &str, max_chars: usize) -> Result<String, IssueCode> {
    let mut out = String::with_capacity(raw.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space && kept > 0 {
            out.push(' ');
            kept += 1;
        }
        pending_space = false;
        out.push(c);
        kept += 1;
        if kept > max_chars {
            return Err(IssueCode::TooLong);
        }
    }
    Ok(out)
}

/// The default limit for a multi-line answer, in characters.
pub const DEFAULT_MAX_BLOCK_CHARS: usize = 2000;

/// Cleans a multi-line answer: like [`clean_line`] within each line, line breaks kept (at most one
/// blank line in a row), ends trimmed.
pub fn clean_block(raw: &str, max_chars: usize) -> Result<String, IssueCode> {
    let mut out = String::with_capacity(raw.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut blank_run = 0usize;
    for line in raw.split('\n') {
        let cleaned = clean_line(line, max_chars)?;
        if cleaned.is_empty() {
            blank_run += 1;
            continue;
        }
        if kept > 0 {
            let breaks = if blank_run > 0 { "\n\n" } else { "\n" };
            out.push_str(breaks);
            kept += breaks.len();
        }
        blank_run = 0;
        kept += cleaned.chars().count();
        if kept > max_chars {
            return Err(IssueCode::TooLong);
        }
        out.push_str(&cleaned);
    }
    Ok(out)
}
