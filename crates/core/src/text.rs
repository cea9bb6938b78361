//! Free-text answers: control and invisible format characters removed, whitespace folded, length
//! bounded.

use crate::issue::IssueCode;

/// The default limit for a single-line text answer, in characters.
pub const DEFAULT_MAX_CHARS: usize = 200;

/// Whether `c` is an invisible format character (Unicode general category Cf): bidirectional
/// embeddings, overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
/// U+061C), zero-width spaces and joiners (U+200B–U+200D, U+2060–U+2064, U+FEFF), the soft hyphen
/// (U+00AD), and the rarer ones (Arabic number signs, interlinear annotation, shorthand format,
/// musical format controls, tag characters). Visitor text is shown to people who act on it (in
/// Slack, emails, the dashboard, the CSV): an override can make `gpj.exe` read `exe.jpg`, a zero-width
/// space can make two different companies look equal. None of them is needed to write a name or a
/// message, so they are removed. A zero-width joiner inside an emoji sequence (👩‍💻) goes too:
/// the emoji then shows as its parts (👩💻), which loses nothing a sales team needs. Tag characters
/// (U+E0020–U+E007F) go with them, so a subdivision flag shows as a black flag. The list is that of
/// Unicode 15.1, written out so that the browser module carries no Unicode tables.
pub fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Cleans a single-line answer: control characters and invisible format characters
/// ([`is_format`]) dropped (line breaks and tabs become spaces), runs of whitespace folded to one
/// space, ends trimmed. Fails as soon as more than `max_chars` characters would remain, so the
/// work and the allocation stay bounded on hostile input.
pub fn clean_line(raw: &str, max_chars: usize) -> Result<String, IssueCode> {
    let mut out = String::with_capacity(raw.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c.is_control() || is_format(c) {
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

/// How many characters `text` has, as `text.chars().count()` answers: the bytes that do not
/// continue a UTF-8 sequence. The standard library counts a word at a time, which is faster on
/// long text and 800 bytes of the browser module; answers are short.
pub fn char_count(text: &str) -> usize {
    text.bytes().filter(|b| !(0x80..0xC0).contains(b)).count()
}

/// `text` around the first `delimiter` (an ASCII byte), as `text.split_once(char)` answers. Like
/// [`find`], it compares bytes instead of running the standard library's character searcher.
pub fn split_first(text: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == delimiter)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// `text` around the last `delimiter` (an ASCII byte), as `text.rsplit_once(char)` answers.
pub fn split_last(text: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = text.bytes().rposition(|b| b == delimiter)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between each `delimiter` (an ASCII byte), as `text.split(char)` yields
/// them, empty ones included, through [`split_first`].
pub fn split_all(text: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let piece = rest?;
        rest = None;
        Some(match split_first(piece, delimiter) {
            Some((before, after)) => {
                rest = Some(after);
                before
            }
            None => piece,
        })
    })
}

/// Where `needle` first occurs in `haystack`, as `str::find` with a text pattern answers: the
/// same result for any two strings, since a UTF-8 needle matches UTF-8 text only at character
/// boundaries. It compares bytes instead of running the standard library's two-way searcher,
/// whose code and panic messages (with their Unicode tables) the browser module would carry; the
/// work is at most the product of the two lengths, and answers are bounded before conditions run
/// in the Worker.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The default limit for a multi-line answer, in characters.
pub const DEFAULT_MAX_BLOCK_CHARS: usize = 2000;

/// Cleans a multi-line answer: like [`clean_line`] within each line, line breaks kept (at most one
/// blank line in a row), ends trimmed.
pub fn clean_block(raw: &str, max_chars: usize) -> Result<String, IssueCode> {
    let mut out = String::with_capacity(raw.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut blank_run = 0usize;
    for line in split_all(raw, b'\n') {
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
        kept += char_count(&cleaned);
        if kept > max_chars {
            return Err(IssueCode::TooLong);
        }
        out.push_str(&cleaned);
    }
    Ok(out)
}

/// The plain letters of a lowercase Latin letter with a diacritic (`é` → `e`, `ß` → `ss`), for
/// matching names and titles typed with or without accents; `None` for any other character. With
/// `expand_umlauts`, `ä`, `ö` and `ü` become the German spellings `ae`, `oe` and `ue`. Shared by
/// countries, company names and job titles so that all three fold alike.
pub fn fold_latin(c: char, expand_umlauts: bool) -> Option<&'static str> {
    Some(match c {
        'ä' if expand_umlauts => "ae",
        'ö' if expand_umlauts => "oe",
        'ü' if expand_umlauts => "ue",
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{char_count, clean_block, split_all, split_first, split_last};

    /// A textarea gets the same treatment as a line: each line loses its bidirectional and
    /// zero-width characters, line breaks stay.
    #[test]
    fn blocks_lose_format_characters() {
        for (raw, want) in [
            ("Hi\u{202e}there\nline\u{200b}two", "Hithere\nlinetwo"),
            ("\u{2066}a\u{2069}\n\n\u{feff}\n\u{200d}b", "a\n\nb"),
            ("\u{200b}\n\u{200c}", ""),
        ] {
            assert_eq!(clean_block(raw, 100).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn char_count_is_chars_count() {
        for text in [
            "",
            "a",
            "ä",
            "name@exämple.com",
            "日本語のテキスト",
            "ß€𝄞 mixed",
            "\u{0}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
        ] {
            assert_eq!(char_count(text), text.chars().count(), "{text:?}");
        }
    }

    #[test]
    fn splits_are_the_standard_ones() {
        for text in [
            "",
            "@",
            "a@b",
            "a@b@c",
            "ä@ö.ü",
            "no delimiter",
            "@ends@",
            "x.y.z",
            ".",
            "日本@語",
        ] {
            for delimiter in [b'@', b'.'] {
                let c = char::from(delimiter);
                assert_eq!(split_first(text, delimiter), text.split_once(c), "{text:?}");
                assert_eq!(split_last(text, delimiter), text.rsplit_once(c), "{text:?}");
                let pieces: Vec<&str> = split_all(text, delimiter).collect();
                assert_eq!(pieces, text.split(c).collect::<Vec<_>>(), "{text:?}");
            }
        }
    }
}
