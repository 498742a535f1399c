//! The languages the executors run, and how a block's language tag maps to one.

use std::fmt;

/// A language an executor can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// Python 3 (`python`, `py`, `python3`; run with `python3` unless configured).
    Python,
    /// Bash (`bash`).
    Bash,
    /// POSIX shell (`sh`, `shell`).
    Sh,
}

impl Language {
    /// Maps a block's language tag (case-insensitive, as AutoGen lower-cases it) to a language;
    /// `None` for anything not supported.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Some(Self::Python),
            "bash" => Some(Self::Bash),
            "sh" | "shell" => Some(Self::Sh),
            _ => None,
        }
    }

    /// File extension for a code file of this language.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Python => "py",
            Self::Bash => "bash",
            Self::Sh => "sh",
        }
    }

    /// The default interpreter (looked up on PATH).
    pub fn default_interpreter(self) -> &'static str {
        match self {
            Self::Python => "python3",
            Self::Bash => "bash",
            Self::Sh => "sh",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Python => "python",
            Self::Bash => "bash",
            Self::Sh => "sh",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_case_insensitively() {
        assert_eq!(Language::from_tag("Python"), Some(Language::Python));
        assert_eq!(Language::from_tag("py"), Some(Language::Python));
        assert_eq!(Language::from_tag("shell"), Some(Language::Sh));
        assert_eq!(Language::from_tag("BASH"), Some(Language::Bash));
        assert_eq!(Language::from_tag("rust"), None);
        assert_eq!(Language::from_tag(""), None);
    }
}
