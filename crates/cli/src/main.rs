//! The `handoff` command: Handoff's rules run natively, for checking configuration, building the
//! rule bundle and normalizing values in bulk. A thin adapter: it reads files and streams, calls
//! handoff-core and prints.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use handoff_core::{email, Bundle};

const USAGE: &str = "\
usage:
  handoff check [CONFIG]        check a configuration (default config/demo.toml); exit 0 only when clean
  handoff bundle [CONFIG]       check and print the compiled rule bundle as JSON
  handoff normalize email       read one address per line on stdin, print one JSON object per line
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["check", rest @ ..] => config_path(rest).and_then(|p| check(p, false)),
        ["bundle", rest @ ..] => config_path(rest).and_then(|p| check(p, true)),
        ["normalize", "email"] => normalize_email(),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    result.unwrap_or_else(|message| {
        eprintln!("handoff: {message}");
        ExitCode::from(2)
    })
}

fn config_path<'a>(rest: &[&'a str]) -> Result<&'a str, String> {
    match rest {
        [] => Ok("config/demo.toml"),
        [path] => Ok(path),
        _ => Err(format!("expected at most one configuration path\n{USAGE}")),
    }
}

fn check(path: &str, print_bundle: bool) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    match Bundle::from_toml(&text) {
        Ok(bundle) => {
            if print_bundle {
                println!("{}", bundle.to_json());
            } else {
                let fields: usize = bundle.forms.iter().map(|f| f.fields.len()).sum();
                println!(
                    "{path}: ok, {} form(s), {fields} field(s), bundle {}",
                    bundle.forms.len(),
                    bundle.version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{path}:{error}");
            }
            eprintln!("{path}: {} problem(s)", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn normalize_email() -> Result<ExitCode, String> {
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let input = line.map_err(|e| format!("stdin: {e}"))?;
        let result = email::normalize(&input);
        let record = serde_json::json!({
            "input": input,
            "valid": result.is_ok(),
            "value": result.as_ref().ok(),
            "code": result.as_ref().err().map(|c| c.as_str()),
        });
        writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
