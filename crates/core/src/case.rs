//! Lowercasing exactly as `str::to_lowercase` does, from tables a tenth of the size of the
//! standard library's, because the browser module carries them (email domains are lowercased as
//! typed, international ones included).
//!
//! The tables are generated from the standard library itself by `tests::tables_are_current`,
//! which fails with the new tables to paste when a toolchain update changes Unicode's case data;
//! `tests::lowercases_every_char_like_the_standard_library` and its companions compare the result
//! with `str::to_lowercase` for every `char`, alone and around a `Σ`.

/// The lowercase mappings of one `char` to another, as runs: each run is the varints `gap` (from
/// the end of the previous run), `length × 2 + (step - 1)` and `delta` zigzag-encoded; `char`
/// `start + k × step` (k < length) maps to itself plus `delta`. `İ`, the one `char` that becomes
/// two, is handled apart.
const LOWER: &[u8] = &[
    192, 1, 46, 64, 1, 14, 64, 33, 49, 2, 3, 7, 2, 2, 17, 2, 2, 47, 2, 1, 2, 241, 1, 0, 7, 2, 3, 2,
    164, 3, 0, 5, 2, 1, 2, 156, 3, 0, 2, 2, 1, 4, 154, 3, 0, 2, 2, 2, 2, 158, 1, 0, 2, 148, 3, 0,
    2, 150, 3, 0, 2, 2, 1, 2, 154, 3, 0, 2, 158, 3, 1, 2, 166, 3, 0, 2, 162, 3, 0, 2, 2, 3, 2, 166,
    3, 0, 2, 170, 3, 1, 2, 172, 3, 0, 7, 2, 1, 2, 180, 3, 0, 2, 2, 1, 2, 180, 3, 2, 2, 2, 1, 2,
    180, 3, 0, 2, 2, 1, 4, 178, 3, 0, 5, 2, 1, 2, 182, 3, 0, 2, 2, 3, 2, 2, 7, 2, 4, 0, 2, 2, 1, 2,
    4, 0, 2, 2, 1, 2, 4, 0, 19, 2, 2, 19, 2, 2, 2, 4, 0, 5, 2, 1, 2, 193, 1, 0, 2, 111, 0, 41, 2,
    1, 2, 131, 2, 1, 19, 2, 7, 2, 214, 168, 1, 0, 2, 2, 1, 2, 197, 2, 0, 2, 208, 168, 1, 2, 2, 2,
    1, 2, 133, 3, 0, 2, 138, 1, 0, 2, 142, 1, 0, 11, 2, 161, 2, 5, 2, 3, 2, 2, 8, 2, 232, 1, 6, 2,
    76, 1, 6, 74, 1, 2, 128, 1, 1, 4, 126, 1, 34, 64, 1, 18, 64, 35, 2, 16, 8, 25, 2, 5, 2, 119, 2,
    2, 2, 1, 2, 13, 0, 2, 2, 2, 6, 131, 2, 0, 32, 160, 1, 0, 64, 64, 48, 35, 2, 9, 55, 2, 1, 2, 30,
    0, 15, 2, 2, 97, 2, 2, 76, 96, 201, 22, 76, 192, 113, 1, 2, 192, 113, 5, 2, 192, 113, 210, 5,
    160, 1, 160, 223, 4, 0, 12, 16, 147, 17, 2, 2, 6, 86, 255, 46, 2, 6, 255, 46, 192, 2, 151, 1,
    2, 9, 2, 253, 118, 1, 97, 2, 9, 16, 15, 8, 12, 15, 10, 16, 15, 8, 16, 15, 8, 12, 15, 11, 9, 15,
    8, 16, 15, 24, 16, 15, 8, 16, 15, 8, 16, 15, 8, 4, 15, 0, 4, 147, 1, 0, 2, 17, 11, 8, 171, 1,
    0, 2, 17, 11, 4, 15, 0, 4, 199, 1, 12, 4, 15, 0, 4, 223, 1, 0, 2, 13, 11, 4, 255, 1, 0, 4, 251,
    1, 0, 2, 17, 169, 2, 2, 185, 117, 3, 2, 253, 130, 1, 0, 2, 139, 129, 1, 6, 2, 56, 45, 32, 32,
    19, 2, 2, 178, 6, 52, 52, 176, 14, 96, 96, 48, 2, 2, 1, 2, 237, 167, 1, 0, 2, 203, 59, 0, 2,
    205, 167, 1, 2, 7, 2, 1, 2, 183, 168, 1, 0, 2, 249, 167, 1, 0, 2, 189, 168, 1, 0, 2, 187, 168,
    1, 1, 2, 2, 2, 2, 2, 8, 4, 253, 168, 1, 0, 101, 2, 8, 5, 2, 4, 2, 2, 205, 242, 1, 47, 2, 19,
    29, 2, 135, 1, 15, 2, 3, 63, 2, 10, 5, 2, 1, 2, 135, 168, 4, 0, 11, 2, 4, 2, 2, 1, 2, 207, 148,
    5, 2, 5, 2, 3, 21, 2, 1, 2, 135, 149, 5, 0, 2, 157, 149, 5, 0, 2, 149, 149, 5, 0, 2, 129, 149,
    5, 0, 2, 135, 149, 5, 1, 2, 163, 148, 5, 0, 2, 211, 148, 5, 0, 2, 169, 148, 5, 0, 2, 192, 14,
    0, 17, 2, 1, 2, 95, 0, 2, 133, 149, 5, 0, 2, 239, 168, 4, 0, 5, 2, 1, 2, 205, 149, 5, 0, 17, 2,
    1, 2, 129, 153, 5, 24, 2, 2, 171, 174, 1, 52, 64, 197, 9, 80, 80, 136, 1, 72, 80, 156, 1, 22,
    78, 1, 30, 78, 1, 14, 78, 1, 4, 78, 234, 13, 102, 128, 1, 157, 1, 44, 64, 186, 22, 64, 64, 128,
    171, 1, 64, 64, 64, 50, 54, 199, 244, 1, 68, 68,
];

