//! The orchestrator's prompts (our own wording of Magentic-One's ledger questions) and the
//! functions that fill them in.

/// The default final-answer prompt; `{task}` is replaced by the task text.
pub const DEFAULT_FINAL_ANSWER_PROMPT: &str = "
The task we have been working on is:
{task}

The work is done. The messages above are the team's conversation while solving it.

Using what the team found, write the final answer to the original request, addressed directly
to the person who asked.
";

/// Asks for the fact sheet of a new task.
pub(super) fn facts(task: &str) -> String {
    format!(
        "A request follows. Before anyone starts on it, fill in the short survey below as well as \
you can, drawing on everything you know.

The request:

{task}

The survey:

    1. Which facts or figures does the request itself state? There may be none.
    2. Which facts still have to be looked up, and where exactly could each be found? The request \
may name its own sources.
    3. Which facts have to be worked out (by reasoning, computation or simulation)?
    4. Which facts come from memory, hunches or reasoned guesses?

Facts here usually mean concrete names, dates, numbers and the like. Answer under exactly these \
headings and no others:

    1. GIVEN OR VERIFIED FACTS
    2. FACTS TO LOOK UP
    3. FACTS TO DERIVE
    4. EDUCATED GUESSES

Do not propose steps or a plan yet.
"
    )
}

/// Asks for a plan for the team.
pub(super) fn plan(team: &str) -> String {
    format!(
        "Thank you. These are the team members available for the request:

{team}

Given who is on the team and what is known and unknown, write a short bullet-point plan for the \
request. Not every member has to take part; leave out anyone whose skills are not needed."
    )
}

/// The task ledger the orchestrator posts to the team.
pub(super) fn ledger(task: &str, team: &str, facts: &str, plan: &str) -> String {
    format!(
        "
This is the request we are working on:

{task}


The team assembled for it:

{team}


What we know so far:

{facts}


The plan to follow as closely as possible:

{plan}
"
    )
}

/// Asks for the progress ledger as JSON.
pub(super) fn progress(task: &str, team: &str, names: &[String]) -> String {
    let names = names.join(", ");
    format!(
        "
As a reminder, the request is:

{task}

And the team is:

{team}

Answer the following questions about where we stand, with your reasoning:

    - Has the request been fully and successfully addressed? (true only if it is completely done)
    - Are we going round in circles, repeating the same requests or getting the same answers? A \
loop can span several turns.
    - Are we moving forward? (true at the start or when recent messages add something; false when \
we are stuck or blocked, for example by a file that cannot be read)
    - Who should speak next? (one of: {names})
    - What instruction or question should that member get? (Speak to them directly and include \
whatever they need to know.)

Reply with one JSON object only, exactly in this shape, with nothing before or after it:

    {{
        \"is_request_satisfied\": {{\"reason\": string, \"answer\": boolean}},
        \"is_in_loop\": {{\"reason\": string, \"answer\": boolean}},
        \"is_progress_being_made\": {{\"reason\": string, \"answer\": boolean}},
        \"next_speaker\": {{\"reason\": string, \"answer\": string (one of: {names})}},
        \"instruction_or_question\": {{\"reason\": string, \"answer\": string}}
    }}
"
    )
}

/// Asks for a revised fact sheet after the team stalled.
pub(super) fn facts_update(task: &str, facts: &str) -> String {
    format!(
        "Remember, the task is:

{task}

We are not getting as far as we hoped, but we have probably learned something along the way. \
Rewrite the fact sheet below with anything new that helps: add guesses, promote guesses that \
turned out true to verified facts, and so on, in any section. Please add or revise at least one \
educated guess and say why.

The current fact sheet:

{facts}
"
    )
}

/// Asks for a revised plan after the team stalled.
pub(super) fn plan_update(team: &str) -> String {
    format!(
        "Say briefly what went wrong in the last attempt and why, then write a new short \
bullet-point plan that works around those problems and does not repeat the same mistakes. Use \
only this team (nobody else can be contacted):

{team}
"
    )
}

/// The final-answer prompt with `{task}` filled in (a prompt without `{task}` is used as is).
pub(super) fn final_answer(prompt: &str, task: &str) -> String {
    prompt.replace("{task}", task)
}

/// One `name: description` line per participant, whitespace collapsed.
pub(super) fn team_description<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    members
        .map(|(name, description)| {
            format!("{name}: {description}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_in_the_prompts() {
        let team = team_description([("alice", "reads\n  files"), ("bob", "codes")].into_iter());
        assert_eq!(team, "alice: reads files\nbob: codes");
        let names = vec!["alice".to_string(), "bob".to_string()];
        let p = progress("sum it", &team, &names);
        assert!(p.contains("sum it") && p.contains("one of: alice, bob"));
        assert!(p.contains("{\"reason\": string, \"answer\": boolean}"));
        assert_eq!(final_answer("T={task}.", "x"), "T=x.");
        assert_eq!(final_answer("no placeholder", "x"), "no placeholder");
    }
}
