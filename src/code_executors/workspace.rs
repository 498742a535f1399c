//! The work dir: where code files are written and which files a run created.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::CodeExecutorError;
use super::language::Language;

/// Most files looked at when listing a work dir (a run that creates more reports only these).
const MAX_LISTED_FILES: usize = 10_000;
/// Deepest directory level listed.
const MAX_DEPTH: usize = 16;

/// A host work dir; a temporary one (no dir configured) is removed by [`WorkDir::remove_if_temp`].
#[derive(Debug, Clone)]
pub struct WorkDir {
    path: PathBuf,
    temporary: bool,
}

impl WorkDir {
    /// Uses `configured` (created if missing), or makes a fresh temporary dir.
    pub fn prepare(configured: Option<&Path>) -> Result<Self, CodeExecutorError> {
        let (path, temporary) = match configured {
            Some(p) => (p.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!("toolyard-code-{}", uuid::Uuid::new_v4())),
                true,
            ),
        };
        std::fs::create_dir_all(&path).map_err(|e| CodeExecutorError::io(&path, e))?;
        let path = path
            .canonicalize()
            .map_err(|e| CodeExecutorError::io(&path, e))?;
        Ok(Self { path, temporary })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the dir when it is a temporary one.
    pub fn remove_if_temp(&self) {
        if self.temporary
            && let Err(e) = std::fs::remove_dir_all(&self.path)
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove temporary work dir");
        }
    }
}

/// Where a block's code goes, relative to the work dir: the `# filename: NAME` of its first line
/// (AutoGen convention) or `tmp_code_<sha256>.<ext>`. `Err` carries the message for a name that
/// leaves the work dir.
pub fn code_file_name(code: &str, language: Language) -> Result<PathBuf, String> {
    let first = code.split('\n').next().unwrap_or_default();
    if let Some(rest) = first.strip_prefix("# filename:") {
        let name = rest.split(':').next().unwrap_or_default().trim();
        return contained(Path::new(name)).ok_or_else(|| "Filename is not in the workspace".into());
    }
    let digest = hex::encode(Sha256::digest(code.as_bytes()));
    Ok(PathBuf::from(format!(
        "tmp_code_{digest}.{}",
        language.extension()
    )))
}

/// `name` as a normalised relative path when it stays inside the work dir.
fn contained(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in name.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Writes `code` to `relative` inside `dir` (parents created) and returns the full path.
pub fn write_code_file(
    dir: &Path,
    relative: &Path,
    code: &str,
) -> Result<PathBuf, CodeExecutorError> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CodeExecutorError::io(parent, e))?;
    }
    std::fs::write(&path, code).map_err(|e| CodeExecutorError::io(&path, e))?;
    Ok(path)
}

/// The regular files under `dir`, as paths relative to it (bounded in count and depth).
pub fn list_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    while let Some((current, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            if found.len() >= MAX_LISTED_FILES {
                return found;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() && depth < MAX_DEPTH {
                pending.push((path, depth + 1));
            } else if kind.is_file()
                && let Ok(rel) = path.strip_prefix(dir)
            {
                found.insert(rel.to_path_buf());
            }
        }
    }
    found
}

/// Files in `after` but not in `before`, minus the code files, as full paths under `dir`.
pub fn created_files(
    dir: &Path,
    before: &BTreeSet<PathBuf>,
    after: &BTreeSet<PathBuf>,
    code_files: &[PathBuf],
) -> Vec<PathBuf> {
    after
        .difference(before)
        .map(|rel| dir.join(rel))
        .filter(|p| !code_files.contains(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_hash_with_extension() {
        let name = code_file_name("print(1)", Language::Python).expect("name");
        let text = name.to_string_lossy();
        assert!(
            text.starts_with("tmp_code_") && text.ends_with(".py"),
            "{text}"
        );
        assert_eq!(
            name,
            code_file_name("print(1)", Language::Python).expect("same")
        );
    }

    #[test]
    fn filename_comment_is_used_when_inside() {
        assert_eq!(
            code_file_name("# filename: sub/../a.py\nprint(1)", Language::Python),
            Ok(PathBuf::from("a.py"))
        );
        assert!(code_file_name("# filename: ../x.py\n", Language::Python).is_err());
        assert!(code_file_name("# filename: /etc/x.py\n", Language::Python).is_err());
    }

    #[test]
    fn created_files_excludes_code_and_old_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("old"), "x").expect("write");
        let before = list_files(dir.path());
        let code = write_code_file(dir.path(), Path::new("c.py"), "1").expect("code");
        std::fs::create_dir(dir.path().join("d")).expect("mkdir");
        std::fs::write(dir.path().join("d/new.txt"), "y").expect("write");
        let after = list_files(dir.path());
        assert_eq!(
            created_files(dir.path(), &before, &after, &[code]),
            vec![dir.path().join("d/new.txt")]
        );
    }
}
