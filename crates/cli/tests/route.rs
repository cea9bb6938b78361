//! `handoff route` as a table: leads as JSON lines against `tests/data/route.toml`, each with the
//! place it must get (assignee, merge, SLA deadline and ladder, arm) across a weekend, a holiday,
//! Berlin's autumn clock change, an absence, an account, the nurture rule, a bot, an invalid lead
//! and an experiment; then a batch into a 3:2:1 pool, a starting state as `GET /v1/pools` answers
//! it, and lines that cannot be read. Every time is given on the line or by `--now`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "support/run.rs"]
mod run;
use run::handoff;

const CONFIG: &str = "crates/cli/tests/data/route.toml";

fn route(lines: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "route",
        "--form",
        "contact",
        "--config",
        CONFIG,
        "--now",
        "2026-11-23T12:00:00Z",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = handoff(&args, lines);
    assert_eq!(code, 0, "{err}\n{out}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One line of output in a few words: `lifecycle assignee [merged:ID] [due FIRST_TOUCH [LADDER…]]
/// [no_sla:CODE] [arm:EXPERIMENT/ARM]`.
fn brief(v: &serde_json::Value) -> String {
    let text = |key: &str| v[key].as_str().map(str::to_owned);
    let mut out = vec![text("lifecycle").unwrap_or_else(|| "invalid".into())];
    out.push(match &v["assignee"] {
        serde_json::Value::Null => "-".into(),
        a => format!(
            "{}:{}",
            a["kind"].as_str().unwrap(),
            a["id"].as_str().unwrap()
        ),
    });
    if let Some(into) = text("merged_into") {
        out.push(format!("merged:{into}"));
    }
    if let Some(sla) = v["sla"].as_object() {
        out.push(format!("due {}", sla["first_touch_due"].as_str().unwrap()));
        for step in sla["ladder"].as_array().unwrap() {
            out.push(format!(
                "{}:{}",
                step["to"].as_str().unwrap(),
                step["at"].as_str().unwrap()
            ));
        }
    }
    if let Some(code) = text("no_sla") {
        out.push(format!("no_sla:{code}"));
    }
    if let Some(arm) = v["arm"].as_object() {
        out.push(format!(
            "arm:{}/{}",
            arm["experiment"].as_str().unwrap(),
            arm["arm"].as_str().unwrap()
        ));
    }
    out.join(" ")
}

#[test]
fn each_lead_gets_its_place_deadline_and_ladder() {
    let lead = |id: &str, at: &str, email: &str, size: &str, country: &str, interest: &str| {
        format!(
            r#"{{"id": "{id}", "at": "{at}", "answers": {{"email": "{email}", "company_size": "{size}", "country": "{country}", "interest": "{interest}"}}}}"#
        )
    };
    // (line, what it must get)
    let rows: Vec<(String, &str)> = vec![
        // Monday 10:00 in New York: due in one working hour, the team lead two after that.
        (lead("us-mon", "2026-11-23T15:00:00Z", "a@us.example", "1000+", "US", "A demo"),
         "sql owner:nia due 2026-11-23T16:00:00.000Z team_lead:2026-11-23T18:00:00.000Z"),
        // Friday 16:30: 30 minutes today, 30 on Monday; the country code in any case.
        (lead("us-fri", "2026-11-27T21:30:00Z", "b@us.example", "1000+", "us", "A demo"),
         "sql owner:nia due 2026-11-30T14:30:00.000Z team_lead:2026-11-30T16:30:00.000Z"),
        // Thanksgiving (the owner's calendar): the clock starts on Friday at 09:00.
        (lead("us-holiday", "2026-11-26T15:00:00Z", "c@us.example", "1000+", "US", "Newsletter"),
         "mql owner:nia due 2026-11-27T15:00:00.000Z team_lead:2026-11-27T17:00:00.000Z"),
        // Friday 16:30 in Berlin, summer time; Monday 09:30 is winter time.
        (lead("de-dst", "2026-10-23T14:30:00Z", "d@de.example", "1000+", "DE", "A demo"),
         "sql owner:ole due 2026-10-26T08:30:00.000Z team_lead:2026-10-26T10:30:00.000Z"),
        // Ole is away: the rule's fallback queue, which runs 24/7.
        (lead("de-away", "2026-12-01T10:00:00Z", "e@de.example", "1000+", "DE", "A demo"),
         "sql queue:dach_overflow due 2026-12-01T11:00:00.000Z team_lead:2026-12-01T13:00:00.000Z"),
        // A named account comes before the nurture rule; nurture has no SLA policy.
        (lead("acme", "2026-11-23T10:00:00Z", "x@acme.example", "1-50", "JP", "A demo"),
         "nurture owner:kim no_sla:no_policy"),
        (lead("nurture", "2026-11-23T10:00:00Z", "n@jp.example", "1-50", "JP", "Newsletter"),
         "nurture queue:triage no_sla:no_policy"),
        // No rule: the global fallback; the experiment's arm gives a business day (24 h in a queue).
        (lead("gb", "2026-11-23T10:00:00Z", "g1@gb.example", "1000+", "GB", "A demo"),
         "sql queue:triage due 2026-11-24T10:00:00.000Z team_lead:2026-11-24T12:00:00.000Z arm:speed/day"),
        // Uma takes one open lead: the second goes to the global fallback, as nothing closes.
        (lead("jp-1", "2026-11-23T10:00:00Z", "j1@jp.example", "1000+", "JP", "A demo"),
         "sql owner:uma due 2026-11-23T11:00:00.000Z team_lead:2026-11-23T13:00:00.000Z"),
        (lead("jp-2", "2026-11-23T10:05:00Z", "j2@jp.example", "1000+", "JP", "A demo"),
         "sql queue:triage due 2026-11-23T11:05:00.000Z team_lead:2026-11-23T13:05:00.000Z"),
        // The same person again within the merge window: folded into the open lead.
        (lead("us-mon-2", "2026-11-23T15:20:00Z", "a@us.example", "1000+", "US", "A demo"),
         "sql owner:nia merged:us-mon"),
        // A bot is judged but never placed; an invalid lead is neither.
        (r#"{"id": "bot", "answers": {"email": "bot@x.example", "country": "US"}, "context": {"honeypot": "x"}}"#.into(),
         "disqualified -"),
        (r#"{"id": "invalid", "answers": {"email": "nope"}}"#.into(), "invalid -"),
    ];
    let input: String = rows.iter().map(|(l, _)| format!("{l}\n")).collect();
    let out = route(&input, &[]);
    assert_eq!(out.len(), rows.len());
    let mut failures = Vec::new();
    for ((line, want), got) in rows.iter().zip(&out) {
        if brief(got) != *want {
            failures.push(format!("{line}\n  got  {}\n  want {want}", brief(got)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every line says everything `handoff eval` says, and the decision as the Worker stores it.
    let first = &out[0];
    for key in [
        "valid",
        "answers",
        "issues",
        "score",
        "grade",
        "lifecycle",
        "id",
        "at",
        "route",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["route"]["by"]["rule"], "us", "{first}");
    assert_eq!(out[12]["valid"], false);
    assert_eq!(out[12]["issues"][0]["code"], "email.syntax");
    // Why the second Japanese lead is in the queue: Uma is at capacity.
    let uma = &out[9]["route"]["attempts"][0]["candidates"][0];
    assert_eq!(
        (uma["owner"].as_str(), uma["skip"].as_str()),
        (Some("uma"), Some("at_capacity")),
        "{}",
        out[9]["route"]
    );
}

#[test]
fn a_batch_into_a_weighted_pool_comes_out_by_its_weights() {
    let lines: String = (0..60)
        .map(|i| {
            format!(
                r#"{{"id": "fr-{i}", "answers": {{"email": "p{i}@fr.example", "company_size": "1000+", "country": "FR", "interest": "A demo"}}}}"#
            ) + "\n"
        })
        .collect();
    let count = |out: &[serde_json::Value], who: &str| {
        out.iter().filter(|v| v["assignee"]["id"] == who).count()
    };
    let out = route(&lines, &[]);
    assert_eq!(
        [count(&out, "a1"), count(&out, "a2"), count(&out, "a3")],
        [30, 20, 10]
    );
    // From a state where a1 and a2 have had their turns of a round and a3 not yet (as GET
    // /v1/pools answers it), the next lead is a3's; from an empty state it is a1's.
    let dir = std::env::temp_dir().join(format!("handoff-route-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("pools.json");
    std::fs::write(
        &state,
        r#"{"pools": [{"pool": "fr", "next": "a2", "members": [
            {"owner": "a1", "name": "x", "weight": 3, "assigned": 3, "open": 0, "available": true, "next": false},
            {"owner": "a2", "name": "x", "weight": 2, "assigned": 2, "open": 0, "available": true, "next": true},
            {"owner": "a3", "name": "x", "weight": 1, "assigned": 0, "open": 0, "available": true, "next": false}]}]}"#,
    )
    .unwrap();
    let six: String = lines.lines().take(6).map(|l| format!("{l}\n")).collect();
    let out = route(&six, &["--state", state.to_str().unwrap()]);
    assert_eq!(out[0]["assignee"]["id"], "a3");
    // Six more bring the counts to 5, 4 and 2: the weights' shares of eleven, rounded.
    assert_eq!(
        [count(&out, "a1"), count(&out, "a2"), count(&out, "a3")],
        [2, 2, 2]
    );
    let out = route(&six, &[]);
    assert_eq!(out[0]["assignee"]["id"], "a1");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lines_that_cannot_be_read_are_reported_and_the_rest_go_on() {
    let input = concat!(
        "{\"at\": \"yesterday\", \"answers\": {}}\n",
        "[1]\n",
        "{\"id\": \"ok\", \"answers\": {\"email\": \"a@us.example\", \"country\": \"US\", \"company_size\": \"1000+\"}}\n",
        "{\"facts\": {\"active_deal\": \"yes\"}, \"answers\": {}}\n",
    );
    let (code, out, _) = handoff(
        &[
            "route",
            "--form",
            "contact",
            "--config",
            CONFIG,
            "--now",
            "2026-11-23T12:00:00Z",
        ],
        input,
    );
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["error"]["code"], "bad_json");
    assert!(lines[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`at` must be an RFC 3339 time"));
    assert_eq!(lines[1]["error"]["code"], "bad_json");
    assert_eq!(lines[2]["assignee"]["id"], "nia");
    // A line without "at" arrived at --now.
    assert_eq!(lines[2]["at"], "2026-11-23T12:00:00.000Z");
    assert!(lines[3]["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("`facts`"));
    // An active deal (the CRM's facts on the line) starts no clock.
    let out = route(
        r#"{"answers": {"email": "z@us.example", "company_size": "1000+", "country": "US", "interest": "A demo"}, "facts": {"active_deal": true}}"#,
        &[],
    );
    assert_eq!(brief(&out[0]), "sql owner:nia no_sla:active_deal");
}

/// Leads of every country, over two days, as lines `simulate` reads.
fn history() -> String {
    let countries = ["US", "DE", "FR", "GB", "JP"];
    (0..50)
        .map(|i| {
            let at = 1_795_420_800_000i64 + i * 53 * 60_000; // from 2026-11-23T08:00:00Z
            let at = jiff::Timestamp::from_millisecond(at).unwrap();
            format!(
                r#"{{"id": "h-{i}", "form": "contact", "at": "{at}", "answers": {{"email": "p{i}@c{}.example", "company_size": "1000+", "country": "{}", "interest": "A demo"}}}}"#,
                i % 7,
                countries[i as usize % 5]
            ) + "\n"
        })
        .collect()
}

#[test]
fn simulate_changes_nothing_with_the_same_configuration_and_exactly_the_moved_rule_s_leads() {
    let dir = std::env::temp_dir().join(format!("handoff-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let leads = dir.join("leads.jsonl");
    std::fs::write(&leads, history()).unwrap();
    let moved = dir.join("moved.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/route.toml"
    ))
    .unwrap();
    // The DACH rule now sends its leads to Nia in New York (no pool: no one else's turn moves).
    let changed = text.replacen("to = \"owner:ole\"", "to = \"owner:nia\"", 1);
    assert_ne!(changed, text);
    std::fs::write(&moved, changed).unwrap();
    let run = |config: &str| {
        let args = [
            "simulate",
            "--config",
            config,
            "--baseline",
            CONFIG,
            "--leads",
            leads.to_str().unwrap(),
            "--now",
            "2026-11-26T12:00:00Z",
        ];
        let (code, out, err) = handoff(&args, "");
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let same = run(CONFIG);
    assert_eq!(same.len(), 51);
    assert!(same[..50]
        .iter()
        .all(|l| l["changed"].as_array().unwrap().is_empty()));
    assert_eq!(same[50]["summary"]["changed"], 0);
    assert_eq!(same[50]["summary"]["leads"], 50);

    let after = run(moved.to_str().unwrap());
    let changed: Vec<&str> = after[..50]
        .iter()
        .filter(|l| !l["changed"].as_array().unwrap().is_empty())
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    let german: Vec<String> = (0..50)
        .filter(|i| i % 5 == 1)
        .map(|i| format!("h-{i}"))
        .collect();
    assert_eq!(changed, german, "exactly the German leads");
    for line in &after[..50] {
        if line["after"]["assignee"] != line["before"]["assignee"] {
            assert_eq!(line["before"]["assignee"], "owner:ole");
            assert_eq!(line["after"]["assignee"], "owner:nia");
            // Nia's hours in New York give another deadline.
            assert!(
                line["changed"].as_array().unwrap().contains(&"sla".into()),
                "{line}"
            );
        }
    }
    let summary = &after[50]["summary"];
    assert_eq!(summary["changed"], 10);
    assert_eq!(summary["assignees"]["owner:ole"]["before"], 10);
    assert_eq!(summary["assignees"]["owner:ole"]["after"], 0);
    // The table says the same in words.
    let args = [
        "simulate",
        "--config",
        moved.to_str().unwrap(),
        "--baseline",
        CONFIG,
        "--leads",
        leads.to_str().unwrap(),
        "--now",
        "2026-11-26T12:00:00Z",
        "--format",
        "table",
    ];
    let (code, table, _) = handoff(&args, "");
    assert_eq!(code, 0);
    assert!(table.contains("50 leads, 10 changed"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("owner:ole") && l.contains("-10")),
        "{table}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Uma takes one open lead at a time. Replayed with the statuses the leads really went through,
/// her slot frees when her lead was worked (`working` does not hold capacity), and not before.
#[test]
fn a_replay_frees_an_owner_s_slot_when_the_recorded_lead_was_worked() {
    let dir = std::env::temp_dir().join(format!("handoff-capacity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let line = |id: &str, at: &str, statuses: &str| {
        format!(
            r#"{{"id": "{id}", "form": "contact", "at": "{at}", "answers": {{"email": "{id}@jp.example", "company_size": "1000+", "country": "JP", "interest": "A demo"}}, "outcome": {{"statuses": {statuses}}}}}"#
        ) + "\n"
    };
    let worked = r#"[{"at": "2026-11-23T09:30:00Z", "to": "accepted"}, {"at": "2026-11-23T09:40:00Z", "to": "working"}]"#;
    let leads = [
        // Worked 40 minutes after it arrived.
        line("j1", "2026-11-23T09:00:00Z", worked),
        // Uma still holds j1 (accepted is not worked yet): the fallback.
        line("j2", "2026-11-23T09:35:00Z", "[]"),
        // j1 is worked by now: Uma's slot is free; j3 then stays new.
        line("j3", "2026-11-23T10:00:00Z", "null"),
        // Uma holds j3.
        line("j4", "2026-11-23T11:00:00Z", "[]"),
    ]
    .concat();
    let file = dir.join("leads.jsonl");
    std::fs::write(&file, leads).unwrap();
    let args = [
        "simulate",
        "--config",
        CONFIG,
        "--baseline",
        CONFIG,
        "--leads",
        file.to_str().unwrap(),
        "--now",
        "2026-11-26T12:00:00Z",
    ];
    let (code, out, err) = handoff(&args, "");
    assert_eq!(code, 0, "{err}");
    let placed: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["id"].is_string())
        .map(|l| format!("{} {}", l["id"].as_str().unwrap(), l["after"]["assignee"]))
        .collect();
    assert_eq!(
        placed,
        [
            "j1 \"owner:uma\"",
            "j2 \"queue:triage\"",
            "j3 \"owner:uma\"",
            "j4 \"queue:triage\""
        ]
    );
    // A status list that cannot be read is that line's error, with its code.
    std::fs::write(
        &file,
        line(
            "j5",
            "2026-11-23T09:00:00Z",
            r#"[{"at": "soon", "to": "working"}]"#,
        ),
    )
    .unwrap();
    let (code, out, _) = handoff(&args, "");
    assert_eq!(code, 1);
    let error: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "bad_json");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("outcome.statuses"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
