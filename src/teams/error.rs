//! `TeamError`: why a team run, reset or state load failed.

use crate::agents::AgentError;
use crate::component::ComponentError;
use crate::termination::TerminationError;

/// Why a team failed.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// A participant failed during its turn.
    #[error("participant `{agent}` failed: {source}")]
    Agent {
        agent: String,
        #[source]
        source: Box<AgentError>,
    },
    /// The run was cancelled; the team can be resumed.
    #[error("team `{team}`: run cancelled")]
    Cancelled { team: String },
    /// Another run of the same team is in progress.
    #[error("team `{team}` is already running")]
    AlreadyRunning { team: String },
    /// The task was invalid (e.g. an empty list of messages).
    #[error("team `{team}`: invalid task: {reason}")]
    Task { team: String, reason: String },
    /// The speaker policy chose a name that is not a participant.
    #[error("team `{team}`: speaker `{speaker}` is not a participant")]
    UnknownSpeaker { team: String, speaker: String },
    /// The speaker policy failed (e.g. the selector model call).
    #[error("team `{team}`: speaker selection failed: {reason}")]
    Selection { team: String, reason: String },
    /// The team was configured wrongly.
    #[error("team `{team}`: invalid configuration: {reason}")]
    Config { team: String, reason: String },
    /// Saved state could not be loaded.
    #[error("team `{team}`: bad state: {reason}")]
    State { team: String, reason: String },
    /// A termination condition failed.
    #[error("team `{team}`: termination: {source}")]
    Termination {
        team: String,
        #[source]
        source: TerminationError,
    },
    /// A component config could not be used.
    #[error(transparent)]
    Component(#[from] ComponentError),
}