/// The `char`s that are Cased (Lowercase, Uppercase or Lt) and not Case_Ignorable, as the
/// varints of alternating lengths of runs outside and inside the set, from U+0000.
const CASED: &[u8] = &[
    65, 26, 6, 26, 47, 1, 10, 1, 4, 1, 5, 23, 1, 31, 1, 195, 1, 1, 4, 4, 208, 1, 2, 26, 192, 1, 4,
    2, 2, 3, 3, 1, 1, 6, 1, 1, 3, 1, 1, 1, 20, 1, 83, 1, 139, 1, 8, 166, 1, 1, 38, 9, 41, 151, 22,
    38, 1, 1, 5, 1, 2, 43, 2, 3, 160, 5, 86, 2, 6, 130, 17, 11, 5, 43, 2, 3, 64, 44, 63, 13, 1, 34,
    101, 150, 2, 2, 6, 2, 38, 2, 6, 2, 8, 1, 1, 1, 1, 1, 1, 1, 31, 2, 53, 1, 7, 1, 1, 3, 3, 1, 7,
    3, 4, 2, 6, 4, 13, 5, 3, 1, 7, 133, 2, 1, 4, 1, 2, 10, 1, 1, 3, 5, 6, 1, 1, 1, 1, 1, 1, 4, 1,
    6, 4, 1, 2, 4, 5, 5, 4, 1, 17, 32, 3, 2, 177, 6, 52, 150, 14, 124, 2, 103, 6, 4, 3, 2, 12, 38,
    1, 1, 5, 1, 146, 242, 1, 46, 18, 28, 134, 1, 78, 1, 23, 3, 4, 1, 77, 24, 2, 3, 1, 181, 6, 43,
    5, 9, 7, 80, 192, 158, 1, 7, 12, 5, 137, 8, 26, 6, 26, 165, 9, 80, 96, 36, 4, 36, 116, 11, 1,
    15, 1, 7, 1, 2, 1, 11, 1, 15, 1, 7, 1, 2, 195, 13, 51, 13, 51, 93, 22, 10, 22, 154, 22, 64,
    224, 170, 1, 64, 32, 25, 2, 25, 172, 202, 1, 85, 1, 71, 1, 2, 2, 1, 2, 2, 2, 4, 1, 12, 1, 1, 1,
    7, 1, 65, 1, 4, 2, 8, 1, 7, 1, 28, 1, 4, 1, 5, 1, 1, 3, 7, 1, 212, 2, 2, 25, 1, 25, 1, 31, 1,
    25, 1, 31, 1, 25, 1, 31, 1, 25, 1, 31, 1, 25, 1, 8, 180, 14, 10, 1, 20, 6, 6, 213, 19, 68, 236,
    15, 26, 6, 26, 6, 26,
];

