//! Reading the tab-separated tables under `test_data/`: one reader for every table test, native
//! and (through `condition_table.rs`) wasm32.

#![allow(dead_code, clippy::unwrap_used, clippy::disallowed_methods)]

/// Rows of the table file `test_data/{name}`, comments and blank lines skipped, each with its line
/// number and its cells unescaped.
pub fn rows(name: &str) -> Vec<(usize, Vec<String>)> {
    let path = format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"));
    parse(&std::fs::read_to_string(&path).unwrap())
}

/// Rows of a table's text, as [`rows`] reads them.
pub fn parse(text: &str) -> Vec<(usize, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split('\t').map(unescape).collect()))
        .collect()
}

/// Turns `\t`, `\n`, `\r`, `\\` and `\u{HEX}` into the characters they name.
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        match rest.chars().next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let end = rest.find('}').unwrap();
                let code = u32::from_str_radix(&rest[2..end], 16).unwrap();
                out.push(char::from_u32(code).unwrap());
                rest = &rest[end..];
            }
            other => panic!("unknown escape \\{other:?}"),
        }
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}
