//! Verification: journal filters and counts, and waiting for requests that have not arrived yet.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_journal_filters_by_path_method_status_since_and_fault() {
    // Arrange
    let app = spawn_app();
    app.arm("name: boom\nmatch: {path: /c}\neffects: [{error: {status: 503}}]")
        .await;
    app.get("/a").await;
    app.post_json("/a", &json!({})).await;
    app.get("/b/1").await;
    app.advance_clock(60).await;
    app.get("/c").await;
    let ids = |v: serde_json::Value| -> Vec<u64> {
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect()
    };
    // Act
    let by_path = app.get("/__admin/requests?path=/a").await.json();
    let by_prefix = app.get("/__admin/requests?path=/b*").await.json();
    let by_method = app.get("/__admin/requests?method=post").await.json();
    let by_class = app.get("/__admin/requests?status=5xx").await.json();
    let by_status = app.get("/__admin/requests?status=404").await.json();
    let since_id = app.get("/__admin/requests?since=2").await.json();
    let since_time = app
        .get("/__admin/requests?since=2026-01-01T00:01:00Z")
        .await
        .json();
    let by_fault = app.get("/__admin/requests?fault=boom").await.json();
    // Assert
    assert_eq!(by_path["count"], 2);
    assert_eq!(ids(by_path), [1, 2]);
    assert_eq!(ids(by_prefix), [3]);
    assert_eq!(ids(by_method), [2]);
    assert_eq!(ids(by_class), [4]);
    assert_eq!(ids(by_status), [1, 2, 3]);
    assert_eq!(ids(since_id), [3, 4]);
    assert_eq!(ids(since_time), [4]);
    assert_eq!(ids(by_fault), [4]);
}

#[tokio::test]
async fn a_bad_journal_filter_is_a_400_not_an_empty_list() {
    // Arrange
    let app = spawn_app();
    // Act
    let unknown = app.get("/__admin/requests?colour=red").await;
    let status = app.get("/__admin/requests?status=6xx").await;
    let since = app.get("/__admin/requests?since=yesterday").await;
    // Assert
    assert_eq!(
        [unknown.status, status.status, since.status],
        [StatusCode::BAD_REQUEST; 3]
    );
    insta::assert_json_snapshot!("verification__unknown_filter", unknown.json());
}

#[tokio::test]
async fn waiting_returns_at_once_when_the_requests_are_already_there() {
    // Arrange
    let app = spawn_app();
    app.get("/a").await;
    // Act
    let res = app
        .post_json(
            "/__admin/requests/wait",
            &json!({"path": "/a", "timeout_ms": 10}),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["matched"], true);
    assert_eq!(res.json()["count"], 1);
}

#[tokio::test]
async fn waiting_blocks_until_a_matching_request_arrives() {
    // Arrange
    let app = std::sync::Arc::new(spawn_app());
    let waiter = {
        let app = app.clone();
        tokio::spawn(async move {
            app.post_json(
                "/__admin/requests/wait",
                &json!({"path": "/oauth/access", "status": "200", "count": 1, "timeout_ms": 5000}),
            )
            .await
        })
    };
    tokio::task::yield_now().await;
    // Act
    app.get("/unrelated").await;
    app.refresh(REFRESH_TOKEN).await;
    let res = waiter.await.unwrap();
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["requests"][0]["path"], "/oauth/access");
}

#[tokio::test(start_paused = true)]
async fn waiting_gives_up_with_408_at_the_timeout() {
    // Arrange
    let app = spawn_app();
    app.get("/a").await;
    // Act
    let res = app
        .post_json(
            "/__admin/requests/wait",
            &json!({"path": "/a", "count": 2, "timeout_ms": 3000}),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(res.json()["matched"], false);
    assert_eq!(res.json()["count"], 1);
}

#[tokio::test]
async fn a_bad_wait_request_is_refused() {
    // Arrange
    let app = spawn_app();
    // Act
    let typo = app
        .post_json("/__admin/requests/wait", &json!({"pth": "/a"}))
        .await;
    let too_long = app
        .post_json("/__admin/requests/wait", &json!({"timeout_ms": 3_600_000}))
        .await;
    // Assert
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
}
