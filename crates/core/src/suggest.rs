//! "Did you mean": the known name closest to one that is not known (a misspelt key, field, owner,
//! option or time zone), by edit distance. The one place configuration messages get suggestions
//! from; a leaf that imports nothing.

/// The most edits a suggestion may be away from what was written.
const MAX_EDITS: usize = 2;

/// The candidate closest to `name`, if one is close enough to be what was meant: at most two
/// edits away (insertions, deletions, substitutions, swaps of neighbours; letter case ignored), and
/// fewer edits than half the length of `name`, so that a short name does not match everything.
/// Of equally close candidates, the first. `None` for an exact match: nothing to suggest.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    let limit = MAX_EDITS.min(wanted.len().saturating_sub(1) / 2);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            return None;
        }
        let have: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
        // Only a strictly closer candidate replaces the best so far.
        let bound = match best {
            Some((0, _)) => break,
            Some((d, _)) => d - 1,
            None => limit,
        };
        if let Some(d) = distance(&wanted, &have, bound) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `"; did you mean `NAME`?"` with the closest of `candidates`, quoted as `quote` (a backquote for
/// keys and field names, `"` for values), or nothing.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    quote: char,
) -> String {
    closest(name, candidates).map_or_else(String::new, |s| {
        format!("; did you mean {quote}{s}{quote}?")
    })
}

/// The optimal string alignment distance between `a` and `b`, if it is at most `bound`.
fn distance(a: &[char], b: &[char], bound: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > bound {
        return None;
    }
    // Three rows of the edit matrix: two back (for swaps), the previous and the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        if current.iter().min().is_some_and(|&m| m > bound) {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    Some(previous[b.len()]).filter(|&d| d <= bound)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_only_close_names() {
        // (written, candidates, suggestion)
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("contry", &["company", "country"], Some("country")),
            // Equally close: the first, as the time zone database lists them.
            (
                "Europe/Berln",
                &["Europe/Berlin", "Europe/Bern"],
                Some("Europe/Berlin"),
            ),
            ("europe/berlin", &["Europe/Berlin"], Some("Europe/Berlin")),
            ("mya", &["maya", "diego"], Some("maya")),
            ("tpye", &["type", "title"], Some("type")),
            ("colour", &["id", "title", "intro"], None),
            ("x", &["y", "id"], None),
            ("ab", &["abc"], None),
            ("maya", &["maya", "mayo"], None),
            ("weigth", &["owner", "weight"], Some("weight")),
        ];
        for (name, candidates, want) in cases {
            assert_eq!(
                closest(name, candidates.iter().copied()),
                *want,
                "{name} among {candidates:?}"
            );
        }
    }
}
