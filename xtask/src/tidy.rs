//! Checks of the tree's own conventions, run as tests (`cargo test -p xtask`), so that they hold
//! without anyone having to remember them.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::files::project_root;

    /// Every Rust file of the project, generated ones included.
    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    rust_files(&path, found);
                }
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }

    /// Each hand-written file opens with a `//!` comment saying why it exists; generated files
    /// open with the `@generated` preamble instead.
    #[test]
    fn every_file_says_why_it_exists() {
        let root = project_root();
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "found only {} Rust files", files.len());
        let mut missing = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let first = text
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default();
            let generated = file
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("generated_"));
            let expected = if generated { "// @generated" } else { "//!" };
            if !first.starts_with(expected) {
                missing.push(
                    file.strip_prefix(&root)
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                );
            }
        }
        assert!(
            missing.is_empty(),
            "files without their opening comment: {missing:?}"
        );
    }
}
