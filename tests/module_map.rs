//! The shape of the source tree, as a newcomer reads it (#17): the top-level modules import
//! one another without cycles, `config` is a leaf, no file is too long to live in, every
//! name is one concept, one module style, and `lib.rs`'s Layout and ARCHITECTURE.md name
//! each module that exists, once.
//!
//! The import map is read from the text (`crate::<module>` in each file of a module,
//! doc links included: a link is a dependency a reader follows too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest file (in lines) anyone should have to live in, in src/ and tests/.
const MAX_FILE_LINES: usize = 600;

/// What `config` may import: it is plain typed data and validation, under everything else.
const CONFIG_MAY_USE: &[&str] = &["limits", "event"];

/// File names that stand for one concept wherever they appear: a module's own root and
/// its error type (`thiserror` per module).
const SHARED_FILE_NAMES: &[&str] = &["mod.rs", "error.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of src/ belongs to (`src/sink/queue.rs` -> `sink`).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// Every `crate::<name>` in `text`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        // `tiktwitch::crate::` never occurs; a preceding identifier char means another path
        // (`$crate::`, `my_crate::`).
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let name: String = text[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// Top-level module -> the top-level modules it names.
fn import_map() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(top) = top_module(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = map.entry(top.clone()).or_default();
        deps.extend(crate_refs(&text).into_iter().filter(|d| *d != top));
    }
    map
}

/// Each cycle's modules (strongly connected components with more than one member).
fn cycles(map: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(at) = todo.pop() {
            for next in map.get(&at).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for module in map.keys() {
        let from = reaches(module);
        let component: BTreeSet<String> = from
            .iter()
            .filter(|other| *other != module && reaches(other).contains(module))
            .cloned()
            .chain(std::iter::once(module.clone()))
            .collect();
        if component.len() > 1 && !found.contains(&component) {
            found.push(component);
        }
    }
    found
}

#[test]
fn the_top_level_modules_import_each_other_without_cycles() {
    let map = import_map();
    let cycles = cycles(&map);
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules: {cycles:?}\nthe map: {map:#?}"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let map: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_owned(), BTreeSet::from([to.to_owned()])))
        .collect();
    let found = cycles(&map);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        BTreeSet::from(["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(
        crate_refs("use crate::sink::x; // [`crate::feed`] $crate::no other_crate::no"),
        BTreeSet::from(["sink".into(), "feed".into()])
    );
}

#[test]
fn config_is_a_leaf() {
    let map = import_map();
    let uses = map.get("config").expect("src/config exists");
    let extra: Vec<_> = uses
        .iter()
        .filter(|m| !CONFIG_MAY_USE.contains(&m.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "config imports {extra:?}; it may use only {CONFIG_MAY_USE:?}"
    );
}

#[test]
fn no_file_is_longer_than_one_can_live_in() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| {
                format!(
                    "{} ({lines} lines)",
                    f.strip_prefix(root()).unwrap().display()
                )
            })
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines: split by concept: {long:?}"
    );
}

#[test]
fn each_file_name_is_one_concept_and_one_module_style() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        by_name
            .entry(name)
            .or_default()
            .push(file.strip_prefix(root()).unwrap().display().to_string());
    }
    let shared: Vec<_> = by_name
        .iter()
        .filter(|(name, paths)| paths.len() > 1 && !SHARED_FILE_NAMES.contains(&name.as_str()))
        .collect();
    assert!(
        shared.is_empty(),
        "one name, several concepts: name each for what it holds: {shared:?}"
    );
    // `foo.rs` beside `foo/`: the other style (`foo/mod.rs`) is the one used here.
    let mixed: Vec<_> = files
        .iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n != "mod.rs" && n != "lib.rs")
        })
        .filter(|f| f.with_extension("").is_dir())
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        mixed.is_empty(),
        "`foo.rs` beside `foo/`: use foo/mod.rs: {mixed:?}"
    );
}

/// The top-level modules: src/*.rs and src/*/ (without lib.rs and main.rs).
fn top_modules() -> BTreeSet<String> {
    let src = root().join("src");
    std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| top_module(&src, &p))
        .filter(|m| m != "bin")
        .collect()
}

#[test]
fn the_layout_and_architecture_name_every_module_once() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let layout: Vec<&str> = lib
        .lines()
        .skip_while(|l| !l.starts_with("//! # Layout"))
        .take_while(|l| l.starts_with("//!"))
        .collect();
    let architecture =
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md exists");
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect();
    for module in top_modules() {
        if !declared.contains(&module) {
            // src/cli belongs to the binary (main.rs), not the library's Layout.
            assert!(
                std::fs::read_to_string(root().join("src/main.rs"))
                    .unwrap()
                    .contains(&format!("mod {module};")),
                "src/{module} is neither in lib.rs nor main.rs"
            );
            continue;
        }
        let entry = format!("- [`{module}`]");
        let times = layout.iter().filter(|l| l.contains(&entry)).count();
        assert_eq!(times, 1, "lib.rs Layout lists {entry} {times} times");
        assert!(
            architecture.contains(&format!("`{module}`")),
            "ARCHITECTURE.md does not name `{module}`"
        );
    }
    for line in &layout {
        if let Some(rest) = line.strip_prefix("//! - [`") {
            let name = rest.split('`').next().unwrap();
            assert!(
                declared.contains(name),
                "lib.rs Layout lists `{name}`, which lib.rs does not declare"
            );
        }
    }
}
