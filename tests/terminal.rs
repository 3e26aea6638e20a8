//! `run` on a terminal: the live status area and the log lines never share
//! a row; off a terminal there is no live line at all.

use std::process::Command;

mod common;

use common::*;

/// The rows a terminal shows after `output`, scrollback included: text
/// after `\r` overwrites the row, `ESC[2K`/`ESC[K` clear it, `ESC[nA` moves
/// up, other escape sequences (colours) draw nothing.
fn screen(output: &str) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                row += 1;
                col = 0;
                if rows.len() <= row {
                    rows.push(Vec::new());
                }
            }
            '\r' => col = 0,
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut parameter = String::new();
                let command = loop {
                    match chars.next() {
                        Some(c) if c.is_ascii_digit() || c == ';' || c == '?' => parameter.push(c),
                        Some(c) => break c,
                        None => break ' ',
                    }
                };
                let n: usize = parameter.parse().unwrap_or(1);
                match command {
                    'K' => {
                        if parameter == "2" {
                            rows[row].clear();
                        } else {
                            rows[row].truncate(col);
                        }
                    }
                    'A' => row = row.saturating_sub(n),
                    'B' => {
                        row += n;
                        while rows.len() <= row {
                            rows.push(Vec::new());
                        }
                    }
                    'G' => col = n.saturating_sub(1),
                    'J' => rows.truncate(row + 1),
                    _ => {}
                }
            }
            c => {
                let line = &mut rows[row];
                if line.len() <= col {
                    line.resize(col, ' ');
                    line.push(c);
                } else {
                    line[col] = c;
                }
                col += 1;
            }
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_owned())
        .collect()
}

#[test]
fn on_a_terminal_log_lines_print_above_the_status_area_never_into_it() {
    let dir = data_dir("terminal");
    let transcript = dir.with_extension("typescript");
    let command = format!("{} run --duration 6", example().display());
    // `script` gives the main job a pseudo-terminal, and records what it drew.
    let status = Command::new("script")
        .args(["-qec", &command])
        .arg(&transcript)
        .env("COORD_DATA_DIR", &dir)
        .env("COORD_LOG", "info")
        .env("COLUMNS", "200")
        .env_remove("PIPELINE_DAEMONS")
        .status()
        .expect("script (util-linux) runs");
    assert!(status.success());
    let raw = std::fs::read(&transcript).expect("the transcript");
    let output = String::from_utf8_lossy(&raw);
    assert!(
        output.contains("event_router="),
        "the status area was drawn"
    );
    let rows = screen(&output);
    let logs: Vec<&String> = rows.iter().filter(|r| r.contains(" INFO ")).collect();
    assert!(logs.len() >= 5, "{rows:#?}");
    let mixed: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("event_router=") && (r.contains(" INFO ") || r.contains(" WARN ")))
        .collect();
    assert!(
        mixed.is_empty(),
        "a log line and the status area share a row: {mixed:#?}"
    );
    // The area is cleared at the end: the summary follows the last log line.
    assert!(
        output.contains("summary (duration elapsed): clean"),
        "{output}"
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.contains("event_router=") && r.contains("summary")),
        "{rows:#?}"
    );
}

#[test]
fn off_a_terminal_there_is_no_live_line_at_all() {
    let dir = data_dir("no-terminal");
    let output = Command::new(example())
        .args(["run", "--duration", "2"])
        .env("COORD_DATA_DIR", &dir)
        .env_remove("PIPELINE_DAEMONS")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let everything = stdout(&output) + &stderr(&output);
    assert!(!everything.contains("event_router="), "{everything}");
    assert!(stdout(&output).contains("summary (duration elapsed): clean"));
}
