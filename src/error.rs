//! Every error the mock can answer with, and the one place that turns them into Wix's wire bodies.
//!
//! Wix speaks two error dialects (docs/fidelity.md F-42, I-04):
//! - REST APIs answer `{"message", "details": {"applicationError": {"code", "description", "data"}}}` or
//!   `details.validationError.fieldViolations[]`;
//! - the OAuth endpoints (`/oauth/access`, `/oauth2/token`) follow RFC 6749 §5.2 (`error`, `error_description`).
//!
//! Their exact OAuth bodies are undocumented (docs/fidelity.md I-04), so OAuth errors carry **both**
//! dialects in one body: an RFC 6749 client reads `error`, a Wix SDK client reads `message` and
//! `details.applicationError.code`, and neither is confused by the other's fields. Nothing outside this
//! module builds an error body; `routes/reply.rs` only wraps it in a response.
//!
//! A leaf of the domain: it imports nothing of the crate.

use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

/// One violated rule of a request field, as Wix lists them in `validationError.fieldViolations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `eventName` or `oAuthApp.name`.
    pub field: String,
    /// What is wrong, for people.
    pub description: String,
    /// The rule that failed, e.g. `REQUIRED_FIELD`, `MIN_LENGTH`, `INVALID_ENUM_VALUE`.
    pub violated_rule: String,
    /// What kind of value failed, e.g. `{"type": "EMAIL"}`, which the SDK's `register` looks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl FieldViolation {
    /// A violation of `rule` on `field`.
    pub fn new(field: &str, rule: &str, description: impl Into<String>) -> FieldViolation {
        FieldViolation {
            field: field.to_string(),
            description: description.into(),
            violated_rule: rule.to_string(),
            data: None,
        }
    }

    /// A violation that also says what kind of value failed (`data`).
    pub fn with_data(
        field: &str,
        rule: &str,
        description: impl Into<String>,
        data: Value,
    ) -> FieldViolation {
        FieldViolation {
            data: Some(data),
            ..FieldViolation::new(field, rule, description)
        }
    }
}

/// Every failure the mock answers with. Each variant names the Wix behaviour it imitates.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum WixError {
    // ---- OAuth dialect: RFC 6749 §5.2 fields plus Wix's envelope ----
    /// RFC 6749 `invalid_request`: a required parameter is missing, repeated or malformed. 400.
    #[error("{0}")]
    InvalidRequest(String),
    /// RFC 6749 `invalid_client`: unknown client id or wrong secret. 401, as RFC 6749 §5.2 allows for
    /// failed client authentication (the wire capture's Python client saw the same).
    #[error("{0}")]
    InvalidClient(String),
    /// RFC 6749 `invalid_grant`: the code or refresh token is unknown, expired, used, or belongs to
    /// another client, or the app is no longer installed. 400.
    #[error("{0}")]
    InvalidGrant(String),
    /// RFC 6749 `unsupported_grant_type`. 400.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// `/oauth2/token` for an instance that does not exist: Wix answers 404 ("app not found in any
    /// meta-site", docs/fidelity.md F-17). Sent in the OAuth dialect as `invalid_grant` (INFERRED body, I-11).
    #[error("{0}")]
    UnknownInstance(String),

    // ---- Wix REST envelope ----
    /// 401 `applicationError`: missing, unknown, expired or revoked access token (docs/fidelity.md F-43: "401
    /// missing or bad Authorization, or expired token"). The code names which, e.g. `MISSING_TOKEN`
    /// (a code seen in the wild) or `TOKEN_EXPIRED`.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// 403 `PERMISSION_DENIED`: the token lacks a scope the call needs.
    #[error("{0}")]
    PermissionDenied(String),
    /// 404 with an entity-specific code (e.g. `OAUTH_APP_NOT_FOUND`, `INSTANCE_NOT_FOUND`).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 428 `applicationError` (FAILED_PRECONDITION): the entity is not in a state that allows the call,
    /// e.g. a second `generate-secret` (docs/fidelity.md F-43: "428 precondition").
    #[error("{message}")]
    FailedPrecondition { code: &'static str, message: String },
    /// An `applicationError` with its own status and code: the members API's numeric codes the SDK
    /// branches on (`-19976` wrong password, ...) and the named ones it does not (docs/fidelity.md I-61).
    #[error("{message}")]
    Application {
        status: u16,
        code: &'static str,
        message: String,
    },
    /// 400 `validationError` listing each violated field (INVALID_ARGUMENT).
    #[error("{}", describe_violations(.0))]
    Validation(Vec<FieldViolation>),
    /// 400 `applicationError` for a request body or query that cannot be read at all.
    #[error("{0}")]
    BadRequest(String),
    /// 404 for a path the mock does not serve.
    #[error("no API is served at this path")]
    RouteNotFound,
    /// 405 for a known path with another method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503 `applicationError`: the mock cannot answer now, e.g. `SHUTTING_DOWN` for a long poll cut
    /// short by SIGTERM.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// 408 for a request body that did not arrive in time (a stalled or trickling client).
    #[error("request body not received within {0} seconds")]
    RequestTimeout(u64),
    /// 413 for a body over the documented limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(u64),

    // ---- Faults ----
    /// An answer a scenario fault asked for: any status, body and headers (see `faults::preset`).
    #[error("injected fault: {status}")]
    Injected {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },

    // ---- Browser pages ----
    /// Wix's HTML "ERROR: BAD REQUEST 400 ... This action can't be completed." page, sent by the
    /// installer for bad parameters (docs/fidelity.md F-45). Never a redirect.
    #[error("{0}")]
    InstallerPage(String),
}

