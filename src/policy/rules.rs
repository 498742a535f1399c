//! Compiling `[[policy.rules]]` once, at load: each CEL expression parsed with the strings
//! extension (`split`, `lowerAscii`, …), checked to name only the variables rules see, and
//! kept with its index and effect.

use std::path::Path;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, MapExpr, StructExpr};
use cel::{Env, Program};

use super::PolicyError;
use crate::config::{Effect, Location, PolicyConfig, RuleSource};

/// The variables a rule may name.
pub const VARIABLES: [&str; 2] = ["jwt", "mcp"];

/// The ANTLR parser behind `cel` needs a deep stack in debug builds: rules are compiled on a
/// thread of their own with this much, whatever stack the caller has left.
const COMPILE_STACK: usize = 32 * 1024 * 1024;

/// One compiled rule.
pub struct Rule {
    /// Its place in `[[policy.rules]]`, from 0.
    pub index: usize,
    /// `allow` or `deny`.
    pub effect: Effect,
    /// The expression as written (for `toolyard policy test`; never shown to callers).
    pub source: String,
    pub(super) program: Program,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("index", &self.index)
            .field("effect", &self.effect)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Every rule of a `[policy]` table, compiled, plus its default.
pub struct RuleSet {
    pub(super) env: Arc<Env>,
    /// The rules in file order.
    pub rules: Vec<Rule>,
    /// The effect when no rule matches.
    pub default: Effect,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// Compiles every rule of `config` (read from the file `path`); the first bad one is an
    /// error with its position in that file.
    pub fn compile(config: &PolicyConfig, path: &Path) -> Result<Self, PolicyError> {
        let sources = config.rules.clone();
        let path = path.to_path_buf();
        let compiled = std::thread::Builder::new()
            .name("policy-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn(move || compile_all(&sources, &path))
            .map_err(|source| PolicyError::CompileThread { source })?
            .join()
            .map_err(|_| PolicyError::CompilePanicked)??;
        let (env, rules) = compiled;
        Ok(Self {
            env,
            rules,
            default: config.default,
        })
    }
}

/// The environment rules run in: the standard library plus the strings extension.
fn environment() -> Result<Env, PolicyError> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .map_err(|e| PolicyError::Environment {
            message: e.to_string(),
        })?;
    Ok(env)
}

fn compile_all(sources: &[RuleSource], path: &Path) -> Result<(Arc<Env>, Vec<Rule>), PolicyError> {
    let env = environment()?;
    let rules = sources
        .iter()
        .enumerate()
        .map(|(index, source)| compile_one(&env, index, source, path))
        .collect::<Result<_, _>>()?;
    Ok((Arc::new(env), rules))
}

fn compile_one(
    env: &Env,
    index: usize,
    source: &RuleSource,
    path: &Path,
) -> Result<Rule, PolicyError> {
    let bad = |at: Location, message: String| PolicyError::Rule {
        path: path.to_path_buf(),
        index,
        effect: source.effect,
        at,
        message,
    };
    let program = env.compile(&source.expression).map_err(|errors| {
        let first = errors.errors.first();
        let (line, column) = first.map_or((1, 1), |e| e.pos);
        let message = first.map_or_else(|| errors.to_string(), |e| e.msg.clone());
        bad(place(source.at, line, column), message)
    })?;
    let mut free = Vec::new();
    free_variables(program.expression(), &mut Vec::new(), &mut free);
    if let Some(name) = free.into_iter().find(|v| !VARIABLES.contains(v)) {
        let message = format!("unknown variable `{name}` (rules see `jwt` and `mcp`)");
        return Err(bad(source.at, message));
    }
    Ok(Rule {
        index,
        effect: source.effect,
        source: source.expression.clone(),
        program,
    })
}

/// The identifiers `expr` names that no comprehension (`exists(x, …)`, `map`, …) binds, in
/// the order written.
fn free_variables<'e>(expr: &'e IdedExpr, bound: &mut Vec<&'e str>, out: &mut Vec<&'e str>) {
    match &expr.expr {
        Expr::Ident(name) if !name.starts_with('@') && !bound.contains(&name.as_str()) => {
            out.push(name)
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                free_variables(target, bound, out);
            }
            for arg in &call.args {
                free_variables(arg, bound, out);
            }
        }
        Expr::Comprehension(c) => {
            free_variables(&c.iter_range, bound, out);
            let depth = bound.len();
            bound.push(&c.iter_var);
            bound.extend(c.iter_var2.as_deref());
            bound.push(&c.accu_var);
            for part in [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                free_variables(part, bound, out);
            }
            bound.truncate(depth);
        }
        Expr::List(list) => {
            for e in &list.elements {
                free_variables(e, bound, out);
            }
        }
        Expr::Map(MapExpr { entries }) | Expr::Struct(StructExpr { entries, .. }) => {
            for entry in entries {
                match &entry.expr {
                    EntryExpr::StructField(f) => free_variables(&f.value, bound, out),
                    EntryExpr::MapEntry(e) => {
                        free_variables(&e.key, bound, out);
                        free_variables(&e.value, bound, out);
                    }
                }
            }
        }
        Expr::Select(select) => free_variables(&select.operand, bound, out),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// The place in the config file of CEL position `line`:`column` (both from 1) in an expression
/// whose first character is at `start`.
fn place(start: Location, line: isize, column: isize) -> Location {
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).max(1);
    if line == 1 {
        Location {
            line: start.line,
            column: start.column + column - 1,
        }
    } else {
        Location {
            line: start.line + line - 1,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: &[(Effect, &str)]) -> PolicyConfig {
        PolicyConfig {
            rules: rules
                .iter()
                .map(|(effect, expression)| RuleSource {
                    effect: *effect,
                    expression: expression.to_string(),
                    at: Location {
                        line: 4,
                        column: 10,
                    },
                })
                .collect(),
            ..PolicyConfig::default()
        }
    }

    #[test]
    fn a_syntax_error_points_into_the_config_file() {
        let err = RuleSet::compile(
            &config(&[
                (Effect::Allow, "true"),
                (Effect::Deny, "mcp.tool.name == == 1"),
            ]),
            Path::new("servers.toml"),
        )
        .expect_err("bad rule");
        let PolicyError::Rule { index, at, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*index, 1);
        assert_eq!(at.line, 4);
        assert!(at.column > 10, "{at:?}");
    }

    #[test]
    fn an_unknown_variable_is_refused_at_load() {
        let err = RuleSet::compile(
            &config(&[(Effect::Allow, "jwtt.sub == 'a'")]),
            Path::new("s.toml"),
        )
        .expect_err("unknown variable");
        assert!(err.to_string().contains("`jwtt`"), "{err}");
    }

    #[test]
    fn comprehension_variables_are_not_unknown() {
        RuleSet::compile(
            &config(&[(
                Effect::Allow,
                "jwt.groups.exists(g, g == 'admin') && [1].all(x, x > 0)",
            )]),
            Path::new("s.toml"),
        )
        .expect("compiles");
    }

    #[test]
    fn good_rules_compile() {
        let set = RuleSet::compile(
            &config(&[(
                Effect::Allow,
                r#"mcp.tool.server == "everything" && "mcp:tools" in jwt.scope.split(" ")"#,
            )]),
            Path::new("s.toml"),
        )
        .expect("compiles");
        assert_eq!(set.rules.len(), 1);
    }
}
