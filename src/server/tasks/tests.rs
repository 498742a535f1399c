//! Unit tests of the task store: TTL, task support, input answered in parts.

use std::time::Duration;

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitationSchema, InputRequest, InputRequests,
    InputResponses, JsonObject, TaskPayload, TaskStatus,
};
use serde_json::json;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::workbench::ToolSpec;

fn new_task(ttl_ms: Option<u64>) -> NewTask {
    NewTask {
        ttl_ms,
        owner: None,
        relay: None,
    }
}

fn question(key: &str) -> (String, InputRequest) {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: key.into(),
        requested_schema: ElicitationSchema::builder()
            .required_string("answer")
            .build()
            .unwrap(),
    };
    (
        key.to_string(),
        InputRequest::Elicitation(ElicitRequest::new(params)),
    )
}

async fn until(mut check: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition never held");
}

#[test]
fn task_support_is_read_from_the_execution_extra() {
    let tool = rmcp::model::Tool::new("t", "d", JsonObject::new());
    let mut spec = ToolSpec::new(tool);
    assert_eq!(TaskSupport::of(&spec), TaskSupport::Forbidden);
    for support in [
        TaskSupport::Optional,
        TaskSupport::Required,
        TaskSupport::Forbidden,
    ] {
        spec.extra = support.extra();
        assert_eq!(TaskSupport::of(&spec), support);
    }
}

#[tokio::test]
async fn an_expired_task_is_dropped_and_its_run_cancelled() {
    let store = TaskStore::default();
    let token = store.run_token();
    let (task, _sink) = store.create(new_task(Some(1)), token.clone());
    assert_eq!(task.ttl_ms, Some(1));
    // The store's sweeper drops it without anyone asking.
    token.cancelled().await;
    assert!(store.detailed(&task.task_id).is_err());
    assert_eq!(store.running(), 0);
}

#[tokio::test]
async fn ttl_is_capped_and_defaulted() {
    let store = TaskStore::default();
    let (long, _s) = store.create(new_task(Some(u64::MAX)), store.run_token());
    assert_eq!(long.ttl_ms, Some(MAX_TTL_MS));
    let (default, _s) = store.create(new_task(None), store.run_token());
    assert_eq!(default.ttl_ms, Some(DEFAULT_TTL_MS));
    store.shutdown().await;
    assert_eq!(store.running(), 0);
}

#[tokio::test]
async fn input_is_answered_in_parts_under_task_unique_keys() {
    let store = TaskStore::default();
    let (task, mut sink) = store.create(new_task(None), store.run_token());
    let (reply, answered) = oneshot::channel();
    let requests: InputRequests = [question("a"), question("b")].into_iter().collect();
    assert!(
        sink.ask(requests, reply, CancellationToken::new())
            .is_none()
    );
    let id = task.task_id.clone();
    until(|| {
        store
            .detailed(&id)
            .is_ok_and(|t| t.status() == TaskStatus::InputRequired)
    })
    .await;
    let TaskPayload::InputRequired { input_requests } = store.detailed(&id).unwrap().payload else {
        panic!("not input_required");
    };
    let mut keys: Vec<String> = input_requests.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["1-a", "2-b"]);

    let mut first = InputResponses::new();
    first.insert("1-a".into(), json!({"action": "accept"}));
    first.insert("unasked".into(), json!({}));
    store.update(&id, first).unwrap();
    let TaskPayload::InputRequired { input_requests } = store.detailed(&id).unwrap().payload else {
        panic!("should still wait for b");
    };
    assert_eq!(input_requests.keys().collect::<Vec<_>>(), ["2-b"]);

    let mut second = InputResponses::new();
    second.insert("2-b".into(), json!({"action": "decline"}));
    store.update(&id, second).unwrap();
    let answers = answered.await.unwrap().unwrap();
    assert_eq!(answers["a"], json!({"action": "accept"}));
    assert_eq!(answers["b"], json!({"action": "decline"}));
    assert_eq!(store.detailed(&id).unwrap().status(), TaskStatus::Working);
    store.cancel(&id, None, false).unwrap();
    assert_eq!(store.detailed(&id).unwrap().status(), TaskStatus::Cancelled);
}

#[tokio::test]
async fn a_second_question_waits_next_to_the_first() {
    let store = TaskStore::default();
    let (task, mut sink) = store.create(new_task(None), store.run_token());
    let (first, first_answered) = oneshot::channel();
    let (second, second_answered) = oneshot::channel();
    let token = CancellationToken::new();
    sink.ask([question("x")].into_iter().collect(), first, token.clone());
    sink.ask([question("x")].into_iter().collect(), second, token);
    let TaskPayload::InputRequired { input_requests } =
        store.detailed(&task.task_id).unwrap().payload
    else {
        panic!("not input_required");
    };
    let mut keys: Vec<String> = input_requests.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["1-x", "2-x"]);
    let mut answers = InputResponses::new();
    answers.insert("2-x".into(), json!(2));
    store.update(&task.task_id, answers).unwrap();
    assert_eq!(second_answered.await.unwrap().unwrap()["x"], json!(2));
    let mut answers = InputResponses::new();
    answers.insert("1-x".into(), json!(1));
    store.update(&task.task_id, answers).unwrap();
    assert_eq!(first_answered.await.unwrap().unwrap()["x"], json!(1));
}