/// The `char`s that are Case_Ignorable, in the same form as [`CASED`].
const CASE_IGNORABLE: &[u8] = &[
    39, 1, 6, 1, 11, 1, 35, 1, 1, 1, 71, 1, 4, 1, 1, 1, 4, 1, 2, 2, 247, 3, 192, 1, 4, 2, 4, 1, 9,
    2, 1, 1, 251, 1, 7, 207, 1, 1, 5, 1, 49, 45, 1, 1, 1, 2, 1, 2, 1, 1, 44, 1, 11, 6, 10, 11, 1,
    1, 35, 1, 10, 21, 16, 1, 101, 8, 1, 10, 1, 4, 33, 1, 1, 1, 30, 27, 91, 11, 58, 11, 4, 1, 2, 1,
    24, 24, 43, 3, 44, 1, 7, 2, 5, 9, 41, 58, 55, 1, 1, 1, 4, 8, 4, 1, 3, 7, 10, 2, 13, 1, 15, 1,
    58, 1, 4, 4, 8, 1, 20, 2, 26, 1, 2, 2, 57, 1, 4, 2, 4, 2, 2, 3, 3, 1, 30, 2, 3, 1, 11, 2, 57,
    1, 4, 5, 1, 2, 4, 1, 20, 2, 22, 6, 1, 1, 58, 1, 2, 1, 1, 4, 8, 1, 7, 2, 11, 2, 30, 1, 61, 1,
    12, 1, 50, 1, 3, 1, 55, 1, 1, 3, 5, 3, 1, 4, 7, 2, 11, 2, 29, 1, 58, 1, 2, 1, 6, 1, 5, 2, 20,
    2, 28, 2, 57, 2, 4, 4, 8, 1, 20, 2, 29, 1, 72, 1, 7, 3, 1, 1, 90, 1, 2, 7, 11, 9, 98, 1, 2, 9,
    9, 1, 1, 7, 73, 2, 27, 1, 1, 1, 1, 1, 55, 14, 1, 5, 1, 2, 5, 11, 1, 36, 9, 1, 102, 4, 1, 6, 1,
    2, 2, 2, 25, 2, 4, 3, 16, 4, 13, 1, 2, 2, 6, 1, 15, 1, 94, 1, 224, 4, 3, 178, 7, 3, 29, 2, 30,
    2, 30, 2, 64, 2, 1, 7, 8, 1, 2, 11, 3, 1, 5, 1, 45, 5, 51, 1, 65, 2, 34, 1, 118, 3, 4, 2, 9, 1,
    6, 3, 219, 1, 2, 2, 1, 58, 1, 1, 7, 1, 1, 1, 1, 2, 8, 6, 10, 2, 1, 39, 1, 8, 46, 2, 12, 20, 4,
    48, 1, 1, 5, 1, 1, 5, 1, 40, 9, 12, 2, 32, 4, 2, 2, 1, 3, 56, 1, 1, 2, 3, 1, 1, 3, 58, 8, 2, 2,
    64, 6, 82, 3, 1, 13, 1, 7, 4, 1, 6, 1, 3, 2, 50, 63, 13, 1, 34, 101, 189, 3, 1, 1, 3, 11, 3,
    13, 3, 13, 3, 13, 2, 12, 5, 8, 2, 10, 1, 2, 1, 2, 5, 49, 5, 1, 10, 1, 1, 13, 1, 16, 13, 51, 33,
    139, 23, 2, 113, 3, 125, 1, 15, 1, 96, 32, 47, 1, 213, 3, 1, 36, 4, 3, 5, 5, 1, 93, 6, 93, 3,
    150, 222, 1, 1, 226, 9, 6, 142, 2, 1, 98, 4, 1, 10, 1, 1, 28, 4, 80, 2, 14, 34, 78, 1, 23, 3,
    102, 4, 3, 2, 8, 1, 3, 1, 4, 1, 25, 2, 5, 1, 151, 1, 2, 26, 18, 13, 1, 38, 8, 25, 11, 46, 3,
    48, 1, 2, 4, 2, 2, 17, 1, 21, 2, 66, 6, 2, 2, 2, 2, 12, 1, 8, 1, 35, 1, 11, 1, 51, 1, 1, 3, 2,
    2, 5, 2, 1, 1, 27, 1, 14, 2, 5, 2, 1, 1, 100, 5, 9, 3, 121, 1, 2, 1, 4, 1, 176, 158, 1, 1, 147,
    1, 17, 189, 4, 16, 3, 1, 12, 16, 34, 1, 2, 1, 169, 1, 1, 7, 1, 6, 1, 11, 1, 35, 1, 1, 1, 47, 1,
    45, 2, 67, 1, 21, 3, 129, 4, 1, 226, 1, 1, 149, 1, 5, 133, 8, 6, 1, 42, 1, 9, 198, 4, 3, 1, 2,
    5, 4, 40, 3, 4, 1, 165, 1, 2, 189, 4, 4, 38, 1, 26, 5, 1, 1, 187, 2, 2, 24, 1, 52, 6, 70, 11,
    49, 4, 123, 1, 54, 15, 41, 1, 2, 2, 10, 3, 49, 4, 2, 2, 2, 1, 4, 1, 10, 1, 50, 3, 36, 5, 1, 8,
    62, 1, 12, 2, 52, 9, 10, 4, 2, 1, 95, 3, 2, 1, 1, 2, 6, 1, 2, 1, 157, 1, 1, 3, 8, 21, 2, 57, 2,
    3, 1, 37, 7, 3, 5, 70, 6, 13, 1, 1, 1, 1, 1, 14, 2, 85, 8, 2, 3, 1, 1, 23, 1, 84, 6, 1, 1, 4,
    2, 1, 2, 238, 1, 4, 6, 2, 1, 2, 27, 2, 85, 8, 2, 1, 1, 2, 106, 1, 1, 1, 2, 6, 1, 1, 101, 1, 1,
    1, 2, 4, 1, 5, 131, 2, 9, 1, 2, 128, 2, 2, 1, 1, 4, 1, 144, 1, 4, 2, 2, 4, 1, 32, 10, 40, 6, 2,
    4, 8, 1, 9, 6, 2, 3, 46, 13, 1, 2, 198, 1, 1, 1, 3, 1, 1, 201, 1, 7, 1, 6, 1, 1, 82, 22, 2, 7,
    1, 2, 1, 2, 122, 6, 3, 1, 1, 2, 1, 7, 1, 1, 72, 2, 3, 1, 1, 1, 65, 1, 153, 2, 2, 11, 2, 52, 5,
    5, 1, 1, 1, 23, 1, 213, 41, 17, 6, 15, 200, 89, 12, 3, 3, 192, 19, 5, 59, 7, 9, 4, 252, 3, 3,
    40, 2, 226, 3, 1, 63, 17, 64, 2, 1, 2, 13, 2, 252, 127, 4, 1, 7, 1, 2, 158, 25, 2, 1, 4, 220,
    36, 46, 2, 23, 160, 4, 3, 9, 16, 2, 7, 30, 4, 148, 1, 3, 187, 15, 55, 4, 50, 8, 1, 14, 1, 22,
    5, 1, 15, 208, 10, 7, 1, 17, 2, 7, 1, 2, 1, 5, 5, 62, 33, 1, 160, 1, 14, 240, 2, 1, 61, 4, 251,
    3, 5, 254, 1, 2, 243, 1, 1, 2, 1, 7, 2, 5, 1, 9, 1, 208, 3, 7, 109, 8, 175, 21, 5, 129, 152,
    48, 1, 30, 96, 128, 1, 240, 1,
];

