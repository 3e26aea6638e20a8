//! Every code coord writes into an error is explained in the README's table.

use std::collections::BTreeMap;
use std::path::Path;

fn sources(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("readable source");
            found.push((path.display().to_string(), text));
        }
    }
}

fn codes_in(text: &str) -> Vec<String> {
    text.match_indices("[coord::E")
        .filter_map(|(at, _)| text.get(at + 1..at + 1 + "coord::E0000".len()))
        .filter(|code| code[8..].chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_code_in_the_sources_is_in_the_readme_table() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let mut files = Vec::new();
    sources(Path::new("coord-core/src"), &mut files);
    sources(Path::new("coord-macros/src"), &mut files);
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in &files {
        for code in codes_in(text) {
            used.entry(code).or_default().push(path.clone());
        }
    }
    assert!(used.len() > 40, "found only {} codes", used.len());
    let missing: Vec<&String> = used
        .keys()
        .filter(|code| !readme.contains(&format!("| `{code}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a README row: {missing:?}"
    );
}
