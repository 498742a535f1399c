//! `${VAR}` interpolation of config strings from the process environment.

/// A `${VAR}` reference whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar(pub String);

/// Replace every `${NAME}` in `input` with the value of the environment variable `NAME`.
///
/// `$$` stands for a literal `$`. A `$` not followed by `{` or `$` is kept as it is.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, MissingVar> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.push_str(&rest[pos..]);
                return Ok(out);
            };
            let name = &body[..end];
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => return Err(MissingVar(name.to_string())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Look a variable up in the process environment. `TOOLYARD_EXE`, when the environment does
/// not set it, is the running executable: a config can start toolyard's own subcommands (e.g.
/// `demo-server`) wherever toolyard was launched from, with no PATH lookup.
pub fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().or_else(|| {
        (name == super::TOOLYARD_EXE)
            .then(std::env::current_exe)
            .and_then(Result::ok)
            .map(|p| p.to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_known_variables() {
        assert_eq!(interpolate("Bearer ${TOKEN}", &vars).unwrap(), "Bearer abc");
        assert_eq!(
            interpolate("${TOKEN}${EMPTY}-${TOKEN}", &vars).unwrap(),
            "abc-abc"
        );
    }

    #[test]
    fn missing_variable_is_named() {
        assert_eq!(
            interpolate("x ${NOPE} y", &vars),
            Err(MissingVar("NOPE".into()))
        );
    }

    #[test]
    fn toolyard_exe_defaults_to_the_running_executable() {
        let exe = std::env::current_exe().expect("current exe");
        let expected = exe.to_string_lossy();
        if std::env::var_os(crate::config::TOOLYARD_EXE).is_none() {
            assert_eq!(
                from_env(crate::config::TOOLYARD_EXE).as_deref(),
                Some(&*expected)
            );
        }
    }

    #[test]
    fn dollar_escapes_and_plain_dollars_are_kept() {
        assert_eq!(
            interpolate("$$HOME costs $5", &vars).unwrap(),
            "$HOME costs $5"
        );
        assert_eq!(
            interpolate("unterminated ${X", &vars).unwrap(),
            "unterminated ${X"
        );
    }
}
