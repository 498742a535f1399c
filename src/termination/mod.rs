//! Termination conditions (AutoGen `TerminationCondition`) and their `|` / `&` algebra.
//!
//! A condition is called with the messages produced since its last call (the delta) and answers
//! with a `StopMessage` when the conversation should stop; `reset` re-arms it for the next run.

mod combinators;
mod conditions;
mod external;
mod load;

use async_trait::async_trait;

pub use combinators::{AndTermination, OrTermination};
pub use conditions::{
    FunctionCallTermination, FunctionalTermination, HandoffTermination, MaxMessageTermination,
    SourceMatchTermination, StopMessageTermination, TextMentionTermination, TextMessageTermination,
    TimeoutTermination, TokenUsageTermination,
};
pub use external::{ExternalHandle, ExternalTermination};
pub use load::load_termination;

use crate::component::{ComponentError, ComponentModel};
use crate::messages::{AgentMessage, TextBody};

/// Why a termination check failed.
#[derive(Debug, thiserror::Error)]
pub enum TerminationError {
    /// The condition already fired and was not reset.
    #[error("termination condition `{condition}` has already been reached")]
    AlreadyTerminated { condition: String },
    /// A condition was configured wrongly.
    #[error("invalid termination condition `{condition}`: {reason}")]
    Invalid { condition: String, reason: String },
}

/// A stop condition for a run.
#[async_trait]
pub trait TerminationCondition: Send + Sync {
    /// Short name (used in errors).
    fn name(&self) -> &'static str;

    /// Whether the condition has fired and not been reset.
    fn terminated(&self) -> bool;

    /// Looks at the new messages; `Some(stop)` when the run should stop.
    async fn check(
        &mut self,
        messages: &[AgentMessage],
    ) -> Result<Option<TextBody>, TerminationError>;

    /// Re-arms the condition.
    async fn reset(&mut self);

    /// The component config that recreates the condition.
    fn dump_component(&self) -> Result<ComponentModel, ComponentError>;
}

/// A boxed condition; `|` and `&` compose conditions with AutoGen's OR / AND semantics.
pub struct Termination(pub Box<dyn TerminationCondition>);

impl std::fmt::Debug for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Termination({})", self.0.name())
    }
}

impl Termination {
    /// Boxes a condition.
    pub fn new(condition: impl TerminationCondition + 'static) -> Self {
        Self(Box::new(condition))
    }
}

#[async_trait]
impl TerminationCondition for Termination {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn terminated(&self) -> bool {
        self.0.terminated()
    }

    async fn check(
        &mut self,
        messages: &[AgentMessage],
    ) -> Result<Option<TextBody>, TerminationError> {
        self.0.check(messages).await
    }

    async fn reset(&mut self) {
        self.0.reset().await
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        self.0.dump_component()
    }
}

impl<R: Into<Termination>> std::ops::BitOr<R> for Termination {
    type Output = Termination;

    fn bitor(self, rhs: R) -> Termination {
        Termination::new(OrTermination::new(vec![self, rhs.into()]))
    }
}

impl<R: Into<Termination>> std::ops::BitAnd<R> for Termination {
    type Output = Termination;

    fn bitand(self, rhs: R) -> Termination {
        Termination::new(AndTermination::new(vec![self, rhs.into()]))
    }
}

/// Lets every concrete condition be boxed with `.into()` and composed with `|` / `&` directly.
macro_rules! composable {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Termination {
            fn from(c: $ty) -> Self {
                Termination::new(c)
            }
        }
        impl<R: Into<Termination>> std::ops::BitOr<R> for $ty {
            type Output = Termination;
            fn bitor(self, rhs: R) -> Termination {
                Termination::from(self) | rhs
            }
        }
        impl<R: Into<Termination>> std::ops::BitAnd<R> for $ty {
            type Output = Termination;
            fn bitand(self, rhs: R) -> Termination {
                Termination::from(self) & rhs
            }
        }
    )*};
}

composable!(
    MaxMessageTermination,
    TextMentionTermination,
    TokenUsageTermination,
    TimeoutTermination,
    HandoffTermination,
    SourceMatchTermination,
    ExternalTermination,
    StopMessageTermination,
    TextMessageTermination,
    FunctionCallTermination,
    FunctionalTermination,
    OrTermination,
    AndTermination,
);

/// The stop message a condition answers with.
pub(crate) fn stop(source: &str, content: String) -> Option<TextBody> {
    Some(TextBody::new(source, content))
}

/// The error for a check on a condition that already fired.
pub(crate) fn already(condition: &str) -> TerminationError {
    TerminationError::AlreadyTerminated {
        condition: condition.to_string(),
    }
}
