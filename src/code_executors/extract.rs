//! Markdown code-block extraction with AutoGen 0.7.5 `CodeExecutorAgent` semantics.
//!
//! AutoGen's pattern is ```` ```(?:\s*(LANGS))\n([\s\S]*?)``` ```` (case-insensitive), where
//! LANGS is the escaped alternation of the supported languages: the language tag must be one of
//! them and be followed directly by a newline; fences with another (or no) tag are ignored; the
//! code is everything up to the next ```` ``` ````, its trailing newline included.

use regex::{Regex, RegexBuilder};

use super::error::CodeExecutorError;
use super::executor::CodeBlock;

/// The language tags extracted by default: python, py, bash, sh, shell.
pub const DEFAULT_LANGUAGES: &[&str] = &["python", "py", "bash", "sh", "shell"];

/// Extracts the code blocks tagged with one of [`DEFAULT_LANGUAGES`].
pub fn extract_code_blocks(markdown: &str) -> Vec<CodeBlock> {
    match block_pattern(DEFAULT_LANGUAGES) {
        Ok(pattern) => extract_with_pattern(&pattern, markdown),
        // The default pattern is a fixed, valid regex; an error here would be a bug, and an
        // empty result is the safe answer.
        Err(_) => Vec::new(),
    }
}

/// Extracts the code blocks tagged with one of `languages` (matched case-insensitively).
pub fn extract_code_blocks_with(
    markdown: &str,
    languages: &[impl AsRef<str>],
) -> Result<Vec<CodeBlock>, CodeExecutorError> {
    let pattern = block_pattern(languages)?;
    Ok(extract_with_pattern(&pattern, markdown))
}

/// Builds AutoGen's fenced-block pattern for `languages`.
fn block_pattern(languages: &[impl AsRef<str>]) -> Result<Regex, CodeExecutorError> {
    if languages.is_empty() {
        return Err(CodeExecutorError::Config {
            reason: "supported_languages is empty".into(),
        });
    }
    let alternation = languages
        .iter()
        .map(|l| regex::escape(l.as_ref()))
        .collect::<Vec<_>>()
        .join("|");
    RegexBuilder::new(&format!(r"```(?:\s*({alternation}))\n([\s\S]*?)```"))
        .case_insensitive(true)
        .build()
        .map_err(|e| CodeExecutorError::Config {
            reason: format!("bad supported_languages: {e}"),
        })
}

fn extract_with_pattern(pattern: &Regex, markdown: &str) -> Vec<CodeBlock> {
    pattern
        .captures_iter(markdown)
        .map(|c| CodeBlock {
            language: c.get(1).map_or("", |m| m.as_str()).trim().to_string(),
            code: c.get(2).map_or("", |m| m.as_str()).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(language: &str, code: &str) -> CodeBlock {
        CodeBlock {
            language: language.into(),
            code: code.into(),
        }
    }

    #[test]
    fn extracts_supported_fences_in_order_and_ignores_others() {
        let md = "Run this:\n```python\nprint(1)\n```\nnot this:\n```rust\nfn main() {}\n```\n\
                  and\n```sh\necho hi\n```\n```shell\nls\n```\n```py\nx = 2\n```\n```bash\npwd\n```";
        assert_eq!(
            extract_code_blocks(md),
            vec![
                block("python", "print(1)\n"),
                block("sh", "echo hi\n"),
                block("shell", "ls\n"),
                block("py", "x = 2\n"),
                block("bash", "pwd\n"),
            ]
        );
    }

    #[test]
    fn untagged_fences_and_tags_with_trailing_text_are_ignored() {
        assert!(extract_code_blocks("```\nprint(1)\n```").is_empty());
        assert!(extract_code_blocks("```python title=x\nprint(1)\n```").is_empty());
        assert!(extract_code_blocks("```pyx\nprint(1)\n```").is_empty());
    }

    #[test]
    fn tags_match_case_insensitively_and_keep_their_case() {
        assert_eq!(
            extract_code_blocks("```Python\nprint(1)\n```"),
            vec![block("Python", "print(1)\n")]
        );
    }

    #[test]
    fn custom_language_list_is_escaped() {
        let blocks = extract_code_blocks_with("```c++\nint x;\n```\n```python\n1\n```", &["c++"])
            .expect("valid list");
        assert_eq!(blocks, vec![block("c++", "int x;\n")]);
        assert!(extract_code_blocks_with("x", &[] as &[&str]).is_err());
    }

    #[test]
    fn unterminated_fence_yields_nothing() {
        assert!(extract_code_blocks("```python\nprint(1)\n").is_empty());
    }
}