/// Reads the varint at `*at`, moving past it; 0 at the end of the table.
fn varint(table: &[u8], at: &mut usize) -> u32 {
    let mut value = 0;
    let mut shift = 0;
    while let Some(&byte) = table.get(*at) {
        *at += 1;
        value |= u32::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            break;
        }
    }
    value
}

/// Whether `c` is in a set written as [`CASED`] is.
fn in_set(table: &[u8], c: char) -> bool {
    let (c, mut at, mut end) = (c as u32, 0, 0u32);
    let mut inside = false;
    while at < table.len() {
        end = end.saturating_add(varint(table, &mut at));
        if c < end {
            return inside;
        }
        inside = !inside;
    }
    false
}

/// The lowercase of `c` when it is one `char` (every `char` but `İ`).
fn lower_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let code = c as u32;
    let (mut at, mut next) = (0, 0u32);
    while at < LOWER.len() {
        let start = next.saturating_add(varint(LOWER, &mut at));
        let shape = varint(LOWER, &mut at);
        let zigzag = varint(LOWER, &mut at);
        let (length, step) = (shape >> 1, (shape & 1) + 1);
        if code < start {
            break;
        }
        next = start + (length - 1) * step + 1;
        if code < next && (code - start).is_multiple_of(step) {
            let delta = (zigzag >> 1) as i32 ^ -((zigzag & 1) as i32);
            return char::from_u32(code.wrapping_add_signed(delta)).unwrap_or(c);
        }
    }
    c
}

