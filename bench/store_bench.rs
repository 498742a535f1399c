//! The cost of keeping conversations (bench/store.sh): a two-agent round robin served as a
//! workbench tool (`WorkbenchSet::call_tool`, in process, on the scripted model server) called
//! with no store, with `memory://`, with SQLite (a WAL file in a temp dir) and with PostgreSQL
//! (when a URL is given), interleaved in rounds; each call starts a new conversation (created
//! leased, state saved after the run). Then the store alone: lease + save of the same state
//! document (a continued conversation's store work). Prints one JSON object.
//!
//! `store_bench <calls per round> <rounds> [postgres://...]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use toolyard::compose::{Conversations, ModelTable, WorkbenchSet};
use toolyard::config::StoreUrl;
use toolyard::models::scripted::{Script, ScriptedServer, Step};
use toolyard::store::{Saved, Store};
use toolyard::workbench::{CallContext, Workbench};

const TTL: Duration = Duration::from_secs(3600);

fn team_file(base_url: &str) -> String {
    let client = format!(
        "{{ provider = \"openai\", config = {{ model = \"gpt-4o\", base_url = \"{base_url}\", api_key = \"x\" }} }}"
    );
    let agent = |name: &str| {
        format!(
            "[[config.participants]]\nprovider = \"autogen_agentchat.agents.AssistantAgent\"\n\
             [config.participants.config]\nname = \"{name}\"\nmodel_client = {client}\n\
             system_message = \"You are {name}.\"\n"
        )
    };
    format!(
        "provider = \"autogen_agentchat.teams.RoundRobinGroupChat\"\ncomponent_type = \"team\"\n\
         [toolyard]\ndescription = \"bench\"\n[config]\nname = \"pair\"\n{}\n{}\n\
         [config.termination_condition]\n\
         provider = \"autogen_agentchat.conditions.MaxMessageTermination\"\n\
         config = {{ max_messages = 3 }}\n",
        agent("alpha"),
        agent("beta")
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// One configuration: its name and its served set.
struct Case {
    name: &'static str,
    set: Arc<WorkbenchSet>,
    store: Option<Store>,
    micros: Vec<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 3,
        "usage: store_bench <calls per round> <rounds> [postgres://...]"
    );
    let calls: usize = args[1].parse()?;
    let rounds: usize = args[2].parse()?;
    let mut script = Script::steps(vec![Step::text("ok")]);
    script.record = false;
    let model = ScriptedServer::start(script).await?;
    let dir = tempfile::tempdir()?;
    let files = dir.path().join("workbenches");
    std::fs::create_dir(&files)?;
    std::fs::write(files.join("pair.toml"), team_file(&model.openai_base_url()))?;

    let mut stores: Vec<(&'static str, Option<StoreUrl>)> = vec![
        ("none", None),
        ("memory", Some(StoreUrl::Memory)),
        (
            "sqlite",
            Some(StoreUrl::Sqlite(dir.path().join("state.db"))),
        ),
    ];
    if let Some(url) = args.get(3) {
        stores.push(("postgres", Some(StoreUrl::Postgres(url.clone()))));
    }
    let mut cases = Vec::new();
    for (name, url) in stores {
        let set = WorkbenchSet::load_without_input(&files, Arc::new(ModelTable::default()));
        let store = match url {
            Some(url) => {
                let store = Store::open(&url).await?;
                set.keep_conversations(Arc::new(Conversations::new(store.clone(), TTL)));
                Some(store)
            }
            None => None,
        };
        cases.push(Case {
            name,
            set,
            store,
            micros: Vec::new(),
        });
    }
    let args = json!({"task": "Go"}).as_object().cloned();
    // Warm-up, then rounds that interleave the cases.
    for case in &cases {
        for _ in 0..calls.min(20) {
            case.set
                .call_tool("pair", args.clone(), CallContext::default())
                .await?;
        }
    }
    for _ in 0..rounds {
        for case in &mut cases {
            for _ in 0..calls {
                let start = Instant::now();
                let result = case
                    .set
                    .call_tool("pair", args.clone(), CallContext::default())
                    .await?;
                case.micros.push(start.elapsed().as_secs_f64() * 1e6);
                anyhow::ensure!(result.is_error != Some(true), "{result:?}");
            }
        }
    }
    let baseline = median(cases[0].micros.clone());
    let mut rows = Vec::new();
    for case in &cases {
        let p50 = median(case.micros.clone());
        rows.push(json!({
            "store": case.name,
            "call_p50_us": p50,
            "call_p99_us": percentile(case.micros.clone(), 0.99),
            "added_p50_us": p50 - baseline,
        }));
    }
    // The store alone: a continued conversation's lease + save of a real team state document.
    let state = team_state(&cases).await?;
    let mut alone = Vec::new();
    for case in &cases {
        let Some(store) = &case.store else { continue };
        let mut micros = Vec::new();
        for i in 0..calls * rounds {
            let id = format!("bench-{}-{i}", case.name);
            let lease = store.create_conversation(&id, "pair", "", TTL, TTL).await?;
            store
                .save_conversation(
                    lease,
                    Saved {
                        state: &state,
                        messages: 3,
                        ttl: TTL,
                    },
                )
                .await?;
            let start = Instant::now();
            let (_, lease) = store.lease_conversation(&id, "pair", "", TTL).await?;
            store
                .save_conversation(
                    lease,
                    Saved {
                        state: &state,
                        messages: 3,
                        ttl: TTL,
                    },
                )
                .await?;
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
        alone.push(json!({
            "store": case.name,
            "lease_and_save_p50_us": median(micros.clone()),
            "lease_and_save_p99_us": percentile(micros, 0.99),
        }));
    }
    for case in &cases {
        case.set.shutdown().await;
    }
    println!(
        "{}",
        json!({
            "calls": calls * rounds,
            "state_bytes": state.to_string().len(),
            "served_call": rows,
            "store_alone": alone,
        })
    );
    Ok(())
}

/// The state document one call of the bench team saves (read back from the memory store).
async fn team_state(cases: &[Case]) -> anyhow::Result<Value> {
    let case = cases
        .iter()
        .find(|c| c.name == "memory")
        .ok_or_else(|| anyhow::anyhow!("no memory case"))?;
    let store = case
        .store
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no store"))?;
    let listed = store.list_conversations(None).await?;
    let first = listed
        .first()
        .ok_or_else(|| anyhow::anyhow!("no conversation"))?;
    let (conversation, lease) = store.lease_conversation(&first.id, "pair", "", TTL).await?;
    store.release_conversation(lease).await?;
    Ok(conversation.state)
}
