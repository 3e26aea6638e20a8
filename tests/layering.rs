//! coord-core's imports point one way: each top-level module may use only
//! the layers below it, and bootstrap, daemons and events never use each
//! other (the `Coordination` handle composes them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top; a module may use only modules of a lower layer.
const LAYERS: &[&[&str]] = &[
    &["util", "error", "location"],
    &["interface"],
    &["registry"],
    &["bootstrap", "daemons", "events"],
    &["coordination"],
    &["config", "testing"],
    &["logging"],
    &["store"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("readable source directory") {
            rust_files(&entry.expect("readable entry").path(), found);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        found.push(path.to_path_buf());
    }
}

/// `crate::<name>` paths in code (comments skipped), by the name.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            // `$crate::` in a macro is the crate root, like `crate::`.
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("coord-core/src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("coord-core/src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_owned();
        if name == "lib" {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        modules.entry(name).or_default().extend(files);
    }
    let mut wrong = Vec::new();
    for (module, files) in &modules {
        let Some(own) = layer_of(module) else {
            wrong.push(format!("{module}: a top-level module missing from LAYERS"));
            continue;
        };
        for file in files {
            let text = std::fs::read_to_string(file).expect("readable source");
            for used in crate_paths(&text) {
                if used == *module {
                    continue;
                }
                let Some(layer) = layer_of(&used) else {
                    // The root's re-exports would hide which module is used.
                    if used.starts_with(|c: char| c.is_ascii_uppercase()) {
                        wrong.push(format!(
                            "{} uses crate::{used}: name the module it comes from",
                            file.strip_prefix(&src).unwrap_or(file).display()
                        ));
                    }
                    continue;
                };
                if layer >= own {
                    wrong.push(format!(
                        "{} uses crate::{used} (layer {layer}), but {module} is in layer {own}",
                        file.strip_prefix(&src).unwrap_or(file).display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n{}",
        wrong.join("\n")
    );
    assert!(modules.len() >= 12, "found {} modules", modules.len());
}