fn describe_violations(v: &[FieldViolation]) -> String {
    let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
    format!("invalid request: {}", fields.join(", "))
}

impl WixError {
    /// The HTTP status Wix sends for this error.
    pub fn status(&self) -> StatusCode {
        use WixError::*;
        match self {
            InvalidRequest(_) | InvalidGrant(_) | UnsupportedGrantType(_) => {
                StatusCode::BAD_REQUEST
            }
            InvalidClient(_) | Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            UnknownInstance(_) => StatusCode::NOT_FOUND,
            PermissionDenied(_) => StatusCode::FORBIDDEN,
            FailedPrecondition { .. } => StatusCode::PRECONDITION_REQUIRED,
            NotFound { .. } | RouteNotFound => StatusCode::NOT_FOUND,
            Validation(_) | BadRequest(_) | InstallerPage(_) => StatusCode::BAD_REQUEST,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Injected { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Application { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
        }
    }

    /// The machine-readable code: the RFC 6749 `error` for OAuth errors, `applicationError.code` otherwise.
    pub fn code(&self) -> &'static str {
        use WixError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            InvalidClient(_) => "invalid_client",
            InvalidGrant(_) | UnknownInstance(_) => "invalid_grant",
            UnsupportedGrantType(_) => "unsupported_grant_type",
            Unauthenticated { code, .. }
            | NotFound { code, .. }
            | FailedPrecondition { code, .. }
            | Application { code, .. }
            | Unavailable { code, .. } => code,
            PermissionDenied(_) => "PERMISSION_DENIED",
            Validation(_) => "INVALID_ARGUMENT",
            BadRequest(_) => "BAD_REQUEST",
            RouteNotFound => "NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            RequestTimeout(_) => "REQUEST_TIMEOUT",
            InstallerPage(_) => "BAD_REQUEST",
            Injected { .. } => "INJECTED",
        }
    }

    /// The JSON body for this error (HTML pages have none).
    pub fn body(&self) -> Value {
        use WixError::*;
        let message = self.to_string();
        match self {
            InvalidRequest(_)
            | InvalidClient(_)
            | InvalidGrant(_)
            | UnsupportedGrantType(_)
            | UnknownInstance(_) => {
                json!({
                    "error": self.code(),
                    "error_description": message,
                    "message": message,
                    "details": {"applicationError": {
                        "code": self.code().to_ascii_uppercase(),
                        "description": message,
                        "data": {}
                    }}
                })
            }
            Injected { body, .. } => body.clone(),
            Validation(violations) => json!({
                "message": message,
                "details": {"validationError": {"fieldViolations": violations}}
            }),
            _ => json!({
                "message": message,
                "details": {"applicationError": {
                    "code": self.code(),
                    "description": message,
                    "data": {}
                }}
            }),
        }
    }
}
