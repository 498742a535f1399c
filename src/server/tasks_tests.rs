//! Unit tests of the task store: TTL, task support, input answered in parts.

use super::*;
use rmcp::model::{ElicitRequest, ElicitRequestParams, ElicitationSchema, InputRequest};

fn new_task(ttl_ms: Option<u64>) -> NewTask {
    NewTask {
        ttl_ms,
        owner: None,
        relay: None,
    }
}

/// A run that waits for its token (or forever) and the sender of its events.
fn waiting_run(store: &TaskStore) -> (Run, mpsc::UnboundedSender<CallEvent>) {
    let cancel = store.run_token();
    let token = cancel.clone();
    let (tx, events) = mpsc::unbounded_channel();
    let call = Box::pin(async move {
        token.cancelled().await;
        Err(WorkbenchError::Cancelled)
    });
    (
        Run {
            call,
            events,
            cancel,
        },
        tx,
    )
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
    let (run, _events) = waiting_run(&store);
    let token = run.cancel.clone();
    let task = store.spawn(run, new_task(Some(1)));
    assert_eq!(task.ttl_ms, Some(1));
    until(|| store.detailed(&task.task_id).is_err()).await;
    assert!(token.is_cancelled());
    assert_eq!(store.running(), 0);
}

#[tokio::test]
async fn ttl_is_capped_and_defaulted() {
    let store = TaskStore::default();
    let (run, _e) = waiting_run(&store);
    let long = store.spawn(run, new_task(Some(u64::MAX)));
    assert_eq!(long.ttl_ms, Some(MAX_TTL_MS));
    let (run, _e) = waiting_run(&store);
    let default = store.spawn(run, new_task(None));
    assert_eq!(default.ttl_ms, Some(DEFAULT_TTL_MS));
    store.shutdown().await;
    assert_eq!(store.running(), 0);
}

#[tokio::test]
async fn input_is_answered_in_parts_under_task_unique_keys() {
    let store = TaskStore::default();
    let (run, events) = waiting_run(&store);
    let task = store.spawn(run, new_task(None));
    let (reply, answered) = oneshot::channel();
    let requests: InputRequests = [question("a"), question("b")].into_iter().collect();
    events
        .send(CallEvent::Input(requests, reply, CancellationToken::new()))
        .unwrap();
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
