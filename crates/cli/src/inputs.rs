//! The files a command reads: each path given is a JSON-lines file, or a folder (an archive the
//! Worker wrote to R2, downloaded) whose `.jsonl` files are read in the order of their paths,
//! which is the order of time: `leads/2026-01/…`, `leads/2026-02/…`.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Every file `paths` names, in order: a file as given, a folder's `.jsonl` files (at any depth)
/// sorted by path.
pub fn files(paths: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        let path = Path::new(path);
        let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(path.to_path_buf());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|x| x == "jsonl") {
            found.push(path);
        }
    }
    Ok(())
}

/// The files as one stream of lines (a line break between files, so that a file without a final
/// one does not run into the next).
pub fn reader(paths: &[String]) -> Result<Box<dyn BufRead>, String> {
    let mut stream: Box<dyn Read> = Box::new(io::empty());
    for path in files(paths)? {
        let file = fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        stream = Box::new(stream.chain(file).chain(&b"\n"[..]));
    }
    Ok(Box::new(BufReader::new(stream)))
}

/// The files' text, one after another, each ending with a line break.
pub fn read_all(paths: &[String]) -> Result<String, String> {
    let mut text = String::new();
    for path in files(paths)? {
        let part = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        text.push_str(&part);
        if !part.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_read_in_path_order_and_files_as_given() {
        let dir = std::env::temp_dir().join(format!("handoff-inputs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in [
            ("archive/leads/2026-02/b.jsonl", "3\n"),
            ("archive/leads/2026-01/b.jsonl", "2"),
            ("archive/leads/2026-01/a.jsonl", "1\n"),
            ("archive/leads/2026-01/notes.txt", "not read\n"),
            ("live.jsonl", "4\n"),
        ] {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let paths = [
            dir.join("archive").display().to_string(),
            dir.join("live.jsonl").display().to_string(),
        ];
        assert_eq!(read_all(&paths).unwrap(), "1\n2\n3\n4\n");
        let lines: Vec<String> = reader(&paths)
            .unwrap()
            .lines()
            .map(Result::unwrap)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines, ["1", "2", "3", "4"]);
        assert!(files(&[dir.join("missing").display().to_string()]).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
