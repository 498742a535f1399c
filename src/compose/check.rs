//! `toolyard check` for a workbench folder: unreadable or bad files, unknown keys, unknown model
//! names, unknown servers or tools in `workbench = [..]`, components that do not load (unknown
//! providers, bad `McpWorkbench` params), duplicate tool names, and cycles of workbench tools
//! calling each other. Each problem names file and field, with a "did you mean" hint for a name
//! close to a known one. `toolyard serve` leaves out files with [`runnable_problems`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::WorkbenchesError;
use super::file::{WorkbenchFile, folder_files};
use super::models::ModelTable;
use super::prepare::{Mode, Reference, build, no_input_channel, references, unknown_model};
use crate::component::suggest::hint;

/// One thing wrong with a workbench file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// The field (dotted path inside the file), `(file)` for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path.display(),
            self.field,
            self.message
        )
    }
}

impl From<WorkbenchesError> for Problem {
    fn from(e: WorkbenchesError) -> Self {
        match e {
            WorkbenchesError::File {
                path,
                field,
                message,
            } => Self {
                path,
                field,
                message,
            },
            WorkbenchesError::Io { path, source } => Self {
                path,
                field: "(file)".into(),
                message: source.to_string(),
            },
            other @ WorkbenchesError::Model { .. } => Self {
                path: PathBuf::from("servers.toml"),
                field: "models".into(),
                message: other.to_string(),
            },
        }
    }
}

/// What the gateway offers for `workbench = [..]` lists to name.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Upstream server names.
    pub servers: Vec<String>,
    /// Served tool names (upstream and workbench tools).
    pub tools: Vec<String>,
}

/// The result of checking a folder.
#[derive(Debug, Default)]
pub struct FolderCheck {
    /// Every workbench file of the folder (`*.json`, `*.toml`), parsed or not.
    pub paths: Vec<PathBuf>,
    /// The files that parsed.
    pub files: Vec<WorkbenchFile>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

impl FolderCheck {
    /// The files that parsed and have no problem.
    pub fn ok(&self) -> impl Iterator<Item = &WorkbenchFile> {
        self.files
            .iter()
            .filter(|f| self.problems.iter().all(|p| p.path != f.path))
    }
}

/// Checks every file of `dir`: every file found, the ones that parsed, and every problem.
pub fn check_folder(dir: &Path, models: &ModelTable, known: &Known) -> FolderCheck {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let paths = match folder_files(dir) {
        Ok(paths) => paths,
        Err(e) => {
            problems.push(e.into());
            Vec::new()
        }
    };
    for path in &paths {
        match WorkbenchFile::load_all(path) {
            Ok(f) => files.push(f),
            Err(e) => problems.extend(e.into_iter().map(Problem::from)),
        }
    }
    let mut owners: BTreeMap<&str, &Path> = BTreeMap::new();
    for f in &files {
        if let Some(first) = owners.insert(&f.name, &f.path) {
            problems.push(Problem {
                path: f.path.clone(),
                field: "name".into(),
                message: format!("tool name `{}` is also used by {}", f.name, first.display()),
            });
        }
    }
    let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    for f in &files {
        problems.extend(check_file(f, models, known, &names));
    }
    problems.extend(cycles(&files).into_iter().map(Problem::from));
    FolderCheck {
        paths,
        files,
        problems,
    }
}

/// What keeps a parsed file from running whatever the gateway serves: unknown model names, and
/// a component that does not load (unknown provider, bad config, bad `McpWorkbench` params).
pub fn runnable_problems(file: &WorkbenchFile, models: &ModelTable) -> Vec<Problem> {
    let mut problems = Vec::new();
    for r in references(file) {
        if let Reference::Model { field, name } = r
            && !models.contains(&name)
        {
            problems.push(Problem {
                path: file.path.clone(),
                field,
                message: unknown_model(&name, models),
            });
        }
    }
    if let Err(e) = build(file, &Mode::Check, no_input_channel()) {
        problems.push(e.into());
    }
    problems
}

fn check_file(
    file: &WorkbenchFile,
    models: &ModelTable,
    known: &Known,
    workbench_names: &BTreeSet<&str>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for r in references(file) {
        let Reference::View { field, entries } = r else {
            continue;
        };
        for e in entries {
            if workbench_names.contains(e.as_str())
                || known.servers.contains(&e)
                || known.tools.contains(&e)
            {
                continue;
            }
            let names = known
                .servers
                .iter()
                .chain(&known.tools)
                .map(String::as_str)
                .chain(workbench_names.iter().copied());
            problems.push(Problem {
                path: file.path.clone(),
                field: field.clone(),
                message: format!(
                    "unknown server or tool `{e}`{} (servers: {})",
                    hint(&e, names),
                    known.servers.join(", ")
                ),
            });
        }
    }
    problems.extend(runnable_problems(file, models));
    problems
}

/// Which workbench tools each file's views name, with the field naming them.
fn call_graph(files: &[WorkbenchFile]) -> BTreeMap<String, Vec<(String, String)>> {
    let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut calls: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in files {
        for r in references(f) {
            if let Reference::View { field, entries } = r {
                for e in entries.into_iter().filter(|e| names.contains(e.as_str())) {
                    calls
                        .entry(f.name.clone())
                        .or_default()
                        .push((e, field.clone()));
                }
            }
        }
    }
    calls
}

/// A cycle of workbench tools reaching themselves through `workbench = [..]` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The file the cycle is reported on (its first member in file order).
    pub path: PathBuf,
    /// The field of that file naming the next member.
    pub field: String,
    /// The tool names around the cycle, the first repeated at the end.
    pub chain: Vec<String>,
}

impl From<Cycle> for Problem {
    fn from(c: Cycle) -> Self {
        Self {
            path: c.path,
            field: c.field,
            message: format!(
                "a cycle of team tools calling themselves: {}",
                c.chain.join(" → ")
            ),
        }
    }
}

/// Every cycle among `files`, once each.
pub fn cycles(files: &[WorkbenchFile]) -> Vec<Cycle> {
    let calls = call_graph(files);
    let mut found = Vec::new();
    let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for f in files {
        let mut path = vec![f.name.clone()];
        if let Some(chain) = find_cycle(&f.name, &calls, &mut path) {
            if !reported.insert(chain.iter().cloned().collect()) {
                continue;
            }
            let field = calls
                .get(&f.name)
                .and_then(|c| c.first())
                .map(|(_, field)| field.clone())
                .unwrap_or_else(|| "workbench".into());
            found.push(Cycle {
                path: f.path.clone(),
                field,
                chain,
            });
        }
    }
    found
}

fn find_cycle(
    start: &str,
    calls: &BTreeMap<String, Vec<(String, String)>>,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let current = path.last()?.clone();
    for (next, _) in calls.get(&current).map(Vec::as_slice).unwrap_or_default() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if path.contains(next) {
            continue;
        }
        path.push(next.clone());
        if let Some(c) = find_cycle(start, calls, path) {
            return Some(c);
        }
        path.pop();
    }
    None
}
