//! The pure-Rust engine: no `PyO3` anywhere below this module (a test below checks).

pub mod character;
pub mod dice;
pub mod duel;
pub mod error;
pub mod notation;
pub mod threads;
pub mod workshop;

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// Whether `line` names `path` on its own (`use X::...`, `X_ffi`), not as the tail
    /// of another name (`game_with_X`).
    fn names(line: &str, path: &str) -> bool {
        line.match_indices(path).any(|(at, _)| {
            !line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    }

    /// The engine must build, test and be reused without Python: no file below
    /// `src/engine/` may use the `PyO3` crates or reach into the bindings. The needles
    /// are assembled with `concat!` so that this file does not contain them itself.
    #[test]
    fn the_engine_never_uses_pyo3_or_the_bindings() {
        let forbidden = [concat!("py", "o3"), concat!("crate::", "bindings")];
        let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let mut files = Vec::new();
        rust_files(&engine, &mut files);
        assert!(files.len() >= 8, "found only {files:?} under {engine:?}");
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                for needle in forbidden {
                    assert!(
                        !names(line, needle),
                        "{}:{}: the engine uses `{needle}`: {line}",
                        file.display(),
                        number + 1
                    );
                }
            }
        }
    }

    #[test]
    fn a_path_is_told_from_the_tail_of_a_name() {
        let needle = concat!("py", "o3");
        for used in [
            "use X::prelude::*;",
            "X::Python",
            "#[X(get)]",
            "::X::ffi",
            "X_ffi::Y",
        ] {
            assert!(names(&used.replace('X', needle), needle), "{used}");
        }
        assert!(!names(&format!("game_with_{needle}"), needle));
    }
}
