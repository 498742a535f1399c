//! Polling a workbench folder for changes (about once a second, by file name, size and mtime).

use std::path::Path;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::file::folder_files;
use super::served::WorkbenchSet;

/// How often the folder is looked at.
const INTERVAL: Duration = Duration::from_secs(1);

type Signature = Vec<(std::path::PathBuf, u64, Option<SystemTime>)>;

fn signature(dir: &Path) -> Signature {
    folder_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}

/// Reloads the set whenever the folder's signature changes, until shutdown or the set is gone.
pub(super) async fn poll(set: Weak<WorkbenchSet>, shutdown: CancellationToken) {
    let Some(dir) = set.upgrade().map(|s| s.dir().to_path_buf()) else {
        return;
    };
    let mut last = signature(&dir);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
        let now = signature(&dir);
        if now != last {
            last = now;
            match set.upgrade() {
                Some(s) => s.refresh().await,
                None => return,
            }
        }
    }
}