/// Whether the first `char` of `chars` that is not Case_Ignorable is Cased.
fn cased_next(mut chars: impl Iterator<Item = char>) -> bool {
    chars
        .find(|&c| !in_set(CASE_IGNORABLE, c))
        .is_some_and(|c| in_set(CASED, c))
}

/// `text` lowercased, equal to `text.to_lowercase()` for every string: Unicode's full lowercase
/// mapping (`İ` becomes `i` and a combining dot), and `Σ` becomes `ς` at the end of a word.
pub fn to_lowercase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            'Σ' => {
                // `Σ` is two bytes long; the slices are on character boundaries.
                let (before, after) = (text.get(..i), text.get(i + 2..));
                let (before, after) = (before.unwrap_or(""), after.unwrap_or(""));
                let last = cased_next(before.chars().rev()) && !cased_next(after.chars());
                out.push(if last { 'ς' } else { 'σ' });
            }
            'İ' => out.push_str("i\u{307}"),
            _ => out.push(lower_char(c)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{to_lowercase, CASED, CASE_IGNORABLE, LOWER};

    fn push_varint(out: &mut Vec<u8>, mut value: u32) {
        while value >= 0x80 {
            out.push((value & 0x7f) as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    fn all_chars() -> impl Iterator<Item = char> {
        (0..=0x10ffff).filter_map(char::from_u32)
    }

    /// Whether the `Σ` after the `A` that starts `text` lowercases to `σ`, by the standard library.
    fn std_sigma(text: &str) -> bool {
        text.to_lowercase().chars().nth(1) == Some('σ')
    }

    /// Whether `c` is Case_Ignorable, and (when it is not) whether it is Cased, as the standard
    /// library's `Σ` rule reveals them: a Case_Ignorable `char` is skipped to reach the next.
    fn std_properties(c: char) -> (bool, bool) {
        let cased = std_sigma(&format!("AΣ{c}"));
        let ignorable = !cased && std_sigma(&format!("AΣ{c}A"));
        (ignorable, cased)
    }

    /// The tables as the standard library's case data gives them.
    fn generated() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut maps: Vec<(u32, i64)> = Vec::new();
        for c in all_chars().filter(|c| !c.is_ascii() && *c != 'İ') {
            let lower: Vec<char> = c.to_lowercase().collect();
            assert_eq!(lower.len(), 1, "{c:?} lowercases to several chars");
            if lower[0] != c {
                maps.push((c as u32, i64::from(lower[0] as u32) - i64::from(c as u32)));
            }
        }
        let mut lower_table = Vec::new();
        let (mut i, mut next) = (0, 0);
        while i < maps.len() {
            let (start, delta) = maps[i];
            let mut best = (1, 1);
            for step in [1, 2] {
                let mut n = 1;
                while maps.get(i + n) == Some(&(start + step * n as u32, delta)) {
                    n += 1;
                }
                if n > best.0 {
                    best = (n, step);
                }
            }
            let (length, step) = best;
            push_varint(&mut lower_table, start - next);
            push_varint(&mut lower_table, length as u32 * 2 + (step - 1));
            let zigzag = ((delta << 1) ^ (delta >> 63)) as u32;
            push_varint(&mut lower_table, zigzag);
            next = start + (length as u32 - 1) * step + 1;
            i += length;
        }
        let (mut cased, mut ignorable) = (Vec::new(), Vec::new());
        let (mut cased_runs, mut ignorable_runs) = ((false, 0u32), (false, 0u32));
        let flip = |table: &mut Vec<u8>, runs: &mut (bool, u32), inside: bool, at: u32| {
            if inside != runs.0 {
                push_varint(table, at - runs.1);
                *runs = (inside, at);
            }
        };
        for code in 0..=0x10ffffu32 {
            let (is_ignorable, is_cased) =
                char::from_u32(code).map_or((false, false), std_properties);
            flip(&mut cased, &mut cased_runs, is_cased, code);
            flip(&mut ignorable, &mut ignorable_runs, is_ignorable, code);
        }
        (lower_table, cased, ignorable)
    }

    fn rust_array(name: &str, bytes: &[u8]) -> String {
        let items: Vec<String> = bytes.iter().map(u8::to_string).collect();
        format!("const {name}: &[u8] = &[{}];", items.join(", "))
    }

    #[test]
    fn tables_are_current() {
        let (lower, cased, ignorable) = generated();
        let current = (LOWER.to_vec(), CASED.to_vec(), CASE_IGNORABLE.to_vec());
        assert!(
            (lower.clone(), cased.clone(), ignorable.clone()) == current,
            "the case tables differ from this toolchain's; replace them with:\n{}\n{}\n{}",
            rust_array("LOWER", &lower),
            rust_array("CASED", &cased),
            rust_array("CASE_IGNORABLE", &ignorable)
        );
    }

    #[test]
    fn lowercases_every_char_like_the_standard_library() {
        // Every char of the planes that have case, and a sample of the rest: above them the tables
        // have no entry (`tables_are_current` compares them whole), so every char reads alike.
        let cased_planes = all_chars().filter(|&c| (c as u32) < 0x2_0000);
        let rest = all_chars().filter(|&c| (c as u32) >= 0x2_0000).step_by(97);
        for c in cased_planes.chain(rest) {
            let text = c.to_string();
            assert_eq!(to_lowercase(&text), text.to_lowercase(), "{c:?}");
        }
    }

    /// Where a set written as `CASED` is starts and stops.
    fn boundaries(table: &[u8]) -> Vec<u32> {
        let (mut at, mut end, mut out) = (0, 0, Vec::new());
        while at < table.len() {
            end += super::varint(table, &mut at);
            out.push(end);
        }
        out
    }

    #[test]
    fn finds_word_final_sigma_like_the_standard_library_at_every_edge_of_the_sets() {
        let edges = boundaries(CASED)
            .into_iter()
            .chain(boundaries(CASE_IGNORABLE));
        let chars = edges
            .flat_map(|b| [b.saturating_sub(1), b])
            .filter_map(char::from_u32);
        for c in chars {
            for text in [
                format!("AΣ{c}"),
                format!("AΣ{c}A"),
                format!("A{c}Σ"),
                format!("{c}Σ"),
                format!("Σ{c}"),
                format!("A{c}{c}Σ.gr"),
            ] {
                assert_eq!(to_lowercase(&text), text.to_lowercase(), "{text:?}");
            }
        }
    }

    #[test]
    fn lowercases_words_like_the_standard_library() {
        for text in [
            "",
            "ΟΔΥΣΣΕΥΣ",
            "ΣΑΣ.ΕΛ",
            "Σ",
            "ΑΣ'Σ",
            "ΑΣ\u{301}",
            "ΑΣ\u{301}Α",
            "İSTANBUL.TR",
            "MÜNCHEN.DE",
            "ÆØÅ.NO",
            "ДОМЕН.РФ",
            "ⒶⒷ",
            "ǅǈǋ",
            "Maria@Example.COM",
            "ꞫꞬ",
            "𐐀𐐁",
            "a\u{0}Σ",
        ] {
            assert_eq!(to_lowercase(text), text.to_lowercase(), "{text:?}");
        }
    }
}
